//! Transactions that PostgreSQL aborted to resolve a conflict — a serialization failure
//! (SQLSTATE 40001) or a deadlock (40P01) — are run again inside the store, a few times with a
//! short randomised back-off, so a caller never sees one as an error (an API never answers it
//! with a 500). The lock order of the transactions themselves keeps these rare (see
//! `servicestage.rs`: a job row before its add-on row); how many were retried is counted for
//! operators and tests ([`crate::Store::conflicts_retried`]).

use crate::StoreError;
use std::future::Future;
use std::time::Duration;

/// Tries of one transaction in all.
const TRIES: u32 = 5;

/// Whether `e` is a conflict PostgreSQL resolved by aborting this transaction.
pub fn is_conflict(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => matches!(db.code().as_deref(), Some("40001" | "40P01")),
        _ => false,
    }
}

/// An error that may be such a conflict.
pub(crate) trait MaybeConflict {
    fn is_conflict(&self) -> bool;
}

impl MaybeConflict for StoreError {
    fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Db(e) if is_conflict(e))
    }
}

impl crate::Store {
    /// Run the transaction `attempt` makes, again (up to 5 tries in all) while it fails with
    /// a conflict; `what` names it in the log.
    pub(crate) async fn retry_conflicts<T, E, F, Fut>(
        &self,
        what: &str,
        mut attempt: F,
    ) -> Result<T, E>
    where
        E: MaybeConflict + std::fmt::Display,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut tries = 1;
        loop {
            match attempt().await {
                Err(e) if e.is_conflict() && tries < TRIES => {
                    self.count_conflict_retry();
                    tracing::warn!(transaction = what, tries, error = %e, "a database conflict aborted the transaction; running it again");
                    let jitter = u64::from(rand_below(20));
                    tokio::time::sleep(Duration::from_millis(5 * u64::from(tries) + jitter)).await;
                    tries += 1;
                }
                other => return other,
            }
        }
    }
}

/// A small random number below `n` (back-off jitter), from the clock's low bits.
fn rand_below(n: u32) -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    nanos % n.max(1)
}
