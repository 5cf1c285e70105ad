//! The notifier: how a process hears that a job became claimable. On PostgreSQL one dedicated
//! connection listens on the jobs channel (the job rows' triggers notify it in the transaction
//! that submits a job or gives a lease back), so a job submitted through any process is claimed
//! at once by one with free slots; a dropped connection is made again, and whatever was missed
//! meanwhile is looked for at once (and in any case by the poll, the safety net). A retry that
//! comes due is announced by the process that scheduled it. Every signal only wakes the claim
//! loop, which holds at most one pending wake-up: a burst of 10,000 submits costs a handful of
//! claims, not 10,000. On SQLite (one process) the in-process waker is all there is.

use plugboard_store::notify::{Heard, JOBS_CHANNEL};
use plugboard_store::{Backend, Store};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The longest pause between attempts to listen again while the database is unreachable.
const MOST_PAUSE: Duration = Duration::from_secs(5);
const FIRST_PAUSE: Duration = Duration::from_millis(100);

/// Listen on the jobs channel until `stop`, waking `waker` for every notification heard
/// (coalesced) and after every reconnection. Returns at once on SQLite.
pub(crate) async fn listen(store: Store, waker: Arc<Notify>, stop: CancellationToken) {
    if store.backend() != Backend::Postgres {
        return;
    }
    let mut pause = FIRST_PAUSE;
    loop {
        let listener = tokio::select! {
            _ = stop.cancelled() => return,
            l = store.listen(JOBS_CHANNEL) => l,
        };
        let mut listener = match listener {
            Ok(Some(l)) => l,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for jobs; polling meanwhile");
                if !nap(&stop, &mut pause).await {
                    return;
                }
                continue;
            }
        };
        pause = FIRST_PAUSE;
        // Anything notified before the LISTEN took effect is looked for now.
        waker.notify_one();
        loop {
            let heard = tokio::select! {
                _ = stop.cancelled() => return,
                h = listener.next() => h,
            };
            match heard {
                Ok(Heard::Notified(n)) => {
                    metrics::counter!("plugboard_job_notifications_total").increment(n as u64);
                    waker.notify_one();
                }
                Ok(Heard::Reconnected) => {
                    tracing::info!("the job listener's connection was lost and made again");
                    pause = FIRST_PAUSE;
                    waker.notify_one();
                }
                Err(e) => {
                    // The listener makes its connection again on the next call.
                    tracing::warn!(error = %e, "the job listener's connection failed; listening again");
                    if !nap(&stop, &mut pause).await {
                        return;
                    }
                    waker.notify_one();
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
