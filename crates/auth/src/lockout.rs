//! Per-user and per-access-key failure lockout (spec `signing.md`: 5 consecutive failures lock
//! an AK for 5 minutes; the same mechanism locks users after wrong passwords). The counts and
//! locks live in the store (`plugboard_store::lockout`), so every process of a deployment
//! counts the same failures: N processes together allow the threshold, not N times it.
//!
//! Only subjects that exist are counted (the caller looks the user or key up first), so a
//! client spraying made-up names or keys adds no rows. The moment a subject becomes locked is
//! logged at `warn`, naming the user id or the access key (never a secret). A domain owner
//! lifts a lock early with `DELETE /plugboard/v1/lockouts/...` or `plugboard lockout unlock`.
//!
//! The signed-request path is hot, so [`Lockout`] may remember a subject's state for a short
//! time ([`Lockout::new`]'s `recheck`): a lock set by another process is then seen within that
//! time, while every failure is still counted in the store at once.

use plugboard_core::time::now_micros;
use plugboard_store::lockout::{LockKind, LockPolicy, LockState};
use plugboard_store::{Store, StoreError};
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// Subjects whose last-read state one process remembers, at most.
const MEMORY_CAP: usize = 50_000;

/// Lockout of one kind of subject (users or access keys), backed by the store.
pub struct Lockout {
    store: Store,
    kind: LockKind,
    policy: LockPolicy,
    recheck: Duration,
    /// The state last read or written per subject (`None`: no row), and when.
    /// Keyed by user ids and access keys that exist (see the module's note), hence the fast hash.
    seen: RwLock<HashMap<String, (Instant, Option<LockState>), foldhash::fast::RandomState>>,
}

impl Lockout {
    /// Lock a subject for `duration` after `threshold` consecutive failures (0: never). A
    /// state read from the store is trusted for `recheck` (zero: read on every check).
    pub fn new(
        store: Store,
        kind: LockKind,
        threshold: u32,
        duration: Duration,
        recheck: Duration,
    ) -> Self {
        Self {
            store,
            kind,
            policy: LockPolicy {
                threshold,
                lock_micros: i64::try_from(duration.as_micros()).unwrap_or(i64::MAX / 2),
            },
            recheck,
            seen: RwLock::new(HashMap::default()),
        }
    }

    fn remember(&self, subject: &str, state: Option<LockState>) {
        if let Ok(mut seen) = self.seen.write() {
            if seen.len() >= MEMORY_CAP {
                seen.clear();
            }
            seen.insert(subject.to_string(), (Instant::now(), state));
        }
    }

    fn remembered(&self, subject: &str) -> Option<(Instant, Option<LockState>)> {
        self.seen.read().ok()?.get(subject).cloned()
    }

    /// Is `subject` locked now?
    pub async fn is_locked(&self, subject: &str) -> Result<bool, StoreError> {
        if self.policy.threshold == 0 {
            return Ok(false);
        }
        // The clock is read only for a subject with a state (most have none).
        if let Some((at, state)) = self.remembered(subject) {
            if at.elapsed() < self.recheck {
                return Ok(state.is_some_and(|s| s.locked_at(now_micros())));
            }
        }
        let state = self.store.lock_state(self.kind, subject).await?;
        let locked = state.as_ref().is_some_and(|s| s.locked_at(now_micros()));
        self.remember(subject, state);
        Ok(locked)
    }

    /// Count a failure for `subject`; the one that locks it is logged.
    pub async fn record_failure(&self, subject: &str) -> Result<(), StoreError> {
        if self.policy.threshold == 0 {
            return Ok(());
        }
        let outcome = self
            .store
            .record_lock_failure(self.kind, subject, now_micros(), self.policy)
            .await?;
        if outcome.locked_now {
            let seconds = self.policy.lock_micros / 1_000_000;
            match self.kind {
                LockKind::User => tracing::warn!(
                    user_id = %subject,
                    failures = outcome.state.failures,
                    lock_seconds = seconds,
                    "user locked after consecutive failed logins"
                ),
                LockKind::AccessKey => tracing::warn!(
                    access_key = %subject,
                    failures = outcome.state.failures,
                    lock_seconds = seconds,
                    "access key locked after consecutive bad signatures"
                ),
            }
        }
        self.remember(subject, Some(outcome.state));
        Ok(())
    }

    /// A success for `subject`: forget its failures (an active lock stays; callers check
    /// [`Lockout::is_locked`] first). Writes only when failures are known to exist.
    pub async fn record_success(&self, subject: &str) -> Result<(), StoreError> {
        if self.policy.threshold == 0 {
            return Ok(());
        }
        match self.remembered(subject) {
            Some((_, None)) => Ok(()),
            _ => {
                self.store
                    .clear_lock_failures(self.kind, subject, now_micros())
                    .await?;
                self.remember(subject, None);
                Ok(())
            }
        }
    }

    /// Forget what this process remembers about `subject` (after an unlock).
    pub fn forget(&self, subject: &str) {
        if let Ok(mut seen) = self.seen.write() {
            seen.remove(subject);
        }
    }
}
