//! A harness that runs one job kind without the engine (after River's `rivertest`), for the
//! tests of each kind's handler: the job is submitted and claimed in a real store, its steps
//! run in order in the test's task, a transient error is tried again at once (no back-off, no
//! producer, heartbeat or group commit), and the job ends through the store like under the
//! engine, committing its completion or failure effects. What happened comes back as a
//! [`Run`]. Built with the `testing` feature.

use crate::executor::overall_progress;
use crate::{JobHandler, JobKind, JobOutcome, StepCtx, StepError};
use plugboard_core::time::now_micros;
use plugboard_store::job_claims::{Claim, Kinds};
use plugboard_store::jobs::{Job, JobEnd, JobState, NewJob, StepUpdate};
use plugboard_store::Store;
use std::sync::Arc;

/// Runs jobs of kind `K` with a handler, as the engine would, one at a time.
pub struct Harness<K: JobKind> {
    store: Store,
    handler: Arc<dyn JobHandler<K>>,
    max_attempts: u32,
    owner: String,
}

/// What one job's run did.
#[derive(Debug)]
pub struct Run {
    /// How it ended (`None`: it could not be claimed, or its end was not written).
    pub outcome: Option<JobOutcome>,
    /// Every step tried, in order: (step index, attempt from 1).
    pub tries: Vec<(usize, u32)>,
    /// The job as stored afterwards.
    pub job: Job,
}

impl<K: JobKind + 'static> Harness<K> {
    /// A harness on `store`; steps failing transiently are tried up to 5 times (the engine's
    /// default).
    pub fn new(store: Store, handler: Arc<dyn JobHandler<K>>) -> Self {
        Self {
            store,
            handler,
            max_attempts: 5,
            owner: format!("harness-{}", plugboard_core::ids::hex32()),
        }
    }

    /// Try a transiently failing step at most `n` times.
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// Submit `job` (which must be of kind `K`) and run it.
    pub async fn submit_and_run(&self, job: &NewJob) -> Run {
        assert_eq!(
            job.kind,
            K::KIND,
            "a {} harness runs {} jobs",
            K::KIND,
            K::KIND
        );
        self.store.submit_job(job).await.expect("submit the job");
        self.run(&job.project_id, &job.id).await
    }

    /// Claim the stored job `id` (of `project_id`, kind `K`) and run it from the step it is at.
    pub async fn run(&self, project_id: &str, id: &str) -> Run {
        let now = now_micros();
        let claimed = self
            .store
            .claim(&Claim {
                owner: &self.owner,
                host: "",
                now,
                lease_until: now + 3_600_000_000,
                limit: 1_000,
                kinds: Kinds::Only(&[K::KIND]),
            })
            .await
            .expect("claim");
        let mut tries = vec![];
        let mut outcome = None;
        let mine = claimed.iter().find(|j| j.id == id).cloned();
        // Give back whatever else the claim took: only `id` runs here.
        for other in claimed.iter().filter(|j| j.id != id) {
            self.store
                .retry_job(
                    &self.owner,
                    &other.id,
                    other.attempts,
                    other.next_run_at,
                    &other.steps,
                )
                .await
                .expect("give a job back");
        }
        if let Some(job) = mine {
            outcome = self.drive(job, &mut tries).await;
        }
        let job = self
            .store
            .get_job(project_id, id)
            .await
            .expect("the job afterwards");
        Run {
            outcome,
            tries,
            job,
        }
    }

    async fn drive(&self, job: Job, tries: &mut Vec<(usize, u32)>) -> Option<JobOutcome> {
        let input = match K::input_of(&job) {
            Ok(input) => input,
            Err(e) => {
                let reason = format!(
                    "the input of {} job {} cannot be read: {e}",
                    K::KIND,
                    job.id
                );
                let step = usize::try_from(job.current_step).unwrap_or(0);
                let mut ctx = StepCtx::new(job, self.store.clone(), self.owner.clone());
                return self.end_failed(&mut ctx, None, step, reason).await;
            }
        };
        let mut ctx = StepCtx::new(job, self.store.clone(), self.owner.clone());
        let total = ctx.steps.len();
        let first = ctx.step;
        for step in first..total {
            let mut attempt = 0;
            loop {
                attempt += 1;
                tries.push((step, attempt));
                ctx.begin_step(step);
                match self.handler.run_step(&mut ctx, &input).await {
                    Ok(()) => break,
                    Err(StepError::Transient(message)) if attempt < self.max_attempts => {
                        ctx.steps[step].message = message;
                        ctx.job.attempts += 1;
                    }
                    Err(StepError::Transient(message)) => {
                        let reason = format!("{message} (gave up after {attempt} attempts)");
                        return self.end_failed(&mut ctx, Some(&input), step, reason).await;
                    }
                    Err(StepError::Failed(reason)) => {
                        return self.end_failed(&mut ctx, Some(&input), step, reason).await;
                    }
                }
            }
            ctx.steps[step].status = "done".into();
            ctx.steps[step].ended_at = now_micros();
            ctx.job.attempts = 0;
            if ctx.checkpoint && step + 1 < total {
                let update = StepUpdate {
                    current_step: step as i64 + 1,
                    progress: overall_progress(step + 1, 0, total),
                    steps: &ctx.steps,
                    context: &ctx.context,
                };
                let saved = self
                    .store
                    .save_job_step(&self.owner, &ctx.job.id, &update)
                    .await
                    .expect("save a step");
                assert!(saved, "the harness holds the job's lease");
            }
        }
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
        self.end(&ctx.job, end, JobOutcome::Completed).await
    }

    async fn end_failed(
        &self,
        ctx: &mut StepCtx,
        input: Option<&K::Input>,
        step: usize,
        reason: String,
    ) -> Option<JobOutcome> {
        if let Some(s) = ctx.steps.get_mut(step) {
            s.status = "failed".into();
            s.ended_at = now_micros();
            s.message = reason.clone();
        }
        let effects = match input {
            Some(input) => self.handler.failure_effects(&ctx.job, input, &reason),
            None => vec![],
        };
        let end = JobEnd {
            id: ctx.job.id.clone(),
            status: JobState::Failed,
            fail_reason: reason.clone(),
            progress: overall_progress(step, 0, ctx.steps.len()),
            steps: std::mem::take(&mut ctx.steps),
            context: std::mem::take(&mut ctx.context),
            ended_at: now_micros(),
            effects,
        };
        self.end(&ctx.job, end, JobOutcome::Failed(reason)).await
    }

    async fn end(&self, job: &Job, end: JobEnd, outcome: JobOutcome) -> Option<JobOutcome> {
        let ended = self
            .store
            .finish_job(&self.owner, &end)
            .await
            .expect("end the job");
        if !ended {
            return None;
        }
        self.handler.on_finish(job, &outcome).await;
        Some(outcome)
    }
}
