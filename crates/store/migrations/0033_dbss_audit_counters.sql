-- DBSS audit statistics (docs/dbss-audit.md → Statistics): per-minute counters per database,
-- bumped in the transaction that stores the statements they count and keyed by the statement's
-- own time, so statistics outlive the statements (retention, the online cap). Portable SQL.
-- `minute` is the minute's start in epoch microseconds.

CREATE TABLE dbss_audit_counters (
    instance_id TEXT NOT NULL,
    db_id TEXT NOT NULL,
    minute BIGINT NOT NULL,
    -- statements other than login events, by type (other = not SELECT/INSERT*/UPDATE/DELETE)
    sql_num BIGINT NOT NULL DEFAULT 0,
    select_num BIGINT NOT NULL DEFAULT 0,
    insert_num BIGINT NOT NULL DEFAULT 0,
    update_num BIGINT NOT NULL DEFAULT 0,
    delete_num BIGINT NOT NULL DEFAULT 0,
    other_num BIGINT NOT NULL DEFAULT 0,
    -- every stored statement (login events too), by risk level
    high_num BIGINT NOT NULL DEFAULT 0,
    medium_num BIGINT NOT NULL DEFAULT 0,
    low_num BIGINT NOT NULL DEFAULT 0,
    no_risk_num BIGINT NOT NULL DEFAULT 0,
    -- successful and failed logins
    new_session_num BIGINT NOT NULL DEFAULT 0,
    fail_session_num BIGINT NOT NULL DEFAULT 0,
    -- statements whose winning rule is an SQL-injection / a risk-operation rule
    injection_num BIGINT NOT NULL DEFAULT 0,
    risk_operation_num BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (instance_id, db_id, minute)
);
CREATE INDEX dbss_audit_counters_time ON dbss_audit_counters (instance_id, minute);

-- The sessions seen in each minute (distinct counts do not add up across minutes): active
-- sessions and the per-account / per-client session breakdowns.
CREATE TABLE dbss_audit_session_minutes (
    instance_id TEXT NOT NULL,
    db_id TEXT NOT NULL,
    minute BIGINT NOT NULL,
    session_id TEXT NOT NULL,
    db_user TEXT NOT NULL,
    client_ip TEXT NOT NULL,
    -- statements other than login events of the session in that minute (0: logins only)
    queries BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (instance_id, db_id, minute, session_id)
);
CREATE INDEX dbss_audit_session_minutes_time ON dbss_audit_session_minutes (instance_id, minute);

-- Matches per rule and minute (ShowAuditStatistics' per-rule counts).
CREATE TABLE dbss_audit_rule_counters (
    instance_id TEXT NOT NULL,
    db_id TEXT NOT NULL,
    minute BIGINT NOT NULL,
    rule_id TEXT NOT NULL,
    rule_name TEXT NOT NULL,
    -- SQL_INJECTION / RISK_OPERATION
    rule_type TEXT NOT NULL,
    risk_level TEXT NOT NULL,
    count BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (instance_id, db_id, minute, rule_id)
);
CREATE INDEX dbss_audit_rule_counters_time ON dbss_audit_rule_counters (instance_id, minute);

-- When each trend statistic was last generated, per database ('' = all of the instance's):
-- ListAuditTrendHistory.
CREATE TABLE dbss_audit_stat_runs (
    instance_id TEXT NOT NULL,
    db_id TEXT NOT NULL,
    statistics_type TEXT NOT NULL,
    generate_time BIGINT NOT NULL,
    PRIMARY KEY (instance_id, db_id, statistics_type)
);
