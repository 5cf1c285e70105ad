-- DBSS audit storage (docs/dbss-audit.md → Storage): how many statements each instance holds
-- per UTC day, kept in the transaction that stores or deletes them, so the online cap is a
-- sum over a few rows rather than a count over millions; and the lease that makes one process
-- at a time the storage keeper (retention, cap, partitions). Portable SQL, like 0001.

-- `day` = start_time (epoch microseconds) divided by 86,400,000,000, rounded down.
CREATE TABLE dbss_sql_days (
    instance_id TEXT NOT NULL,
    day BIGINT NOT NULL,
    stored BIGINT NOT NULL,
    PRIMARY KEY (instance_id, day)
);

INSERT INTO dbss_sql_days (instance_id, day, stored)
SELECT instance_id, d, COUNT(*) FROM (
    SELECT instance_id,
           CASE WHEN start_time >= 0 THEN start_time / 86400000000
                ELSE (start_time + 1) / 86400000000 - 1 END AS d
    FROM dbss_sqls
) AS s
GROUP BY instance_id, d;

-- One row per background duty shared by the processes of a scale-out: the process named in
-- `holder` does it until `expires_at` (epoch microseconds) and renews it while it lives.
CREATE TABLE dbss_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
