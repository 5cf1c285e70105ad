//! The producer: the claim loop of one process. Each execution class (a lane: `Work`, and
//! `Delivery` when a delivery kind is registered) has its own slots and claims only its own
//! kinds, as many as it has room for (its slots and as many claimed ahead, more in a deep
//! queue); the store hands them out in turns by (account, kind), so neither a class nor an
//! account can starve another.
//! Claimed jobs go to the executor; then the loop sleeps until woken (a submit here, a
//! notification, a run ended) or the poll comes round. Stopping, it waits for the runs to end
//! and gives their leases back.

use crate::executor::run_job;
use crate::notifier::Announcement;
use crate::{completer, maintenance, notifier, pruner, Engine, JobClass, Shared};
use plugboard_core::time::now_micros;
use plugboard_store::job_claims::{Claim, Kinds};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How long a claim waits, while jobs run, for more slots to free up (see [`Engine::run`]).
const CLAIM_GATHER: Duration = Duration::from_millis(10);

/// A lane whose last claim filled its room (a deep queue: a drain, a burst) holds up to this
/// many slot-counts of jobs, and claims [`DEEP_BATCH`] slot-counts at a time once only a
/// slot-count still waits behind the running ones: the one claim loop waits for half as many
/// claims, one after another, so the slots wait less for them (a drain of 2,000 jobs: ~50
/// claims instead of ~125; docs/benchmarks.md). A claim that does not
/// fill its room ends the deep mode.
const DEEP_HELD: usize = 6;
/// See [`DEEP_HELD`].
const DEEP_BATCH: usize = 4;

/// Above this rate of notifications a burst is under way (see [`Pace`]). At a steady 500
/// jobs/s a claim per wake-up costs little (wake-ups that come while a claim runs fold into
/// one), and pacing there made the pickup wait half a pace on average (p50 11–13 ms with a
/// 20 ms pace above 200/s; docs/benchmarks.md).
const BURST_RATE: f64 = 1_000.0;
/// In a burst, a claim woken by a notification comes at least this long after the one before.
const BURST_PACE: Duration = Duration::from_millis(10);
/// The window the notification rate is measured over.
const RATE_WINDOW: Duration = Duration::from_millis(100);

/// Paces the claims that wake-ups ask for. Each wake-up claims at once while notifications
/// come at a steady rate (one job announced every few milliseconds or slower: the pickup
/// latency is what counts there); in a burst (more than [`BURST_RATE`] a second over the
/// last [`RATE_WINDOW`]) a claim waits until [`BURST_PACE`] after the one before, so each
/// takes many jobs and 10,000 submits cost a few hundred claims, not thousands. Claims made
/// because slots freed up, or by the poll, are not paced.
struct Pace {
    window_start: Instant,
    heard_at_start: u64,
    rate: f64,
    last_claim: Instant,
}

impl Pace {
    fn new(heard: u64) -> Self {
        Self {
            window_start: Instant::now(),
            heard_at_start: heard,
            rate: 0.0,
            last_claim: Instant::now(),
        }
    }

    /// Before a claim a wake-up asked for: `heard`, the notifications heard so far.
    async fn before_claim(&mut self, heard: u64, stop: &CancellationToken) {
        let now = Instant::now();
        let elapsed = now.duration_since(self.window_start);
        if elapsed >= RATE_WINDOW {
            self.rate = heard.saturating_sub(self.heard_at_start) as f64 / elapsed.as_secs_f64();
            self.window_start = now;
            self.heard_at_start = heard;
        }
        let until = self.last_claim + BURST_PACE;
        if self.rate > BURST_RATE && now < until {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = tokio::time::sleep_until(until.into()) => {}
            }
        }
        self.last_claim = Instant::now();
    }
}

/// The slots of one execution class and the jobs it holds.
struct Lane {
    class: JobClass,
    /// The kinds this lane claims (for `Work`: every kind but the other lanes').
    kinds: Vec<&'static str>,
    slots: Arc<Semaphore>,
    max: usize,
    /// Jobs held: running or claimed ahead (a run's guard counts it down when its steps end,
    /// with its slot).
    held: Arc<AtomicUsize>,
    /// Jobs held or whose end is not yet committed (counted down when the run ends): bounds
    /// the ends waiting for the completer.
    inflight: Arc<AtomicUsize>,
    last_claim: Option<Instant>,
    /// The last claim filled its room: the queue is deep (see [`DEEP_HELD`]).
    deep: bool,
}

/// Counts a held job down when dropped (its steps ended, or its run ended however it ended),
/// and wakes the claim loop, which may be waiting for room.
pub(crate) struct Held(Arc<AtomicUsize>, Arc<Notify>);

impl Drop for Held {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
        self.1.notify_one();
    }
}

