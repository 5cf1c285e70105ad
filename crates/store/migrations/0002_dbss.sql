-- DBSS: audit instances and the databases they audit, with the audit monitor's schedule.
-- Portable SQL (TEXT/BIGINT), like 0001.

CREATE TABLE dbss_instances (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    edition TEXT NOT NULL,
    database_limit BIGINT NOT NULL,
    -- kept in the same transaction as every add/delete/switch, so totals and the limit
    -- check never scan the databases
    database_count BIGINT NOT NULL DEFAULT 0,
    on_count BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX dbss_instances_project ON dbss_instances (project_id, created_at, id);

CREATE TABLE dbss_databases (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES dbss_instances(id),
    db_classification TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    version TEXT NOT NULL,
    charset TEXT NOT NULL,
    ip TEXT NOT NULL,
    port TEXT NOT NULL,
    os TEXT NOT NULL,
    instance_name TEXT NOT NULL DEFAULT '',
    -- ON / OFF
    status TEXT NOT NULL,
    -- ACTIVE / SHUTOFF / ERROR
    audit_status TEXT NOT NULL,
    audit_reason TEXT NOT NULL DEFAULT '',
    -- the monitor probes databases with status ON whose next_probe_at has passed
    next_probe_at BIGINT NOT NULL DEFAULT 0,
    probed_at BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    UNIQUE (instance_id, ip, port, name)
);
CREATE INDEX dbss_databases_page ON dbss_databases (instance_id, created_at, id);
CREATE INDEX dbss_databases_status_page ON dbss_databases (instance_id, status, created_at, id);
CREATE INDEX dbss_databases_due ON dbss_databases (status, next_probe_at);
