//! Alarms as the API sees them (ListAuditAlarmLog): quiet RISK_RULE alarms are closed, silent
//! agents' RISK_AGENT alarms opened and a calm instance's AUDIT_QPS_OVERFLOW closed before
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
        self.sync_health_alarms(&inst.id).await?;
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

/// An instance's alarm config (the vendor's keys; risks lower-case).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AlarmConfig {
    pub alarm_cpu: i64,
    pub alarm_disk: i64,
    pub alarm_memory: i64,
    pub alarm_num: i64,
    pub alarm_risk: Vec<String>,
    pub alarm_switch: String,
    pub alarm_topic_urn: String,
}

impl Default for AlarmConfig {
    fn default() -> Self {
        Self {
            alarm_cpu: 80,
            alarm_disk: 80,
            alarm_memory: 80,
            alarm_num: 100,
            alarm_risk: vec!["high".into(), "medium".into()],
            alarm_switch: "OFF".into(),
            alarm_topic_urn: String::new(),
        }
    }
}

/// ConfigAlarmTopic's fields (each optional: the others keep their value).
#[derive(Debug, Clone, Default)]
pub struct AlarmConfigFields {
    pub alarm_cpu: Option<i64>,
    pub alarm_disk: Option<i64>,
    pub alarm_memory: Option<i64>,
    pub alarm_num: Option<i64>,
    pub alarm_risk: Option<Vec<String>>,
    pub alarm_switch: Option<String>,
    pub alarm_topic_urn: Option<String>,
}

fn percent(field: &str, v: Option<i64>, old: i64) -> Result<i64> {
    match v {
        None => Ok(old),
        Some(n) if (0..=100).contains(&n) => Ok(n),
        Some(n) => Err(Error::Invalid(format!(
            "{field} must be from 0 to 100 (got {n})"
        ))),
    }
}

impl Dbss {
    /// The instance's alarm config (the defaults until written).
    pub(crate) async fn alarm_config_of(&self, instance_id: &str) -> Result<AlarmConfig> {
        Ok(self
            .store
            .get_audit_alarm_config(instance_id)
            .await?
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default())
    }

    /// ListAlarmTopicConfigInfo.
    pub async fn alarm_config(&self, project: &str, instance_id: &str) -> Result<AlarmConfig> {
        let inst = self.instance(project, instance_id).await?;
        self.alarm_config_of(&inst.id).await
    }

    /// ConfigAlarmTopic / SetAlarmTopicConfigInfo.
    pub async fn set_alarm_config(
        &self,
        project: &str,
        instance_id: &str,
        f: AlarmConfigFields,
    ) -> Result<()> {
        let inst = self.instance(project, instance_id).await?;
        let old = self.alarm_config_of(&inst.id).await?;
        let mut risks = Vec::new();
        if let Some(list) = &f.alarm_risk {
            for r in list {
                let r = r.to_ascii_lowercase();
                super::rules::one_of("alarm_risk", &r, &["high", "medium", "low"])?;
                if !risks.contains(&r) {
                    risks.push(r);
                }
            }
        }
        let switch = f.alarm_switch.unwrap_or(old.alarm_switch.clone());
        super::rules::one_of("alarm_switch", &switch, &["ON", "OFF"])?;
        let num = f.alarm_num.unwrap_or(old.alarm_num);
        if num < 0 {
            return Err(Error::Invalid(format!(
                "alarm_num must be 0 or more (got {num})"
            )));
        }
        let config = AlarmConfig {
            alarm_cpu: percent("alarm_cpu", f.alarm_cpu, old.alarm_cpu)?,
            alarm_disk: percent("alarm_disk", f.alarm_disk, old.alarm_disk)?,
            alarm_memory: percent("alarm_memory", f.alarm_memory, old.alarm_memory)?,
            alarm_num: num,
            alarm_risk: if f.alarm_risk.is_some() {
                risks
            } else {
                old.alarm_risk
            },
            alarm_switch: switch,
            alarm_topic_urn: f
                .alarm_topic_urn
                .unwrap_or(old.alarm_topic_urn)
                .chars()
                .take(255)
                .collect(),
        };
        let json = serde_json::to_string(&config).map_err(|e| Error::Invalid(e.to_string()))?;
        self.store
            .set_audit_alarm_config(&inst.id, &json, time::now_micros())
            .await?;
        Ok(())
    }

    /// SetAuditAlarmLogStatus / BatchSetAuditAlarmLogStatus: confirmed (`DONE`); idempotent.
    /// An id that is not the instance's alarm: 404, after the others are marked.
    pub async fn mark_alarms(
        &self,
        project: &str,
        instance_id: &str,
        ids: &[String],
    ) -> Result<()> {
        let inst = self.instance(project, instance_id).await?;
        if ids.is_empty() {
            return Err(Error::Invalid("ids must name at least one alarm".into()));
        }
        for id in ids {
            super::check_id("id", id)?;
        }
        let n = self.store.mark_audit_alarms(&inst.id, ids).await?;
        if (n as usize) < ids.len() {
            return Err(Error::NotFound("an alarm of `ids` does not exist".into()));
        }
        Ok(())
    }

    /// DeleteAuditAlarmLog.
    pub async fn delete_alarm(&self, project: &str, instance_id: &str, id: &str) -> Result<()> {
        let inst = self.instance(project, instance_id).await?;
        super::check_id("id", id)?;
        match self.store.delete_audit_alarm(&inst.id, id).await {
            Ok(()) => Ok(()),
            Err(plugboard_store::StoreError::NotFound) => {
                Err(Error::NotFound(format!("The alarm {id} does not exist.")))
            }
            Err(e) => Err(e.into()),
        }
    }
}
