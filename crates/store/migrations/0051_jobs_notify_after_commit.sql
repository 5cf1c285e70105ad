-- PostgreSQL only (on SQLite this number records a no-op): a submitted job is no longer
-- announced by a trigger in its own transaction. A transaction that notifies holds a
-- database-wide lock from its pre-commit to its end, its WAL flush included, so every
-- concurrent submit committed alone, one flush after another (pgbench, 16 clients: about
-- 3,600 inserts/s without the notification, 550/s with it). The process that submits now
-- announces the job's kind on `plugboard_jobs` right after the commit, coalesced
-- (crates/store/src/job_announce.rs); a lost announcement is covered by the poll. The trigger
-- on a lease given back (0046) stays: it fires rarely.
DROP TRIGGER IF EXISTS jobs_notify_insert ON jobs;
DROP FUNCTION IF EXISTS plugboard_jobs_notify_inserted();
