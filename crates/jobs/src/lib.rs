//! The job engine (docs/contract.md → Jobs): runs the durable jobs of the store. Each
//! process claims due jobs under a lease (on PostgreSQL with `SKIP LOCKED`, so processes
//! sharing the database split the work and a job runs in exactly one of them), renews the lease
//! while it works, and runs the job's ordered steps through the handler registered for its kind,
//! saving after each step. A process that dies leaves a lease that expires; whoever claims the
//! job next resumes at the step that did not finish, so handlers write steps that can run
//! again. Transient step errors are retried with exponential back-off; anything else fails the
//! job with the handler's reason. Finished jobs are pruned after the retention period.
//!
//! The engine knows nothing of what jobs do: a handler is `(job, step) → outcome`, which is
//! also the shape of the external drivers to come (a step = driver, action, input → events).

pub mod kind;
mod notifier;

pub use kind::JobKind;

use plugboard_core::time::now_micros;
use plugboard_store::jobs::{
    BoxedEffect, Job, JobEffect, JobEnd, JobStep, StepUpdate, COMPLETED, FAILED,
};
use plugboard_store::Store;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Why a step did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepError {
    /// Worth trying again (connection refused, timeouts, 5xx): retried with back-off up to
    /// `max_attempts`, then the job fails with this message.
    Transient(String),
    /// The job fails now, with this reason.
    Failed(String),
}

/// How a job ended, for [`JobHandler::on_finish`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Completed,
    Failed(String),
}

/// What runs the steps of one kind of job.
#[async_trait::async_trait]
pub trait JobHandler: Send + Sync {
    /// Run step `ctx.step()` of `ctx.job`. Must be safe to run again after a crash.
    async fn run_step(&self, ctx: &mut StepCtx) -> Result<(), StepError>;

    /// Called once when the job has ended in this process (clean-up such as staging files).
    async fn on_finish(&self, _job: &Job, _outcome: &JobOutcome) {}

    /// What a job that fails with `reason` changes in the store, committed in the same
    /// transaction as its failure (an add-on moved to FAILED, say); nothing by default.
    fn failure_effects(&self, _job: &Job, _reason: &str) -> Vec<BoxedEffect> {
        Vec::new()
    }
}

/// What a handler sees while it runs a step.
pub struct StepCtx {
    /// The job, as claimed.
    pub job: Job,
    /// State the steps accumulate; saved after every successful step and visible on resume.
    pub context: serde_json::Map<String, serde_json::Value>,
    step: usize,
    steps: Vec<JobStep>,
    store: Store,
    owner: String,
    last_write: Option<Instant>,
    checkpoint: bool,
    effects: Vec<BoxedEffect>,
}

/// How long a claim waits, while jobs run, for more slots to free up (see [`Engine::run`]).
const CLAIM_GATHER: Duration = Duration::from_millis(10);

/// Transactions writing the ends of jobs at once (see `finisher`).
const FINISHING_AT_ONCE: usize = 4;

/// How often progress within a step is written at most.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

impl StepCtx {
    /// The index of the step being run.
    pub fn step(&self) -> usize {
        self.step
    }

    /// The name of the step being run.
    pub fn step_name(&self) -> &str {
        self.steps
            .get(self.step)
            .map(|s| s.name.as_str())
            .unwrap_or_default()
    }

    /// The step changed nothing durable (a `simulated` target, say): no need to save the job
    /// after it. Should the process die before the next save, the step simply runs again.
    pub fn skip_checkpoint(&mut self) {
        self.checkpoint = false;
    }

    /// In the job's last step: a change to the store that is committed together with the job's
    /// completion (and not at all if the job does not complete here), so a job is completed
    /// exactly when its outcome is recorded.
    pub fn complete_with(&mut self, effect: impl JobEffect + 'static) {
        debug_assert!(
            self.step + 1 == self.steps.len(),
            "complete_with belongs in the last step"
        );
        self.effects.push(Arc::new(effect));
    }

