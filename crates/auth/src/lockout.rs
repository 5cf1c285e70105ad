//! Per-key failure lockout (spec `signing.md`: 5 consecutive failures lock an AK for 5 minutes;
//! the same mechanism locks users after bad passwords). This module owns the in-memory failure
//! counters: counting consecutive failures per key, locking a key for a fixed time once the
//! threshold is reached, and keeping the table bounded so that a client spraying random keys
//! cannot grow it without limit. Time is always passed in, so behaviour is testable.
//!
//! Failures count as consecutive while each follows the previous one within the lock duration;
//! a key left alone for longer than that starts again from zero. A lock is not extended by
//! further failures while it lasts, and when it ends the count starts again from zero.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Default cap on the number of keys tracked at once.
pub const DEFAULT_MAX_ENTRIES: usize = 100_000;

/// Keys longer than this are tracked by their SHA-256 instead, to bound memory per entry.
const MAX_KEY_LEN: usize = 128;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure: Instant,
    locked_at: Option<Instant>,
}

/// Consecutive-failure counters and locks, per key (an access key, a user id, ...).
#[derive(Debug)]
pub struct Lockout {
    entries: Mutex<HashMap<String, Entry>>,
    threshold: u32,
    duration: Duration,
    max_entries: usize,
}

impl Lockout {
    /// Lock a key for `duration` after `threshold` consecutive failures. A threshold of 0
    /// disables locking. Tracks at most [`DEFAULT_MAX_ENTRIES`] keys.
    pub fn new(threshold: u32, duration: Duration) -> Self {
        Self::with_max_entries(threshold, duration, DEFAULT_MAX_ENTRIES)
    }

    /// Like [`Lockout::new`], tracking at most `max_entries` keys (at least 1). When the table
    /// is full, keys with nothing live (no recent failure, no lock) go first, then unlocked
    /// keys with the oldest last failure, then the oldest locks.
    pub fn with_max_entries(threshold: u32, duration: Duration, max_entries: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            threshold,
            duration,
            max_entries: max_entries.max(1),
        }
    }

    /// Is `key` locked at `now`?
    pub fn is_locked(&self, key: &str, now: Instant) -> bool {
        let key = normalise(key);
        let mut entries = self.lock();
        let Some(entry) = entries.get(key.as_ref()) else {
            return false;
        };
        match entry.locked_at {
            Some(at) if self.lock_active(at, now) => true,
            Some(_) => {
                // The lock has run out: forget the key so counting starts afresh.
                entries.remove(key.as_ref());
                false
            }
            None => false,
        }
    }

    /// Count a failure for `key` at `now`; the `threshold`-th consecutive one locks the key
    /// until `now + duration`. Failures while the key is locked change nothing.
    pub fn record_failure(&self, key: &str, now: Instant) {
        if self.threshold == 0 {
            return;
        }
        let key = normalise(key);
        let mut entries = self.lock();
        if let Some(entry) = entries.get_mut(key.as_ref()) {
            match entry.locked_at {
                Some(at) if self.lock_active(at, now) => return,
                Some(_) => entry.failures = 0,
                None if now.saturating_duration_since(entry.last_failure) > self.duration => {
                    entry.failures = 0
                }
                None => {}
            }
            entry.locked_at = None;
            entry.failures = entry.failures.saturating_add(1);
            entry.last_failure = now;
            if entry.failures >= self.threshold {
                entry.locked_at = Some(now);
            }
            return;
        }
        if entries.len() >= self.max_entries {
            self.make_room(&mut entries, now);
        }
        entries.insert(
            key.into_owned(),
            Entry {
                failures: 1,
                last_failure: now,
                locked_at: (self.threshold <= 1).then_some(now),
            },
        );
    }

    /// A success for `key`: forget its failures. Does not lift an active lock; callers check
    /// [`Lockout::is_locked`] before attempting, so a locked key never gets here.
    pub fn record_success(&self, key: &str) {
        let key = normalise(key);
        let mut entries = self.lock();
        if entries
            .get(key.as_ref())
            .is_some_and(|e| e.locked_at.is_none())
        {
            entries.remove(key.as_ref());
        }
    }

    /// Number of keys currently tracked.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        // The map stays consistent even if a holder panicked, so a poisoned lock is usable.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_active(&self, locked_at: Instant, now: Instant) -> bool {
        now.saturating_duration_since(locked_at) < self.duration
    }

    /// Whether an entry still affects any decision at `now`.
    fn live(&self, entry: &Entry, now: Instant) -> bool {
        match entry.locked_at {
            Some(at) => self.lock_active(at, now),
            None => now.saturating_duration_since(entry.last_failure) <= self.duration,
        }
    }

    /// Drop dead entries; if that frees nothing, evict about a tenth of the table, least
    /// valuable first (unlocked before locked, older before newer). Evicting in batches keeps
    /// the cost per insertion constant on average while the table is under attack.
    fn make_room(&self, entries: &mut HashMap<String, Entry>, now: Instant) {
        entries.retain(|_, e| self.live(e, now));
        if entries.len() < self.max_entries {
            return;
        }
        let evict = (self.max_entries / 10).max(1);
        let mut ranked: Vec<(bool, Instant, &String)> = entries
            .iter()
            .map(|(k, e)| {
                (
                    e.locked_at.is_some(),
                    e.locked_at.unwrap_or(e.last_failure),
                    k,
                )
            })
            .collect();
        let victims: Vec<String> = if evict >= ranked.len() {
            ranked.iter().map(|(_, _, k)| (*k).clone()).collect()
        } else {
            ranked.select_nth_unstable_by(evict - 1, |a, b| (a.0, a.1).cmp(&(b.0, b.1)));
            ranked[..evict]
                .iter()
                .map(|(_, _, k)| (*k).clone())
                .collect()
        };
        for k in victims {
            entries.remove(&k);
        }
    }
}

