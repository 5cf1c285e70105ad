//! Bounded statement storage (docs/dbss-audit.md → Storage): how many statements each
//! instance holds per UTC day (`dbss_sql_days`, moved in the same transaction as the rows),
//! bounded batched deletes of an instance's oldest statements (the online cap) and of those
//! older than a day (retention), PostgreSQL's daily partitions of `dbss_sqls` (made ahead,
//! rows moved out of the default partition, old ones dropped whole), and the leases that let
//! one process of a scale-out do such a duty at a time. The per-minute counts of
//! [`super::sql_minutes`] go with the statements; statistics counters are not touched.

use crate::{Backend, Result, Store};
use chrono::NaiveDate;
use plugboard_core::time::{to_datetime, Micros};
use sqlx::{AnyConnection, Row};
use std::collections::BTreeMap;

/// One UTC day in microseconds.
pub const DAY: Micros = 86_400_000_000;

/// The UTC day (days since the epoch, rounded down) a time falls in.
pub fn day_of(t: Micros) -> i64 {
    t.div_euclid(DAY)
}

/// The partition of `day` (`dbss_sqls_YYYYMMDD`; names sort like their days).
pub fn partition_name(day: i64) -> String {
    format!(
        "dbss_sqls_{}",
        to_datetime(day.saturating_mul(DAY)).format("%Y%m%d")
    )
}

/// The day of a partition name made by [`partition_name`] (`None` for any other table).
fn partition_day(name: &str) -> Option<i64> {
    let date = NaiveDate::parse_from_str(name.strip_prefix("dbss_sqls_")?, "%Y%m%d").ok()?;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    Some((date - epoch).num_days())
}

/// An instance that holds statements: its edition, database limit (for its online cap) and
/// how many statements it holds. `edition` is empty for statements of an instance since
/// deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTotal {
    pub instance_id: String,
    pub edition: String,
    pub database_limit: i64,
    pub stored: i64,
}

