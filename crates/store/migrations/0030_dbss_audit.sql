-- DBSS audit (docs/dbss-audit.md): agents and the databases they serve, captured statements,
-- risk-operation and SQL-injection rules, alarms. Portable SQL (TEXT/BIGINT), like 0001.
-- Times are epoch microseconds.

CREATE TABLE dbss_agents (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    -- DB / APP
    agent_type TEXT NOT NULL,
    agent_os TEXT NOT NULL,
    agent_ip TEXT NOT NULL,
    agent_nic TEXT NOT NULL DEFAULT '',
    cpu_threshold BIGINT NOT NULL,
    mem_threshold BIGINT NOT NULL,
    -- 1 on / 0 off
    status BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL DEFAULT 0,
    shipped_at BIGINT NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX dbss_agents_instance ON dbss_agents (instance_id, created_at, id);

-- Which databases an agent serves (mode 1 attaches one agent to several databases).
CREATE TABLE dbss_agent_databases (
    agent_id TEXT NOT NULL,
    db_id TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (agent_id, db_id)
);
CREATE INDEX dbss_agent_databases_db ON dbss_agent_databases (db_id, created_at);

-- Captured statements. (agent_id, db_id, seq) is the agent's own sequence number of the event:
-- a re-sent batch inserts nothing twice.
CREATE TABLE dbss_sqls (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    db_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    start_time BIGINT NOT NULL,
    execute_time BIGINT NOT NULL,
    client_ip TEXT NOT NULL,
    client_port BIGINT NOT NULL,
    client_name TEXT NOT NULL,
    db_user TEXT NOT NULL,
    db_service_name TEXT NOT NULL,
    db_session_id TEXT NOT NULL,
    query_id TEXT NOT NULL,
    query_type TEXT NOT NULL,
    -- JSON array of {schema_name, table_name, object_type, sql_type}
    objects TEXT NOT NULL,
    object_name TEXT NOT NULL,
    object_type TEXT NOT NULL,
    schema_name TEXT NOT NULL,
    sql_statement TEXT NOT NULL,
    -- lower-cased statement for the case-insensitive substring filter (one spelling on both
    -- back-ends, whatever their LOWER() knows of non-ASCII letters)
    sql_lower TEXT NOT NULL,
    lines TEXT NOT NULL,
    log_result TEXT NOT NULL,
    response_status TEXT NOT NULL,
    sql_response TEXT NOT NULL,
    sql_result TEXT NOT NULL,
    risk_level TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    rule_name TEXT NOT NULL,
    rule_type TEXT NOT NULL,
    scope_id TEXT NOT NULL,
    scope_name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (agent_id, db_id, seq)
);
CREATE INDEX dbss_sqls_time ON dbss_sqls (instance_id, start_time, id);
CREATE INDEX dbss_sqls_risk ON dbss_sqls (instance_id, risk_level, start_time);
CREATE INDEX dbss_sqls_user ON dbss_sqls (instance_id, db_user, start_time);
CREATE INDEX dbss_sqls_type ON dbss_sqls (instance_id, query_type, start_time);
CREATE INDEX dbss_sqls_client ON dbss_sqls (instance_id, client_ip, start_time);
CREATE INDEX dbss_sqls_rule ON dbss_sqls (instance_id, rule_name, start_time);

-- Risk-operation rules (SYSTEM rules are seeded per instance with stable ids).
CREATE TABLE dbss_risk_rules (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    name TEXT NOT NULL,
    name_english TEXT NOT NULL,
    -- SYSTEM / CUSTOMIZE
    rule_type TEXT NOT NULL,
    -- LOGIN / OPERATE
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    rank BIGINT NOT NULL,
    risk_level TEXT NOT NULL,
    action TEXT NOT NULL,
    -- JSON array of {schema, table, column}
    schemas TEXT NOT NULL,
    ignore_case BIGINT NOT NULL,
    db_ids TEXT NOT NULL,
    client_ips TEXT NOT NULL,
    exception_ips TEXT NOT NULL,
    affect_symbol TEXT NOT NULL,
    affect_rows BIGINT NOT NULL,
    execution_symbol TEXT NOT NULL,
    execution_time BIGINT NOT NULL,
    -- only for the system login rule: FAILED = failed logins only
    log_result TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX dbss_risk_rules_instance ON dbss_risk_rules (instance_id, rank);

-- SQL-injection rules.
CREATE TABLE dbss_sql_rules (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    name TEXT NOT NULL,
    -- SYSTEM / CUSTOMIZE
    rule_type TEXT NOT NULL,
    status TEXT NOT NULL,
    rank BIGINT NOT NULL,
    risk_level TEXT NOT NULL,
    feature TEXT NOT NULL,
    regex TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX dbss_sql_rules_instance ON dbss_sql_rules (instance_id, rank);

-- Bumped by every rule change; ingest recompiles an instance's rules when it moved.
CREATE TABLE dbss_rule_versions (
    instance_id TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);

-- Alarms. A RISK_RULE alarm stays open (alarm_life ON) per (rule, database) while matches
-- keep coming; `last_match_at` decides when it closes.
CREATE TABLE dbss_alarms (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    alarm_type TEXT NOT NULL,
    risk TEXT NOT NULL,
    -- UNDO / DONE
    status TEXT NOT NULL,
    -- ON / OFF
    life TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    rule_name TEXT NOT NULL,
    db_id TEXT NOT NULL,
    db_label TEXT NOT NULL,
    match_count BIGINT NOT NULL,
    alarm_time BIGINT NOT NULL,
    last_match_at BIGINT NOT NULL,
    fix_time BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX dbss_alarms_instance ON dbss_alarms (instance_id, alarm_time);
CREATE INDEX dbss_alarms_open ON dbss_alarms (instance_id, rule_id, db_id, life);
