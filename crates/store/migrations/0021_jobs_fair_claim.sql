-- Fair claiming (docs/operations.md → Jobs): each claim takes the oldest due job of every
-- (account, kind) first. This index finds the (account, kind) pairs with active jobs by skipping
-- from one to the next, and each pair's oldest, without reading a flood of queued jobs.
CREATE INDEX jobs_fair ON jobs (project_id, kind, created_at) WHERE status IN ('queued', 'running');
