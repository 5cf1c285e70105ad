-- PostgreSQL only (on SQLite this number records a no-op): tell the processes sharing the
-- database that the driver registry changed (a refresh, a soft delete, an Enforcing delete), in
-- the transaction that bumps its generation (docs/operations.md → Scale-out). Each process
-- reloads its view at once, and one whose running step belongs to a driver deleted elsewhere
-- stops it at once instead of at its next check. The payload is the new generation.
CREATE FUNCTION plugboard_drivers_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('plugboard_drivers', NEW.generation::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER driver_registry_notify AFTER UPDATE ON driver_registry
    FOR EACH ROW WHEN (NEW.generation <> OLD.generation)
    EXECUTE FUNCTION plugboard_drivers_notify();