impl Lane {
    fn new(class: JobClass, kinds: Vec<&'static str>, max: usize) -> Self {
        let max = max.max(1);
        Self {
            class,
            kinds,
            slots: Arc::new(Semaphore::new(max)),
            max,
            held: Arc::new(AtomicUsize::new(0)),
            inflight: Arc::new(AtomicUsize::new(0)),
            last_claim: None,
            deep: false,
        }
    }

    /// Room to claim: `2 × max` held at most, those running (the slots) and as many
    /// claimed ahead, waiting for a slot under a lease the heartbeat renews, so a busy engine
    /// starts its next job without a trip to the store; and `4 × max` with the jobs whose steps
    /// are over and whose ends wait for their group commit, so the next jobs run meanwhile but
    /// ends cannot pile up without bound.
    /// In a deep queue ([`DEEP_HELD`]) the bounds are `DEEP_HELD × max` held and four
    /// slot-counts more in flight (ends waiting for a group commit must not cut the next
    /// claims down to a job or two each).
    fn room(&self) -> usize {
        let (held_cap, ending) = if self.deep {
            (DEEP_HELD * self.max, 4 * self.max)
        } else {
            (2 * self.max, 2 * self.max)
        };
        let inflight_cap = held_cap + ending;
        let held = held_cap.saturating_sub(self.held.load(Ordering::Relaxed));
        let inflight = inflight_cap.saturating_sub(self.inflight.load(Ordering::Relaxed));
        held.min(inflight)
    }

    /// While jobs run, a claim waits for some room (or for CLAIM_GATHER): one claim, one
    /// write to the store, then takes several jobs. In a deep queue it waits, however long,
    /// for [`DEEP_BATCH`] slot-counts of room while a slot-count of claimed jobs still waits
    /// for a slot (so no slot goes idle for want of a claim).
    fn gathering(&self) -> bool {
        let room = self.room();
        let held = self.held.load(Ordering::Relaxed);
        if self.deep {
            return room > 0 && room < DEEP_BATCH * self.max && held >= 2 * self.max;
        }
        let batch = (self.max / 4).max(1);
        room > 0
            && room < batch
            && held > 0
            && self
                .last_claim
                .is_some_and(|at| at.elapsed() < CLAIM_GATHER)
    }

    fn running(&self) -> usize {
        self.max - self.slots.available_permits()
    }

    /// Whether an announcement names a kind this lane claims.
    fn wants(&self, a: &Announcement) -> bool {
        a.any
            || a.kinds.iter().any(|k| match self.class {
                // `Work` claims every kind but the other lanes'
                JobClass::Work => !self.kinds.contains(&k.as_str()),
                JobClass::Delivery => self.kinds.contains(&k.as_str()),
            })
    }
}

