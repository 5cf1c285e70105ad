-- PostgreSQL only (on SQLite this number records a no-op): wake the processes sharing the
-- database when a job becomes claimable, in the transaction that made it so (docs/operations.md
-- → Scale-out). A notification is sent with the commit and never for a transaction that rolls
-- back; PostgreSQL folds identical notifications of one transaction into one, and the
-- statement-level trigger sends one per INSERT statement however many rows it inserts.
CREATE FUNCTION plugboard_jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('plugboard_jobs', '');
    RETURN NULL;
END
$$;
-- a job submitted
CREATE TRIGGER jobs_notify_insert AFTER INSERT ON jobs
    FOR EACH STATEMENT EXECUTE FUNCTION plugboard_jobs_notify();
-- a lease given back with the job still due (a process stopping gracefully): another process
-- resumes it now. A retry scheduled for later releases its lease too, but is not due yet: the
-- process that scheduled it notifies when it comes due.
CREATE TRIGGER jobs_notify_release AFTER UPDATE ON jobs
    FOR EACH ROW
    WHEN (OLD.lease_owner <> '' AND NEW.lease_owner = '' AND NEW.status IN ('queued', 'running')
          AND NEW.next_run_at = OLD.next_run_at)
    EXECUTE FUNCTION plugboard_jobs_notify();
