-- DBSS: a per-database switch generation. Every switch that changes a database's status bumps
-- it; the audit monitor reads it when it claims a probe and records the outcome only while it
-- is unchanged, so a probe that was in flight across an OFF → ON cannot write a stale result.
-- Portable SQL (SQLite and PostgreSQL both add a NOT NULL column with a constant default).

ALTER TABLE dbss_databases ADD COLUMN switch_generation BIGINT NOT NULL DEFAULT 0;
