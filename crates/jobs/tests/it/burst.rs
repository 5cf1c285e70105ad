//! A burst of submits on PostgreSQL: the submitting store announces them after their commits
//! (coalesced while a notification is on its way) and the claim loop coalesces the wake-ups
//! (at most one pending, claims taking many jobs at once), so 10,000 submits cost a small
//! fraction of 10,000 claims, and every job still runs exactly once.

#![allow(clippy::unwrap_used)]

use plugboard_core::ids::{hex32, uuid};
use plugboard_core::time::now_micros;
use plugboard_jobs::{Engine, EngineConfig, EngineStats, JobHandler, JobKind, StepCtx, StepError};
use plugboard_store::jobs::NewJob;
use plugboard_store::testing::TestDb;
use plugboard_store::{Backend, Store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Counts the runs of every job.
#[derive(Default)]
struct Counter(Mutex<HashMap<String, u32>>);

#[async_trait::async_trait]
impl JobHandler<Burst> for Counter {
    async fn run_step(
        &self,
        ctx: &mut StepCtx,
        _input: &serde_json::Value,
    ) -> Result<(), StepError> {
        *self
            .0
            .lock()
            .unwrap()
            .entry(ctx.job.id.clone())
            .or_default() += 1;
        Ok(())
    }
}

struct Burst;

impl JobKind for Burst {
    const KIND: &'static str = "Burst";
    const STEPS: &'static [&'static str] = &["run"];
    type Input = serde_json::Value;
    type Target = String;

    fn target_key(target: &String) -> String {
        target.clone()
    }

    fn parse_target(key: &str) -> Option<String> {
        Some(key.to_string())
    }
}

fn job() -> NewJob {
    NewJob {
        id: uuid(),
        project_id: "p".repeat(32),
        kind: "Burst".into(),
        target: hex32(),
        target_name: "t".into(),
        steps: vec!["run".into()],
        input: serde_json::json!({}),
        created_at: now_micros(),
        host: String::new(),
    }
}

async fn scalar(store: &Store, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(store.pool())
        .await
        .unwrap()
}

/// An engine running [`Burst`] jobs on `store` with a one-minute poll, once its listener is
/// listening: the counter of its runs, its stats, its stop token and its task.
async fn listening_engine(
    store: &Store,
) -> (
    Arc<Counter>,
    Arc<EngineStats>,
    CancellationToken,
    tokio::task::JoinHandle<()>,
) {
    let counter = Arc::new(Counter::default());
    let mut engine = Engine::new(
        store.clone(),
        hex32(),
        EngineConfig {
            poll_interval: Duration::from_secs(60),
            ..EngineConfig::default()
        },
    );
    engine.register::<Burst>(counter.clone());
    let stats = engine.stats();
    let stop = CancellationToken::new();
    let task = tokio::spawn(engine.run(stop.clone()));
    let listening = "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'";
    let deadline = Instant::now() + Duration::from_secs(10);
    while scalar(store, listening).await != 1 {
        assert!(Instant::now() < deadline, "the engine never listened");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (counter, stats, stop, task)
}

/// `total` jobs submitted through `store` from `tasks` concurrent tasks, each its own
/// transaction.
async fn submit_from(store: &Store, tasks: usize, total: usize) {
    let mut submitting = tokio::task::JoinSet::new();
    for _ in 0..tasks {
        let s = store.clone();
        submitting.spawn(async move {
            for _ in 0..total / tasks {
                s.submit_job(&job()).await.unwrap();
            }
        });
    }
    while let Some(r) = submitting.join_next().await {
        r.unwrap();
    }
}

/// Waits until `total` jobs are completed; fails after `within`.
async fn wait_completed(store: &Store, total: usize, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let done = scalar(
            store,
            "SELECT COUNT(*) FROM jobs WHERE status = 'completed'",
        )
        .await;
        if done == total as i64 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{done} of {total} jobs completed within {within:?} (the poll is a minute)"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_burst_of_ten_thousand_submits_costs_few_claims_and_runs_each_job_once() {
    const SUBMITS: usize = 10_000;
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.store().await;
    // The submits commit without waiting for their WAL flush, so that they come as a burst
    // (at the disk's flush rate they would trickle in at a few hundred a second); each still
    // commits, and notifies, on its own.
    let submitter = Store::connect(&format!("{}?options=-c%20synchronous_commit%3Doff", db.url))
        .await
        .unwrap();
    // The poll is a minute: only the notifications can run the burst in time.
    let (counter, stats, stop, task) = listening_engine(&store).await;
    let before = stats.claims();

    // 10,000 submits, each its own transaction, from 16 connections; the submitting store
    // announces them after their commits, coalesced.
    let started = Instant::now();
    submit_from(&submitter, 16, SUBMITS).await;
    let submitted_in = started.elapsed();
    wait_completed(&store, SUBMITS, Duration::from_secs(120)).await;
    let claims = stats.claims() - before;
    let heard = stats.notifications();
    eprintln!(
        "{SUBMITS} submits in {submitted_in:?}, all run in {:?}: {heard} notifications heard, {claims} claims",
        started.elapsed()
    );
    let runs = counter.0.lock().unwrap().clone();
    assert_eq!(runs.len(), SUBMITS, "every job ran");
    assert!(runs.values().all(|n| *n == 1), "every job ran exactly once");
    assert!(
        heard >= 1,
        "the submits were announced ({heard} notifications heard)"
    );
    assert!(
        claims < (SUBMITS / 10) as u64,
        "{claims} claims for {SUBMITS} submits ({heard} notifications)"
    );

    stop.cancel();
    task.await.unwrap();
    submitter.close().await;
    store.close().await;
    db.cleanup().await;
}

/// Jobs submitted through the engine's own store handle wake its claim loop in memory, with
/// their kinds, and its listener drops the notifications that handle sends (other processes
/// still get them: the test above): with a one-minute poll every job still runs at once,
/// and no notification is heard.
#[tokio::test]
async fn jobs_submitted_through_the_engines_own_store_run_at_once_without_hearing_a_notification() {
    const SUBMITS: usize = 200;
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.store().await;
    let (counter, stats, stop, task) = listening_engine(&store).await;
    submit_from(&store, 4, SUBMITS).await;
    wait_completed(&store, SUBMITS, Duration::from_secs(20)).await;
    // what was sent went out before the jobs ended; give a late one time to be heard
    tokio::time::sleep(Duration::from_millis(200)).await;
    let runs = counter.0.lock().unwrap().clone();
    assert_eq!(runs.len(), SUBMITS, "every job ran");
    assert!(runs.values().all(|n| *n == 1), "every job ran exactly once");
    assert_eq!(
        stats.notifications(),
        0,
        "the engine heard its own store's notifications"
    );

    stop.cancel();
    task.await.unwrap();
    store.close().await;
    db.cleanup().await;
}