    /// Set the step's message (shown with the job's steps).
    pub fn log(&mut self, message: String) {
        if let Some(s) = self.steps.get_mut(self.step) {
            s.message = message;
        }
    }

    /// Report progress within the step (0–100); mapped onto the job's overall progress and
    /// written at most twice a second.
    pub async fn progress(&mut self, percent: u8) {
        if self
            .last_write
            .is_some_and(|at| at.elapsed() < PROGRESS_EVERY)
        {
            return;
        }
        self.last_write = Some(Instant::now());
        let overall = overall_progress(self.step, percent, self.steps.len());
        if let Err(e) = self
            .store
            .set_job_progress(&self.owner, &self.job.id, overall, &self.steps)
            .await
        {
            tracing::warn!(job_id = %self.job.id, error = %e, "cannot record progress");
        }
    }
}

/// The job's progress when step `step` of `total` is `percent` done.
fn overall_progress(step: usize, percent: u8, total: usize) -> i64 {
    let total = total.max(1) as i64;
    let done = (step as i64) * 100 + i64::from(percent.min(100));
    (done / total).clamp(0, 100)
}

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// How long a claimed job stays leased without a heartbeat.
    pub lease_seconds: u64,
    /// How often to look for jobs submitted through other processes.
    pub poll_interval: Duration,
    /// Jobs run at once by this process.
    pub max_concurrent_jobs: usize,
    /// Tries of a step failing transiently before the job fails.
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Finished jobs older than this are pruned.
    pub retention: Duration,
    pub prune_interval: Duration,
    /// This process's host: it also claims the jobs pinned to this host (see
    /// `Store::claim_jobs`).
    pub host: String,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            lease_seconds: 30,
            poll_interval: Duration::from_secs(1),
            max_concurrent_jobs: 16,
            max_attempts: 5,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            retention: Duration::from_secs(30 * 86_400),
            prune_interval: Duration::from_secs(3600),
            host: String::new(),
        }
    }
}

impl EngineConfig {
    fn lease(&self) -> i64 {
        (self.lease_seconds.max(1) as i64) * 1_000_000
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(16));
        self.backoff_base
            .saturating_mul(factor)
            .min(self.backoff_max)
    }
}

/// The engine of one process.
pub struct Engine {
    store: Store,
    owner: String,
    config: EngineConfig,
    handlers: HashMap<String, Arc<dyn JobHandler>>,
    waker: Arc<Notify>,
}

/// What the runners share.
struct Shared {
    store: Store,
    owner: String,
    config: EngineConfig,
    handlers: HashMap<String, Arc<dyn JobHandler>>,
    /// The jobs running in this process, each with what stops it (the process stopping, or
    /// its lease lost).
    running: Mutex<HashMap<String, CancellationToken>>,
    /// Where runs send their jobs' ends (see [`finisher`]).
    finish: mpsc::UnboundedSender<Finish>,
    /// Wakes the claim loop (a submit here, a notification, a retry coming due).
    waker: Arc<Notify>,
    /// The engine stopping.
    stop: CancellationToken,
}

/// A job's end on its way to the store, and who waits for the answer.
struct Finish {
    end: JobEnd,
    ended: oneshot::Sender<bool>,
}

impl Engine {
    /// An engine claiming jobs as `owner` (unique per process).
    pub fn new(store: Store, owner: String, config: EngineConfig) -> Self {
        Self {
            store,
            owner,
            config,
            handlers: HashMap::new(),
            waker: Arc::new(Notify::new()),
        }
    }

    /// Run jobs of `kind` with `handler`.
    pub fn register(&mut self, kind: &str, handler: Arc<dyn JobHandler>) {
        self.handlers.insert(kind.to_string(), handler);
    }

