//! The storage keeper (docs/dbss-audit.md → Storage): keeps captured statements bounded. One
//! process of a scale-out at a time holds its lease (`dbss_leases`, renewed every round, taken
//! over when a holder stops renewing) and, every `[dbss] storage_interval_seconds`: makes
//! PostgreSQL's daily partitions ahead (and for days found in the default partition), drops
//! the partitions of days past `[dbss] retention_days` and deletes in bounded batches what
//! retention leaves elsewhere (SQLite, the default partition), then deletes each instance's
//! oldest statements beyond its online cap (the edition's online SQL storage, or
//! `[dbss] online_statement_limit` when lower). Statistics counters are never touched: they
//! outlive the statements they counted.

use plugboard_core::config::DbssConfig;
use plugboard_core::time::{now_micros, Micros};
use plugboard_store::dbss_audit::storage::{day_of, DAY};
use plugboard_store::{Store, StoreError};
use std::time::Duration;

/// The lease's name in `dbss_leases`.
pub const LEASE: &str = "dbss-storage";
/// Statements one delete transaction takes at most (bounded: writers wait this long at most).
pub const DELETE_BATCH: i64 = 5_000;
/// Partitions made ahead of today (PostgreSQL).
pub const DAYS_AHEAD: i64 = 3;

/// Online SQL storage per edition [vendor: product spec table; advanced unconfirmed].
pub const ONLINE_CAPS: &[(&str, i64)] = &[
    ("entry", 100_000_000),
    ("basic", 400_000_000),
    ("professional", 600_000_000),
    ("advanced", 1_500_000_000),
];

/// An instance's online cap: its edition's, or for an explicit `database_limit` the entry
/// edition's per database up to the advanced edition's; lowered to `configured` when that
/// is set (> 0).
pub fn online_cap(edition: &str, database_limit: i64, configured: u64) -> i64 {
    let (entry, advanced) = (ONLINE_CAPS[0].1, ONLINE_CAPS[3].1);
    let cap = ONLINE_CAPS
        .iter()
        .find(|(e, _)| *e == edition)
        .map(|(_, c)| *c)
        .unwrap_or_else(|| entry.saturating_mul(database_limit.max(1)).min(advanced));
    match i64::try_from(configured) {
        Ok(c) if c > 0 => cap.min(c),
        _ => cap,
    }
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeepReport {
    /// Partitions made (days).
    pub partitions_made: Vec<i64>,
    /// Partitions dropped by retention (days).
    pub partitions_dropped: Vec<i64>,
    /// Statements deleted row by row by retention.
    pub expired: i64,
    /// Statements deleted by the online cap.
    pub over_cap: i64,
}

/// The keeper: run [`StorageKeeper::run`] in a task of every process.
pub struct StorageKeeper {
    pub store: Store,
    pub config: DbssConfig,
    /// This process's name in the lease.
    pub holder: String,
}

impl StorageKeeper {
    /// Run until the task is dropped: a round whenever this process holds the lease.
    pub async fn run(self) {
        let every = Duration::from_secs(self.config.storage_interval_seconds.max(1));
        // The lease outlives three missed rounds, so a live holder keeps it and a dead one's
        // duty moves within that time.
        let ttl = (every.as_micros().min(i64::MAX as u128 / 4) as i64) * 3;
        loop {
            let now = now_micros();
            match self
                .store
                .claim_dbss_lease(LEASE, &self.holder, now, now.saturating_add(ttl))
                .await
            {
                Ok(true) => match self.keep(now).await {
                    Ok(r) if r != KeepReport::default() => {
                        tracing::info!(
                            made = r.partitions_made.len(),
                            dropped = r.partitions_dropped.len(),
                            expired = r.expired,
                            over_cap = r.over_cap,
                            "audit storage kept"
                        )
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "audit storage round failed; next round retries")
                    }
                },
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "claiming the audit storage lease failed"),
            }
            tokio::time::sleep(every).await;
        }
    }

    /// One round at time `now` (the lease already held).
    pub async fn keep(&self, now: Micros) -> Result<KeepReport, StoreError> {
        let mut report = KeepReport::default();
        let today = day_of(now);
        let cutoff_day = match i64::try_from(self.config.retention_days) {
            Ok(d) if d > 0 => Some(today.saturating_sub(d)),
            _ => None,
        };
        let oldest_kept = cutoff_day.unwrap_or(i64::MIN / DAY);
        // Partitions: ahead of today, and for kept days whose statements sit in the default.
        let mut wanted: Vec<i64> = (today - 1..=today + DAYS_AHEAD).collect();
        wanted.extend(
            self.store
                .audit_default_partition_days()
                .await?
                .into_iter()
                .filter(|d| (oldest_kept..=today + DAYS_AHEAD).contains(d)),
        );
        wanted.sort_unstable();
        wanted.dedup();
        for day in wanted {
            if day >= oldest_kept && self.store.ensure_audit_partition(day).await? {
                report.partitions_made.push(day);
            }
        }
        let totals = self.store.audit_sql_totals().await?;
        if let Some(cutoff_day) = cutoff_day {
            report.partitions_dropped = self.store.drop_audit_partitions_before(cutoff_day).await?;
            let before = cutoff_day.saturating_mul(DAY);
            for t in &totals {
                report.expired += self.delete_all(&t.instance_id, before, i64::MAX).await?;
            }
        }
        for t in self.store.audit_sql_totals().await? {
            let cap = online_cap(
                &t.edition,
                t.database_limit,
                self.config.online_statement_limit,
            );
            if t.stored > cap {
                let deleted = self
                    .delete_all(&t.instance_id, i64::MAX, t.stored - cap)
                    .await?;
                metrics::counter!("plugboard_audit_statements_deleted_total", "why" => "cap")
                    .increment(deleted as u64);
                report.over_cap += deleted;
            }
        }
        metrics::counter!("plugboard_audit_statements_deleted_total", "why" => "retention")
            .increment(report.expired as u64);
        Ok(report)
    }

    /// Delete up to `most` of an instance's oldest statements older than `before`, a bounded
    /// batch per transaction; returns how many went.
    async fn delete_all(
        &self,
        instance_id: &str,
        before: Micros,
        most: i64,
    ) -> Result<i64, StoreError> {
        let mut done = 0;
        while done < most {
            let n = self
                .store
                .delete_oldest_audit_sqls(instance_id, before, DELETE_BATCH.min(most - done))
                .await?;
            if n == 0 {
                break;
            }
            done += n;
            tokio::task::yield_now().await;
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_follow_the_edition_and_the_configured_limit() {
        assert_eq!(online_cap("entry", 1, 0), 100_000_000);
        assert_eq!(online_cap("advanced", 30, 0), 1_500_000_000);
        assert_eq!(online_cap("custom", 4, 0), 400_000_000);
        assert_eq!(online_cap("custom", 1_000_000, 0), 1_500_000_000);
        assert_eq!(online_cap("basic", 3, 20), 20);
        assert_eq!(online_cap("", 0, 0), 100_000_000);
    }
}
