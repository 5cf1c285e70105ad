-- The console's job list across projects and families, newest first (docs/console.md): walked
-- in creation order instead of sorting every job of the projects.
CREATE INDEX jobs_created ON jobs (created_at, id);
