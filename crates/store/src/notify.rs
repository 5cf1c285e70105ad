//! Wake-ups between processes sharing a PostgreSQL database (`LISTEN`/`NOTIFY`): the job
//! rows' triggers (migration 0020) notify [`JOBS_CHANNEL`] in the transaction that makes a job
//! claimable, and the driver registry's (migration 0045) notify [`DRIVERS_CHANNEL`] in the one
//! that changes it; each process listens on one dedicated connection, to every channel it
//! needs. SQLite has no such thing and needs none: it is one process, woken in memory.

use crate::job_announce::ORIGIN_MARK;
use crate::{Backend, Result, Store};
use sqlx::postgres::PgListener;
use std::sync::Arc;

/// The channel a job becoming claimable is announced on.
pub const JOBS_CHANNEL: &str = "plugboard_jobs";

/// The channel a change of the driver registry (its generation bumped) is announced on.
pub const DRIVERS_CHANNEL: &str = "plugboard_drivers";

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// One or more notifications: the channel and payload of each, in the order they were
    /// sent (everything already buffered is taken with the first, so a burst is heard once
    /// per call). The jobs channel's payload is the kind of the job (empty: any kind); the
    /// jobs the listening handle announced itself are left out.
    Notified(Vec<(String, String)>),
    /// The connection was lost and made again: notifications sent meanwhile are gone, so
    /// whoever listens should act as if notified on every channel.
    Reconnected,
}

/// One dedicated connection listening on some channels; it reconnects by itself after a drop
/// (and listens on the same channels again).
pub struct Listener {
    inner: PgListener,
    /// The listening handle's origin: the jobs it announced itself are not heard again (its
    /// watchers were told in memory, [`Store::watch_announcements`]).
    origin: String,
}

impl Listener {
    /// The next notifications (or reconnection). `Err` when the connection failed and could
    /// not be made again yet: call again (after a pause) to retry.
    pub async fn next(&mut self) -> Result<Heard> {
        loop {
            let Some(first) = self.inner.try_recv().await? else {
                return Ok(Heard::Reconnected);
            };
            let mut heard = Vec::new();
            self.keep(&first, &mut heard);
            while let Some(n) = self.inner.next_buffered() {
                self.keep(&n, &mut heard);
            }
            if !heard.is_empty() {
                return Ok(Heard::Notified(heard));
            }
        }
    }

    /// `n` as heard (the jobs channel's payload without its origin), unless this handle sent it.
    fn keep(&self, n: &sqlx::postgres::PgNotification, heard: &mut Vec<(String, String)>) {
        let mut payload = n.payload();
        if n.channel() == JOBS_CHANNEL {
            if let Some((kind, origin)) = payload.split_once(ORIGIN_MARK) {
                if origin == self.origin {
                    return;
                }
                payload = kind;
            }
        }
        heard.push((n.channel().to_string(), payload.to_string()));
    }
}

impl Store {
    /// A listener on `channels` (one connection for all); `None` on SQLite (one process:
    /// nothing to listen to).
    pub async fn listen(&self, channels: &[&str]) -> Result<Option<Listener>> {
        let Some(url) = &self.listen_url else {
            return Ok(None);
        };
        let mut inner = PgListener::connect(&url.0).await?;
        inner.listen_all(channels.iter().copied()).await?;
        Ok(Some(Listener {
            inner,
            origin: self.announcer.origin.clone(),
        }))
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
