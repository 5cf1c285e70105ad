//! The `RISK_AGENT` alarm (docs/dbss-audit.md → Alarms): one per agent that is switched on
//! but has sent no heartbeat for a while, opened when alarms are read (the silence is the
//! event, so nothing else could open it) and closed by the agent's next heartbeat, or when the
//! agent is switched off or deleted.

use crate::{Result, Store};
use plugboard_core::time::Micros;
use sqlx::Row;
use std::collections::HashSet;

impl Store {
    /// Open a `RISK_AGENT` alarm (MEDIUM; `new_id` names it) for each agent of the instance
    /// that is on and silent for `silence` at `now` (never heard from: since it was added),
    /// dated when the silence began to count; close the open ones whose agent spoke, went
    /// off or is gone.
    pub async fn sync_audit_agent_alarms(
        &self,
        instance_id: &str,
        now: Micros,
        silence: Micros,
        new_id: fn() -> String,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let agents = sqlx::query(
            "SELECT id, agent_ip, status, heartbeat_at, created_at FROM dbss_agents WHERE instance_id = $1",
        )
        .bind(instance_id)
        .fetch_all(&mut *tx)
        .await?;
        let open: HashSet<String> = sqlx::query("SELECT rule_id FROM dbss_alarms WHERE instance_id = $1 AND alarm_type = 'RISK_AGENT' AND life = 'ON'")
            .bind(instance_id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.try_get::<String, _>(0))
            .collect::<std::result::Result<_, _>>()?;
        let mut silent = HashSet::new();
        for a in &agents {
            let id: String = a.try_get("id")?;
            let status: i64 = a.try_get("status")?;
            let heard: i64 = a
                .try_get::<i64, _>("heartbeat_at")?
                .max(a.try_get("created_at")?);
            if status != 1 || now - heard < silence {
                continue;
            }
            if !open.contains(&id) {
                let ip: String = a.try_get("agent_ip")?;
                sqlx::query("INSERT INTO dbss_alarms (id, instance_id, alarm_type, risk, status, life, rule_id, rule_name, db_id, db_label, match_count, alarm_time, last_match_at, fix_time) VALUES ($1, $2, 'RISK_AGENT', 'MEDIUM', 'UNDO', 'ON', $3, '', '', $4, 0, $5, $5, 0)")
                    .bind(new_id())
                    .bind(instance_id)
                    .bind(&id)
                    .bind(ip)
                    .bind(heard + silence)
                    .execute(&mut *tx)
                    .await?;
            }
            silent.insert(id);
        }
        for id in open.difference(&silent) {
            sqlx::query("UPDATE dbss_alarms SET life = 'OFF', fix_time = $3 WHERE instance_id = $1 AND rule_id = $2 AND alarm_type = 'RISK_AGENT' AND life = 'ON'")
                .bind(instance_id)
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Close the agent's open `RISK_AGENT` alarm (it sent a heartbeat at `now`).
    pub async fn close_audit_agent_alarm(
        &self,
        instance_id: &str,
        agent_id: &str,
        now: Micros,
    ) -> Result<()> {
        sqlx::query("UPDATE dbss_alarms SET life = 'OFF', fix_time = $3 WHERE instance_id = $1 AND rule_id = $2 AND alarm_type = 'RISK_AGENT' AND life = 'ON'")
            .bind(instance_id)
            .bind(agent_id)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
