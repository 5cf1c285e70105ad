//! The job engine against a real store: steps in order with their context, retries,
//! failures, one running job per target, unknown kinds, listing and pruning finished jobs,
//! and the slots that bound how many jobs run at once. The back-end follows
//! `PLUGBOARD_TEST_BACKEND`.

#![allow(clippy::unwrap_used)]

use crate::common::*;
use plugboard_core::ids::hex32;
use plugboard_core::time::now_micros;
use plugboard_jobs::{Engine, EngineConfig, JobHandler, JobOutcome, StepCtx, StepError};
use plugboard_store::jobs::{InsertJobError, NewJob};
use plugboard_store::testing::TestDb;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

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
