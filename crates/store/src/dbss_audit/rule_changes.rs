//! Changes to an instance's rules after creation: edits, deletions, switches and new ranks of
//! risk-operation and SQL-injection rules, each bumping the rule version in its transaction.

use super::rules::{RiskRule, SqlRule};
use crate::{Result, Store, StoreError};
use sqlx::{Any, Row, Transaction};

/// Which rule table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    Risk,
    Sql,
}

impl RuleKind {
    fn table(self) -> &'static str {
        match self {
            RuleKind::Risk => "dbss_risk_rules",
            RuleKind::Sql => "dbss_sql_rules",
        }
    }
}

async fn bump(tx: &mut Transaction<'static, Any>, instance_id: &str) -> Result<()> {
    sqlx::query("INSERT INTO dbss_rule_versions (instance_id, version) VALUES ($1, 1) ON CONFLICT (instance_id) DO UPDATE SET version = dbss_rule_versions.version + 1")
        .bind(instance_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// Rewrite a risk rule's editable fields (name, level, status, conditions, objects).
    pub async fn update_audit_risk_rule(&self, r: &RiskRule) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let taken = sqlx::query(
            "SELECT id FROM dbss_risk_rules WHERE instance_id = $1 AND name = $2 AND id <> $3",
        )
        .bind(&r.instance_id)
        .bind(&r.name)
        .bind(&r.id)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
        if taken {
            return Err(StoreError::Conflict("rule_name".into()));
        }
        let done = sqlx::query("UPDATE dbss_risk_rules SET name = $3, type = $4, status = $5, risk_level = $6, action = $7, schemas = $8, ignore_case = $9, db_ids = $10, client_ips = $11, exception_ips = $12, affect_symbol = $13, affect_rows = $14, execution_symbol = $15, execution_time = $16 WHERE id = $1 AND instance_id = $2")
            .bind(&r.id)
            .bind(&r.instance_id)
            .bind(&r.name)
            .bind(&r.kind)
            .bind(&r.status)
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
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        bump(&mut tx, &r.instance_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Add a custom SQL-injection rule at the end of the ranking (`Conflict` on its name).
    pub async fn add_audit_sql_rule(&self, r: &SqlRule) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let taken =
            sqlx::query("SELECT id FROM dbss_sql_rules WHERE instance_id = $1 AND name = $2")
                .bind(&r.instance_id)
                .bind(&r.name)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
        if taken {
            return Err(StoreError::Conflict("rule_name".into()));
        }
        let max: i64 =
            sqlx::query("SELECT COALESCE(MAX(rank), 0) FROM dbss_sql_rules WHERE instance_id = $1")
                .bind(&r.instance_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
        sqlx::query("INSERT INTO dbss_sql_rules (id, instance_id, name, rule_type, status, rank, risk_level, feature, regex, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
            .bind(&r.id)
            .bind(&r.instance_id)
            .bind(&r.name)
            .bind(&r.rule_type)
            .bind(&r.status)
            .bind(max + 1)
            .bind(&r.risk_level)
            .bind(&r.feature)
            .bind(&r.regex)
            .bind(r.created_at)
            .execute(&mut *tx)
            .await?;
        bump(&mut tx, &r.instance_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Rewrite a SQL-injection rule's name, level, status and regex.
    pub async fn update_audit_sql_rule(&self, r: &SqlRule) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let taken = sqlx::query(
            "SELECT id FROM dbss_sql_rules WHERE instance_id = $1 AND name = $2 AND id <> $3",
        )
        .bind(&r.instance_id)
        .bind(&r.name)
        .bind(&r.id)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
        if taken {
            return Err(StoreError::Conflict("rule_name".into()));
        }
        let done = sqlx::query("UPDATE dbss_sql_rules SET name = $3, status = $4, risk_level = $5, feature = $6, regex = $7 WHERE id = $1 AND instance_id = $2")
            .bind(&r.id)
            .bind(&r.instance_id)
            .bind(&r.name)
            .bind(&r.status)
            .bind(&r.risk_level)
            .bind(&r.feature)
            .bind(&r.regex)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        bump(&mut tx, &r.instance_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Delete a rule.
    pub async fn delete_audit_rule(
        &self,
        kind: RuleKind,
        instance_id: &str,
        id: &str,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(&format!(
            "DELETE FROM {} WHERE id = $1 AND instance_id = $2",
            kind.table()
        ))
        .bind(id)
        .bind(instance_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        bump(&mut tx, instance_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Switch rules ON or OFF, all or none (`NotFound` when one id is not the instance's).
    pub async fn switch_audit_rules(
        &self,
        kind: RuleKind,
        instance_id: &str,
        ids: &[String],
        status: &str,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for id in ids {
            let done = sqlx::query(&format!(
                "UPDATE {} SET status = $3 WHERE id = $1 AND instance_id = $2",
                kind.table()
            ))
            .bind(id)
            .bind(instance_id)
            .bind(status)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done == 0 {
                return Err(StoreError::NotFound);
            }
        }
        bump(&mut tx, instance_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Give the rules the ranks 1..n in `ordered` order.
    pub async fn rank_audit_rules(
        &self,
        kind: RuleKind,
        instance_id: &str,
        ordered: &[String],
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for (i, id) in ordered.iter().enumerate() {
            sqlx::query(&format!(
                "UPDATE {} SET rank = $3 WHERE id = $1 AND instance_id = $2",
                kind.table()
            ))
            .bind(id)
            .bind(instance_id)
            .bind(i as i64 + 1)
            .execute(&mut *tx)
            .await?;
        }
        bump(&mut tx, instance_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Mark alarms confirmed (`DONE`); how many of `ids` are the instance's.
    pub async fn mark_audit_alarms(&self, instance_id: &str, ids: &[String]) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let mut n = 0;
        for id in ids {
            n += sqlx::query(
                "UPDATE dbss_alarms SET status = 'DONE' WHERE id = $1 AND instance_id = $2",
            )
            .bind(id)
            .bind(instance_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(n)
    }

    /// Delete an alarm.
    pub async fn delete_audit_alarm(&self, instance_id: &str, id: &str) -> Result<()> {
        let done = sqlx::query("DELETE FROM dbss_alarms WHERE id = $1 AND instance_id = $2")
            .bind(id)
            .bind(instance_id)
            .execute(self.pool())
            .await?
            .rows_affected();
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// The instance's alarm config (JSON), if it was ever written.
    pub async fn get_audit_alarm_config(&self, instance_id: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query("SELECT config FROM dbss_alarm_configs WHERE instance_id = $1")
                .bind(instance_id)
                .fetch_optional(self.pool())
                .await?
                .map(|r| r.try_get::<String, _>(0))
                .transpose()?,
        )
    }

    /// Write the instance's alarm config (JSON).
    pub async fn set_audit_alarm_config(
        &self,
        instance_id: &str,
        config: &str,
        now: i64,
    ) -> Result<()> {
        sqlx::query("INSERT INTO dbss_alarm_configs (instance_id, config, updated_at) VALUES ($1, $2, $3) ON CONFLICT (instance_id) DO UPDATE SET config = $2, updated_at = $3")
            .bind(instance_id)
            .bind(config)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
