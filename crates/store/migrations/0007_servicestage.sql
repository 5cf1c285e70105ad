-- ServiceStage environments and add-ons, and the driver registry (shared by every process of a
-- scale-out). Portable SQL (TEXT/BIGINT), like 0001.

CREATE TABLE ss_environments (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    enterprise_project_id TEXT NOT NULL,
    vpc_id TEXT NOT NULL,
    creator TEXT NOT NULL,
    deploy_mode TEXT NOT NULL,
    -- JSON: [{"key", "value"}]
    labels TEXT NOT NULL,
    -- JSON: [{"id", "name", "type"}]; replaced as a whole
    resources TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);
CREATE INDEX ss_environments_page ON ss_environments (project_id, created_at, id);

CREATE TABLE ss_addons (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    environment_id TEXT NOT NULL REFERENCES ss_environments(id),
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    cce_id TEXT NOT NULL,
    cse_id TEXT NOT NULL,
    -- the add-on's last job
    job_id TEXT NOT NULL,
    -- INITIALIZING / UPGRADING / DELETING / SUCCEEDED / FAILED
    status TEXT NOT NULL,
    -- the driver that runs it, and (local-process) the host it belongs to
    driver_uuid TEXT NOT NULL,
    host TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (environment_id, name)
);
CREATE INDEX ss_addons_driver ON ss_addons (driver_uuid);

CREATE TABLE drivers (
    uuid TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    vendor TEXT NOT NULL,
    version TEXT NOT NULL,
    description TEXT NOT NULL,
    license TEXT NOT NULL,
    -- JSON object text, as ZStack's inventory carries it
    features TEXT NOT NULL,
    -- JSON: the whole manifest as last scanned
    manifest TEXT NOT NULL,
    -- 0/1: soft-deleted (takes no new work) until a refresh brings it back or it is removed
    deleted BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One row: bumped by every change to the drivers table, so every process can tell that its
-- view of the registry is stale.
CREATE TABLE driver_registry (
    id BIGINT PRIMARY KEY,
    generation BIGINT NOT NULL
);
INSERT INTO driver_registry (id, generation) VALUES (1, 0);
