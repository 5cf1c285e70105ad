-- Job states are stored in plugboard's own words, the same for every family: queued (not yet
-- claimed), running, completed, failed. Each family's view maps them to its vendor's words
-- (GaussDB: queued and running → Running, completed → Completed, failed → Failed).
DROP INDEX jobs_one_running_per_target;
DROP INDEX jobs_claim;
UPDATE jobs SET status = CASE status
    WHEN 'Running' THEN CASE
        WHEN current_step = 0 AND attempts = 0 AND lease_owner = '' THEN 'queued'
        ELSE 'running'
    END
    WHEN 'Completed' THEN 'completed'
    WHEN 'Failed' THEN 'failed'
    ELSE status
END;
CREATE UNIQUE INDEX jobs_one_active_per_target ON jobs (target) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_claim ON jobs (next_run_at, created_at) WHERE status IN ('queued', 'running');
