//! The notifier: how a process hears what other processes did. On PostgreSQL one dedicated
//! connection listens on the jobs channel (the job rows' triggers notify it in the transaction
//! that submits a job or gives a lease back), so a job submitted through any process is claimed
//! at once by one with free slots, and on the channels others subscribed to with
//! [`Engine::on_signal`] (the driver registry's changes), on the same connection. A dropped
//! connection is made again, and whatever was missed meanwhile is acted on at once (and in any
//! case by the poll, the safety net). A retry that comes due is announced by the process that
//! scheduled it. Every signal only wakes the claim loop, which holds at most one pending
//! wake-up: a burst of 10,000 submits costs a handful of claims, not 10,000. On SQLite (one
//! process) the in-process waker is all there is.

use crate::{Engine, EngineStats};
use plugboard_store::notify::{Heard, JOBS_CHANNEL};
use plugboard_store::{Backend, Store};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The kinds of job other processes announced since the claim loop last looked, and the
/// wake-up that goes with them: the loop claims only in the classes those kinds run in.
#[derive(Default)]
pub(crate) struct Announced {
    pending: Mutex<Announcement>,
    pub(crate) notify: Notify,
}

/// What was announced: some kinds, or anything (a retry coming due, a reconnection).
#[derive(Debug, Default)]
pub(crate) struct Announcement {
    pub(crate) any: bool,
    pub(crate) kinds: HashSet<String>,
}

/// Jobs this process submitted: heard in memory (its own notifications are not heard again).
impl plugboard_store::job_announce::AnnouncementWatcher for Announced {
    fn announced(&self, kinds: &[&str]) {
        self.kinds(kinds.iter().copied());
    }
}

impl Announced {
    fn kinds<'a>(&self, kinds: impl Iterator<Item = &'a str>) {
        if let Ok(mut p) = self.pending.lock() {
            for k in kinds {
                if k.is_empty() {
                    p.any = true;
                } else {
                    p.kinds.insert(k.to_string());
                }
            }
        }
        self.notify.notify_one();
    }

    fn anything(&self) {
        if let Ok(mut p) = self.pending.lock() {
            p.any = true;
        }
        self.notify.notify_one();
    }

    /// What was announced since the last call.
    pub(crate) fn take(&self) -> Announcement {
        self.pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or(Announcement {
                any: true,
                kinds: HashSet::new(),
            })
    }
}

/// The longest pause between attempts to listen again while the database is unreachable.
const MOST_PAUSE: Duration = Duration::from_secs(5);
const FIRST_PAUSE: Duration = Duration::from_millis(100);

/// What is run when a channel is notified (or the listener reconnected): cheap and
/// synchronous, it runs on the listener's task before the claim loop is woken, so a driver
/// change announced before a job is seen before that job is claimed.
pub(crate) type Signal = Arc<dyn Fn() + Send + Sync>;

impl Engine {
    /// Run `signal` whenever `channel` is notified by another process sharing the PostgreSQL
    /// database (and after the listener reconnected, when notifications may have been missed),
    /// on the engine's listener connection; never on SQLite.
    pub fn on_signal(&mut self, channel: &'static str, signal: impl Fn() + Send + Sync + 'static) {
        self.signals.push((channel, Arc::new(signal)));
    }

    /// For a process that runs no jobs (`[jobs] max_concurrent = 0`): listen until `stop` on
    /// the channels of [`Self::on_signal`] only.
    pub async fn listen_only(self, stop: CancellationToken) {
        listen(self.store, None, self.signals, self.stats, stop).await;
    }
}

/// Listen until `stop` on the jobs channel (when `announced` is given: this process runs
/// jobs) and the channels of `signals`, announcing the kinds of the jobs heard (coalesced)
/// and running the signals of the other channels heard; after every reconnection, all of
/// them. Returns at once on SQLite, or when there is nothing to listen to.
pub(crate) async fn listen(
    store: Store,
    announced: Option<Arc<Announced>>,
    signals: Vec<(&'static str, Signal)>,
    stats: Arc<EngineStats>,
    stop: CancellationToken,
) {
    if store.backend() != Backend::Postgres {
        return;
    }
    let mut channels: Vec<&str> = signals.iter().map(|(c, _)| *c).collect();
    if announced.is_some() {
        channels.push(JOBS_CHANNEL);
    }
    channels.sort_unstable();
    channels.dedup();
    if channels.is_empty() {
        return;
    }
    let everything = || {
        for (_, signal) in &signals {
            signal();
        }
        if let Some(a) = &announced {
            a.anything();
        }
    };
    let mut pause = FIRST_PAUSE;
    loop {
        let listener = tokio::select! {
            _ = stop.cancelled() => return,
            l = store.listen(&channels) => l,
        };
        let mut listener = match listener {
            Ok(Some(l)) => l,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for other processes' signals; polling meanwhile");
                if !nap(&stop, &mut pause).await {
                    return;
                }
                continue;
            }
        };
        pause = FIRST_PAUSE;
        // Anything notified before the LISTEN took effect is acted on now.
        everything();
        loop {
            let heard = tokio::select! {
                _ = stop.cancelled() => return,
                h = listener.next() => h,
            };
            match heard {
                Ok(Heard::Notified(heard)) => {
                    let jobs = heard.iter().filter(|(c, _)| c == JOBS_CHANNEL).count();
                    // each subscribed signal once per batch, before the claim loop wakes
                    for (channel, signal) in &signals {
                        if heard.iter().any(|(c, _)| c == channel) {
                            signal();
                        }
                    }
                    if jobs > 0 {
                        tracing::debug!(jobs, "notified");
                        stats.heard(jobs);
                        if let Some(a) = &announced {
                            a.kinds(
                                heard
                                    .iter()
                                    .filter(|(c, _)| c == JOBS_CHANNEL)
                                    .map(|(_, kind)| kind.as_str()),
                            );
                        }
                    }
                }
                Ok(Heard::Reconnected) => {
                    tracing::info!("the listener's connection was lost and made again");
                    pause = FIRST_PAUSE;
                    everything();
                }
                Err(e) => {
                    // The listener makes its connection again on the next call.
                    tracing::warn!(error = %e, "the listener's connection failed; listening again");
                    if !nap(&stop, &mut pause).await {
                        return;
                    }
                    everything();
                }
            }
        }
    }
}

/// Sleep `pause` (doubling it for next time, up to [`MOST_PAUSE`]); `false` when stopped.
async fn nap(stop: &CancellationToken, pause: &mut Duration) -> bool {
    let this = *pause;
    *pause = (*pause * 2).min(MOST_PAUSE);
    tokio::select! {
        _ = stop.cancelled() => false,
        _ = tokio::time::sleep(this) => true,
    }
}

/// Announce, at `at`, that a job (a retry scheduled for then) comes due: this process's claim
/// loop is woken, and on PostgreSQL every other process's too, so a process with free slots
/// takes it on time even while this one is full.
pub(crate) fn wake_at(
    store: Store,
    waker: Arc<Notify>,
    stop: CancellationToken,
    after: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(after) => {}
        }
        waker.notify_one();
        if let Err(e) = store.notify(JOBS_CHANNEL).await {
            tracing::debug!(error = %e, "cannot announce a retry coming due; the poll finds it");
        }
    })
}
