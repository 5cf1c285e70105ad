//! The audit monitor: keeps DBSS `audit_status` true. It wakes when a database is switched ON
//! (and every second), claims the databases whose probe is due — on PostgreSQL with
//! `SKIP LOCKED`, so processes sharing the store split the work — probes them with bounded
//! concurrency (`[dbss] probe_concurrency` per process), off the request path, and records
//! ACTIVE or ERROR with a reason — only under the switch generation the probe was claimed at,
//! so a database switched OFF (and perhaps ON again) while its probe ran never shows that
//! probe's result. Each database is probed again every `[dbss] probe_interval_seconds` while
//! audit is ON.

use plugboard_core::config::DbssConfig;
use plugboard_core::time::now_micros;
use plugboard_drivers::netpolicy::NetworkPolicy;
use plugboard_drivers::probe::{probe, protocol_for};
use plugboard_store::dbss::{DueProbe, ProbeOutcome};
use plugboard_store::Store;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

/// How many due databases one claim takes.
const CLAIM_BATCH: i64 = 512;
/// How many outcomes one store transaction records.
const RECORD_BATCH: usize = 256;

/// The monitor's dependencies.
pub struct AuditMonitor {
    pub store: Store,
    pub policy: Arc<NetworkPolicy>,
    pub config: DbssConfig,
    pub wakeup: Arc<Notify>,
}

impl AuditMonitor {
    /// Run until the task is dropped.
    pub async fn run(self) {
        loop {
            if let Err(e) = self.sweep().await {
                tracing::warn!(error = %e, "audit monitor sweep failed; retrying");
            }
            tokio::select! {
                _ = self.wakeup.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// Probe everything that is due now.
    async fn sweep(&self) -> Result<(), plugboard_store::StoreError> {
        let interval = (self.config.probe_interval_seconds.max(1) as i64) * 1_000_000;
        let timeout = Duration::from_millis(self.config.probe_timeout_ms.max(1));
        let limit = Arc::new(Semaphore::new(self.config.probe_concurrency.max(1)));
        loop {
            let now = now_micros();
            let due = self
                .store
                .claim_due_probes(now, now + interval, CLAIM_BATCH)
                .await?;
            if due.is_empty() {
                return Ok(());
            }
            let mut running = JoinSet::new();
            for d in due {
                let Ok(permit) = limit.clone().acquire_owned().await else {
                    break;
                };
                let policy = self.policy.clone();
                running.spawn(async move {
                    let outcome = probe_one(&policy, &d, timeout).await;
                    drop(permit);
                    outcome
                });
            }
            let mut outcomes = Vec::with_capacity(RECORD_BATCH);
            while let Some(done) = running.join_next().await {
                if let Ok(o) = done {
                    metrics::counter!("plugboard_audit_probes_total", "audit_status" => o.audit_status).increment(1);
                    outcomes.push(o);
                }
                if outcomes.len() >= RECORD_BATCH {
                    self.store.record_probes(&outcomes).await?;
                    outcomes.clear();
                }
            }
            if !outcomes.is_empty() {
                self.store.record_probes(&outcomes).await?;
            }
        }
    }
}

fn error(d: &DueProbe, reason: String) -> ProbeOutcome {
    ProbeOutcome {
        id: d.id.clone(),
        generation: d.generation,
        audit_status: "ERROR",
        audit_reason: reason,
        probed_at: now_micros(),
    }
}

async fn probe_one(policy: &NetworkPolicy, d: &DueProbe, timeout: Duration) -> ProbeOutcome {
    let (Ok(ip), Ok(port)) = (d.ip.parse::<IpAddr>(), d.port.parse::<u16>()) else {
        return error(
            d,
            format!("{}:{} is not an address plugboard can reach", d.ip, d.port),
        );
    };
    if let Err(e) = policy.check_probe(ip) {
        return error(d, format!("not allowed: {e}"));
    }
    match probe(SocketAddr::new(ip, port), protocol_for(&d.db_type), timeout).await {
        Ok(_) => ProbeOutcome {
            id: d.id.clone(),
            generation: d.generation,
            audit_status: "ACTIVE",
            audit_reason: String::new(),
            probed_at: now_micros(),
        },
        Err(e) => error(d, e.to_string()),
    }
}
