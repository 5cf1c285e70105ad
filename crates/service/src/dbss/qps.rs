//! The QPS budget and the health alarms of an audit instance (docs/dbss-audit.md → The QPS
//! budget, Alarms): each instance's peak statements/s from its edition (an explicit
//! `database_limit`: the entry peak per database, at most the largest edition's), capped by
//! `[dbss] audit_qps_limit`, with a 10 s burst, drawn from per batch in the store so every
//! process shares it; and the `RISK_AGENT` / `AUDIT_QPS_OVERFLOW` alarms brought up to date
//! before alarms are read.

use super::{Dbss, Result};
use plugboard_core::ids;
use plugboard_core::time::{self, Micros};
use plugboard_store::dbss::AuditInstance;
use plugboard_store::dbss_audit::{QpsBudget, QpsOutcome};

/// Peak throughput per edition, statements per second [vendor; advanced unconfirmed].
pub const PEAK_QPS: &[(&str, i64)] = &[
    ("entry", 1_000),
    ("basic", 3_000),
    ("professional", 6_000),
    ("advanced", 30_000),
];
/// The largest peak (explicit `database_limit` instances are capped at it).
pub const MAX_PEAK_QPS: i64 = 30_000;
/// Seconds of the budget the bucket holds.
pub const BURST_SECONDS: i64 = 10;

/// The edition's peak statements/s of an instance.
pub fn peak_qps(inst: &AuditInstance) -> i64 {
    PEAK_QPS
        .iter()
        .find(|(e, _)| *e == inst.edition)
        .map(|(_, q)| *q)
        .unwrap_or_else(|| {
            (PEAK_QPS[0].1.saturating_mul(inst.database_limit.max(1))).min(MAX_PEAK_QPS)
        })
}

impl Dbss {
    /// How long an agent that is on may be silent.
    pub(crate) fn agent_silence(&self) -> Micros {
        (self.config.agent_silence_seconds.max(1) as i64).saturating_mul(1_000_000)
    }

    pub(crate) fn agent_sleep(&self) -> Micros {
        (self.config.agent_sleep_seconds.max(1) as i64).saturating_mul(1_000_000)
    }

    fn overflow_after(&self) -> Micros {
        (self.config.audit_qps_overflow_seconds as i64).saturating_mul(1_000_000)
    }

    /// The instance's budget.
    pub fn qps_budget(&self, inst: &AuditInstance) -> QpsBudget {
        let peak = peak_qps(inst);
        let cap = self.config.audit_qps_limit as i64;
        QpsBudget {
            rate: if cap > 0 { peak.min(cap) } else { peak },
            burst_seconds: BURST_SECONDS,
            overflow_after: self.overflow_after(),
        }
    }

    /// Count and log what a batch's draw from the budget of instance `instance_id` said.
    pub(crate) fn note_qps(&self, instance_id: &str, rate: i64, out: &QpsOutcome) {
        if out.throttled {
            metrics::counter!("plugboard_audit_throttled_batches_total").increment(1);
        }
        if out.alarm_opened {
            tracing::warn!(instance = %instance_id, rate, "audit ingest over its QPS budget: AUDIT_QPS_OVERFLOW opened");
        }
    }

    /// Open and close the instance's health alarms as of now: a `RISK_AGENT` alarm per silent
    /// agent that is on, the overflow alarm closed after a calm stretch.
    pub(crate) async fn sync_health_alarms(&self, instance_id: &str) -> Result<()> {
        let now = time::now_micros();
        self.store
            .sync_audit_agent_alarms(
                instance_id,
                now,
                self.agent_silence(),
                ids::dbss_database_id,
            )
            .await?;
        self.store
            .close_calm_audit_qps_alarm(instance_id, now, self.overflow_after())
            .await?;
        Ok(())
    }
}