    /// Notify this to start a job submitted through this process at once.
    pub fn waker(&self) -> Arc<Notify> {
        self.waker.clone()
    }

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
            tokio::spawn(heartbeat_loop(shared.clone(), stop.clone())),
            tokio::spawn(prune_loop(shared.clone(), stop.clone())),
            tokio::spawn(finisher(shared.clone(), finishing)),
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

async fn heartbeat_loop(shared: Arc<Shared>, stop: CancellationToken) {
    let every = Duration::from_micros((shared.config.lease() / 3).max(100_000) as u64);
    let lease = Duration::from_micros(shared.config.lease() as u64);
    let mut renewed = Instant::now();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let ids: Vec<String> = shared
            .running
            .lock()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default();
        if ids.is_empty() {
            renewed = Instant::now();
            continue;
        }
        let until = now_micros() + shared.config.lease();
        match shared
            .store
            .heartbeat_jobs(&shared.owner, &ids, until)
            .await
        {
            Ok(held) => {
                renewed = Instant::now();
                let held: HashSet<&String> = held.iter().collect();
                let lost: Vec<&String> = ids.iter().filter(|id| !held.contains(id)).collect();
                if !lost.is_empty() {
                    stop_runs(&shared, &lost, "lease lost; another process has the job");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "job heartbeat failed");
                // Past the lease, another process may have taken the jobs over: stop them
                // here rather than run them twice at once.
                if renewed.elapsed() >= lease {
                    let all: Vec<&String> = ids.iter().collect();
                    stop_runs(
                        &shared,
                        &all,
                        "leases not renewed in time; stopping the job here",
                    );
                }
            }
        }
    }
}

/// Stop the runs of `ids` in this process (they end without touching the job rows).
fn stop_runs(shared: &Shared, ids: &[&String], why: &str) {
    let Ok(running) = shared.running.lock() else {
        return;
    };
    for id in ids {
        if let Some(cancel) = running.get(*id) {
            tracing::warn!(job_id = %id, "{why}");
            cancel.cancel();
        }
    }
}

/// Writes the ends of jobs, as many as are waiting in one transaction: while the commits under
/// way (at most [`FINISHING_AT_ONCE`]) are busy, the next jobs to end queue up and share the
/// next commit (a group commit), so a busy engine pays one commit for many jobs and an idle
/// one waits for nothing.
async fn finisher(shared: Arc<Shared>, mut finishing: mpsc::UnboundedReceiver<Finish>) {
    const MOST: usize = 256;
    let at_once = Arc::new(Semaphore::new(FINISHING_AT_ONCE));
    let mut commits = JoinSet::new();
    while let Some(first) = finishing.recv().await {
        let Ok(turn) = at_once.clone().acquire_owned().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MOST {
            match finishing.try_recv() {
                Ok(f) => batch.push(f),
                Err(_) => break,
            }
        }
        while commits.try_join_next().is_some() {}
        commits.spawn(finish_batch(shared.clone(), batch, turn));
    }
}

/// One group commit of [`finisher`].
async fn finish_batch(shared: Arc<Shared>, batch: Vec<Finish>, _turn: OwnedSemaphorePermit) {
    let (ends, waiting): (Vec<JobEnd>, Vec<oneshot::Sender<bool>>) =
        batch.into_iter().map(|f| (f.end, f.ended)).unzip();
    let answers = match shared.store.finish_jobs(&shared.owner, &ends).await {
        Ok(answers) => answers,
        Err(e) if ends.len() > 1 => {
            // One job's end may be what failed: end the others one by one.
            tracing::warn!(error = %e, jobs = ends.len(), "ending jobs together failed; one at a time");
            let mut answers = Vec::with_capacity(ends.len());
            for end in &ends {
                answers.push(finish_alone(&shared, end).await);
            }
            answers
        }
        Err(e) => {
            tracing::warn!(job_id = %ends[0].id, error = %e, "ending a job failed; it resumes when its lease expires");
            vec![false]
        }
    };
    for (waiter, ended) in waiting.into_iter().zip(answers) {
        waiter.send(ended).ok();
    }
}

