//! Risk-operation and SQL-injection rules of an instance, and the instance's rule version
//! (bumped in the transaction of every change, so every process sees when to recompile).

use crate::{Result, Store, StoreError};
use plugboard_core::time::Micros;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

/// A risk-operation rule.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RiskRule {
    pub id: String,
    pub instance_id: String,
    pub name: String,
    pub name_english: String,
    /// `SYSTEM` / `CUSTOMIZE`.
    pub rule_type: String,
    /// `LOGIN` / `OPERATE`.
    pub kind: String,
    pub status: String,
    pub rank: i64,
    pub risk_level: String,
    /// Comma list of query types (empty or `ALL`: every operation).
    pub action: String,
    /// JSON array of `{schema, table, column}`.
    pub schemas: String,
    pub ignore_case: bool,
    pub db_ids: String,
    pub client_ips: String,
    pub exception_ips: String,
    pub affect_symbol: String,
    pub affect_rows: i64,
    pub execution_symbol: String,
    pub execution_time: i64,
    /// `FAILED`: failed logins only (the system login rule); empty: any.
    pub log_result: String,
    pub created_at: Micros,
}

/// A SQL-injection rule.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SqlRule {
    pub id: String,
    pub instance_id: String,
    pub name: String,
    /// `SYSTEM` / `CUSTOMIZE`.
    pub rule_type: String,
    pub status: String,
    pub rank: i64,
    pub risk_level: String,
    pub feature: String,
    pub regex: String,
    pub created_at: Micros,
}

const RISK_COLS: &str = "id, instance_id, name, name_english, rule_type, type, status, rank, risk_level, action, schemas, ignore_case, db_ids, client_ips, exception_ips, affect_symbol, affect_rows, execution_symbol, execution_time, log_result, created_at";
const SQL_COLS: &str =
    "id, instance_id, name, rule_type, status, rank, risk_level, feature, regex, created_at";

fn risk_from(r: &AnyRow) -> Result<RiskRule> {
    Ok(RiskRule {
        id: r.try_get("id")?,
        instance_id: r.try_get("instance_id")?,
        name: r.try_get("name")?,
        name_english: r.try_get("name_english")?,
        rule_type: r.try_get("rule_type")?,
        kind: r.try_get("type")?,
        status: r.try_get("status")?,
        rank: r.try_get("rank")?,
        risk_level: r.try_get("risk_level")?,
        action: r.try_get("action")?,
        schemas: r.try_get("schemas")?,
        ignore_case: r.try_get::<i64, _>("ignore_case")? != 0,
        db_ids: r.try_get("db_ids")?,
        client_ips: r.try_get("client_ips")?,
        exception_ips: r.try_get("exception_ips")?,
        affect_symbol: r.try_get("affect_symbol")?,
        affect_rows: r.try_get("affect_rows")?,
        execution_symbol: r.try_get("execution_symbol")?,
        execution_time: r.try_get("execution_time")?,
        log_result: r.try_get("log_result")?,
        created_at: r.try_get("created_at")?,
    })
}

fn sql_from(r: &AnyRow) -> Result<SqlRule> {
    Ok(SqlRule {
        id: r.try_get("id")?,
        instance_id: r.try_get("instance_id")?,
        name: r.try_get("name")?,
        rule_type: r.try_get("rule_type")?,
        status: r.try_get("status")?,
        rank: r.try_get("rank")?,
        risk_level: r.try_get("risk_level")?,
        feature: r.try_get("feature")?,
        regex: r.try_get("regex")?,
        created_at: r.try_get("created_at")?,
    })
}

