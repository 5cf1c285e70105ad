//! The job engine against a real store: order and context, retries, failures, resume after a
//! process dies (lease expiry) or stops (released leases), exactly-once execution with two
//! engines on one PostgreSQL database, per-target exclusion. The back-end follows
//! `PLUGBOARD_TEST_BACKEND` (PostgreSQL-only cases always use PostgreSQL).

#![allow(clippy::unwrap_used)]

use plugboard_core::ids::{hex32, uuid};
use plugboard_core::time::now_micros;
use plugboard_jobs::{Engine, EngineConfig, JobHandler, JobKind, JobOutcome, StepCtx, StepError};
use plugboard_store::gaussdb::{GaussDbInstance, InstalledPlugin};
use plugboard_store::jobs::{InsertJobError, Job, JobEffect, NewJob};
use plugboard_store::testing::TestDb;
use plugboard_store::{Backend, Store};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

fn backend() -> Backend {
    match std::env::var("PLUGBOARD_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

type Behaviour = dyn Fn(&str, usize, u32) -> Option<Result<(), StepError>> + Send + Sync;

/// Records every step it runs; `behave(job_id, step, nth call of that step)` decides the
/// outcome (`None`: hang until cancelled).
struct Recorder {
    runs: Mutex<Vec<(String, usize)>>,
    finished: Mutex<Vec<(String, JobOutcome)>>,
    behave: Box<Behaviour>,
}

impl Recorder {
    fn new(
        behave: impl Fn(&str, usize, u32) -> Option<Result<(), StepError>> + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Self {
            runs: Mutex::new(vec![]),
            finished: Mutex::new(vec![]),
            behave: Box::new(behave),
        })
    }

    fn runs_of(&self, job: &str) -> Vec<usize> {
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
struct TestKind;

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

fn config(lease_seconds: u64) -> EngineConfig {
    EngineConfig {
        lease_seconds,
        poll_interval: Duration::from_millis(50),
        max_attempts: 3,
        backoff_base: Duration::from_millis(20),
        backoff_max: Duration::from_millis(100),
        ..EngineConfig::default()
    }
}

fn new_job(target: &str) -> NewJob {
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

struct Running {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

fn start(store: &Store, handler: Arc<Recorder>, lease: u64) -> Running {
    start_with(store, handler, config(lease))
}

/// An engine running jobs of kind `Test` with `handler`.
fn start_with(
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

async fn wait_done(store: &Store, id: &str, timeout: Duration) -> Job {
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

async fn wait_for(cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "condition not reached");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn steps_run_in_order_and_complete() {
    let db = TestDb::new(backend()).await;
    let store = db.store().await;
    let rec = Recorder::new(|_, _, _| Some(Ok(())));
    let run = start(&store, rec.clone(), 5);
    let job = new_job(&hex32());
    store.submit_job(&job).await.unwrap();
    let done = wait_done(&store, &job.id, Duration::from_secs(10)).await;
    assert_eq!(
        (
            done.status.as_str(),
            done.progress,
            done.fail_reason.as_str()
        ),
        ("completed", 100, "")
    );
    assert_eq!(rec.runs_of(&job.id), vec![0, 1, 2]);
    assert!(done
        .steps
        .iter()
        .all(|s| s.status == "done" && s.ended_at >= s.started_at && s.started_at > 0));
    assert_eq!(done.steps[1].message, "ran build");
    assert_eq!(done.context.get("step2"), Some(&serde_json::json!("check")));
    assert!(done.ended_at > 0 && done.lease_owner.is_empty());
    assert_eq!(
        rec.finished.lock().unwrap().clone(),
        vec![(job.id.clone(), JobOutcome::Completed)]
    );
    run.stop.cancel();
    run.task.await.unwrap();
    db.cleanup().await;
}

#[tokio::test]
async fn transient_errors_are_retried_then_succeed_or_give_up() {
    let db = TestDb::new(backend()).await;
    let store = db.store().await;
    let flaky = new_job(&hex32());
    let hopeless = new_job(&hex32());
    let (flaky_id, hopeless_id) = (flaky.id.clone(), hopeless.id.clone());
    let rec = Recorder::new(move |job, step, nth| {
        if job == flaky_id && step == 1 && nth <= 2 {
            Some(Err(StepError::Transient("connection refused".into())))
        } else if job == hopeless_id && step == 0 {
            Some(Err(StepError::Transient("HTTP 503".into())))
        } else {
            Some(Ok(()))
        }
    });
    let run = start(&store, rec.clone(), 5);
    store.submit_job(&flaky).await.unwrap();
    store.submit_job(&hopeless).await.unwrap();
    let done = wait_done(&store, &flaky.id, Duration::from_secs(10)).await;
    assert_eq!(done.status, "completed");
    assert_eq!(
        rec.runs_of(&flaky.id),
        vec![0, 1, 1, 1, 2],
        "step 1 tried three times, step 0 once"
    );
    let failed = wait_done(&store, &hopeless.id, Duration::from_secs(10)).await;
    assert_eq!(failed.status, "failed");
    assert_eq!(failed.fail_reason, "HTTP 503 (gave up after 3 attempts)");
    assert_eq!(rec.runs_of(&hopeless.id), vec![0, 0, 0]);
    run.stop.cancel();
    run.task.await.unwrap();
    db.cleanup().await;
}

#[tokio::test]
async fn a_failed_step_fails_the_job_and_stops_it() {
    let db = TestDb::new(backend()).await;
    let store = db.store().await;
    let rec = Recorder::new(|_, step, _| {
        Some(if step == 1 {
            Err(StepError::Failed("sha_256 mismatch".into()))
        } else {
            Ok(())
        })
    });
    let run = start(&store, rec.clone(), 5);
    let job = new_job(&hex32());
    store.submit_job(&job).await.unwrap();
    let done = wait_done(&store, &job.id, Duration::from_secs(10)).await;
    assert_eq!(
        (done.status.as_str(), done.fail_reason.as_str()),
        ("failed", "sha_256 mismatch")
    );
    assert_eq!(rec.runs_of(&job.id), vec![0, 1]);
    assert_eq!(done.steps[1].status, "failed");
    assert_eq!(done.steps[2].status, "pending");
    assert_eq!(
        rec.finished.lock().unwrap().clone(),
        vec![(
            job.id.clone(),
            JobOutcome::Failed("sha_256 mismatch".into())
        )]
    );
    // the target is free again: a new job is accepted
    let mut again = new_job(&job.target);
    again.steps = vec!["fetch".into()];
    store.submit_job(&again).await.unwrap();
    run.stop.cancel();
    run.task.await.unwrap();
    db.cleanup().await;
}

#[tokio::test]
async fn a_dead_process_job_is_resumed_at_its_unfinished_step() {
    let db = TestDb::new(backend()).await;
    let store = db.store().await;
    // A hangs in step 1; it "dies" (task aborted: no lease released, no clean-up).
    let a = Recorder::new(|_, step, _| if step == 1 { None } else { Some(Ok(())) });
    let run_a = start(&store, a.clone(), 1);
    let job = new_job(&hex32());
    store.submit_job(&job).await.unwrap();
    wait_for(|| a.runs_of(&job.id) == vec![0, 1]).await;
    run_a.task.abort();
    let b = Recorder::new(|_, _, _| Some(Ok(())));
    let started = Instant::now();
    let run_b = start(&store, b.clone(), 1);
    let done = wait_done(&store, &job.id, Duration::from_secs(15)).await;
    assert_eq!(done.status, "completed");
    assert_eq!(
        b.runs_of(&job.id),
        vec![1, 2],
        "B starts at the step A did not finish"
    );
    assert_eq!(a.runs_of(&job.id), vec![0, 1], "step 0 ran once in all");
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "B waited for A's lease to expire"
    );
    run_b.stop.cancel();
    run_b.task.await.unwrap();
    db.cleanup().await;
}

#[tokio::test]
async fn a_stopped_process_releases_its_leases() {
    let db = TestDb::new(backend()).await;
    let store = db.store().await;
    let a = Recorder::new(|_, step, _| if step == 0 { None } else { Some(Ok(())) });
    let run_a = start(&store, a.clone(), 60);
    let job = new_job(&hex32());
    store.submit_job(&job).await.unwrap();
    wait_for(|| a.runs_of(&job.id) == vec![0]).await;
    run_a.stop.cancel();
    run_a.task.await.unwrap();
    let held = store.get_job(&job.project_id, &job.id).await.unwrap();
    assert_eq!(
        (held.status.as_str(), held.lease_owner.as_str()),
        ("running", "")
    );
    // a 60 s lease, yet B takes the job over at once
    let b = Recorder::new(|_, _, _| Some(Ok(())));
    let run_b = start(&store, b.clone(), 60);
    let done = wait_done(&store, &job.id, Duration::from_secs(5)).await;
    assert_eq!(done.status, "completed");
    assert_eq!(b.runs_of(&job.id), vec![0, 1, 2]);
    run_b.stop.cancel();
    run_b.task.await.unwrap();
    db.cleanup().await;
}

#[tokio::test]
async fn two_engines_on_postgres_run_every_job_exactly_once() {
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.store().await;
    let other = Store::connect(&db.url).await.unwrap();
    let a = Recorder::new(|_, _, _| Some(Ok(())));
    let b = Recorder::new(|_, _, _| Some(Ok(())));
    // queued before either engine starts: each claims at most twice its slots at once, so
    // neither can take them all
    let jobs: Vec<NewJob> = (0..100).map(|_| new_job(&hex32())).collect();
    for j in &jobs {
        store.submit_job(j).await.unwrap();
    }
    let run_a = start(&store, a.clone(), 5);
    let run_b = start(&other, b.clone(), 5);
    for j in &jobs {
        assert_eq!(
            wait_done(&store, &j.id, Duration::from_secs(30))
                .await
                .status,
            "completed"
        );
    }
    let mut per_job: HashMap<String, Vec<usize>> = HashMap::new();
    for (job, step) in a
        .runs
        .lock()
        .unwrap()
        .iter()
        .chain(b.runs.lock().unwrap().iter())
    {
        per_job.entry(job.clone()).or_default().push(*step);
    }
    for j in &jobs {
        let mut steps = per_job.remove(&j.id).unwrap_or_default();
        steps.sort();
        assert_eq!(
            steps,
            vec![0, 1, 2],
            "job {} ran each step exactly once",
            j.id
        );
    }
    assert!(
        !a.runs.lock().unwrap().is_empty() && !b.runs.lock().unwrap().is_empty(),
        "both engines worked"
    );
    for run in [run_a, run_b] {
        run.stop.cancel();
        run.task.await.unwrap();
    }
    other.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn one_running_job_per_target_and_unknown_kinds_fail() {
    let db = TestDb::new(backend()).await;
    let store = db.store().await;
    let target = hex32();
    let first = new_job(&target);
    store.submit_job(&first).await.unwrap();
    assert!(matches!(
        store.submit_job(&new_job(&target)).await,
        Err(InsertJobError::TargetBusy)
    ));
    store.submit_job(&new_job(&hex32())).await.unwrap();
    // no handler registered for "Test": the job fails with a reason
    let engine = Engine::new(store.clone(), hex32(), config(5));
    let stop = CancellationToken::new();
    let task = tokio::spawn(engine.run(stop.clone()));
    let done = wait_done(&store, &first.id, Duration::from_secs(10)).await;
    assert_eq!(
        (done.status.as_str(), done.fail_reason.as_str()),
        ("failed", "no handler for jobs of kind Test")
    );
    store.submit_job(&new_job(&target)).await.unwrap();
    stop.cancel();
    task.await.unwrap();
    db.cleanup().await;
}

#[tokio::test]
async fn finished_jobs_are_listed_deleted_and_pruned() {
    let db = TestDb::new(backend()).await;
    let store = db.store().await;
    let rec = Recorder::new(|_, _, _| Some(Ok(())));
    let run = start(&store, rec, 5);
    let job = new_job(&hex32());
    store.submit_job(&job).await.unwrap();
    wait_done(&store, &job.id, Duration::from_secs(10)).await;
    let (listed, total) = store
        .list_jobs(&job.project_id, &Default::default(), 0, 10)
        .await
        .unwrap();
    assert_eq!((listed.len(), total), (1, 1));
    assert_eq!(
        store
            .prune_jobs(now_micros() - 3_600_000_000)
            .await
            .unwrap(),
        0,
        "recent jobs stay"
    );
    assert_eq!(store.prune_jobs(now_micros() + 1).await.unwrap(), 1);
    assert!(store.get_job(&job.project_id, &job.id).await.is_err());
    run.stop.cancel();
    run.task.await.unwrap();
    db.cleanup().await;
}

/// Hangs in every step; records that a step began and that it was stopped (its future dropped).
struct Hang {
    began: Arc<AtomicBool>,
    stopped: Arc<AtomicBool>,
}

struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl JobHandler<TestKind> for Hang {
    async fn run_step(
        &self,
        _ctx: &mut StepCtx,
        _input: &serde_json::Value,
    ) -> Result<(), StepError> {
        let _stopped = SetOnDrop(self.stopped.clone());
        self.began.store(true, Ordering::SeqCst);
        std::future::pending::<()>().await;
        Ok(())
    }
}

#[tokio::test]
async fn a_step_whose_lease_is_lost_stops_and_leaves_the_job_alone() {
    let db = TestDb::new(backend()).await;
    let store = db.store().await;
    let (began, stopped) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let run = start_with(
        &store,
        Arc::new(Hang {
            began: began.clone(),
            stopped: stopped.clone(),
        }),
        config(1),
    );
    let job = new_job(&hex32());
    store.submit_job(&job).await.unwrap();
    wait_for(|| began.load(Ordering::SeqCst)).await;
    // The heartbeat keeps the lease: the step still runs well past the 1 s lease.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !stopped.load(Ordering::SeqCst),
        "a renewed lease keeps the step running"
    );
    // Another process takes the job over (as after a stall past the lease).
    sqlx::query("UPDATE jobs SET lease_owner = 'thief', lease_expires_at = $2 WHERE id = $1")
        .bind(&job.id)
        .bind(now_micros() + 600_000_000)
        .execute(store.pool())
        .await
        .unwrap();
    wait_for(|| stopped.load(Ordering::SeqCst)).await;
    // ... and this process leaves the job to it: no outcome, no step saved.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let held = store.get_job(&job.project_id, &job.id).await.unwrap();
    assert_eq!(
        (
            held.status.as_str(),
            held.lease_owner.as_str(),
            held.current_step
        ),
        ("running", "thief", 0)
    );
    run.stop.cancel();
    run.task.await.unwrap();
    let after = store.get_job(&job.project_id, &job.id).await.unwrap();
    assert_eq!(
        after.lease_owner, "thief",
        "stopping does not release a lease it lost"
    );
    db.cleanup().await;
}

#[tokio::test]
async fn finished_jobs_are_pruned_by_the_engine_on_its_own() {
    let db = TestDb::new(backend()).await;
    let store = db.store().await;
    let rec = Recorder::new(|_, _, _| Some(Ok(())));
    let run = start_with(
        &store,
        rec,
        EngineConfig {
            retention: Duration::from_millis(200),
            prune_interval: Duration::from_millis(100),
            ..config(5)
        },
    );
    let job = new_job(&hex32());
    store.submit_job(&job).await.unwrap();
    let done = wait_done(&store, &job.id, Duration::from_secs(10)).await;
    assert_eq!(done.status, "completed");
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.get_job(&job.project_id, &job.id).await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "the finished job was never pruned"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    run.stop.cancel();
    run.task.await.unwrap();
    db.cleanup().await;
}

fn instance(project_id: &str) -> GaussDbInstance {
    GaussDbInstance {
        id: format!("{}in14", hex32()),
        project_id: project_id.into(),
        name: hex32(),
        host: "db.invalid".into(),
        port: 5432,
        db_user: "app".into(),
        password_sealed: String::new(),
        database_name: "postgres".into(),
        install_mode: "simulated".into(),
        pg_config: String::new(),
        sharedir: String::new(),
        pkglibdir: String::new(),
        version: String::new(),
        pg_major: 0,
        status: "ACTIVE".into(),
        created_at: now_micros(),
        updated_at: now_micros(),
    }
}

/// Records a plug-in install as its last step's completion effect; waits for `gate` first
/// when given one.
struct Records {
    instance_id: String,
    gate: Option<Arc<tokio::sync::Notify>>,
    in_last_step: Arc<AtomicBool>,
}

#[async_trait::async_trait]
impl JobHandler<TestKind> for Records {
    async fn run_step(
        &self,
        ctx: &mut StepCtx,
        _input: &serde_json::Value,
    ) -> Result<(), StepError> {
        if ctx.step() + 1 < ctx.job.steps.len() {
            return Ok(());
        }
        self.in_last_step.store(true, Ordering::SeqCst);
        if let Some(gate) = &self.gate {
            gate.notified().await;
        }
        ctx.complete_with(RecordPlugin {
            plugin: InstalledPlugin {
                instance_id: self.instance_id.clone(),
                plugin_name: format!("p{}", ctx.job.target),
                version: "1.0".into(),
                sha256: "a".repeat(64),
                extensions: vec!["e".into()],
                job_id: ctx.job.id.clone(),
                installed_at: now_micros(),
            },
            files: None,
        });
        Ok(())
    }
}

/// A test effect: records a plug-in install.
#[derive(Debug)]
struct RecordPlugin {
    plugin: InstalledPlugin,
    files: Option<Vec<plugboard_store::gaussdb::PluginFile>>,
}

#[async_trait::async_trait]
impl JobEffect for RecordPlugin {
    async fn apply(
        &self,
        tx: &mut plugboard_store::jobs::EffectTx<'_>,
    ) -> plugboard_store::Result<()> {
        tx.record_plugin_install(&self.plugin, self.files.as_deref())
            .await
    }
}

#[tokio::test]
async fn completion_effects_commit_with_the_job_and_jobs_end_together() {
    let db = TestDb::new(backend()).await;
    let store = db.store().await;
    let inst = instance(&"p".repeat(32));
    store.create_gaussdb_instance(&inst).await.unwrap();
    let run = start_with(
        &store,
        Arc::new(Records {
            instance_id: inst.id.clone(),
            gate: None,
            in_last_step: Arc::new(AtomicBool::new(false)),
        }),
        config(5),
    );
    // many jobs at once: their ends share commits
    let jobs: Vec<NewJob> = (0..60).map(|i| new_job(&format!("t{i:02}"))).collect();
    for job in &jobs {
        store.submit_job(job).await.unwrap();
    }
    for job in &jobs {
        let done = wait_done(&store, &job.id, Duration::from_secs(20)).await;
        assert_eq!((done.status.as_str(), done.progress), ("completed", 100));
        assert!(done.steps.iter().all(|s| s.status == "done"), "{done:?}");
    }
    let recorded = store.list_installed_plugins(&inst.id).await.unwrap();
    assert_eq!(recorded.len(), 60);
    for job in &jobs {
        let p = recorded
            .iter()
            .find(|p| p.plugin_name == format!("p{}", job.target))
            .unwrap();
        assert_eq!(p.job_id, job.id, "each record names the job that made it");
    }
    run.stop.cancel();
    run.task.await.unwrap();
    db.cleanup().await;
}

#[tokio::test]
async fn a_job_that_does_not_end_here_applies_no_effect() {
    let db = TestDb::new(backend()).await;
    let store = db.store().await;
    let inst = instance(&"p".repeat(32));
    store.create_gaussdb_instance(&inst).await.unwrap();
    let gate = Arc::new(tokio::sync::Notify::new());
    let in_last_step = Arc::new(AtomicBool::new(false));
    let run = start_with(
        &store,
        Arc::new(Records {
            instance_id: inst.id.clone(),
            gate: Some(gate.clone()),
            in_last_step: in_last_step.clone(),
        }),
        config(60),
    );
    let job = new_job(&hex32());
    store.submit_job(&job).await.unwrap();
    wait_for(|| in_last_step.load(Ordering::SeqCst)).await;
    // another process takes the job over while the last step runs here (the 60 s lease is
    // renewed only every 20 s: the step ends before this process notices)
    sqlx::query("UPDATE jobs SET lease_owner = 'thief', lease_expires_at = $2 WHERE id = $1")
        .bind(&job.id)
        .bind(now_micros() + 600_000_000)
        .execute(store.pool())
        .await
        .unwrap();
    gate.notify_one();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let held = store.get_job(&job.project_id, &job.id).await.unwrap();
    assert_eq!(
        (held.status.as_str(), held.lease_owner.as_str()),
        ("running", "thief")
    );
    assert!(
        store
            .list_installed_plugins(&inst.id)
            .await
            .unwrap()
            .is_empty(),
        "the install is recorded only with the job's completion"
    );
    run.stop.cancel();
    run.task.await.unwrap();
    db.cleanup().await;
}

/// Counts the steps running at once.
struct Concurrency {
    now: Arc<std::sync::atomic::AtomicUsize>,
    most: Arc<std::sync::atomic::AtomicUsize>,
}

#[async_trait::async_trait]
impl JobHandler<TestKind> for Concurrency {
    async fn run_step(
        &self,
        _ctx: &mut StepCtx,
        _input: &serde_json::Value,
    ) -> Result<(), StepError> {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(n, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(30)).await;
        self.now.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test]
async fn jobs_claimed_ahead_wait_for_a_slot() {
    let db = TestDb::new(backend()).await;
    let store = db.store().await;
    let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let jobs: Vec<NewJob> = (0..8).map(|_| new_job(&hex32())).collect();
    for job in &jobs {
        store.submit_job(job).await.unwrap();
    }
    let run = start_with(
        &store,
        Arc::new(Concurrency {
            now: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
            most: most.clone(),
        }),
        EngineConfig {
            max_concurrent_jobs: 2,
            ..config(5)
        },
    );
    for job in &jobs {
        assert_eq!(
            wait_done(&store, &job.id, Duration::from_secs(20))
                .await
                .status,
            "completed"
        );
    }
    assert_eq!(
        most.load(Ordering::SeqCst),
        2,
        "two jobs run at once, never more, though more are claimed"
    );
    run.stop.cancel();
    run.task.await.unwrap();
    db.cleanup().await;
}
