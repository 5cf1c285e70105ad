//! The executor: runs one claimed job's steps in a slot, from the step it is at, through its
//! kind's handler: saves after each step, schedules a retry after a transient error, and hands
//! the job's end (with its effects) to the completer.

use crate::completer::finish;
use crate::handler::{Input, Runner};
use crate::producer::Held;
use crate::{notifier, JobClass, JobOutcome, Shared, StepError};
use plugboard_core::time::now_micros;
use plugboard_store::jobs::{BoxedEffect, Job, JobEffect, JobEnd, JobState, JobStep, StepUpdate};
use plugboard_store::Store;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

/// What a handler sees while it runs a step.
pub struct StepCtx {
    /// The job, as claimed.
    pub job: Job,
    /// State the steps accumulate; saved after every successful step and visible on resume.
    pub context: serde_json::Map<String, serde_json::Value>,
    pub(crate) step: usize,
    pub(crate) steps: Vec<JobStep>,
    store: Store,
    owner: String,
    last_write: Option<Instant>,
    pub(crate) checkpoint: bool,
    pub(crate) effects: Vec<BoxedEffect>,
}

/// How often progress within a step is written at most.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

impl StepCtx {
    /// The context of `job`'s steps from the one it is at, its writes fenced by `owner`.
    pub(crate) fn new(job: Job, store: Store, owner: String) -> Self {
        Self {
            context: job.context.clone(),
            steps: job.steps.clone(),
            step: usize::try_from(job.current_step).unwrap_or(0),
            store,
            owner,
            last_write: None,
            checkpoint: true,
            effects: vec![],
            job,
        }
    }

    /// Start step `step`: marked running, its progress and checkpoint flags reset.
    pub(crate) fn begin_step(&mut self, step: usize) {
        self.step = step;
        self.last_write = None;
        self.checkpoint = true;
        self.effects.clear();
        if let Some(s) = self.steps.get_mut(step) {
            s.status = "running".into();
            s.started_at = now_micros();
        }
    }

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
pub(crate) fn overall_progress(step: usize, percent: u8, total: usize) -> i64 {
    let total = total.max(1) as i64;
    let done = (step as i64) * 100 + i64::from(percent.min(100));
    (done / total).clamp(0, 100)
}

/// Run one claimed job from its current step, once a slot is free.
pub(crate) async fn run_job(
    shared: Arc<Shared>,
    job: Job,
    slots: Arc<Semaphore>,
    held: Held,
    cancel: CancellationToken,
) {
    let id = job.id.clone();
    let kind = job.kind.clone();
    let outcome = tokio::select! {
        outcome = async {
            let permit = slots.acquire_owned().await.ok()?;
            let started = Instant::now();
            drive(&shared, job, (permit, held)).await.map(|o| (o, started))
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
        // The duration first, then the count: a scrape (which reads counters before histograms)
        // that counts this job also finds its duration. Both come after the end is committed,
        // so `/metrics` (which reads the store after these) also finds the job ended there.
        metrics::histogram!("plugboard_job_duration_seconds", "kind" => kind.clone())
            .record(started.elapsed().as_secs_f64());
        metrics::counter!("plugboard_jobs_total", "kind" => kind, "status" => status).increment(1);
    }
}

/// A job's slot, and its place among the jobs its lane holds.
type Slot = (OwnedSemaphorePermit, Held);

/// The steps of one job; `None` when the job did not end here (retry scheduled, lease lost).
/// The job's slot (`permit`) is given back once its steps are over: the job's end is written
/// by the finisher while the next job already runs.
async fn drive(shared: &Shared, job: Job, permit: Slot) -> Option<JobOutcome> {
    let store = &shared.store;
    let owner = &shared.owner;
    let Some(registered) = shared.handlers.get(job.kind.as_str()).cloned() else {
        let reason = format!("no handler for jobs of kind {}", job.kind);
        let end = JobEnd {
            id: job.id,
            status: JobState::Failed,
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
    let handler = registered.runner;
    let input = match handler.decode(&job) {
        Ok(input) => input,
        Err(reason) => {
            let step = usize::try_from(job.current_step).unwrap_or(0);
            let mut ctx = StepCtx::new(job, store.clone(), owner.clone());
            return fail(shared, handler.as_ref(), None, &mut ctx, step, reason).await;
        }
    };
    let deadline = match registered.class {
        JobClass::Work => None,
        JobClass::Delivery => Some(shared.config.delivery_timeout),
    };
    let total = job.steps.len();
    let first = usize::try_from(job.current_step).unwrap_or(0);
    let mut ctx = StepCtx::new(job, store.clone(), owner.clone());
    for step in first..total {
        ctx.begin_step(step);
        let result = match deadline {
            None => handler.run_step(&mut ctx, &input).await,
            // A delivery that waits on a server that never answers gives its slot back.
            Some(d) => tokio::time::timeout(d, handler.run_step(&mut ctx, &input))
                .await
                .unwrap_or_else(|_| {
                    Err(StepError::Transient(format!(
                        "the step did not finish within {} s",
                        d.as_secs_f64()
                    )))
                }),
        };
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
                    return fail(
                        shared,
                        handler.as_ref(),
                        Some(&input),
                        &mut ctx,
                        step,
                        reason,
                    )
                    .await;
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
                return fail(
                    shared,
                    handler.as_ref(),
                    Some(&input),
                    &mut ctx,
                    step,
                    reason,
                )
                .await;
            }
        }
    }
    drop(permit);
    let end = JobEnd {
        id: ctx.job.id.clone(),
        status: JobState::Completed,
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
    handler: &dyn Runner,
    input: Option<&Input>,
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
        status: JobState::Failed,
        fail_reason: reason.clone(),
        progress: overall_progress(step, 0, ctx.steps.len()),
        steps: std::mem::take(&mut ctx.steps),
        context: std::mem::take(&mut ctx.context),
        ended_at: now_micros(),
        effects: handler.failure_effects(&ctx.job, input, &reason),
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
    use crate::EngineConfig;

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
