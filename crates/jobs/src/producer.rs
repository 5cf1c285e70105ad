//! The producer: the claim loop of one process. It claims due jobs under a lease (as many as
//! it has room for: its slots and as many claimed ahead), hands each to the executor, and
//! sleeps until woken (a submit here, a notification, a slot freed) or the poll comes round.
//! Stopping, it waits for the runs to end and gives their leases back.

use crate::executor::run_job;
use crate::{completer, maintenance, notifier, pruner, Engine, Shared};
use plugboard_core::time::now_micros;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How long a claim waits, while jobs run, for more slots to free up (see [`Engine::run`]).
const CLAIM_GATHER: Duration = Duration::from_millis(10);

impl Engine {
    /// Run until `stop` is cancelled; then stop the running steps and release their leases
    /// so another process (or the next start) resumes them.
    pub async fn run(self, stop: CancellationToken) {
        let (finish, finishing) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            store: self.store,
            owner: self.owner,
            config: self.config,
            handlers: self.handlers,
            running: Mutex::new(HashMap::new()),
            finish,
            waker: self.waker.clone(),
            stop: stop.clone(),
        });
        let slots = Arc::new(Semaphore::new(shared.config.max_concurrent_jobs.max(1)));
        // Dropped with this future: a process whose engine is gone renews nothing.
        let _background = AbortOnDrop(vec![
            tokio::spawn(maintenance::heartbeat_loop(shared.clone(), stop.clone())),
            tokio::spawn(pruner::prune_loop(shared.clone(), stop.clone())),
            tokio::spawn(completer::finisher(shared.clone(), finishing)),
            tokio::spawn(notifier::listen(
                shared.store.clone(),
                self.waker.clone(),
                stop.clone(),
            )),
        ]);
        let mut tasks = JoinSet::new();
        // Jobs this process holds at most: those running (`max_concurrent_jobs`, the slots)
        // and as many claimed ahead, waiting for a slot under a lease the heartbeat renews, so
        // a busy engine starts its next job without a trip to the store.
        let max = shared.config.max_concurrent_jobs.max(1);
        let hold = 2 * max;
        let batch = (max / 4).max(1);
        let mut last_claim: Option<Instant> = None;
        while !stop.is_cancelled() {
            while tasks.try_join_next().is_some() {}
            let room = hold.saturating_sub(tasks.len());
            // While jobs run, a claim waits for some room (or for CLAIM_GATHER): one claim,
            // one write to the store, then takes several jobs.
            let gathering = room > 0
                && room < batch
                && !tasks.is_empty()
                && last_claim.is_some_and(|at| at.elapsed() < CLAIM_GATHER);
            let mut claimed = 0;
            if room > 0 && !gathering {
                last_claim = Some(Instant::now());
                let now = now_micros();
                match shared
                    .store
                    .claim_jobs(
                        &shared.owner,
                        &shared.config.host,
                        now,
                        now + shared.config.lease(),
                        room as i64,
                    )
                    .await
                {
                    Ok(jobs) => {
                        claimed = jobs.len();
                        for job in jobs {
                            // A job whose lease ran out while it still runs here (a stalled
                            // heartbeat) and that this process claimed again: the run goes on,
                            // under the renewed lease; never a second one beside it.
                            let cancel = {
                                let Ok(mut r) = shared.running.lock() else {
                                    break;
                                };
                                if r.contains_key(&job.id) {
                                    continue;
                                }
                                let cancel = stop.child_token();
                                r.insert(job.id.clone(), cancel.clone());
                                cancel
                            };
                            tasks.spawn(run_job(shared.clone(), job, slots.clone(), cancel));
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "claiming jobs failed; retrying"),
                }
            }
            metrics::gauge!("plugboard_jobs_running").set((max - slots.available_permits()) as f64);
            if claimed > 0 && claimed == room {
                continue; // there may be more due
            }
            let wait = if gathering {
                CLAIM_GATHER.min(shared.config.poll_interval)
            } else {
                shared.config.poll_interval
            };
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = self.waker.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        while tasks.join_next().await.is_some() {}
        match shared.store.release_job_leases(&shared.owner).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, "released job leases for another process"),
            Err(e) => {
                tracing::warn!(error = %e, "releasing job leases failed; they expire by themselves")
            }
        }
    }
}

/// Background tasks that end with their owner.
struct AbortOnDrop(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}
