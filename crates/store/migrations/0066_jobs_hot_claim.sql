-- PostgreSQL only (on SQLite this number records a no-op): a job's claim becomes a HOT update.
-- The claim changes `status` (queued → running), `lease_owner` and `lease_expires_at`. While
-- any index named `status` (three partial indexes in their predicates, `jobs_ended` as a
-- column), PostgreSQL wrote the claimed row as a new version with a new entry in every index
-- on the table: seven per job. With the active jobs' indexes on `ended_at = 0` instead (a job
-- is active exactly until its end sets `ended_at`, crates/store/src/job_ends.rs) no index
-- names a column the claim changes, so the new version stays on its page, reached through
-- the old entries: no index write at all, when the page has room for it. `fillfactor = 50`
-- leaves that room: a job row is ~0.8 kB, so a page filled by inserts to half holds the
-- claimed versions of all its jobs even when one claim takes them all at once
-- (docs/benchmarks.md → Kernel plug-ins, 2026-12-07 stop 27). The queries that used these
-- indexes name both terms (`ended_at = 0 AND status IN ('queued', 'running')`).
-- An ended job always has `ended_at` set, and rows an older version may have ended without it
-- are given their last change's time first, so none counts as active.
UPDATE jobs SET ended_at = CASE WHEN updated_at > 0 THEN updated_at ELSE 1 END
    WHERE status NOT IN ('queued', 'running') AND ended_at = 0;
DROP INDEX jobs_one_active_per_target;
CREATE UNIQUE INDEX jobs_one_active_per_target ON jobs (target) WHERE ended_at = 0;
DROP INDEX jobs_claim;
CREATE INDEX jobs_claim ON jobs (next_run_at, created_at) WHERE ended_at = 0;
DROP INDEX jobs_fair;
CREATE INDEX jobs_fair ON jobs (project_id, kind, created_at) WHERE ended_at = 0;
-- pruning finds the ended jobs by their end (`ended_at > 0 AND ended_at < $1`)
DROP INDEX jobs_ended;
CREATE INDEX jobs_ended ON jobs (ended_at) WHERE ended_at > 0;
ALTER TABLE jobs SET (fillfactor = 50);
