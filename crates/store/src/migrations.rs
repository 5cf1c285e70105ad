//! The schema's migrations, embedded in the binary: the list, which numbers exist on one
//! back-end only, and the checksums pinned for migrations whose comments changed after they
//! shipped.

use crate::Backend;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use std::borrow::Cow;

/// The migrations, embedded in the binary. Portable SQL: one set for both back-ends.
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "identity",
        include_str!("../migrations/0001_identity.sql"),
    ),
    (2, "dbss", include_str!("../migrations/0002_dbss.sql")),
    (3, "jobs", include_str!("../migrations/0003_jobs.sql")),
    (4, "gaussdb", include_str!("../migrations/0004_gaussdb.sql")),
    (
        5,
        "dbss switch generation",
        include_str!("../migrations/0005_dbss_switch_generation.sql"),
    ),
    (
        6,
        "jobs claim index",
        include_str!("../migrations/0006_jobs_claim_index.sql"),
    ),
    (
        7,
        "servicestage and drivers",
        include_str!("../migrations/0007_servicestage.sql"),
    ),
    (
        8,
        "lockouts",
        include_str!("../migrations/0008_lockouts.sql"),
    ),
    (
        9,
        "jobs neutral states",
        include_str!("../migrations/0009_jobs_neutral_states.sql"),
    ),
    (
        10,
        "jobs host",
        include_str!("../migrations/0010_jobs_host.sql"),
    ),
    (
        11,
        "zstack sessions",
        include_str!("../migrations/0011_zstack_sessions.sql"),
    ),
    (
        20,
        "jobs notify",
        include_str!("../migrations/0020_jobs_notify.sql"),
    ),
    (
        21,
        "jobs fair claim",
        include_str!("../migrations/0021_jobs_fair_claim.sql"),
    ),
    (
        30,
        "dbss audit",
        include_str!("../migrations/0030_dbss_audit.sql"),
    ),
    (
        31,
        "dbss alarm config",
        include_str!("../migrations/0031_dbss_alarm_config.sql"),
    ),
    (
        32,
        "dbss scopes",
        include_str!("../migrations/0032_dbss_scopes.sql"),
    ),
    (
        33,
        "dbss audit counters",
        include_str!("../migrations/0033_dbss_audit_counters.sql"),
    ),
    (
        34,
        "dbss audit qps",
        include_str!("../migrations/0034_dbss_audit_qps.sql"),
    ),
    (
        36,
        "dbss statements per day and leases",
        include_str!("../migrations/0036_dbss_storage.sql"),
    ),
    (
        37,
        "dbss statements partitioned by day",
        include_str!("../migrations/0037_dbss_sqls_partitioned.sql"),
    ),
    (
        40,
        "console sessions",
        include_str!("../migrations/0040_console_sessions.sql"),
    ),
    (
        41,
        "jobs by creation time",
        include_str!("../migrations/0041_jobs_created_index.sql"),
    ),
    (
        45,
        "drivers notify",
        include_str!("../migrations/0045_drivers_notify.sql"),
    ),
    (
        46,
        "jobs notify kinds",
        include_str!("../migrations/0046_jobs_notify_kinds.sql"),
    ),
    (
        50,
        "jobs without the first claim index",
        include_str!("../migrations/0050_jobs_drop_due_index.sql"),
    ),
    (
        51,
        "jobs announced after their commit",
        include_str!("../migrations/0051_jobs_notify_after_commit.sql"),
    ),
    (
        60,
        "dbss statements per minute",
        include_str!("../migrations/0060_dbss_sql_minutes.sql"),
    ),
    (
        61,
        "dbss statement text trigram index",
        include_str!("../migrations/0061_dbss_sqls_trigram.sql"),
    ),
    (
        62,
        "dbss statement text full-text index",
        include_str!("../migrations/0062_dbss_sqls_fts.sql"),
    ),
    (
        63,
        "dbss risk and rule list indexes partial",
        include_str!("../migrations/0063_dbss_sqls_partial_risk_rule.sql"),
    ),
    (
        64,
        "dbss sqlite list indexes partial, text index without sizes",
        include_str!("../migrations/0064_dbss_sqls_sqlite_ingest.sql"),
    ),
    (
        65,
        "dbss statement time index in page order",
        include_str!("../migrations/0065_dbss_sqls_time_seq.sql"),
    ),
    (
        66,
        "jobs claimed without index writes",
        include_str!("../migrations/0066_jobs_hot_claim.sql"),
    ),
];

/// The checksums (SHA-384 of the text) of migrations whose comments were edited after they
/// shipped, as databases recorded them when they applied them: sqlx refuses to run when an
/// applied migration's checksum changed, and a comment changes nothing the database holds.
/// 3: its first line cited a document outside the repository; it now cites docs/contract.md.
const SHIPPED_CHECKSUMS: &[(i64, &str)] = &[(
    3,
    "87b27dab0ffe1cb85dcc28728ff3b4dce07d3797826be1685090e2f536e94ad44191369af37a24ce8ed8bf000f9b63c3",
)];

/// The bytes of a hex string (the checksums above are well-formed; a bad pair reads as 0).
fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0))
        .collect()
}

/// Migrations that exist only on PostgreSQL (triggers in PL/pgSQL): on SQLite their number is
/// recorded with a statement that changes nothing, so both back-ends count the same list.
const POSTGRES_ONLY: &[i64] = &[20, 37, 45, 46, 51, 61, 63, 66];

/// Migrations that exist only on SQLite (FTS5): on PostgreSQL their number is recorded the
/// same way.
const SQLITE_ONLY: &[i64] = &[62, 64];

pub(crate) fn migrator(backend: Backend) -> Migrator {
    Migrator {
        migrations: Cow::Owned(
            MIGRATIONS
                .iter()
                .map(|(version, description, sql)| {
                    let sql = if (backend == Backend::Sqlite && POSTGRES_ONLY.contains(version))
                        || (backend == Backend::Postgres && SQLITE_ONLY.contains(version))
                    {
                        "SELECT 1;"
                    } else {
                        sql
                    };
                    let mut m = Migration::new(
                        *version,
                        Cow::Borrowed(*description),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    );
                    if let Some((_, hex)) = SHIPPED_CHECKSUMS.iter().find(|(v, _)| v == version) {
                        m.checksum = Cow::Owned(hex_bytes(hex));
                    }
                    m
                })
                .collect(),
        ),
        ignore_missing: false,
        locking: true,
        no_tx: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pinned checksum is 48 bytes and differs from the current text's (else the pin is
    /// not needed), and only the migrations named are pinned.
    #[test]
    fn pinned_checksums_are_sha384_and_only_where_the_text_changed() {
        let m = migrator(Backend::Postgres);
        for (version, hex) in SHIPPED_CHECKSUMS {
            let pinned = hex_bytes(hex);
            assert_eq!((hex.len(), pinned.len()), (96, 48), "{version}");
            let (_, description, sql) = MIGRATIONS.iter().find(|(v, _, _)| v == version).unwrap();
            let fresh = Migration::new(
                *version,
                Cow::Borrowed(*description),
                MigrationType::Simple,
                Cow::Borrowed(*sql),
                false,
            );
            assert_ne!(fresh.checksum.as_ref(), pinned.as_slice(), "{version}");
            let used = m.migrations.iter().find(|x| x.version == *version).unwrap();
            assert_eq!(used.checksum.as_ref(), pinned.as_slice(), "{version}");
        }
    }
}
