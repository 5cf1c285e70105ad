//! Handlers, typed by their kind: `Engine::register::<K>` pairs a kind's stored name with the
//! handler written for it (never a string beside a handler), and the engine decodes a job's
//! input into `K::Input` once per run, before its first step, and hands it to every step.

use crate::{JobKind, JobOutcome, StepCtx, StepError};
use plugboard_store::jobs::{BoxedEffect, Job};
use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;

/// What runs the steps of jobs of kind `K`.
#[async_trait::async_trait]
pub trait JobHandler<K: JobKind>: Send + Sync {
    /// Run step `ctx.step()` of `ctx.job`, whose input is `input`. Must be safe to run again
    /// after a crash.
    async fn run_step(&self, ctx: &mut StepCtx, input: &K::Input) -> Result<(), StepError>;

    /// Called once when the job has ended in this process (clean-up such as staging files).
    async fn on_finish(&self, _job: &Job, _outcome: &JobOutcome) {}

    /// What a job that fails with `reason` changes in the store, committed in the same
    /// transaction as its failure (an add-on moved to FAILED, say); nothing by default.
    fn failure_effects(&self, _job: &Job, _input: &K::Input, _reason: &str) -> Vec<BoxedEffect> {
        Vec::new()
    }
}

/// A job's decoded input, whatever its kind.
pub(crate) type Input = Box<dyn Any + Send + Sync>;

/// A handler with its kind erased, as the engine keeps it.
#[async_trait::async_trait]
pub(crate) trait Runner: Send + Sync {
    /// The job's input, decoded; `Err` says why it cannot be (the job then fails).
    fn decode(&self, job: &Job) -> Result<Input, String>;
    async fn run_step(&self, ctx: &mut StepCtx, input: &Input) -> Result<(), StepError>;
    async fn on_finish(&self, job: &Job, outcome: &JobOutcome);
    fn failure_effects(&self, job: &Job, input: Option<&Input>, reason: &str) -> Vec<BoxedEffect>;
}

/// The [`Runner`] of a `JobHandler<K>`.
pub(crate) struct Typed<K: JobKind> {
    pub(crate) handler: Arc<dyn JobHandler<K>>,
    pub(crate) kind: PhantomData<fn() -> K>,
}

impl<K: JobKind> Typed<K> {
    fn input(input: &Input) -> Result<&K::Input, StepError> {
        input.downcast_ref().ok_or_else(|| {
            StepError::Failed(format!("the input of a {} job is of another kind", K::KIND))
        })
    }
}

#[async_trait::async_trait]
impl<K: JobKind + 'static> Runner for Typed<K> {
    fn decode(&self, job: &Job) -> Result<Input, String> {
        K::input_of(job).map(|i| Box::new(i) as Input).map_err(|e| {
            format!(
                "the input of {} job {} cannot be read: {e}",
                K::KIND,
                job.id
            )
        })
    }

    async fn run_step(&self, ctx: &mut StepCtx, input: &Input) -> Result<(), StepError> {
        let input = Self::input(input)?;
        self.handler.run_step(ctx, input).await
    }

    async fn on_finish(&self, job: &Job, outcome: &JobOutcome) {
        self.handler.on_finish(job, outcome).await
    }

    fn failure_effects(&self, job: &Job, input: Option<&Input>, reason: &str) -> Vec<BoxedEffect> {
        match input.map(Self::input) {
            Some(Ok(input)) => self.handler.failure_effects(job, input, reason),
            _ => Vec::new(),
        }
    }
}
