-- DBSS audit QPS budget (docs/dbss-audit.md → The QPS budget): one token bucket per audit
-- instance, shared by every plugboard process on the store. Portable SQL.

CREATE TABLE dbss_audit_qps (
    instance_id TEXT PRIMARY KEY,
    -- tokens in thousandths of a statement; below 0 = statements owed (the agent waits)
    tokens BIGINT NOT NULL,
    -- when `tokens` was last refilled (epoch microseconds)
    updated_at BIGINT NOT NULL,
    -- since when batches have been throttled without a break (0: not over budget)
    over_since BIGINT NOT NULL DEFAULT 0,
    -- the last throttled batch (0: none)
    last_over_at BIGINT NOT NULL DEFAULT 0
);