impl Engine {
    /// Run until `stop` is cancelled; then stop the running steps and release their leases
    /// so another process (or the next start) resumes them.
    pub async fn run(self, stop: CancellationToken) {
        let (finish, finishing) = mpsc::unbounded_channel();
        let mut deliveries: Vec<&'static str> = self
            .handlers
            .iter()
            .filter(|(_, r)| r.class == JobClass::Delivery)
            .map(|(k, _)| *k)
            .collect();
        deliveries.sort_unstable();
        let shared = Arc::new(Shared {
            store: self.store,
            owner: self.owner,
            config: self.config,
            handlers: self.handlers,
            running: Mutex::new(HashMap::new()),
            finish,
            waker: self.waker.clone(),
            stats: self.stats.clone(),
            stop: stop.clone(),
        });
        let mut lanes = vec![Lane::new(
            JobClass::Work,
            deliveries.clone(),
            shared.config.max_concurrent_jobs,
        )];
        if !deliveries.is_empty() {
            lanes.push(Lane::new(
                JobClass::Delivery,
                deliveries,
                shared.config.delivery_concurrent,
            ));
        }
        // Dropped with this future: a process whose engine is gone renews nothing.
        let _background = AbortOnDrop(vec![
            tokio::spawn(maintenance::heartbeat_loop(shared.clone(), stop.clone())),
            tokio::spawn(pruner::prune_loop(shared.clone(), stop.clone())),
            tokio::spawn(completer::finisher(shared.clone(), finishing)),
            tokio::spawn(notifier::listen(
                shared.store.clone(),
                Some(self.announced.clone()),
                self.signals,
                self.stats.clone(),
                stop.clone(),
            )),
        ]);
        let mut tasks = JoinSet::new();
        let mut pace = Pace::new(shared.stats.notifications());
        // What the last wake-up asked to claim: `None`, every lane (a start, a submit here,
        // the poll, a slot freed); else the kinds other processes announced.
        let mut wanted: Option<Announcement> = None;
        // Which lanes the next pass claims in: every lane after a wake-up or the poll; after a
        // run ended (or a gathering pause) only the lanes that were waiting for room, and after
        // a full claim only the lanes that filled their room: a slot freed in one class makes
        // no job of another class due, so it costs no claim there.
        let mut eligible = vec![true; lanes.len()];
        // a held job let go (its steps ended, its run ended)
        let freed = Arc::new(Notify::new());
        // when every lane last claimed (the poll, the safety net, for every lane)
        let mut polled = Instant::now();
        while !stop.is_cancelled() {
            while tasks.try_join_next().is_some() {}
            if eligible.iter().all(|e| *e) {
                polled = Instant::now();
            }
            let mut full = vec![false; lanes.len()];
            let mut gathering = false;
            // A lane that is full (or gathering room) claims again when one of its runs ends;
            // otherwise it took every due job it could see, and a run ending makes no other
            // job due, so only a wake-up (a submit, a notification, a retry due) or the poll
            // is worth a claim: no claim per finished job at a steady rate.
            let mut waiting = vec![false; lanes.len()];
            for (i, lane) in lanes.iter_mut().enumerate() {
                if lane.gathering() {
                    gathering = true;
                    waiting[i] = true;
                    continue;
                }
                let room = lane.room();
                if room == 0 {
                    waiting[i] = true;
                    continue;
                }
                if !eligible[i] || wanted.as_ref().is_some_and(|w| !lane.wants(w)) {
                    continue;
                }
                lane.last_claim = Some(Instant::now());
                let claimed = claim(&shared, lane, room, &freed, &stop, &mut tasks).await;
                full[i] = claimed > 0 && claimed == room;
                lane.deep = full[i];
            }
            let running: usize = lanes.iter().map(Lane::running).sum();
            metrics::gauge!("plugboard_jobs_running").set(running as f64);
            if full.iter().any(|f| *f) {
                eligible = full; // there may be more due
                wanted = None;
                continue;
            }
            let waiting_for_room = waiting.iter().any(|w| *w);
            let poll_due = polled + shared.config.poll_interval;
            let wait = if gathering {
                CLAIM_GATHER.min(shared.config.poll_interval)
            } else {
                poll_due.saturating_duration_since(Instant::now())
            };
            let (woken, announced, all) = tokio::select! {
                _ = stop.cancelled() => (false, false, true),
                _ = self.waker.notified() => (true, false, true),
                _ = self.announced.notify.notified() => (true, true, true),
                _ = tokio::time::sleep(wait) => (false, false, !gathering),
                _ = freed.notified(), if waiting_for_room => (false, false, false),
            };
            eligible = if all || Instant::now() >= poll_due {
                vec![true; lanes.len()]
            } else {
                waiting
            };
            if woken {
                pace.before_claim(shared.stats.notifications(), &stop).await;
            }
            // taken after the pace, so that a burst's kinds gathered meanwhile are included
            let heard = self.announced.take();
            wanted = (announced && !heard.any).then_some(heard);
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

/// One claim of `lane`'s kinds (up to `room` jobs), each handed to a run of its own; how many
/// were claimed.
async fn claim(
    shared: &Arc<Shared>,
    lane: &Lane,
    room: usize,
    freed: &Arc<Notify>,
    stop: &CancellationToken,
    tasks: &mut JoinSet<()>,
) -> usize {
    let now = now_micros();
    let kinds = match (lane.class, lane.kinds.is_empty()) {
        (JobClass::Work, true) => Kinds::All,
        (JobClass::Work, false) => Kinds::Except(&lane.kinds),
        (JobClass::Delivery, _) => Kinds::Only(&lane.kinds),
    };
    let claim = Claim {
        owner: &shared.owner,
        host: &shared.config.host,
        now,
        lease_until: now + shared.config.lease(),
        limit: room as i64,
        kinds,
    };
    shared.stats.claimed();
    let started = Instant::now();
    let jobs = match shared.store.claim(&claim).await {
        Ok(jobs) => jobs,
        Err(e) => {
            tracing::warn!(error = %e, "claiming jobs failed; retrying");
            return 0;
        }
    };
    // what a slow pickup is made of (`PLUGBOARD_LOG=plugboard_jobs=debug`)
    tracing::debug!(
        class = ?lane.class,
        room,
        claimed = jobs.len(),
        took_us = started.elapsed().as_micros() as u64,
        "claim"
    );
    let claimed = jobs.len();
    for job in jobs {
        // A job whose lease ran out while it still runs here (a stalled heartbeat) and that
        // this process claimed again: the run goes on, under the renewed lease; never a second
        // one beside it.
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
        lane.held.fetch_add(1, Ordering::Relaxed);
        lane.inflight.fetch_add(1, Ordering::Relaxed);
        let held = Held(lane.held.clone(), freed.clone());
        let inflight = Held(lane.inflight.clone(), freed.clone());
        let run = run_job(shared.clone(), job, lane.slots.clone(), held, cancel);
        tasks.spawn(async move {
            let _inflight = inflight;
            run.await;
        });
    }
    claimed
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