async fn finish_alone(shared: &Shared, end: &JobEnd) -> bool {
    match shared.store.finish_job(&shared.owner, end).await {
        Ok(ended) => ended,
        Err(e) => {
            tracing::warn!(job_id = %end.id, error = %e, "ending a job failed; it resumes when its lease expires");
            false
        }
    }
}

/// End a job through the finisher; `true` when it ended here (the lease was still held).
async fn finish(shared: &Shared, end: JobEnd) -> bool {
    let (ended, answer) = oneshot::channel();
    if shared.finish.send(Finish { end, ended }).is_err() {
        return false;
    }
    answer.await.unwrap_or(false)
}

async fn prune_loop(shared: Arc<Shared>, stop: CancellationToken) {
    loop {
        let cutoff =
            now_micros() - shared.config.retention.as_micros().min(i64::MAX as u128) as i64;
        match shared.store.prune_jobs(cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, "pruned finished jobs"),
            Err(e) => tracing::warn!(error = %e, "pruning jobs failed"),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(shared.config.prune_interval) => {}
        }
    }
}

/// Run one claimed job from its current step, once a slot is free.
async fn run_job(shared: Arc<Shared>, job: Job, slots: Arc<Semaphore>, cancel: CancellationToken) {
    let id = job.id.clone();
    let kind = job.kind.clone();
    let outcome = tokio::select! {
        outcome = async {
            let permit = slots.acquire_owned().await.ok()?;
            let started = Instant::now();
            drive(&shared, job, permit).await.map(|o| (o, started))
        } => outcome,
        _ = cancel.cancelled() => None,
    };
    if let Ok(mut r) = shared.running.lock() {
        r.remove(&id);
    }
    if let Some((outcome, started)) = outcome {
        // the metric's labels keep the words they have always had
        let status = match outcome {
            JobOutcome::Completed => "Completed",
            JobOutcome::Failed(_) => "Failed",
        };
        metrics::counter!("plugboard_jobs_total", "kind" => kind.clone(), "status" => status)
            .increment(1);
        metrics::histogram!("plugboard_job_duration_seconds", "kind" => kind)
            .record(started.elapsed().as_secs_f64());
    }
}