async fn insert_risk(tx: &mut Transaction<'static, Any>, r: &RiskRule) -> Result<u64> {
    Ok(sqlx::query(&format!(
        "INSERT INTO dbss_risk_rules ({RISK_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) ON CONFLICT (id) DO NOTHING"
    ))
    .bind(&r.id)
    .bind(&r.instance_id)
    .bind(&r.name)
    .bind(&r.name_english)
    .bind(&r.rule_type)
    .bind(&r.kind)
    .bind(&r.status)
    .bind(r.rank)
    .bind(&r.risk_level)
    .bind(&r.action)
    .bind(&r.schemas)
    .bind(r.ignore_case as i64)
    .bind(&r.db_ids)
    .bind(&r.client_ips)
    .bind(&r.exception_ips)
    .bind(&r.affect_symbol)
    .bind(r.affect_rows)
    .bind(&r.execution_symbol)
    .bind(r.execution_time)
    .bind(&r.log_result)
    .bind(r.created_at)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

async fn insert_sql(tx: &mut Transaction<'static, Any>, r: &SqlRule) -> Result<u64> {
    Ok(sqlx::query(&format!(
        "INSERT INTO dbss_sql_rules ({SQL_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING"
    ))
    .bind(&r.id)
    .bind(&r.instance_id)
    .bind(&r.name)
    .bind(&r.rule_type)
    .bind(&r.status)
    .bind(r.rank)
    .bind(&r.risk_level)
    .bind(&r.feature)
    .bind(&r.regex)
    .bind(r.created_at)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

async fn bump(tx: &mut Transaction<'static, Any>, instance_id: &str) -> Result<()> {
    sqlx::query("INSERT INTO dbss_rule_versions (instance_id, version) VALUES ($1, 1) ON CONFLICT (instance_id) DO UPDATE SET version = dbss_rule_versions.version + 1")
        .bind(instance_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// Insert the shipped rules of an instance unless present (their ids are stable per
    /// instance, so concurrent seeding inserts each once).
    pub async fn seed_audit_rules(&self, risk: &[RiskRule], sql: &[SqlRule]) -> Result<()> {
        let Some(instance_id) = risk
            .first()
            .map(|r| r.instance_id.clone())
            .or_else(|| sql.first().map(|r| r.instance_id.clone()))
        else {
            return Ok(());
        };
        let mut tx = self.begin_write().await?;
        let mut added = 0;
        for r in risk {
            added += insert_risk(&mut tx, r).await?;
        }
        for r in sql {
            added += insert_sql(&mut tx, r).await?;
        }
        if added > 0 {
            bump(&mut tx, &instance_id).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The instance's rule version (0: never changed).
    pub async fn audit_rule_version(&self, instance_id: &str) -> Result<i64> {
        Ok(
            sqlx::query("SELECT version FROM dbss_rule_versions WHERE instance_id = $1")
                .bind(instance_id)
                .fetch_optional(self.pool())
                .await?
                .map(|r| r.try_get::<i64, _>(0))
                .transpose()?
                .unwrap_or(0),
        )
    }

    /// Every risk-operation rule of an instance, by rank.
    pub async fn list_audit_risk_rules(&self, instance_id: &str) -> Result<Vec<RiskRule>> {
        let rows = sqlx::query(&format!(
            "SELECT {RISK_COLS} FROM dbss_risk_rules WHERE instance_id = $1 ORDER BY rank, created_at, id"
        ))
        .bind(instance_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(risk_from).collect()
    }

    /// One risk-operation rule.
    pub async fn get_audit_risk_rule(&self, instance_id: &str, id: &str) -> Result<RiskRule> {
        let row = sqlx::query(&format!(
            "SELECT {RISK_COLS} FROM dbss_risk_rules WHERE id = $1 AND instance_id = $2"
        ))
        .bind(id)
        .bind(instance_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        risk_from(&row)
    }

    /// Add a custom risk-operation rule at the end of the ranking; `Conflict` when the name
    /// is taken, `Ok(false)` when the instance has `max_custom` custom rules already.
    pub async fn add_audit_risk_rule(&self, r: &RiskRule, max_custom: i64) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT COUNT(*), COALESCE(MAX(rank), 0) FROM dbss_risk_rules WHERE instance_id = $1",
        )
        .bind(&r.instance_id)
        .fetch_one(&mut *tx)
        .await?;
        let max_rank: i64 = row.try_get(1)?;
        let custom: i64 = sqlx::query("SELECT COUNT(*) FROM dbss_risk_rules WHERE instance_id = $1 AND rule_type = 'CUSTOMIZE'")
            .bind(&r.instance_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        if custom >= max_custom {
            return Ok(false);
        }
        let taken =
            sqlx::query("SELECT id FROM dbss_risk_rules WHERE instance_id = $1 AND name = $2")
                .bind(&r.instance_id)
                .bind(&r.name)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
        if taken {
            return Err(StoreError::Conflict("rule_name".into()));
        }
        let mut r = r.clone();
        r.rank = max_rank + 1;
        insert_risk(&mut tx, &r).await?;
        bump(&mut tx, &r.instance_id).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// One SQL-injection rule.
    pub async fn get_audit_sql_rule(&self, instance_id: &str, id: &str) -> Result<SqlRule> {
        let row = sqlx::query(&format!(
            "SELECT {SQL_COLS} FROM dbss_sql_rules WHERE id = $1 AND instance_id = $2"
        ))
        .bind(id)
        .bind(instance_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        sql_from(&row)
    }

    /// Every SQL-injection rule of an instance, by rank.
    pub async fn list_audit_sql_rules(&self, instance_id: &str) -> Result<Vec<SqlRule>> {
        let rows = sqlx::query(&format!(
            "SELECT {SQL_COLS} FROM dbss_sql_rules WHERE instance_id = $1 ORDER BY rank, created_at, id"
        ))
        .bind(instance_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(sql_from).collect()
    }
}
