//! Wake-ups between processes sharing a PostgreSQL database (`LISTEN`/`NOTIFY`): the job
//! rows' triggers (migration 0020) notify [`JOBS_CHANNEL`] in the transaction that makes a job
//! claimable, and each process running jobs listens on one dedicated connection. SQLite has no
//! such thing and needs none: it is one process, woken in memory.

use crate::{Backend, Result, Store};
use sqlx::postgres::PgListener;
use std::sync::Arc;

/// The channel a job becoming claimable is announced on.
pub const JOBS_CHANNEL: &str = "plugboard_jobs";

/// The database URL a listener connects to (kept out of `Debug`: it may hold a password).
#[derive(Clone)]
pub(crate) struct ListenUrl(Arc<str>);

impl ListenUrl {
    pub(crate) fn new(url: &str) -> Self {
        Self(url.into())
    }
}

impl std::fmt::Debug for ListenUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ListenUrl(..)")
    }
}

/// What a [`Listener`] heard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heard {
    /// One or more notifications (everything already buffered is taken with the first, so a
    /// burst is heard once per call).
    Notified(usize),
    /// The connection was lost and made again: notifications sent meanwhile are gone, so
    /// whoever listens should look for work as if notified.
    Reconnected,
}

/// One dedicated connection listening on a channel; it reconnects by itself after a drop.
pub struct Listener {
    inner: PgListener,
}

impl Listener {
    /// The next notification (or reconnection). `Err` when the connection failed and could not
    /// be made again yet: call again (after a pause) to retry.
    pub async fn next(&mut self) -> Result<Heard> {
        match self.inner.try_recv().await? {
            Some(_) => {
                let mut n = 1;
                while self.inner.next_buffered().is_some() {
                    n += 1;
                }
                Ok(Heard::Notified(n))
            }
            None => Ok(Heard::Reconnected),
        }
    }
}

impl Store {
    /// A listener on `channel`; `None` on SQLite (one process: nothing to listen to).
    pub async fn listen(&self, channel: &str) -> Result<Option<Listener>> {
        let Some(url) = &self.listen_url else {
            return Ok(None);
        };
        let mut inner = PgListener::connect(&url.0).await?;
        inner.listen(channel).await?;
        Ok(Some(Listener { inner }))
    }

    /// Notify `channel` now (outside any transaction); nothing on SQLite.
    pub async fn notify(&self, channel: &str) -> Result<()> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, '')::text")
                .bind(channel)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }
}
