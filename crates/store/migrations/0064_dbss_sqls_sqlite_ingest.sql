-- SQLite only (on PostgreSQL this number records a statement that changes nothing; 0063 did
-- the same on PostgreSQL): two per-row costs of ingest fewer (docs/benchmarks.md, DBSS audit,
-- stop 27).
-- 1. The list indexes on the risk level and the matched rule hold only the statements a
--    filter on them can find through them — those with a risk and those a rule matched — as
--    0063 made them on PostgreSQL. ListAuditSqls repeats each index's condition when every
--    filter value meets it (SQLite's planner uses a partial index only then); a NO_RISK filter
--    reads the time index, where NO_RISK statements are the many.
-- 2. The statement text index (0062) without its per-row size table (`columnsize=0`): the
--    substring filter's lookups (`MATCH` of trigrams, `detail=none`) never read it; only
--    ranking functions such as bm25() did. The index is made again from the stored statements
--    (`rebuild`), once, when this migration runs.

DROP INDEX IF EXISTS dbss_sqls_risk;
DROP INDEX IF EXISTS dbss_sqls_rule;
CREATE INDEX dbss_sqls_risk ON dbss_sqls (instance_id, risk_level, start_time)
    WHERE risk_level <> 'NO_RISK';
CREATE INDEX dbss_sqls_rule ON dbss_sqls (instance_id, rule_name, start_time)
    WHERE rule_name <> '';

DROP TRIGGER IF EXISTS dbss_sqls_fts_insert;
DROP TRIGGER IF EXISTS dbss_sqls_fts_delete;
DROP TRIGGER IF EXISTS dbss_sqls_fts_update;
DROP TABLE IF EXISTS dbss_sqls_fts;

CREATE VIRTUAL TABLE dbss_sqls_fts USING fts5(
    sql_lower, content = 'dbss_sqls', content_rowid = 'rowid',
    tokenize = 'trigram case_sensitive 1', detail = none, columnsize = 0
);

CREATE TRIGGER dbss_sqls_fts_insert AFTER INSERT ON dbss_sqls BEGIN
    INSERT INTO dbss_sqls_fts (rowid, sql_lower) VALUES (new.rowid, new.sql_lower);
END;

CREATE TRIGGER dbss_sqls_fts_delete AFTER DELETE ON dbss_sqls BEGIN
    INSERT INTO dbss_sqls_fts (dbss_sqls_fts, rowid, sql_lower) VALUES ('delete', old.rowid, old.sql_lower);
END;

CREATE TRIGGER dbss_sqls_fts_update AFTER UPDATE OF sql_lower ON dbss_sqls BEGIN
    INSERT INTO dbss_sqls_fts (dbss_sqls_fts, rowid, sql_lower) VALUES ('delete', old.rowid, old.sql_lower);
    INSERT INTO dbss_sqls_fts (rowid, sql_lower) VALUES (new.rowid, new.sql_lower);
END;

INSERT INTO dbss_sqls_fts (dbss_sqls_fts) VALUES ('rebuild');
