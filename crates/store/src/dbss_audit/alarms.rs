//! Alarms: a RISK_RULE alarm per (rule, database) stays open while matches keep coming and
//! closes after a quiet window; listed with the filters of ListAuditAlarmLog.

use crate::page::Where;
use crate::{Result, Store};
use plugboard_core::time::Micros;
use sqlx::any::AnyRow;
use sqlx::Row;

/// An alarm.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Alarm {
    pub id: String,
    pub instance_id: String,
    pub alarm_type: String,
    /// `HIGH` / `MEDIUM` / `LOW`.
    pub risk: String,
    /// `UNDO` / `DONE`.
    pub status: String,
    /// `ON` (open) / `OFF` (closed).
    pub life: String,
    pub rule_id: String,
    pub rule_name: String,
    pub db_id: String,
    /// How the database is named in the description (`name (ip)`).
    pub db_label: String,
    pub match_count: i64,
    pub alarm_time: Micros,
    pub last_match_at: Micros,
    /// When it closed (0: open).
    pub fix_time: Micros,
}

/// Matches of one rule on one database in one batch.
#[derive(Debug, Clone)]
pub struct AlarmMatch {
    pub rule_id: String,
    pub rule_name: String,
    pub db_id: String,
    pub db_label: String,
    pub risk: String,
    pub count: i64,
    /// The newest matching statement's time.
    pub at: Micros,
}

/// The filters of an alarm listing.
#[derive(Debug, Clone, Default)]
pub struct AlarmFilter {
    pub instance_id: String,
    pub from: Micros,
    pub to: Micros,
    pub risks: Vec<String>,
    pub alarm_type: Option<String>,
    pub status: Option<String>,
    pub offset: i64,
    pub limit: i64,
}

const COLS: &str = "id, instance_id, alarm_type, risk, status, life, rule_id, rule_name, db_id, db_label, match_count, alarm_time, last_match_at, fix_time";

fn alarm_from(r: &AnyRow) -> Result<Alarm> {
    Ok(Alarm {
        id: r.try_get("id")?,
        instance_id: r.try_get("instance_id")?,
        alarm_type: r.try_get("alarm_type")?,
        risk: r.try_get("risk")?,
        status: r.try_get("status")?,
        life: r.try_get("life")?,
        rule_id: r.try_get("rule_id")?,
        rule_name: r.try_get("rule_name")?,
        db_id: r.try_get("db_id")?,
        db_label: r.try_get("db_label")?,
        match_count: r.try_get("match_count")?,
        alarm_time: r.try_get("alarm_time")?,
        last_match_at: r.try_get("last_match_at")?,
        fix_time: r.try_get("fix_time")?,
    })
}

impl Store {
    /// Count matches into the open alarm of each (rule, database), opening one where none is
    /// open; `new_id` names new alarms. Alarms quiet for `quiet` are closed first.
    pub async fn raise_audit_alarms(
        &self,
        instance_id: &str,
        matches: &[AlarmMatch],
        now: Micros,
        quiet: Micros,
        new_id: fn() -> String,
    ) -> Result<()> {
        let mut tx = self.begin_ingest_write().await?;
        sqlx::query("UPDATE dbss_alarms SET life = 'OFF', fix_time = last_match_at + $3 WHERE instance_id = $1 AND alarm_type = 'RISK_RULE' AND life = 'ON' AND last_match_at < $2")
            .bind(instance_id)
            .bind(now - quiet)
            .bind(quiet)
            .execute(&mut *tx)
            .await?;
        for m in matches {
            let updated = sqlx::query("UPDATE dbss_alarms SET match_count = match_count + $4, last_match_at = $5 WHERE instance_id = $1 AND rule_id = $2 AND db_id = $3 AND life = 'ON' AND alarm_type = 'RISK_RULE'")
                .bind(instance_id)
                .bind(&m.rule_id)
                .bind(&m.db_id)
                .bind(m.count)
                .bind(now.max(m.at))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if updated == 0 {
                sqlx::query(&format!("INSERT INTO dbss_alarms ({COLS}) VALUES ($1, $2, 'RISK_RULE', $3, 'UNDO', 'ON', $4, $5, $6, $7, $8, $9, $9, 0)"))
                    .bind(new_id())
                    .bind(instance_id)
                    .bind(&m.risk)
                    .bind(&m.rule_id)
                    .bind(&m.rule_name)
                    .bind(&m.db_id)
                    .bind(&m.db_label)
                    .bind(m.count)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Close the instance's RISK_RULE alarms quiet since `now - quiet`.
    pub async fn close_quiet_audit_alarms(
        &self,
        instance_id: &str,
        now: Micros,
        quiet: Micros,
    ) -> Result<()> {
        sqlx::query("UPDATE dbss_alarms SET life = 'OFF', fix_time = last_match_at + $3 WHERE instance_id = $1 AND alarm_type = 'RISK_RULE' AND life = 'ON' AND last_match_at < $2")
            .bind(instance_id)
            .bind(now - quiet)
            .bind(quiet)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// A page of alarms (newest first) and how many match.
    pub async fn list_audit_alarms(&self, f: &AlarmFilter) -> Result<(Vec<Alarm>, i64)> {
        let mut w = Where::new();
        w.eq("instance_id", &f.instance_id);
        w.cmp("alarm_time", ">=", f.from);
        w.cmp("alarm_time", "<=", f.to);
        if let Some(t) = &f.alarm_type {
            w.eq("alarm_type", t);
        }
        if let Some(s) = &f.status {
            w.eq("status", s);
        }
        if !f.risks.is_empty() {
            w.any("risk", &f.risks);
        }
        let (rows, total) = self
            .read_page(
                "dbss_alarms",
                COLS,
                &w,
                "alarm_time DESC, id",
                f.offset,
                f.limit,
            )
            .await?;
        Ok((rows.iter().map(alarm_from).collect::<Result<_>>()?, total))
    }
}
