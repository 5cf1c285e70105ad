//! Audit agents: one row per agent, one link row per database it serves. An agent whose last
//! database is detached is deleted, and with it its right to ship statements.

use crate::{Result, Store, StoreError};
use plugboard_core::time::Micros;
use sqlx::any::AnyRow;
use sqlx::Row;

/// An audit agent and the databases it serves.
#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    pub id: String,
    pub instance_id: String,
    /// `DB` / `APP`.
    pub agent_type: String,
    pub agent_os: String,
    pub agent_ip: String,
    pub agent_nic: String,
    pub cpu_threshold: i64,
    pub mem_threshold: i64,
    /// 1 on, 0 off.
    pub status: i64,
    /// The last heartbeat (0: never).
    pub heartbeat_at: Micros,
    /// The last accepted batch (0: never).
    pub shipped_at: Micros,
    /// What the agent last reported as going wrong (empty: nothing).
    pub last_error: String,
    pub created_at: Micros,
    /// The databases it serves, oldest link first.
    pub db_ids: Vec<String>,
}

/// Why an agent could not be added or attached.
#[derive(Debug, thiserror::Error)]
pub enum AddAgentError {
    /// The database has as many agents as allowed.
    #[error("agent limit reached")]
    LimitReached,
    /// The agent to attach does not exist in this instance.
    #[error("agent not found")]
    AgentNotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AddAgentError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Db(e))
    }
}

const AGENT_COLS: &str = "id, instance_id, agent_type, agent_os, agent_ip, agent_nic, cpu_threshold, mem_threshold, status, heartbeat_at, shipped_at, last_error, created_at";

fn agent_from(row: &AnyRow) -> Result<Agent> {
    Ok(Agent {
        id: row.try_get("id")?,
        instance_id: row.try_get("instance_id")?,
        agent_type: row.try_get("agent_type")?,
        agent_os: row.try_get("agent_os")?,
        agent_ip: row.try_get("agent_ip")?,
        agent_nic: row.try_get("agent_nic")?,
        cpu_threshold: row.try_get("cpu_threshold")?,
        mem_threshold: row.try_get("mem_threshold")?,
        status: row.try_get("status")?,
        heartbeat_at: row.try_get("heartbeat_at")?,
        shipped_at: row.try_get("shipped_at")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        db_ids: Vec::new(),
    })
}

