-- PostgreSQL only (on SQLite this number records a no-op): the jobs channel's notifications
-- name the kind of the job that became claimable (migration 0020 sent an empty payload), so a
-- process claims only in the execution class that kind runs in: a job submitted no longer
-- makes every class run a claim. One notification per kind an INSERT statement inserted
-- (PostgreSQL folds identical ones of a transaction into one); an empty payload (a retry
-- coming due, announced by its process) still means "any kind".
CREATE FUNCTION plugboard_jobs_notify_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    k TEXT;
BEGIN
    FOR k IN SELECT DISTINCT kind FROM inserted LOOP
        PERFORM pg_notify('plugboard_jobs', k);
    END LOOP;
    RETURN NULL;
END
$$;
CREATE FUNCTION plugboard_jobs_notify_released() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('plugboard_jobs', NEW.kind);
    RETURN NULL;
END
$$;
DROP TRIGGER jobs_notify_insert ON jobs;
CREATE TRIGGER jobs_notify_insert AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION plugboard_jobs_notify_inserted();
DROP TRIGGER jobs_notify_release ON jobs;
CREATE TRIGGER jobs_notify_release AFTER UPDATE ON jobs
    FOR EACH ROW
    WHEN (OLD.lease_owner <> '' AND NEW.lease_owner = '' AND NEW.status IN ('queued', 'running')
          AND NEW.next_run_at = OLD.next_run_at)
    EXECUTE FUNCTION plugboard_jobs_notify_released();
DROP FUNCTION plugboard_jobs_notify();
