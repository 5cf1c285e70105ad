//! Pruning: finished jobs older than the retention period are deleted.

use crate::Shared;
use plugboard_core::time::now_micros;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub(crate) async fn prune_loop(shared: Arc<Shared>, stop: CancellationToken) {
    loop {
        let cutoff =
            now_micros() - shared.config.retention.as_micros().min(i64::MAX as u128) as i64;
        match shared.store.prune_jobs(cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, "pruned finished jobs"),
            Err(e) => tracing::warn!(error = %e, "pruning jobs failed"),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(shared.config.prune_interval) => {}
        }
    }
}
