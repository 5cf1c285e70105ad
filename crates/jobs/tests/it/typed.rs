//! Typed registration: a job's input is decoded into its kind's `Input` once, before its first
//! step, and handed to every step; an input that does not decode fails the job with the reason
//! (no step runs). The back-end follows `PLUGBOARD_TEST_BACKEND`.

#![allow(clippy::unwrap_used)]

use plugboard_core::ids::{hex32, uuid};
use plugboard_core::time::now_micros;
use plugboard_jobs::{Engine, EngineConfig, JobHandler, JobKind, StepCtx, StepError};
use plugboard_store::jobs::{JobState, NewJob};
use plugboard_store::testing::TestDb;
use plugboard_store::Backend;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

fn backend() -> Backend {
    match std::env::var("PLUGBOARD_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

struct Count;

#[derive(Debug, Serialize, Deserialize)]
struct CountInput {
    to: u32,
}

impl JobKind for Count {
    const KIND: &'static str = "Count";
    const STEPS: &'static [&'static str] = &["one", "two"];
    type Input = CountInput;
    type Target = String;

    fn target_key(t: &String) -> String {
        t.clone()
    }

    fn parse_target(key: &str) -> Option<String> {
        Some(key.into())
    }
}

/// Records the input each step saw.
#[derive(Default)]
struct Counter(Mutex<Vec<(usize, u32)>>);

#[async_trait::async_trait]
impl JobHandler<Count> for Counter {
    async fn run_step(&self, ctx: &mut StepCtx, input: &CountInput) -> Result<(), StepError> {
        self.0.lock().unwrap().push((ctx.step(), input.to));
        Ok(())
    }
}

fn job(input: serde_json::Value) -> NewJob {
    NewJob {
        id: uuid(),
        project_id: "p".repeat(32),
        kind: Count::KIND.into(),
        target: hex32(),
        target_name: "t".into(),
        steps: Count::STEPS.iter().map(|s| s.to_string()).collect(),
        input,
        created_at: now_micros(),
        host: String::new(),
    }
}

#[tokio::test]
async fn every_step_gets_the_typed_input_and_a_bad_input_fails_the_job() {
    let db = TestDb::new(backend()).await;
    let store = db.store().await;
    let good = job(serde_json::json!({"to": 7}));
    let bad = job(serde_json::json!({"to": "seven"}));
    store.submit_job(&good).await.unwrap();
    store.submit_job(&bad).await.unwrap();
    let counter = Arc::new(Counter::default());
    let mut engine = Engine::new(
        store.clone(),
        hex32(),
        EngineConfig {
            poll_interval: Duration::from_millis(50),
            ..EngineConfig::default()
        },
    );
    engine.register::<Count>(counter.clone());
    let stop = CancellationToken::new();
    let run = tokio::spawn(engine.run(stop.clone()));
    let deadline = Instant::now() + Duration::from_secs(10);
    let (good, bad) = loop {
        let g = store.get_job(&good.project_id, &good.id).await.unwrap();
        let b = store.get_job(&bad.project_id, &bad.id).await.unwrap();
        if !g.state().unwrap().is_active() && !b.state().unwrap().is_active() {
            break (g, b);
        }
        assert!(Instant::now() < deadline, "{g:?} {b:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(good.state(), Some(JobState::Completed));
    assert_eq!(*counter.0.lock().unwrap(), vec![(0, 7), (1, 7)]);
    assert_eq!(bad.state(), Some(JobState::Failed));
    assert!(
        bad.fail_reason.starts_with(&format!(
            "the input of Count job {} cannot be read: ",
            bad.id
        )),
        "{}",
        bad.fail_reason
    );
    stop.cancel();
    run.await.unwrap();
    db.cleanup().await;
}