impl Store {
    /// Add a new agent serving `db_id`; at most `per_db` agents per database.
    pub async fn add_audit_agent(
        &self,
        a: &Agent,
        db_id: &str,
        per_db: i64,
    ) -> Result<(), AddAgentError> {
        let mut tx = self.begin_write().await?;
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM dbss_agent_databases WHERE db_id = $1")
            .bind(db_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        if n >= per_db {
            return Err(AddAgentError::LimitReached);
        }
        sqlx::query(&format!(
            "INSERT INTO dbss_agents ({AGENT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(&a.id)
        .bind(&a.instance_id)
        .bind(&a.agent_type)
        .bind(&a.agent_os)
        .bind(&a.agent_ip)
        .bind(&a.agent_nic)
        .bind(a.cpu_threshold)
        .bind(a.mem_threshold)
        .bind(a.status)
        .bind(a.heartbeat_at)
        .bind(a.shipped_at)
        .bind(&a.last_error)
        .bind(a.created_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO dbss_agent_databases (agent_id, db_id, instance_id, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&a.id)
            .bind(db_id)
            .bind(&a.instance_id)
            .bind(a.created_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Attach an existing agent of `instance_id` to one more database (mode 1); attaching it
    /// twice changes nothing.
    pub async fn attach_audit_agent(
        &self,
        instance_id: &str,
        agent_id: &str,
        db_id: &str,
        per_db: i64,
        now: Micros,
    ) -> Result<(), AddAgentError> {
        let mut tx = self.begin_write().await?;
        let exists = sqlx::query("SELECT id FROM dbss_agents WHERE id = $1 AND instance_id = $2")
            .bind(agent_id)
            .bind(instance_id)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if !exists {
            return Err(AddAgentError::AgentNotFound);
        }
        let linked = sqlx::query(
            "SELECT agent_id FROM dbss_agent_databases WHERE agent_id = $1 AND db_id = $2",
        )
        .bind(agent_id)
        .bind(db_id)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
        if linked {
            return Ok(());
        }
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM dbss_agent_databases WHERE db_id = $1")
            .bind(db_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        if n >= per_db {
            return Err(AddAgentError::LimitReached);
        }
        sqlx::query("INSERT INTO dbss_agent_databases (agent_id, db_id, instance_id, created_at) VALUES ($1, $2, $3, $4)")
            .bind(agent_id)
            .bind(db_id)
            .bind(instance_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn agent_db_ids(&self, agent_id: &str) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT db_id FROM dbss_agent_databases WHERE agent_id = $1 ORDER BY created_at, db_id",
        )
        .bind(agent_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<String, _>(0)?))
            .collect()
    }

    /// An agent of `instance_id` with its databases.
    pub async fn get_audit_agent(&self, instance_id: &str, agent_id: &str) -> Result<Agent> {
        let row = sqlx::query(&format!(
            "SELECT {AGENT_COLS} FROM dbss_agents WHERE id = $1 AND instance_id = $2"
        ))
        .bind(agent_id)
        .bind(instance_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        let mut a = agent_from(&row)?;
        a.db_ids = self.agent_db_ids(&a.id).await?;
        Ok(a)
    }

    /// The agents serving `db_id` (all of the instance's when `None`), oldest first.
    pub async fn list_audit_agents(
        &self,
        instance_id: &str,
        db_id: Option<&str>,
    ) -> Result<Vec<Agent>> {
        let rows = match db_id {
            Some(db) => sqlx::query(&format!(
                "SELECT {AGENT_COLS} FROM dbss_agents WHERE instance_id = $1 AND id IN (SELECT agent_id FROM dbss_agent_databases WHERE db_id = $2) ORDER BY created_at, id"
            ))
            .bind(instance_id)
            .bind(db)
            .fetch_all(self.pool())
            .await?,
            None => sqlx::query(&format!(
                "SELECT {AGENT_COLS} FROM dbss_agents WHERE instance_id = $1 ORDER BY created_at, id"
            ))
            .bind(instance_id)
            .fetch_all(self.pool())
            .await?,
        };
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut a = agent_from(row)?;
            a.db_ids = self.agent_db_ids(&a.id).await?;
            out.push(a);
        }
        Ok(out)
    }

    /// Detach an agent from `db_id`; the agent is deleted when no database is left.
    pub async fn detach_audit_agent(
        &self,
        instance_id: &str,
        agent_id: &str,
        db_id: &str,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "DELETE FROM dbss_agent_databases WHERE agent_id = $1 AND db_id = $2 AND instance_id = $3",
        )
        .bind(agent_id)
        .bind(db_id)
        .bind(instance_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM dbss_agents WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM dbss_agent_databases WHERE agent_id = $1)")
            .bind(agent_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Switch an agent on (1) or off (0).
    pub async fn switch_audit_agent(
        &self,
        instance_id: &str,
        agent_id: &str,
        status: i64,
    ) -> Result<()> {
        let done =
            sqlx::query("UPDATE dbss_agents SET status = $3 WHERE id = $1 AND instance_id = $2")
                .bind(agent_id)
                .bind(instance_id)
                .bind(status)
                .execute(self.pool())
                .await?
                .rows_affected();
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Set an agent's CPU and memory thresholds.
    pub async fn set_audit_agent_thresholds(
        &self,
        instance_id: &str,
        agent_id: &str,
        cpu: i64,
        mem: i64,
    ) -> Result<()> {
        let done = sqlx::query("UPDATE dbss_agents SET cpu_threshold = $3, mem_threshold = $4 WHERE id = $1 AND instance_id = $2")
            .bind(agent_id)
            .bind(instance_id)
            .bind(cpu)
            .bind(mem)
            .execute(self.pool())
            .await?
            .rows_affected();
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Record a heartbeat, what the agent reported as going wrong, and (when it says) when it
    /// last shipped statements.
    pub async fn audit_agent_heartbeat(
        &self,
        agent_id: &str,
        now: Micros,
        last_error: &str,
        shipped_at: Option<Micros>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE dbss_agents SET heartbeat_at = $2, last_error = $3, \
             shipped_at = COALESCE($4, shipped_at) WHERE id = $1",
        )
        .bind(agent_id)
        .bind(now)
        .bind(last_error)
        .bind(shipped_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
