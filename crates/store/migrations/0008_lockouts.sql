-- Failed-login and bad-signature counts and locks, per user or access key, shared by every
-- process on the database. Rows exist only for users and keys that exist (failures for
-- unknown names are not counted), so the table stays as small as the identity tables.
CREATE TABLE lockouts (
    kind TEXT NOT NULL,               -- 'user' (subject: user id) or 'access_key' (subject: AK)
    subject TEXT NOT NULL,
    failures BIGINT NOT NULL,         -- consecutive failures
    last_failure_at BIGINT NOT NULL,  -- micros
    locked_until BIGINT,              -- micros; NULL: not locked
    PRIMARY KEY (kind, subject)
);
