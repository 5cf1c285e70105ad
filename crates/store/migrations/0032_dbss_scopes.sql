-- DBSS audit scope rules (docs/dbss-audit.md → Scopes): which statements are audited at all.
-- Every instance has the full-audit scope (all_audit = 1), seeded with a stable id.
-- Comma lists are stored as given. Portable SQL.

CREATE TABLE dbss_scopes (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    name TEXT NOT NULL,
    action TEXT NOT NULL,
    status TEXT NOT NULL,
    exception_ips TEXT NOT NULL,
    source_ips TEXT NOT NULL,
    source_ports TEXT NOT NULL,
    db_ids TEXT NOT NULL,
    db_names TEXT NOT NULL,
    db_users TEXT NOT NULL,
    all_audit BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX dbss_scopes_instance ON dbss_scopes (instance_id, created_at, id);
