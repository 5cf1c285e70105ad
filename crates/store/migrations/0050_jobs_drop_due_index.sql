-- `jobs_due (status, next_run_at)` served the first claims; claims walk `jobs_claim` and
-- `jobs_fair` since (migrations 0006, 0009, 0021), and no other statement needs it. A job's
-- claim and its end each change `status`, so every index on the table takes a new entry twice
-- per job: one index less is one entry less per write, and on PostgreSQL the planner no
-- longer ANDs the claim's lookups with a scan of every active job's entry in it.
DROP INDEX IF EXISTS jobs_due;
