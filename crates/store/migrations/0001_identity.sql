-- Identity: domains, projects, users, groups, roles, grants, tokens, access keys.
-- Portable SQL: runs unchanged on SQLite and PostgreSQL (TEXT and BIGINT only; times are
-- microseconds since the Unix epoch; flags are 0/1).

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE domains (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    enabled BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);

CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    domain_id TEXT NOT NULL REFERENCES domains(id),
    name TEXT NOT NULL UNIQUE,
    parent_id TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    enabled BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);
CREATE INDEX projects_domain ON projects (domain_id, name);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    domain_id TEXT NOT NULL REFERENCES domains(id),
    name TEXT NOT NULL,
    password_hash TEXT,
    email TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    enabled BIGINT NOT NULL DEFAULT 1,
    is_owner BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    -- tokens issued before this are no longer valid (password change, disable)
    tokens_valid_after BIGINT NOT NULL,
    UNIQUE (domain_id, name)
);

CREATE TABLE groups_ (
    id TEXT PRIMARY KEY,
    domain_id TEXT NOT NULL REFERENCES domains(id),
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    UNIQUE (domain_id, name)
);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES groups_(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

CREATE TABLE roles (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    type TEXT NOT NULL,
    policy TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- scope_kind: 'project' or 'domain'
CREATE TABLE grants (
    group_id TEXT NOT NULL REFERENCES groups_(id),
    role_id TEXT NOT NULL REFERENCES roles(id),
    scope_kind TEXT NOT NULL,
    scope_id TEXT NOT NULL,
    PRIMARY KEY (group_id, role_id, scope_kind, scope_id)
);

CREATE TABLE tokens (
    hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    -- NULL project_id: domain-scoped token
    project_id TEXT,
    methods TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX tokens_user ON tokens (user_id);
CREATE INDEX tokens_expiry ON tokens (expires_at);

CREATE TABLE credentials (
    access TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    secret_sealed TEXT NOT NULL,
    status TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX credentials_user ON credentials (user_id);
