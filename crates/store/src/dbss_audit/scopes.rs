//! Audit scope rules: listed, added, rewritten, deleted, switched; every change bumps the
//! instance's rule version (ingest recompiles scopes with the rules).

use crate::{Result, Store, StoreError};
use plugboard_core::time::Micros;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

/// A scope rule.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scope {
    pub id: String,
    pub instance_id: String,
    pub name: String,
    pub action: String,
    pub status: String,
    pub exception_ips: String,
    pub source_ips: String,
    pub source_ports: String,
    pub db_ids: String,
    pub db_names: String,
    pub db_users: String,
    pub all_audit: bool,
    pub created_at: Micros,
}

const COLS: &str = "id, instance_id, name, action, status, exception_ips, source_ips, source_ports, db_ids, db_names, db_users, all_audit, created_at";

fn scope_from(r: &AnyRow) -> Result<Scope> {
    Ok(Scope {
        id: r.try_get("id")?,
        instance_id: r.try_get("instance_id")?,
        name: r.try_get("name")?,
        action: r.try_get("action")?,
        status: r.try_get("status")?,
        exception_ips: r.try_get("exception_ips")?,
        source_ips: r.try_get("source_ips")?,
        source_ports: r.try_get("source_ports")?,
        db_ids: r.try_get("db_ids")?,
        db_names: r.try_get("db_names")?,
        db_users: r.try_get("db_users")?,
        all_audit: r.try_get::<i64, _>("all_audit")? != 0,
        created_at: r.try_get("created_at")?,
    })
}

async fn bump(tx: &mut Transaction<'static, Any>, instance_id: &str) -> Result<()> {
    sqlx::query("INSERT INTO dbss_rule_versions (instance_id, version) VALUES ($1, 1) ON CONFLICT (instance_id) DO UPDATE SET version = dbss_rule_versions.version + 1")
        .bind(instance_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn insert(tx: &mut Transaction<'static, Any>, s: &Scope) -> Result<u64> {
    Ok(sqlx::query(&format!("INSERT INTO dbss_scopes ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (id) DO NOTHING"))
        .bind(&s.id)
        .bind(&s.instance_id)
        .bind(&s.name)
        .bind(&s.action)
        .bind(&s.status)
        .bind(&s.exception_ips)
        .bind(&s.source_ips)
        .bind(&s.source_ports)
        .bind(&s.db_ids)
        .bind(&s.db_names)
        .bind(&s.db_users)
        .bind(s.all_audit as i64)
        .bind(s.created_at)
        .execute(&mut **tx)
        .await?
        .rows_affected())
}

impl Store {
    /// Insert a scope unless its id exists (the seeded full-audit scope).
    pub async fn seed_audit_scope(&self, s: &Scope) -> Result<()> {
        let mut tx = self.begin_write().await?;
        if insert(&mut tx, s).await? > 0 {
            bump(&mut tx, &s.instance_id).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Add a scope (`Conflict` on its name).
    pub async fn add_audit_scope(&self, s: &Scope) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let taken = sqlx::query("SELECT id FROM dbss_scopes WHERE instance_id = $1 AND name = $2")
            .bind(&s.instance_id)
            .bind(&s.name)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if taken {
            return Err(StoreError::Conflict("rule_name".into()));
        }
        insert(&mut tx, s).await?;
        bump(&mut tx, &s.instance_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every scope of an instance, oldest first.
    pub async fn list_audit_scopes(&self, instance_id: &str) -> Result<Vec<Scope>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM dbss_scopes WHERE instance_id = $1 ORDER BY created_at, id"
        ))
        .bind(instance_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(scope_from).collect()
    }

    /// One scope.
    pub async fn get_audit_scope(&self, instance_id: &str, id: &str) -> Result<Scope> {
        let row = sqlx::query(&format!(
            "SELECT {COLS} FROM dbss_scopes WHERE id = $1 AND instance_id = $2"
        ))
        .bind(id)
        .bind(instance_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        scope_from(&row)
    }

    /// Rewrite a scope's fields.
    pub async fn update_audit_scope(&self, s: &Scope) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE dbss_scopes SET name = $3, action = $4, exception_ips = $5, source_ips = $6, source_ports = $7, db_ids = $8, db_names = $9, db_users = $10 WHERE id = $1 AND instance_id = $2")
            .bind(&s.id)
            .bind(&s.instance_id)
            .bind(&s.name)
            .bind(&s.action)
            .bind(&s.exception_ips)
            .bind(&s.source_ips)
            .bind(&s.source_ports)
            .bind(&s.db_ids)
            .bind(&s.db_names)
            .bind(&s.db_users)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        bump(&mut tx, &s.instance_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Delete scopes, all or none (`NotFound` when one is not the instance's).
    pub async fn delete_audit_scopes(&self, instance_id: &str, ids: &[String]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for id in ids {
            let done = sqlx::query("DELETE FROM dbss_scopes WHERE id = $1 AND instance_id = $2")
                .bind(id)
                .bind(instance_id)
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

    /// Switch scopes ON or OFF, all or none.
    pub async fn switch_audit_scopes(
        &self,
        instance_id: &str,
        ids: &[String],
        status: &str,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for id in ids {
            let done = sqlx::query(
                "UPDATE dbss_scopes SET status = $3 WHERE id = $1 AND instance_id = $2",
            )
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
}
