-- ZStack sessions, shared by every process of a scale-out. The session uuid is a bearer
-- secret: only its SHA-256 is kept (like IAM tokens).
CREATE TABLE zstack_sessions (
    uuid_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    domain_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX zstack_sessions_user ON zstack_sessions (user_id, expires_at);