/// The steps of one job; `None` when the job did not end here (retry scheduled, lease lost).
/// The job's slot (`permit`) is given back once its steps are over: the job's end is written
/// by the finisher while the next job already runs.
async fn drive(shared: &Shared, job: Job, permit: OwnedSemaphorePermit) -> Option<JobOutcome> {
    let store = &shared.store;
    let owner = &shared.owner;
    let Some(handler) = shared.handlers.get(&job.kind).cloned() else {
        let reason = format!("no handler for jobs of kind {}", job.kind);
        let end = JobEnd {
            id: job.id,
            status: FAILED,
            fail_reason: reason.clone(),
            progress: job.progress,
            steps: job.steps,
            context: job.context,
            ended_at: now_micros(),
            effects: vec![],
        };
        return finish(shared, end)
            .await
            .then_some(JobOutcome::Failed(reason));
    };
    let total = job.steps.len();
    let first = usize::try_from(job.current_step).unwrap_or(0);
    let mut ctx = StepCtx {
        context: job.context.clone(),
        steps: job.steps.clone(),
        step: first,
        store: store.clone(),
        owner: owner.clone(),
        last_write: None,
        checkpoint: true,
        effects: vec![],
        job,
    };
    for step in first..total {
        ctx.step = step;
        ctx.last_write = None;
        ctx.checkpoint = true;
        ctx.effects.clear();
        if let Some(s) = ctx.steps.get_mut(step) {
            s.status = "running".into();
            s.started_at = now_micros();
        }
        let result = handler.run_step(&mut ctx).await;
        let now = now_micros();
        match result {
            Ok(()) => {
                if let Some(s) = ctx.steps.get_mut(step) {
                    s.status = "done".into();
                    s.ended_at = now;
                }
                // The last step is saved by finishing the job.
                if !ctx.checkpoint || step + 1 == total {
                    continue;
                }
                let update = StepUpdate {
                    current_step: step as i64 + 1,
                    progress: overall_progress(step + 1, 0, total),
                    steps: &ctx.steps,
                    context: &ctx.context,
                };
                match store.save_job_step(owner, &ctx.job.id, &update).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(job_id = %ctx.job.id, "lease lost; another process has the job");
                        return None;
                    }
                    Err(e) => {
                        tracing::warn!(job_id = %ctx.job.id, error = %e, "saving a step failed; the job resumes when its lease expires");
                        return None;
                    }
                }
            }
            Err(StepError::Transient(message)) => {
                let attempts = ctx.job.attempts + 1;
                if let Some(s) = ctx.steps.get_mut(step) {
                    s.message = message.clone();
                }
                if attempts >= i64::from(shared.config.max_attempts.max(1)) {
                    let reason = format!("{message} (gave up after {attempts} attempts)");
                    drop(permit);
                    return fail(shared, handler.as_ref(), &mut ctx, step, reason).await;
                }
                let delay = shared.config.backoff(attempts as u32);
                let at = now + delay.as_micros().min(i64::MAX as u128) as i64;
                tracing::info!(job_id = %ctx.job.id, step = ctx.step_name(), attempts, error = %message, "transient failure; retrying");
                if let Ok(true) = store
                    .retry_job(owner, &ctx.job.id, attempts, at, &ctx.steps)
                    .await
                {
                    notifier::wake_at(
                        store.clone(),
                        shared.waker.clone(),
                        shared.stop.clone(),
                        delay,
                    );
                }
                return None;
            }
            Err(StepError::Failed(reason)) => {
                drop(permit);
                return fail(shared, handler.as_ref(), &mut ctx, step, reason).await;
            }
        }
    }
    drop(permit);
    let end = JobEnd {
        id: ctx.job.id.clone(),
        status: COMPLETED,
        fail_reason: String::new(),
        progress: 100,
        steps: std::mem::take(&mut ctx.steps),
        context: std::mem::take(&mut ctx.context),
        ended_at: now_micros(),
        effects: std::mem::take(&mut ctx.effects),
    };
    if !finish(shared, end).await {
        return None;
    }
    handler.on_finish(&ctx.job, &JobOutcome::Completed).await;
    Some(JobOutcome::Completed)
}

async fn fail(
    shared: &Shared,
    handler: &dyn JobHandler,
    ctx: &mut StepCtx,
    step: usize,
    reason: String,
) -> Option<JobOutcome> {
    if let Some(s) = ctx.steps.get_mut(step) {
        s.status = "failed".into();
        s.ended_at = now_micros();
        s.message = reason.clone();
    }
    let end = JobEnd {
        id: ctx.job.id.clone(),
        status: FAILED,
        fail_reason: reason.clone(),
        progress: overall_progress(step, 0, ctx.steps.len()),
        steps: std::mem::take(&mut ctx.steps),
        context: std::mem::take(&mut ctx.context),
        ended_at: now_micros(),
        effects: handler.failure_effects(&ctx.job, &reason),
    };
    if !finish(shared, end).await {
        return None;
    }
    let outcome = JobOutcome::Failed(reason);
    handler.on_finish(&ctx.job, &outcome).await;
    Some(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_and_backoff() {
        assert_eq!(overall_progress(0, 0, 4), 0);
        assert_eq!(overall_progress(1, 50, 4), 37);
        assert_eq!(overall_progress(4, 0, 4), 100);
        assert_eq!(overall_progress(0, 200, 1), 100);
        let c = EngineConfig::default();
        assert_eq!(c.backoff(1), Duration::from_secs(1));
        assert_eq!(c.backoff(3), Duration::from_secs(4));
        assert_eq!(c.backoff(30), Duration::from_secs(60));
    }
}