/// Add (`sign` 1) or take away (`sign` -1) statements from the per-day counts, inside the
/// transaction that stores or deletes them; counts that reach 0 go.
pub(crate) async fn move_sql_days(
    conn: &mut AnyConnection,
    counts: &BTreeMap<(String, i64), i64>,
    sign: i64,
) -> Result<()> {
    for ((instance, day), n) in counts {
        if *n == 0 {
            continue;
        }
        sqlx::query(
            "INSERT INTO dbss_sql_days (instance_id, day, stored) VALUES ($1, $2, $3) \
             ON CONFLICT (instance_id, day) DO UPDATE SET stored = dbss_sql_days.stored + excluded.stored",
        )
        .bind(instance)
        .bind(*day)
        .bind(sign * n)
        .execute(&mut *conn)
        .await?;
    }
    if sign < 0 {
        sqlx::query("DELETE FROM dbss_sql_days WHERE stored <= 0")
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

impl Store {
    /// Take or renew the lease `name` for `holder` until `expires_at`: `true` when `holder`
    /// has it (it held it already, or the last holder's lease ran out before `now`).
    pub async fn claim_dbss_lease(
        &self,
        name: &str,
        holder: &str,
        now: Micros,
        expires_at: Micros,
    ) -> Result<bool> {
        let row = sqlx::query(
            "INSERT INTO dbss_leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE dbss_leases.holder = excluded.holder OR dbss_leases.expires_at < $4 \
             RETURNING holder",
        )
        .bind(name)
        .bind(holder)
        .bind(expires_at)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.is_some())
    }

    /// Give the lease `name` up if `holder` has it (a process stopping cleanly).
    pub async fn release_dbss_lease(&self, name: &str, holder: &str) -> Result<()> {
        sqlx::query("DELETE FROM dbss_leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// How many statements `instance` holds.
    pub async fn audit_sql_stored(&self, instance_id: &str) -> Result<i64> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(stored), 0) AS BIGINT) FROM dbss_sql_days WHERE instance_id = $1",
        )
        .bind(instance_id)
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get(0)?)
    }

    /// Every instance that holds statements, with its edition and how many it holds.
    pub async fn audit_sql_totals(&self) -> Result<Vec<StoredTotal>> {
        let rows = sqlx::query(
            "SELECT d.instance_id, COALESCE(MAX(i.edition), ''), COALESCE(MAX(i.database_limit), 0), \
             CAST(SUM(d.stored) AS BIGINT) FROM dbss_sql_days d LEFT JOIN dbss_instances i ON i.id = d.instance_id \
             GROUP BY d.instance_id ORDER BY d.instance_id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredTotal {
                    instance_id: r.try_get(0)?,
                    edition: r.try_get(1)?,
                    database_limit: r.try_get(2)?,
                    stored: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// Delete up to `limit` of `instance`'s oldest statements that started before `before`,
    /// in one transaction with their per-day counts; returns how many went (0: none left).
    pub async fn delete_oldest_audit_sqls(
        &self,
        instance_id: &str,
        before: Micros,
        limit: i64,
    ) -> Result<i64> {
        let sql = match self.backend() {
            Backend::Sqlite => {
                "DELETE FROM dbss_sqls WHERE rowid IN (SELECT rowid FROM dbss_sqls \
                 WHERE instance_id = $1 AND start_time < $2 ORDER BY start_time, seq LIMIT $3) \
                 RETURNING start_time, db_id, risk_level, query_type, sql_response, rule_name, client_name"
            }
            Backend::Postgres => {
                "DELETE FROM dbss_sqls WHERE (id, start_time) IN (SELECT id, start_time FROM dbss_sqls \
                 WHERE instance_id = $1 AND start_time < $2 ORDER BY start_time, seq LIMIT $3) \
                 RETURNING start_time, db_id, risk_level, query_type, sql_response, rule_name, client_name"
            }
        };
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(sql)
            .bind(instance_id)
            .bind(before)
            .bind(limit.max(0))
            .fetch_all(&mut *tx)
            .await?;
        let mut days = BTreeMap::new();
        let mut gone = Vec::with_capacity(rows.len());
        for r in &rows {
            let t: Micros = r.try_get(0)?;
            *days
                .entry((instance_id.to_string(), day_of(t)))
                .or_insert(0) += 1;
            gone.push(super::sqls::SqlRow {
                instance_id: instance_id.to_string(),
                start_time: t,
                db_id: r.try_get(1)?,
                risk_level: r.try_get(2)?,
                query_type: r.try_get(3)?,
                sql_response: r.try_get(4)?,
                rule_name: r.try_get(5)?,
                client_name: r.try_get(6)?,
                ..Default::default()
            });
        }
        move_sql_days(&mut tx, &days, -1).await?;
        let minutes = super::sql_minutes::tally(&gone);
        super::sql_minutes::move_sql_minutes(&mut tx, &minutes, -1).await?;
        tx.commit().await?;
        Ok(rows.len() as i64)
    }

    /// The days that have a partition of their own (PostgreSQL; empty on SQLite), ascending.
    pub async fn audit_partitions(&self) -> Result<Vec<i64>> {
        if self.backend() != Backend::Postgres {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = 'dbss_sqls'::regclass",
        )
        .fetch_all(self.pool())
        .await?;
        let mut days = Vec::new();
        for r in &rows {
            let name: String = r.try_get(0)?;
            days.extend(partition_day(&name));
        }
        days.sort_unstable();
        Ok(days)
    }

    /// The days of the statements in the default partition (PostgreSQL: statements of days
    /// that had no partition when they arrived; empty on SQLite).
    pub async fn audit_default_partition_days(&self) -> Result<Vec<i64>> {
        if self.backend() != Backend::Postgres {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(&format!(
            "SELECT DISTINCT FLOOR(start_time::numeric / {DAY})::bigint AS d FROM dbss_sqls_default ORDER BY d"
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// Make `day`'s partition (PostgreSQL; nothing on SQLite) if it is missing, moving that
    /// day's statements out of the default partition in the same transaction. `true` if it
    /// was made now.
    pub async fn ensure_audit_partition(&self, day: i64) -> Result<bool> {
        if self.backend() != Backend::Postgres || self.audit_partitions().await?.contains(&day) {
            return Ok(false);
        }
        let name = partition_name(day);
        let (lo, hi) = (day * DAY, (day + 1) * DAY);
        let mut tx = self.begin_write().await?;
        // Writers wait (briefly) while the day's rows leave the default partition, so none
        // lands there between the move and the attach, which checks the default is clear.
        for stmt in [
            "SET LOCAL lock_timeout = '10s'".to_string(),
            "LOCK TABLE dbss_sqls_default IN EXCLUSIVE MODE".to_string(),
            format!("CREATE TABLE {name} (LIKE dbss_sqls INCLUDING DEFAULTS)"),
            format!(
                "WITH moved AS (DELETE FROM dbss_sqls_default WHERE start_time >= {lo} AND start_time < {hi} RETURNING *) \
                 INSERT INTO {name} SELECT * FROM moved"
            ),
            format!("ALTER TABLE dbss_sqls ATTACH PARTITION {name} FOR VALUES FROM ({lo}) TO ({hi})"),
        ] {
            sqlx::query(&stmt).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Drop the partitions of days before `cutoff_day` (PostgreSQL; nothing on SQLite) with
    /// their per-day counts, one transaction each; returns the days dropped.
    pub async fn drop_audit_partitions_before(&self, cutoff_day: i64) -> Result<Vec<i64>> {
        let mut dropped = Vec::new();
        for day in self.audit_partitions().await? {
            if day >= cutoff_day {
                break;
            }
            let mut tx = self.begin_write().await?;
            sqlx::query("SET LOCAL lock_timeout = '10s'")
                .execute(&mut *tx)
                .await?;
            sqlx::query(&format!("DROP TABLE {}", partition_name(day)))
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM dbss_sql_days WHERE day = $1")
                .bind(day)
                .execute(&mut *tx)
                .await?;
            let per_day = DAY / super::sql_minutes::MINUTE;
            super::sql_minutes::forget_minutes(&mut tx, day * per_day, (day + 1) * per_day).await?;
            tx.commit().await?;
            dropped.push(day);
        }
        Ok(dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_names_round_trip_and_sort_like_their_days() {
        let day = day_of(1_765_065_600_000_000); // 2025-12-07
        assert_eq!(partition_name(day), "dbss_sqls_20251207");
        assert_eq!(partition_day("dbss_sqls_20251207"), Some(day));
        assert_eq!(partition_day("dbss_sqls_default"), None);
        assert!(partition_name(day - 1) < partition_name(day));
        assert_eq!(day_of(-1), -1);
    }
}
