//! Announcing submitted jobs to the processes sharing a PostgreSQL database, after their
//! commit and coalesced. A `NOTIFY` inside the submitting transaction (migrations 0020/0046
//! did it with a trigger) makes PostgreSQL serialise every such commit, its WAL flush
//! included, on one database-wide lock (`PreCommit_Notify`): concurrent submits then cost
//! one flush each instead of sharing one. So the job's row commits without it, and the kinds
//! submitted are announced afterwards on [`JOBS_CHANNEL`] by one sender at a time: while it
//! sends, the kinds submitted meanwhile gather and go out together with its next statement
//! (a transaction with nothing but `pg_notify` writes no WAL, so it waits for no flush).
//! A notification is only ever sent for a committed job; one lost (a crash between the
//! commit and the send) is covered by every process's poll. SQLite: nothing (one process,
//! woken in memory).

use crate::notify::JOBS_CHANNEL;
use crate::{Backend, Store};
use std::collections::BTreeSet;
use std::sync::Mutex;

/// Kinds waiting to be announced, and whether a sender is at work.
#[derive(Debug, Default)]
pub(crate) struct Announcer {
    state: Mutex<Pending>,
}

#[derive(Debug, Default)]
struct Pending {
    kinds: BTreeSet<String>,
    sending: bool,
}

impl Announcer {
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
                let mut q = sqlx::query(&sql);
                for k in &kinds {
                    q = q.bind(k.as_str());
                }
                if let Err(e) = q.execute(&store.pool).await {
                    tracing::debug!(error = %e, "cannot announce submitted jobs; the poll finds them");
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_gather_while_one_sender_works() {
        let a = Announcer::default();
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
}
