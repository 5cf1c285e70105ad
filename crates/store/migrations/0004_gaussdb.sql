-- GaussDB: the PostgreSQL-compatible instances plugboard manages, the kernel plug-ins
-- installed into them (with every file and its hash), licenses, and the extensions switched on
-- per database. Portable SQL (TEXT/BIGINT), like 0001.

CREATE TABLE gaussdb_instances (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    host TEXT NOT NULL,
    port BIGINT NOT NULL,
    db_user TEXT NOT NULL,
    -- sealed with the master key; never returned
    password_sealed TEXT NOT NULL,
    database_name TEXT NOT NULL,
    -- local / simulated
    install_mode TEXT NOT NULL,
    pg_config TEXT NOT NULL DEFAULT '',
    sharedir TEXT NOT NULL DEFAULT '',
    pkglibdir TEXT NOT NULL DEFAULT '',
    -- server_version as the server reported it at registration (e.g. 15.19)
    version TEXT NOT NULL,
    pg_major BIGINT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);
CREATE INDEX gaussdb_instances_project ON gaussdb_instances (project_id, created_at, id);

CREATE TABLE gaussdb_plugins (
    instance_id TEXT NOT NULL REFERENCES gaussdb_instances(id),
    plugin_name TEXT NOT NULL,
    version TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    -- JSON array of the extension names the package ships (its control files)
    extensions TEXT NOT NULL,
    job_id TEXT NOT NULL,
    installed_at BIGINT NOT NULL,
    PRIMARY KEY (instance_id, plugin_name)
);

CREATE TABLE gaussdb_plugin_files (
    instance_id TEXT NOT NULL REFERENCES gaussdb_instances(id),
    path TEXT NOT NULL,
    plugin_name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (instance_id, path)
);

CREATE TABLE gaussdb_plugin_licenses (
    instance_id TEXT NOT NULL REFERENCES gaussdb_instances(id),
    plugin_name TEXT NOT NULL,
    license_sealed TEXT NOT NULL,
    set_at BIGINT NOT NULL,
    PRIMARY KEY (instance_id, plugin_name)
);

-- extensions switched on through config-plugin-extensions (the state of record for
-- `simulated` instances; for `local` ones the databases themselves are asked)
CREATE TABLE gaussdb_extensions (
    instance_id TEXT NOT NULL REFERENCES gaussdb_instances(id),
    db_name TEXT NOT NULL,
    extension_name TEXT NOT NULL,
    plugin_name TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (instance_id, db_name, extension_name)
);
