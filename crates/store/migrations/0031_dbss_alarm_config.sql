-- DBSS audit: each instance's alarm config (docs/dbss-audit.md → Alarms), as the JSON the
-- API reads and writes; an instance without a row has the defaults. Portable SQL.

CREATE TABLE dbss_alarm_configs (
    instance_id TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
