-- Both back-ends: the time index of captured statements holds the whole order ListAuditSqls
-- pages in — time, then the agent's sequence number, then the id — instead of time and id.
-- Statements that share a time (MariaDB's server_audit writes whole seconds, pgaudit's jsonlog
-- milliseconds: at 30,000 statements/s a second holds 30,000) were all read and sorted for every
-- page, because the index gave their order only by time: a first page over 1.8 million
-- statements of one millisecond read all of them (3.7 s on PostgreSQL). With the sequence in
-- the index a page reads its rows and stops. The index is as wide as before plus 8 bytes a
-- row; it is made again when this migration runs (on PostgreSQL on every partition, writes to
-- the statements waiting meanwhile).

DROP INDEX IF EXISTS dbss_sqls_time;
CREATE INDEX dbss_sqls_time ON dbss_sqls (instance_id, start_time, seq, id);
