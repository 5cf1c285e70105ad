//! The engine's settings: leases, slots per execution class, retries and their back-off,
//! retention.

use std::time::Duration;

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// How long a claimed job stays leased without a heartbeat.
    pub lease_seconds: u64,
    /// How often to look for jobs submitted through other processes.
    pub poll_interval: Duration,
    /// Jobs of the `Work` class run at once by this process.
    pub max_concurrent_jobs: usize,
    /// Jobs of the `Delivery` class (web hooks) run at once by this process, in slots of
    /// their own.
    pub delivery_concurrent: usize,
    /// A step of a `Delivery` job that runs longer is stopped and counts as a transient
    /// failure (retried with back-off, up to `max_attempts`).
    pub delivery_timeout: Duration,
    /// Tries of a step failing transiently before the job fails.
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Finished jobs older than this are pruned.
    pub retention: Duration,
    pub prune_interval: Duration,
    /// This process's host: it also claims the jobs pinned to this host (see
    /// `Store::claim_jobs`).
    pub host: String,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            lease_seconds: 30,
            poll_interval: Duration::from_secs(1),
            max_concurrent_jobs: 16,
            delivery_concurrent: 4,
            delivery_timeout: Duration::from_secs(300),
            max_attempts: 5,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            retention: Duration::from_secs(30 * 86_400),
            prune_interval: Duration::from_secs(3600),
            host: String::new(),
        }
    }
}

impl EngineConfig {
    pub(crate) fn lease(&self) -> i64 {
        (self.lease_seconds.max(1) as i64) * 1_000_000
    }

    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(16));
        self.backoff_base
            .saturating_mul(factor)
            .min(self.backoff_max)
    }
}
