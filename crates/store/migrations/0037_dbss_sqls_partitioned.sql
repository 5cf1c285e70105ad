-- PostgreSQL only (on SQLite this number records a statement that changes nothing): captured
-- statements in a table range-partitioned by the statement's time, one partition per UTC day
-- (`dbss_sqls_YYYYMMDD`, made ahead by the storage keeper), so that retention drops whole
-- partitions. Rows for a day without its partition land in `dbss_sqls_default`; the keeper
-- moves them into their day's partition when it makes it. Unique keys of a partitioned table
-- must hold the partition key: the statement id and the agent's `(agent, db, seq)` are unique
-- together with `start_time` (a re-sent event carries the time of the same log line).

CREATE TABLE dbss_sqls_parted (
    id TEXT NOT NULL,
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
    objects TEXT NOT NULL,
    object_name TEXT NOT NULL,
    object_type TEXT NOT NULL,
    schema_name TEXT NOT NULL,
    sql_statement TEXT NOT NULL,
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
    PRIMARY KEY (id, start_time),
    UNIQUE (agent_id, db_id, seq, start_time)
) PARTITION BY RANGE (start_time);

CREATE TABLE dbss_sqls_default PARTITION OF dbss_sqls_parted DEFAULT;

INSERT INTO dbss_sqls_parted SELECT * FROM dbss_sqls;
DROP TABLE dbss_sqls;
ALTER TABLE dbss_sqls_parted RENAME TO dbss_sqls;

CREATE INDEX dbss_sqls_time ON dbss_sqls (instance_id, start_time, id);
CREATE INDEX dbss_sqls_risk ON dbss_sqls (instance_id, risk_level, start_time);
CREATE INDEX dbss_sqls_user ON dbss_sqls (instance_id, db_user, start_time);
CREATE INDEX dbss_sqls_type ON dbss_sqls (instance_id, query_type, start_time);
CREATE INDEX dbss_sqls_client ON dbss_sqls (instance_id, client_ip, start_time);
CREATE INDEX dbss_sqls_rule ON dbss_sqls (instance_id, rule_name, start_time);