/// Long keys are replaced by their hash so that each entry has a bounded size.
fn normalise(key: &str) -> std::borrow::Cow<'_, str> {
    if key.len() <= MAX_KEY_LEN {
        std::borrow::Cow::Borrowed(key)
    } else {
        std::borrow::Cow::Owned(format!("sha256:{}", hex::encode(Sha256::digest(key))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn locks_after_threshold_consecutive_failures() {
        let l = Lockout::new(5, 5 * MIN);
        let t0 = Instant::now();
        for i in 0..4 {
            l.record_failure("AK", t0 + Duration::from_secs(i));
            assert!(!l.is_locked("AK", t0 + Duration::from_secs(i)));
        }
        l.record_failure("AK", t0 + Duration::from_secs(4));
        assert!(l.is_locked("AK", t0 + Duration::from_secs(4)));
        assert!(l.is_locked(
            "AK",
            t0 + Duration::from_secs(4) + 5 * MIN - Duration::from_secs(1)
        ));
        // Other keys are unaffected.
        assert!(!l.is_locked("OTHER", t0 + Duration::from_secs(4)));
        // The lock ends after the duration, and counting starts again.
        let after = t0 + Duration::from_secs(4) + 5 * MIN;
        assert!(!l.is_locked("AK", after));
        l.record_failure("AK", after);
        assert!(!l.is_locked("AK", after));
    }

    #[test]
    fn success_resets_the_count() {
        let l = Lockout::new(3, MIN);
        let t0 = Instant::now();
        l.record_failure("k", t0);
        l.record_failure("k", t0);
        l.record_success("k");
        l.record_failure("k", t0);
        l.record_failure("k", t0);
        assert!(!l.is_locked("k", t0));
        l.record_failure("k", t0);
        assert!(l.is_locked("k", t0));
    }

    #[test]
    fn success_does_not_lift_a_lock() {
        let l = Lockout::new(1, MIN);
        let t0 = Instant::now();
        l.record_failure("k", t0);
        assert!(l.is_locked("k", t0));
        l.record_success("k");
        assert!(l.is_locked("k", t0 + Duration::from_secs(1)));
    }

    #[test]
    fn failures_during_a_lock_do_not_extend_it() {
        let l = Lockout::new(2, MIN);
        let t0 = Instant::now();
        l.record_failure("k", t0);
        l.record_failure("k", t0);
        l.record_failure("k", t0 + Duration::from_secs(50));
        l.record_failure("k", t0 + Duration::from_secs(55));
        assert!(l.is_locked("k", t0 + Duration::from_secs(59)));
        assert!(!l.is_locked("k", t0 + MIN));
    }

    #[test]
    fn old_failures_expire() {
        let l = Lockout::new(3, MIN);
        let t0 = Instant::now();
        l.record_failure("k", t0);
        l.record_failure("k", t0 + Duration::from_secs(30));
        // More than the duration after the last failure: counting restarts.
        let t1 = t0 + Duration::from_secs(30) + MIN + Duration::from_secs(1);
        l.record_failure("k", t1);
        l.record_failure("k", t1);
        assert!(!l.is_locked("k", t1));
        l.record_failure("k", t1);
        assert!(l.is_locked("k", t1));
    }

    #[test]
    fn zero_threshold_disables() {
        let l = Lockout::new(0, MIN);
        let t0 = Instant::now();
        for _ in 0..100 {
            l.record_failure("k", t0);
        }
        assert!(!l.is_locked("k", t0));
        assert!(l.is_empty());
    }

    #[test]
    fn memory_is_bounded_and_locks_survive_a_spray() {
        let l = Lockout::with_max_entries(3, MIN, 100);
        let t0 = Instant::now();
        for _ in 0..3 {
            l.record_failure("victim", t0);
        }
        assert!(l.is_locked("victim", t0));
        for i in 0..10_000u32 {
            l.record_failure(
                &format!("spray-{i}"),
                t0 + Duration::from_millis(u64::from(i)),
            );
            assert!(l.len() <= 100);
        }
        // Unlocked entries are evicted before the lock.
        assert!(l.is_locked("victim", t0 + Duration::from_secs(10)));
    }

    #[test]
    fn dead_entries_are_dropped_first() {
        let l = Lockout::with_max_entries(5, MIN, 10);
        let t0 = Instant::now();
        for i in 0..10 {
            l.record_failure(&format!("old-{i}"), t0);
        }
        assert_eq!(l.len(), 10);
        let t1 = t0 + 2 * MIN;
        l.record_failure("new", t1);
        assert_eq!(l.len(), 1);
    }

    #[test]
    fn long_keys_are_bounded() {
        let l = Lockout::new(2, MIN);
        let t0 = Instant::now();
        let long_a = "a".repeat(10_000);
        let long_b = format!("{}b", "a".repeat(9_999));
        l.record_failure(&long_a, t0);
        l.record_failure(&long_b, t0);
        assert!(!l.is_locked(&long_a, t0));
        l.record_failure(&long_a, t0);
        assert!(l.is_locked(&long_a, t0));
        assert!(!l.is_locked(&long_b, t0));
        let entries = l.lock();
        assert!(entries.keys().all(|k| k.len() <= MAX_KEY_LEN));
    }
}
