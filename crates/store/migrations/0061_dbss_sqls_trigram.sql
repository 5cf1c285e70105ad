-- PostgreSQL only (on SQLite this number records a statement that changes nothing; 0062 is
-- SQLite's): a trigram index (pg_trgm, in PostgreSQL's contrib) on the lower-cased statement
-- text, for ListAuditSqls' substring filter. pg_trgm is a trusted extension: a role that may
-- create objects in the database creates it. A role that may not, or a server without contrib,
-- leaves the store without the index: the filter then reads the window's rows (slower, same
-- answers); docs/dbss-audit.md says how to add it later.

DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN insufficient_privilege OR undefined_file OR feature_not_supported OR undefined_object THEN
    RAISE NOTICE 'pg_trgm is not available (%): the statement text filter runs without an index', SQLERRM;
END
$$;

DO $$
DECLARE
    schema_name TEXT;
BEGIN
    SELECT n.nspname INTO schema_name FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_trgm';
    IF schema_name IS NOT NULL THEN
        EXECUTE format('CREATE INDEX IF NOT EXISTS dbss_sqls_trgm ON dbss_sqls USING gin (sql_lower %I.gin_trgm_ops)',
                       schema_name);
    END IF;
END
$$;
