//! Alarms as the API sees them (ListAuditAlarmLog): quiet RISK_RULE alarms are closed before
//! every listing, so `alarm_life` is current without a background task.

use super::ingest::ALARM_QUIET;
use super::sqls::{resolve_window, TimeWindow};
use super::{Dbss, Error, Result};
use plugboard_core::time;
use plugboard_store::dbss_audit::{Alarm, AlarmFilter};

/// Alarm types of the API.
pub const ALARM_TYPES: &[&str] = &[
    "RISK_RULE",
    "RISK_CPU",
    "RISK_MEMORY",
    "RISK_DISK",
    "RISK_DISK_CAPACITY",
    "RISK_BACKUP",
    "AUDIT_QPS_OVERFLOW",
    "RISK_AGENT",
    "AUDIT_BACKUP_FAILED",
];

/// ListAuditAlarmLog's body.
#[derive(Debug, Clone, Default)]
pub struct ListAlarms {
    pub time: Option<TimeWindow>,
    pub risk: Option<Vec<String>>,
    pub alarm_type: Option<String>,
    pub status: Option<String>,
    pub page: Option<i64>,
    pub size: Option<i64>,
}

impl Dbss {
    /// A page of the instance's alarms (newest first) and how many match.
    pub async fn list_alarms(
        &self,
        project: &str,
        instance_id: &str,
        q: ListAlarms,
    ) -> Result<(Vec<Alarm>, i64)> {
        let inst = self.instance(project, instance_id).await?;
        let now = time::now_micros();
        let (from, to) = resolve_window("time", q.time.as_ref(), now)?;
        let mut risks = Vec::new();
        for r in q.risk.unwrap_or_default() {
            super::rules::one_of("risk", &r, &["HIGH", "MEDIUM", "LOW"])?;
            risks.push(r);
        }
        let alarm_type = q.alarm_type.filter(|t| !t.is_empty());
        if let Some(t) = &alarm_type {
            super::rules::one_of("type", t, ALARM_TYPES)?;
        }
        let status = q.status.filter(|t| !t.is_empty());
        if let Some(s) = &status {
            super::rules::one_of("status", s, &["DONE", "UNDO"])?;
        }
        let page = q.page.unwrap_or(1);
        let size = q.size.unwrap_or(10);
        if page < 1 {
            return Err(Error::Invalid(format!(
                "page must be 1 or more (got {page})"
            )));
        }
        if !(1..=100).contains(&size) {
            return Err(Error::Invalid(format!(
                "size must be from 1 to 100 (got {size})"
            )));
        }
        self.store
            .close_quiet_audit_alarms(&inst.id, now, ALARM_QUIET)
            .await?;
        Ok(self
            .store
            .list_audit_alarms(&AlarmFilter {
                instance_id: inst.id,
                from,
                to,
                risks,
                alarm_type,
                status,
                offset: (page - 1).saturating_mul(size),
                limit: size,
            })
            .await?)
    }
}
