-- Web console sessions (docs/console.md). The session id in the browser's cookie is a bearer
-- secret: only its SHA-256 is kept. `last_seen_at` drives the idle expiry.
CREATE TABLE console_sessions (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    domain_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions (user_id);
CREATE INDEX console_sessions_seen ON console_sessions (last_seen_at);
