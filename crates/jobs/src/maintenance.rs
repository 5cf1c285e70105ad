//! Leases and takeover: the heartbeat renews the leases of the jobs this process runs; a job
//! whose lease was lost (another process took it over after a stall), or that could not be
//! renewed for a whole lease, is stopped here so that no job ever runs twice at once.

use crate::Shared;
use plugboard_core::time::now_micros;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

pub(crate) async fn heartbeat_loop(shared: Arc<Shared>, stop: CancellationToken) {
    let every = Duration::from_micros((shared.config.lease() / 3).max(100_000) as u64);
    let lease = Duration::from_micros(shared.config.lease() as u64);
    let mut renewed = Instant::now();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let ids: Vec<String> = shared
            .running
            .lock()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default();
        if ids.is_empty() {
            renewed = Instant::now();
            continue;
        }
        let until = now_micros() + shared.config.lease();
        match shared
            .store
            .heartbeat_jobs(&shared.owner, &ids, until)
            .await
        {
            Ok(held) => {
                renewed = Instant::now();
                let held: HashSet<&String> = held.iter().collect();
                let lost: Vec<&String> = ids.iter().filter(|id| !held.contains(id)).collect();
                if !lost.is_empty() {
                    stop_runs(&shared, &lost, "lease lost; another process has the job");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "job heartbeat failed");
                // Past the lease, another process may have taken the jobs over: stop them
                // here rather than run them twice at once.
                if renewed.elapsed() >= lease {
                    let all: Vec<&String> = ids.iter().collect();
                    stop_runs(
                        &shared,
                        &all,
                        "leases not renewed in time; stopping the job here",
                    );
                }
            }
        }
    }
}

/// Stop the runs of `ids` in this process (they end without touching the job rows).
fn stop_runs(shared: &Shared, ids: &[&String], why: &str) {
    let Ok(running) = shared.running.lock() else {
        return;
    };
    for id in ids {
        if let Some(cancel) = running.get(*id) {
            tracing::warn!(job_id = %id, "{why}");
            cancel.cancel();
        }
    }
}
