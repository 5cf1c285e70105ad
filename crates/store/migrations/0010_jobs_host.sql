-- The host a job must run on ('' = any process): the jobs of a `local-process` add-on run only
-- on the host that installed it (its process lives there), and wait while none is up.
ALTER TABLE jobs ADD COLUMN host TEXT NOT NULL DEFAULT '';
