//! Announcing submitted jobs to the processes sharing a PostgreSQL database, after their
//! commit and coalesced. A `NOTIFY` inside the submitting transaction (migrations 0020/0046
//! did it with a trigger) makes PostgreSQL serialise every such commit, its WAL flush
//! included, on one database-wide lock (`PreCommit_Notify`): concurrent submits then cost
//! one flush each instead of sharing one. So the job's row commits without it, and the kinds
//! submitted are announced afterwards on [`JOBS_CHANNEL`] by one sender at a time: while it
//! sends, the kinds submitted meanwhile gather and go out together with its next statement
//! (a transaction with nothing but `pg_notify` writes no WAL, so it waits for no flush).
//! A notification is only ever sent for a committed job; one lost (a crash between the
//! commit and the send) is covered by every process's poll.
//! This process's own engine is told in memory, with the kinds, as soon as the commit is
//! done ([`Store::watch_announcements`]), on either back-end; each notification carries the
//! handle's origin so that its own listener drops it (heard again, it woke a second claim,
//! and a wake-up without kinds claimed in every execution class: 129 claims that found
//! nothing per 2,000 jobs in one process, docs/benchmarks.md stop 27).

use crate::notify::JOBS_CHANNEL;
use crate::{Backend, Store};
use std::collections::BTreeSet;
use std::sync::{Mutex, Weak};

/// Separates a job's kind from the announcing handle's origin in a notification's payload.
pub(crate) const ORIGIN_MARK: char = '\u{1f}';

/// Told, in this process, of the kinds of the jobs a store handle announces (the job
/// engine's claim loop).
pub trait AnnouncementWatcher: Send + Sync {
    fn announced(&self, kinds: &[&str]);
}

/// Kinds waiting to be announced, whether a sender is at work, and who hears them in this
/// process.
#[derive(Default)]
pub(crate) struct Announcer {
    state: Mutex<Pending>,
    watchers: Mutex<Vec<Weak<dyn AnnouncementWatcher>>>,
    /// This handle's mark on its notifications (its listener drops them: the watchers heard).
    pub(crate) origin: String,
}

impl std::fmt::Debug for Announcer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Announcer")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct Pending {
    kinds: BTreeSet<String>,
    sending: bool,
}

impl Announcer {
    pub(crate) fn new() -> Self {
        Self {
            origin: plugboard_core::ids::hex32(),
            ..Self::default()
        }
    }

    /// Tell this process's watchers (those still alive) of `kinds`.
    fn tell_watchers(&self, kinds: &[&str]) {
        let Ok(mut w) = self.watchers.lock() else {
            return;
        };
        w.retain(|watcher| match watcher.upgrade() {
            Some(watcher) => {
                watcher.announced(kinds);
                true
            }
            None => false,
        });
    }

    /// Add `kinds`; `true` when the caller is to start the sender (none is at work).
    fn add<'a>(&self, kinds: impl IntoIterator<Item = &'a str>) -> bool {
        let Ok(mut p) = self.state.lock() else {
            return false;
        };
        p.kinds.extend(kinds.into_iter().map(str::to_string));
        if p.sending || p.kinds.is_empty() {
            return false;
        }
        p.sending = true;
        true
    }

    /// The kinds to send next; empty (and the sender stopped) when none are left.
    fn next(&self) -> Vec<String> {
        let Ok(mut p) = self.state.lock() else {
            return vec![];
        };
        let kinds: Vec<String> = std::mem::take(&mut p.kinds).into_iter().collect();
        p.sending = !kinds.is_empty();
        kinds
    }
}

/// `SELECT pg_notify(channel, $1), …` for `n` kinds.
fn notify_sql(n: usize) -> String {
    let calls: Vec<String> = (1..=n)
        .map(|i| format!("pg_notify('{JOBS_CHANNEL}', ${i})::text"))
        .collect();
    format!("SELECT {}", calls.join(", "))
}

impl Store {
    /// Announce that jobs of `kinds` were committed (call it after the commit): every process
    /// listening on [`JOBS_CHANNEL`] claims at once. Returns without waiting; nothing on
    /// SQLite.
    pub fn announce_jobs<'a>(&self, kinds: impl IntoIterator<Item = &'a str>) {
        let kinds: Vec<&str> = kinds.into_iter().collect();
        if kinds.is_empty() {
            return;
        }
        self.announcer.tell_watchers(&kinds);
        if self.backend != Backend::Postgres || !self.announcer.add(kinds) {
            return;
        }
        let store = self.clone();
        tokio::spawn(async move {
            loop {
                let kinds = store.announcer.next();
                if kinds.is_empty() {
                    return;
                }
                let sql = notify_sql(kinds.len());
                let payloads: Vec<String> = kinds
                    .iter()
                    .map(|k| format!("{k}{ORIGIN_MARK}{}", store.announcer.origin))
                    .collect();
                let mut q = sqlx::query(&sql);
                for p in &payloads {
                    q = q.bind(p.as_str());
                }
                if let Err(e) = q.execute(&store.pool).await {
                    tracing::debug!(error = %e, "cannot announce submitted jobs; the poll finds them");
                }
            }
        });
    }
}

impl Store {
    /// Tell `watcher` of every job this handle (and its clones) announces, with its kind, as
    /// soon as it is committed; it is forgotten once dropped. Its own notifications are then
    /// not heard again through [`Store::listen`].
    pub fn watch_announcements(&self, watcher: Weak<dyn AnnouncementWatcher>) {
        if let Ok(mut w) = self.announcer.watchers.lock() {
            w.push(watcher);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_gather_while_one_sender_works() {
        let a = Announcer::new();
        assert!(a.add(["A"]), "the first submit starts the sender");
        assert!(!a.add(["B", "A"]), "one sender at a time");
        assert_eq!(a.next(), vec!["A".to_string(), "B".to_string()]);
        assert!(!a.add(["C"]), "still sending");
        assert_eq!(a.next(), vec!["C".to_string()]);
        assert!(a.next().is_empty(), "nothing left: the sender stops");
        assert!(a.add(["D"]), "the next submit starts it again");
        assert!(!Announcer::default().add([]), "nothing to announce");
        assert!(notify_sql(2).ends_with("$1)::text, pg_notify('plugboard_jobs', $2)::text"));
    }

    #[derive(Default)]
    struct Heard(Mutex<Vec<String>>);

    impl AnnouncementWatcher for Heard {
        fn announced(&self, kinds: &[&str]) {
            if let Ok(mut h) = self.0.lock() {
                h.extend(kinds.iter().map(|k| k.to_string()));
            }
        }
    }

    #[test]
    fn watchers_hear_the_kinds_until_they_are_dropped() {
        let a = Announcer::new();
        assert_eq!(a.origin.len(), 32, "a mark of its own");
        assert_ne!(a.origin, Announcer::new().origin);
        let heard = std::sync::Arc::new(Heard::default());
        let watcher: std::sync::Arc<dyn AnnouncementWatcher> = heard.clone();
        a.watchers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(std::sync::Arc::downgrade(&watcher));
        a.tell_watchers(&["A", "B"]);
        assert_eq!(
            *heard.0.lock().unwrap_or_else(|e| e.into_inner()),
            vec!["A".to_string(), "B".to_string()]
        );
        drop(watcher);
        drop(heard);
        a.tell_watchers(&["C"]);
        assert!(
            a.watchers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_empty(),
            "a dropped watcher is forgotten"
        );
    }
}
