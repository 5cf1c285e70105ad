//! DBSS rows: audit instances and their audited databases (docs/api-coverage.md → DBSS), and the audit
//! monitor's schedule. Per-instance counters are updated in the same transaction as every
//! change, so the database limit is enforced without races and totals never scan the table.
//! Every status change bumps the database's `switch_generation`; a probe outcome is recorded
//! only under the generation it was claimed at, so no probe outlives the switch that started it.

use crate::page::{page_rows, Where};
use crate::{Backend, Result, Store, StoreError};
use plugboard_core::time::Micros;
use sqlx::any::AnyRow;
use sqlx::Row;

/// An audit instance.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditInstance {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub edition: String,
    pub database_limit: i64,
    pub database_count: i64,
    pub on_count: i64,
    pub status: String,
    pub created_at: Micros,
}

/// An audited database.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditDatabase {
    pub id: String,
    pub instance_id: String,
    pub db_classification: String,
    pub name: String,
    pub db_type: String,
    pub version: String,
    pub charset: String,
    pub ip: String,
    pub port: String,
    pub os: String,
    pub instance_name: String,
    /// `ON` / `OFF`.
    pub status: String,
    /// `ACTIVE` / `SHUTOFF` / `ERROR`.
    pub audit_status: String,
    /// Why `audit_status` is `ERROR` (empty otherwise).
    pub audit_reason: String,
    pub probed_at: Micros,
    pub created_at: Micros,
}

/// Why adding a database failed.
#[derive(Debug, thiserror::Error)]
pub enum AddDatabaseError {
    /// The instance is at its `database_limit`.
    #[error("limit reached")]
    LimitReached,
    /// The same ip, port and name are already audited by this instance.
    #[error("duplicate")]
    Duplicate,
    /// No such instance.
    #[error("instance not found")]
    InstanceNotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AddDatabaseError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Db(e))
    }
}

/// A database the monitor must probe now.
#[derive(Debug, Clone, PartialEq)]
pub struct DueProbe {
    pub id: String,
    pub db_type: String,
    pub ip: String,
    pub port: String,
    /// The database's switch generation when it was claimed; hand it back in
    /// [`ProbeOutcome::generation`].
    pub generation: i64,
}

/// A probe outcome to record.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeOutcome {
    pub id: String,
    /// [`DueProbe::generation`] of the claim this outcome answers. The outcome is dropped when
    /// the database was switched (OFF, or OFF and ON again) since.
    pub generation: i64,
    pub audit_status: &'static str,
    pub audit_reason: String,
    pub probed_at: Micros,
}

const INSTANCE_COLS: &str =
    "id, project_id, name, edition, database_limit, database_count, on_count, status, created_at";
const DATABASE_COLS: &str = "id, instance_id, db_classification, name, type, version, charset, ip, port, os, instance_name, status, audit_status, audit_reason, probed_at, created_at";

fn instance_from(row: &AnyRow) -> Result<AuditInstance> {
    Ok(AuditInstance {
        id: row.try_get("id")?,
        project_id: row.try_get("project_id")?,
        name: row.try_get("name")?,
        edition: row.try_get("edition")?,
        database_limit: row.try_get("database_limit")?,
        database_count: row.try_get("database_count")?,
        on_count: row.try_get("on_count")?,
        status: row.try_get("status")?,
        created_at: row.try_get("created_at")?,
    })
}

