//! The job engine's leases: a job whose process died (lease expiry) resumes at its
//! unfinished step, a stopped process releases its leases, a step whose lease is lost stops
//! and leaves the job alone, and two engines on one PostgreSQL database run every job exactly
//! once (always on PostgreSQL; the rest follow `PLUGBOARD_TEST_BACKEND`).

#![allow(clippy::unwrap_used)]

use crate::common::*;
use plugboard_core::ids::hex32;
use plugboard_core::time::now_micros;
use plugboard_jobs::{JobHandler, StepCtx, StepError};
use plugboard_store::jobs::NewJob;
use plugboard_store::testing::TestDb;
use plugboard_store::{Backend, Store};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
