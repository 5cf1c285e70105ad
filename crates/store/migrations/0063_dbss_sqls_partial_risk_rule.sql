-- PostgreSQL only (on SQLite this number records a statement that changes nothing): the list
-- indexes on the risk level and the matched rule hold only the statements a filter on them can
-- find through them — those with a risk (`risk_level <> 'NO_RISK'`) and those a rule matched
-- (`rule_name <> ''`) — instead of every statement. Most audited statements are NO_RISK with
-- no rule: each of them now costs two index insertions fewer at ingest (docs/benchmarks.md,
-- DBSS audit, stop 26). ListAuditSqls' filters on HIGH / MEDIUM / LOW and on a rule name are
-- still served by these indexes (the planner proves `risk_level = 'HIGH'` implies the index's
-- condition: the listing's statements are planned with their values); a NO_RISK filter reads
-- the time index, where NO_RISK statements are the many. On SQLite the listing would have to
-- repeat the condition for its planner to use a partial index, so SQLite keeps 0030's.

DROP INDEX IF EXISTS dbss_sqls_risk;
DROP INDEX IF EXISTS dbss_sqls_rule;
CREATE INDEX dbss_sqls_risk ON dbss_sqls (instance_id, risk_level, start_time)
    WHERE risk_level <> 'NO_RISK';
CREATE INDEX dbss_sqls_rule ON dbss_sqls (instance_id, rule_name, start_time)
    WHERE rule_name <> '';