fn database_from(row: &AnyRow) -> Result<AuditDatabase> {
    Ok(AuditDatabase {
        id: row.try_get("id")?,
        instance_id: row.try_get("instance_id")?,
        db_classification: row.try_get("db_classification")?,
        name: row.try_get("name")?,
        db_type: row.try_get("type")?,
        version: row.try_get("version")?,
        charset: row.try_get("charset")?,
        ip: row.try_get("ip")?,
        port: row.try_get("port")?,
        os: row.try_get("os")?,
        instance_name: row.try_get("instance_name")?,
        status: row.try_get("status")?,
        audit_status: row.try_get("audit_status")?,
        audit_reason: row.try_get("audit_reason")?,
        probed_at: row.try_get("probed_at")?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// Create an audit instance.
    pub async fn create_audit_instance(&self, i: &AuditInstance) -> Result<()> {
        sqlx::query(&format!("INSERT INTO dbss_instances ({INSTANCE_COLS}) VALUES ($1, $2, $3, $4, $5, 0, 0, $6, $7)"))
            .bind(&i.id)
            .bind(&i.project_id)
            .bind(&i.name)
            .bind(&i.edition)
            .bind(i.database_limit)
            .bind(&i.status)
            .bind(i.created_at)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// An audit instance of `project_id` (another project's is `NotFound`).
    pub async fn get_audit_instance(&self, project_id: &str, id: &str) -> Result<AuditInstance> {
        let row = sqlx::query(&format!(
            "SELECT {INSTANCE_COLS} FROM dbss_instances WHERE id = $1 AND project_id = $2"
        ))
        .bind(id)
        .bind(project_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        instance_from(&row)
    }

    /// A page of a project's audit instances (oldest first) and their total.
    pub async fn list_audit_instances(
        &self,
        project_id: &str,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<AuditInstance>, i64)> {
        let mut w = Where::new();
        w.eq("project_id", project_id);
        let (rows, total) = self
            .read_page(
                "dbss_instances",
                INSTANCE_COLS,
                &w,
                "created_at, id",
                offset,
                limit,
            )
            .await?;
        Ok((
            rows.iter().map(instance_from).collect::<Result<_>>()?,
            total,
        ))
    }

    /// Delete an audit instance and every database it audits, in one transaction.
    pub async fn delete_audit_instance(&self, project_id: &str, id: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for table in [
            "dbss_agent_databases",
            "dbss_agents",
            "dbss_sqls",
            "dbss_sql_days",
            "dbss_sql_minutes",
            "dbss_risk_rules",
            "dbss_sql_rules",
            "dbss_rule_versions",
            "dbss_alarms",
            "dbss_alarm_configs",
            "dbss_scopes",
        ] {
            sqlx::query(&format!("DELETE FROM {table} WHERE instance_id IN (SELECT id FROM dbss_instances WHERE id = $1 AND project_id = $2)"))
                .bind(id)
                .bind(project_id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM dbss_databases WHERE instance_id IN (SELECT id FROM dbss_instances WHERE id = $1 AND project_id = $2)")
            .bind(id)
            .bind(project_id)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM dbss_instances WHERE id = $1 AND project_id = $2")
            .bind(id)
            .bind(project_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    /// Add a database to an instance: the limit, duplicates and the insert in one
    /// transaction.
    pub async fn add_audit_database(
        &self,
        project_id: &str,
        d: &AuditDatabase,
    ) -> Result<(), AddDatabaseError> {
        let mut tx = self.begin_write().await?;
        let counted = sqlx::query("UPDATE dbss_instances SET database_count = database_count + 1 WHERE id = $1 AND project_id = $2 AND database_count < database_limit")
            .bind(&d.instance_id)
            .bind(project_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if counted == 0 {
            let exists =
                sqlx::query("SELECT id FROM dbss_instances WHERE id = $1 AND project_id = $2")
                    .bind(&d.instance_id)
                    .bind(project_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_some();
            return Err(if exists {
                AddDatabaseError::LimitReached
            } else {
                AddDatabaseError::InstanceNotFound
            });
        }
        let inserted = sqlx::query(&format!("INSERT INTO dbss_databases ({DATABASE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"))
            .bind(&d.id)
            .bind(&d.instance_id)
            .bind(&d.db_classification)
            .bind(&d.name)
            .bind(&d.db_type)
            .bind(&d.version)
            .bind(&d.charset)
            .bind(&d.ip)
            .bind(&d.port)
            .bind(&d.os)
            .bind(&d.instance_name)
            .bind(&d.status)
            .bind(&d.audit_status)
            .bind(&d.audit_reason)
            .bind(d.probed_at)
            .bind(d.created_at)
            .execute(&mut *tx)
            .await;
        match inserted {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(AddDatabaseError::Duplicate)
            }
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        Ok(())
    }

    /// A database of an instance.
    pub async fn get_audit_database(&self, instance_id: &str, id: &str) -> Result<AuditDatabase> {
        let row = sqlx::query(&format!(
            "SELECT {DATABASE_COLS} FROM dbss_databases WHERE id = $1 AND instance_id = $2"
        ))
        .bind(id)
        .bind(instance_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        database_from(&row)
    }

    /// A page of an instance's databases (oldest first), optionally by status, and the total
    /// that match. The total comes from the instance's counters, so the cost does not grow
    /// with the table; they are read in the page's read transaction, so the two agree.
    pub async fn list_audit_databases(
        &self,
        instance: &AuditInstance,
        status: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<AuditDatabase>, i64)> {
        let mut w = Where::new();
        w.eq("instance_id", &instance.id);
        if let Some(s) = status {
            w.eq("status", s);
        }
        let mut tx = self.begin_read().await?;
        let rows = page_rows(
            &mut tx,
            "dbss_databases",
            DATABASE_COLS,
            &w,
            "created_at, id",
            offset,
            limit,
        )
        .await?;
        let counters =
            sqlx::query("SELECT database_count, on_count FROM dbss_instances WHERE id = $1")
                .bind(&instance.id)
                .fetch_optional(&mut *tx)
                .await?;
        tx.commit().await?;
        // An instance deleted meanwhile has no databases left.
        let (all, on): (i64, i64) = match counters {
            Some(row) => (row.try_get(0)?, row.try_get(1)?),
            None => (0, 0),
        };
        let total = match status {
            Some("ON") => on,
            Some(_) => all - on,
            None => all,
        };
        Ok((
            rows.iter().map(database_from).collect::<Result<_>>()?,
            total,
        ))
    }

    /// Delete a database (and count it out of its instance).
    pub async fn delete_audit_database(&self, instance_id: &str, id: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "DELETE FROM dbss_databases WHERE id = $1 AND instance_id = $2 RETURNING status",
        )
        .bind(id)
        .bind(instance_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let was_on = row.try_get::<String, _>(0)? == "ON";
        // Its agents stop serving it; an agent left with no database goes too.
        sqlx::query("DELETE FROM dbss_agent_databases WHERE db_id = $1 AND instance_id = $2")
            .bind(id)
            .bind(instance_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM dbss_agents WHERE instance_id = $1 AND NOT EXISTS (SELECT 1 FROM dbss_agent_databases WHERE agent_id = dbss_agents.id)")
            .bind(instance_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE dbss_instances SET database_count = database_count - 1, on_count = on_count - $2 WHERE id = $1")
            .bind(instance_id)
            .bind(was_on as i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Switch audit ON (probe due now) or OFF (`SHUTOFF`). Returns whether anything changed.
    /// The counter follows the conditional update's own result, so concurrent switches of one
    /// database count once.
    pub async fn switch_audit_database(
        &self,
        instance_id: &str,
        id: &str,
        on: bool,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let sql = if on {
            "UPDATE dbss_databases SET status = 'ON', next_probe_at = 0, switch_generation = switch_generation + 1 WHERE id = $1 AND instance_id = $2 AND status = 'OFF'"
        } else {
            "UPDATE dbss_databases SET status = 'OFF', audit_status = 'SHUTOFF', audit_reason = '', switch_generation = switch_generation + 1 WHERE id = $1 AND instance_id = $2 AND status = 'ON'"
        };
        let changed = sqlx::query(sql)
            .bind(id)
            .bind(instance_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 0 {
            let exists =
                sqlx::query("SELECT id FROM dbss_databases WHERE id = $1 AND instance_id = $2")
                    .bind(id)
                    .bind(instance_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_some();
            return if exists {
                Ok(false)
            } else {
                Err(StoreError::NotFound)
            };
        }
        sqlx::query("UPDATE dbss_instances SET on_count = on_count + $2 WHERE id = $1")
            .bind(instance_id)
            .bind(if on { 1i64 } else { -1 })
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Claim up to `limit` databases whose probe is due at `now`, pushing their next probe to
    /// `next`. On PostgreSQL rows locked by another process are skipped, so processes sharing
    /// the database never probe the same row at once.
    pub async fn claim_due_probes(
        &self,
        now: Micros,
        next: Micros,
        limit: i64,
    ) -> Result<Vec<DueProbe>> {
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!("UPDATE dbss_databases SET next_probe_at = $1 WHERE id IN (SELECT id FROM dbss_databases WHERE status = 'ON' AND next_probe_at <= $2 ORDER BY next_probe_at LIMIT $3{lock}) RETURNING id, type, ip, port, switch_generation");
        let rows = sqlx::query(&sql)
            .bind(next)
            .bind(now)
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(DueProbe {
                    id: r.try_get(0)?,
                    db_type: r.try_get(1)?,
                    ip: r.try_get(2)?,
                    port: r.try_get(3)?,
                    generation: r.try_get(4)?,
                })
            })
            .collect()
    }

    /// Record probe outcomes in one transaction. An outcome is written only while the
    /// database is still ON at the generation it was claimed at: one switched OFF meanwhile
    /// keeps `SHUTOFF`, and one switched OFF and ON again waits for the probe of its new
    /// generation instead of showing the stale result. Returns how many were written.
    pub async fn record_probes(&self, outcomes: &[ProbeOutcome]) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let mut written = 0;
        for o in outcomes {
            written += sqlx::query("UPDATE dbss_databases SET audit_status = $2, audit_reason = $3, probed_at = $4 WHERE id = $1 AND status = 'ON' AND switch_generation = $5")
                .bind(&o.id)
                .bind(o.audit_status)
                .bind(&o.audit_reason)
                .bind(o.probed_at)
                .bind(o.generation)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(written)
    }
}
