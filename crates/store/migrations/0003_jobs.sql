-- Durable jobs (docs/contract.md → Jobs): ordered steps with progress, leases with heartbeat,
-- retries, and at most one running job per target, enforced by the database.

CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    -- the exclusion key: one Running job per target (e.g. gaussdb:<instance_id>)
    target TEXT NOT NULL,
    target_name TEXT NOT NULL,
    -- Running / Completed / Failed (a queued job is Running at step 0)
    status TEXT NOT NULL,
    progress BIGINT NOT NULL DEFAULT 0,
    -- index of the next step to run
    current_step BIGINT NOT NULL DEFAULT 0,
    -- JSON array of {"name", "status", "started_at", "ended_at", "message"}
    steps TEXT NOT NULL,
    input TEXT NOT NULL,
    -- JSON object the steps accumulate; survives restarts
    context TEXT NOT NULL DEFAULT '{}',
    fail_reason TEXT NOT NULL DEFAULT '',
    -- transient failures of the current step
    attempts BIGINT NOT NULL DEFAULT 0,
    next_run_at BIGINT NOT NULL DEFAULT 0,
    lease_owner TEXT NOT NULL DEFAULT '',
    lease_expires_at BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    ended_at BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX jobs_one_running_per_target ON jobs (target) WHERE status = 'Running';
CREATE INDEX jobs_due ON jobs (status, next_run_at);
CREATE INDEX jobs_project_page ON jobs (project_id, created_at, id);
CREATE INDEX jobs_ended ON jobs (status, ended_at);
