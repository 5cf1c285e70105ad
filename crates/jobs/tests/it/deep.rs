//! A deep queue (a drain): the engine claims further ahead than one claim per two slot-counts,
//! so each claim's fixed cost is spread over more jobs, while no more jobs run at once than
//! its slots and every job runs exactly once.

#![allow(clippy::unwrap_used)]

use crate::common::backend;
use plugboard_core::ids::{hex32, uuid};
use plugboard_core::time::now_micros;
use plugboard_jobs::{Engine, EngineConfig, JobHandler, JobKind, StepCtx, StepError};
use plugboard_store::jobs::NewJob;
use plugboard_store::testing::TestDb;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Counts the runs of every job and the most that ran at once.
#[derive(Default)]
struct Runs {
    per_job: Mutex<HashMap<String, u32>>,
    now: AtomicUsize,
    most: AtomicUsize,
}

#[async_trait::async_trait]
impl JobHandler<Drain> for Runs {
    async fn run_step(
        &self,
        ctx: &mut StepCtx,
        _input: &serde_json::Value,
    ) -> Result<(), StepError> {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        *self
            .per_job
            .lock()
            .unwrap()
            .entry(ctx.job.id.clone())
            .or_default() += 1;
        tokio::task::yield_now().await;
        self.now.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }
}

struct Drain;

impl JobKind for Drain {
    const KIND: &'static str = "Drain";
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

#[tokio::test]
async fn a_deep_queue_is_claimed_several_slot_counts_at_a_time_and_each_job_runs_once() {
    const JOBS: usize = 600;
    const SLOTS: usize = 4;
    let db = TestDb::new(backend()).await;
    let store = db.store().await;
    let t0 = now_micros();
    for i in 0..JOBS {
        store
            .submit_job(&NewJob {
                id: uuid(),
                project_id: "p".repeat(32),
                kind: "Drain".into(),
                target: hex32(),
                target_name: "t".into(),
                steps: vec!["run".into()],
                input: serde_json::json!({}),
                created_at: t0 + i as i64,
                host: String::new(),
            })
            .await
            .unwrap();
    }
    let runs = Arc::new(Runs::default());
    let mut engine = Engine::new(
        store.clone(),
        hex32(),
        EngineConfig {
            poll_interval: Duration::from_millis(100),
            max_concurrent_jobs: SLOTS,
            ..EngineConfig::default()
        },
    );
    engine.register::<Drain>(runs.clone());
    let stats = engine.stats();
    let stop = CancellationToken::new();
    let task = tokio::spawn(engine.run(stop.clone()));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let done: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status = 'completed'")
            .fetch_one(store.pool())
            .await
            .unwrap();
        if done == JOBS as i64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{done} of {JOBS} jobs completed after 60 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let claims = stats.claims();
    stop.cancel();
    task.await.unwrap();

    let per_job = runs.per_job.lock().unwrap().clone();
    assert_eq!(per_job.len(), JOBS);
    assert!(per_job.values().all(|n| *n == 1), "a job ran twice");
    assert!(runs.most.load(Ordering::SeqCst) <= SLOTS);
    // Two slot-counts ahead at most, as before a deep queue was told apart, would take at
    // least JOBS / (2 × SLOTS) = 75 claims.
    assert!(
        claims < (JOBS / (2 * SLOTS)) as u64,
        "{claims} claims for {JOBS} jobs"
    );
    db.cleanup().await;
}
