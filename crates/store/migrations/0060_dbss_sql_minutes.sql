-- ListAuditSqls' `total` without counting millions of rows (docs/dbss-audit.md → Statements):
-- how many statements an instance holds per minute of statement time and per value of the
-- list filters whose values are few (database, risk level, query type, response, matched rule,
-- client program). Kept in the transaction that stores or deletes the statements, like
-- dbss_sql_days; a count over a window sums the whole minutes here and counts only the
-- partial minutes at its two ends in dbss_sqls. Portable SQL, like 0001.

-- `minute` = start_time (epoch microseconds) divided by 60,000,000, rounded down.
CREATE TABLE dbss_sql_minutes (
    instance_id TEXT NOT NULL,
    minute BIGINT NOT NULL,
    db_id TEXT NOT NULL,
    risk_level TEXT NOT NULL,
    query_type TEXT NOT NULL,
    sql_response TEXT NOT NULL,
    rule_name TEXT NOT NULL,
    client_name TEXT NOT NULL,
    stored BIGINT NOT NULL,
    PRIMARY KEY (instance_id, minute, db_id, risk_level, query_type, sql_response, rule_name, client_name)
);
-- A dropped day (PostgreSQL's partitions) forgets its minutes of every instance.
CREATE INDEX dbss_sql_minutes_minute ON dbss_sql_minutes (minute);

INSERT INTO dbss_sql_minutes
SELECT instance_id, m, db_id, risk_level, query_type, sql_response, rule_name, client_name, COUNT(*) FROM (
    SELECT instance_id, db_id, risk_level, query_type, sql_response, rule_name, client_name,
           CASE WHEN start_time >= 0 THEN start_time / 60000000
                ELSE (start_time + 1) / 60000000 - 1 END AS m
    FROM dbss_sqls
) AS s
GROUP BY instance_id, m, db_id, risk_level, query_type, sql_response, rule_name, client_name;
