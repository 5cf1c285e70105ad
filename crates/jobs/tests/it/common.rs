//! Shared helpers of the job engine's tests: the back-end under test, a recording step
//! handler, the test job kind, engine configuration, and waiting for a job or a condition.

#![allow(clippy::unwrap_used)]

use plugboard_core::ids::{hex32, uuid};
use plugboard_core::time::now_micros;
use plugboard_jobs::{Engine, EngineConfig, JobHandler, JobKind, JobOutcome, StepCtx, StepError};
use plugboard_store::jobs::{Job, NewJob};
use plugboard_store::{Backend, Store};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

pub(crate) fn backend() -> Backend {
    match std::env::var("PLUGBOARD_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

pub(crate) type Behaviour = dyn Fn(&str, usize, u32) -> Option<Result<(), StepError>> + Send + Sync;

/// Records every step it runs; `behave(job_id, step, nth call of that step)` decides the
/// outcome (`None`: hang until cancelled).
pub(crate) struct Recorder {
    pub(crate) runs: Mutex<Vec<(String, usize)>>,
    pub(crate) finished: Mutex<Vec<(String, JobOutcome)>>,
    behave: Box<Behaviour>,
}

impl Recorder {
    pub(crate) fn new(
        behave: impl Fn(&str, usize, u32) -> Option<Result<(), StepError>> + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Self {
            runs: Mutex::new(vec![]),
            finished: Mutex::new(vec![]),
            behave: Box::new(behave),
        })
    }

    pub(crate) fn runs_of(&self, job: &str) -> Vec<usize> {
        self.runs
            .lock()
            .unwrap()
            .iter()
            .filter(|(j, _)| j == job)
            .map(|(_, s)| *s)
            .collect()
    }
}

#[async_trait::async_trait]
impl JobHandler<TestKind> for Recorder {
    async fn run_step(
        &self,
        ctx: &mut StepCtx,
        _input: &serde_json::Value,
    ) -> Result<(), StepError> {
        let step = ctx.step();
        let nth = {
            let mut runs = self.runs.lock().unwrap();
            runs.push((ctx.job.id.clone(), step));
            runs.iter()
                .filter(|(j, s)| *j == ctx.job.id && *s == step)
                .count() as u32
        };
        // context carried from step to step (and across processes)
        let seen = ctx.context.len();
        assert_eq!(
            seen, step,
            "step {step} sees the context of the steps before it"
        );
        ctx.context
            .insert(format!("step{step}"), serde_json::json!(ctx.step_name()));
        ctx.progress(50).await;
        ctx.log(format!("ran {}", ctx.step_name()));
        match (self.behave)(&ctx.job.id, step, nth) {
            Some(r) => r,
            None => {
                std::future::pending::<()>().await;
                Ok(())
            }
        }
    }

    async fn on_finish(&self, job: &Job, outcome: &JobOutcome) {
        self.finished
            .lock()
            .unwrap()
            .push((job.id.clone(), outcome.clone()));
    }
}

/// The kind of the jobs these tests submit.
pub(crate) struct TestKind;

impl JobKind for TestKind {
    const KIND: &'static str = "Test";
    const STEPS: &'static [&'static str] = &["fetch", "build", "check"];
    type Input = serde_json::Value;
    type Target = String;

    fn target_key(target: &String) -> String {
        target.clone()
    }

    fn parse_target(key: &str) -> Option<String> {
        Some(key.to_string())
    }
}

pub(crate) fn config(lease_seconds: u64) -> EngineConfig {
    EngineConfig {
        lease_seconds,
        poll_interval: Duration::from_millis(50),
        max_attempts: 3,
        backoff_base: Duration::from_millis(20),
        backoff_max: Duration::from_millis(100),
        ..EngineConfig::default()
    }
}

pub(crate) fn new_job(target: &str) -> NewJob {
    NewJob {
        id: uuid(),
        project_id: "p".repeat(32),
        kind: "Test".into(),
        target: target.into(),
        target_name: "t".into(),
        steps: vec!["fetch".into(), "build".into(), "check".into()],
        input: serde_json::json!({"n": 1}),
        created_at: now_micros(),
        host: String::new(),
    }
}

pub(crate) struct Running {
    pub(crate) stop: CancellationToken,
    pub(crate) task: tokio::task::JoinHandle<()>,
}

pub(crate) fn start(store: &Store, handler: Arc<Recorder>, lease: u64) -> Running {
    start_with(store, handler, config(lease))
}

/// An engine running jobs of kind `Test` with `handler`.
pub(crate) fn start_with(
    store: &Store,
    handler: Arc<dyn JobHandler<TestKind>>,
    config: EngineConfig,
) -> Running {
    let mut engine = Engine::new(store.clone(), hex32(), config);
    engine.register::<TestKind>(handler);
    let stop = CancellationToken::new();
    let task = tokio::spawn(engine.run(stop.clone()));
    Running { stop, task }
}

pub(crate) async fn wait_done(store: &Store, id: &str, timeout: Duration) -> Job {
    let deadline = Instant::now() + timeout;
    loop {
        let job = store.get_job(&"p".repeat(32), id).await.unwrap();
        if !plugboard_store::jobs::ACTIVE.contains(&job.status.as_str()) {
            return job;
        }
        assert!(Instant::now() < deadline, "job still running: {job:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) async fn wait_for(cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "condition not reached");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
