-- SQLite only (on PostgreSQL this number records a statement that changes nothing; 0061 is
-- PostgreSQL's): a full-text index of the lower-cased statement text with FTS5's trigram
-- tokenizer (SQLite ≥ 3.34; the bundled one is newer), for ListAuditSqls' substring filter.
-- External content (the text stays in dbss_sqls only), exact characters (`case_sensitive 1`:
-- the text is lower-cased by plugboard already), no positions (`detail=none`: the index finds
-- statements holding given trigrams; the listing checks the whole substring on the row).
-- Kept in step with dbss_sqls by triggers, whatever writes or deletes statements.

CREATE VIRTUAL TABLE dbss_sqls_fts USING fts5(
    sql_lower, content = 'dbss_sqls', content_rowid = 'rowid',
    tokenize = 'trigram case_sensitive 1', detail = none
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
