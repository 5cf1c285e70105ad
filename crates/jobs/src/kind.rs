//! A job kind declared once: its name, its steps, its typed target (the exclusion key: one
//! mutating job per target at a time) and its typed input, used alike by the code that submits
//! the job and by the handler that runs it.

use plugboard_store::jobs::{Job, NewJob};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// What a kind of job mostly waits on, which decides the slots it runs in (docs/operations.md
/// → Jobs): no kind of job can starve another class's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobClass {
    /// Work done here or on the managed systems (installs, add-on actions, api-jobs): the
    /// `[jobs] max_concurrent` slots.
    Work,
    /// Deliveries to somebody else's server (web hooks), which may never answer: a few slots
    /// of their own (`[jobs] delivery_max_concurrent`) and a deadline on every step
    /// (`delivery_timeout_seconds`).
    Delivery,
}

/// The declaration of one kind of job.
pub trait JobKind {
    /// The job kind as stored (and, for GaussDB, the job name shown).
    const KIND: &'static str;
    /// The slots its jobs run in.
    const CLASS: JobClass = JobClass::Work;
    /// The steps, in order.
    const STEPS: &'static [&'static str];
    /// What the submitter commits and the handler reads back.
    type Input: Serialize + DeserializeOwned + Send + Sync + 'static;
    /// What the job works on.
    type Target;

    /// The stored exclusion key of `target`.
    fn target_key(target: &Self::Target) -> String;

    /// The target a stored key names (`None`: not a key of this kind).
    fn parse_target(key: &str) -> Option<Self::Target>;

    /// A job of this kind, ready to submit.
    fn new_job(
        id: String,
        project_id: String,
        target: &Self::Target,
        target_name: String,
        input: &Self::Input,
        created_at: plugboard_core::time::Micros,
    ) -> Result<NewJob, serde_json::Error> {
        Ok(NewJob {
            id,
            project_id,
            kind: Self::KIND.to_string(),
            target: Self::target_key(target),
            target_name,
            steps: Self::STEPS.iter().map(|s| s.to_string()).collect(),
            input: serde_json::to_value(input)?,
            created_at,
            host: String::new(),
        })
    }

    /// The typed input of a claimed job of this kind.
    fn input_of(job: &Job) -> Result<Self::Input, serde_json::Error> {
        serde_json::from_value(job.input.clone())
    }
}
