//! Execution classes and fair claiming (docs/operations.md → Jobs): deliveries that never
//! answer hold only the delivery slots and are cut at their deadline, so other work still runs
//! at once; one account's flood of queued jobs does not hold back another account's job. The
//! back-end follows `PLUGBOARD_TEST_BACKEND`.

#![allow(clippy::unwrap_used)]

use plugboard_core::ids::{hex32, uuid};
use plugboard_core::time::now_micros;
use plugboard_jobs::{Engine, EngineConfig, JobClass, JobHandler, JobKind, StepCtx, StepError};
use plugboard_store::job_claims::{Claim, Kinds};
use plugboard_store::jobs::{Job, NewJob, ACTIVE};
use plugboard_store::testing::TestDb;
use plugboard_store::{Backend, Store};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

fn backend() -> Backend {
    match std::env::var("PLUGBOARD_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

/// Declares a one-step kind named `$kind` in `$class`.
macro_rules! kind {
    ($name:ident, $kind:literal, $class:expr) => {
        struct $name;
        impl JobKind for $name {
            const KIND: &'static str = $kind;
            const CLASS: JobClass = $class;
            const STEPS: &'static [&'static str] = &["run"];
            type Input = serde_json::Value;
            type Target = String;
            fn target_key(t: &String) -> String {
                t.clone()
            }
            fn parse_target(key: &str) -> Option<String> {
                Some(key.to_string())
            }
        }
    };
}

kind!(Work, "Work", JobClass::Work);
kind!(Hook, "Hook", JobClass::Delivery);

/// Sleeps `pause` per step (or forever), counting the steps running at once.
struct Sleeper {
    pause: Option<Duration>,
    now: AtomicUsize,
    most: AtomicUsize,
}

impl Sleeper {
    fn new(pause: Option<Duration>) -> Arc<Self> {
        Arc::new(Self {
            pause,
            now: AtomicUsize::new(0),
            most: AtomicUsize::new(0),
        })
    }
}

#[async_trait::async_trait]
impl<K: JobKind<Input = serde_json::Value>> JobHandler<K> for Sleeper {
    async fn run_step(
        &self,
        ctx: &mut StepCtx,
        _input: &serde_json::Value,
    ) -> Result<(), StepError> {
        ctx.skip_checkpoint();
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(n, Ordering::SeqCst);
        /// Counts the step down however it ends (cut at its deadline included).
        struct Down<'a>(&'a AtomicUsize);
        impl Drop for Down<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        let _down = Down(&self.now);
        match self.pause {
            Some(p) => tokio::time::sleep(p).await,
            None => std::future::pending::<()>().await,
        }
        Ok(())
    }
}

fn job(kind: &str, project: &str, created_at: i64) -> NewJob {
    NewJob {
        id: uuid(),
        project_id: project.into(),
        kind: kind.into(),
        target: hex32(),
        target_name: "t".into(),
        steps: vec!["run".into()],
        input: serde_json::json!({}),
        created_at,
        host: String::new(),
    }
}

async fn status(store: &Store, project: &str, id: &str) -> Job {
    store.get_job(project, id).await.unwrap()
}

async fn wait_ended(store: &Store, project: &str, id: &str, within: Duration) -> Job {
    let deadline = Instant::now() + within;
    loop {
        let job = status(store, project, id).await;
        if !ACTIVE.contains(&job.status.as_str()) {
            return job;
        }
        assert!(
            Instant::now() < deadline,
            "job {id} did not end within {within:?}: {job:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn active_of(store: &Store, project: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM jobs WHERE project_id = $1 AND status IN ('queued', 'running')",
    )
    .bind(project)
    .fetch_one(store.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn deliveries_that_never_answer_do_not_hold_back_other_work() {
    let db = TestDb::new(backend()).await;
    let store = db.store().await;
    let p = "a".repeat(32);
    // More never-answering deliveries than there are work slots: sharing the slots, they
    // would leave the work job queued for good.
    let hooks: Vec<NewJob> = (0..6).map(|i| job("Hook", &p, i)).collect();
    for h in &hooks {
        store.submit_job(h).await.unwrap();
    }
    let never = Sleeper::new(None);
    let quick = Sleeper::new(Some(Duration::from_millis(1)));
    let mut engine = Engine::new(
        store.clone(),
        hex32(),
        EngineConfig {
            poll_interval: Duration::from_millis(50),
            max_concurrent_jobs: 4,
            delivery_concurrent: 2,
            delivery_timeout: Duration::from_millis(300),
            max_attempts: 2,
            backoff_base: Duration::from_millis(10),
            backoff_max: Duration::from_millis(10),
            ..EngineConfig::default()
        },
    );
    engine.register::<Hook>(never.clone());
    engine.register::<Work>(quick.clone());
    let stop = CancellationToken::new();
    let run = tokio::spawn(engine.run(stop.clone()));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let work = job("Work", &p, now_micros());
    store.submit_job(&work).await.unwrap();
    let done = wait_ended(&store, &p, &work.id, Duration::from_secs(2)).await;
    assert_eq!(done.status, "completed");
    // The deliveries ran two at a time at most, and each try was cut at its deadline.
    for h in &hooks {
        let ended = wait_ended(&store, &p, &h.id, Duration::from_secs(20)).await;
        assert_eq!(ended.status, "failed");
        assert!(
            ended
                .fail_reason
                .contains("the step did not finish within 0.3 s (gave up after 2 attempts)"),
            "{}",
            ended.fail_reason
        );
    }
    assert_eq!(never.most.load(Ordering::SeqCst), 2);
    stop.cancel();
    run.await.unwrap();
    db.cleanup().await;
}

#[tokio::test]
async fn a_flood_from_one_account_does_not_delay_another_accounts_job() {
    let db = TestDb::new(backend()).await;
    let store = db.store().await;
    let (flooder, other) = ("f".repeat(32), "o".repeat(32));
    let t0 = now_micros();
    for i in 0..300 {
        store
            .submit_job(&job("Work", &flooder, t0 + i))
            .await
            .unwrap();
    }
    let mut engine = Engine::new(
        store.clone(),
        hex32(),
        EngineConfig {
            poll_interval: Duration::from_millis(50),
            max_concurrent_jobs: 2,
            ..EngineConfig::default()
        },
    );
    engine.register::<Work>(Sleeper::new(Some(Duration::from_millis(10))));
    let stop = CancellationToken::new();
    let run = tokio::spawn(engine.run(stop.clone()));
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Queued behind 270-odd jobs: first come, first served, every one of them would end before
    // it; taken in turns, it runs next — after the jobs already claimed or finishing when it
    // came (a few dozen on a loaded machine: the group commit stamps `ended_at` in batches).
    // Judged by how many of the flood the rows record as ending in between, not by a clock.
    let mine = job("Work", &other, now_micros());
    store.submit_job(&mine).await.unwrap();
    let ended = wait_ended(&store, &other, &mine.id, Duration::from_secs(20)).await;
    let submitted = status(&store, &other, &mine.id).await.created_at;
    let ahead: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM jobs WHERE project_id = $1 AND ended_at > $2 AND ended_at < $3",
    )
    .bind(&flooder)
    .bind(submitted)
    .bind(ended.ended_at)
    .fetch_one(store.pool())
    .await
    .unwrap();
    let left = active_of(&store, &flooder).await;
    assert!(
        ahead < 150,
        "{ahead} of the flood ended between its submit and its end ({left} still queued)"
    );
    stop.cancel();
    run.await.unwrap();
    db.cleanup().await;
}

#[tokio::test]
async fn claims_take_turns_by_account_and_kind_within_their_class() {
    let db = TestDb::new(backend()).await;
    let store = db.store().await;
    let (a, b) = ("a".repeat(32), "b".repeat(32));
    let a_work: Vec<NewJob> = (0..4).map(|i| job("Work", &a, 10 + i)).collect();
    let a_hook = job("Hook", &a, 20);
    let b_work = job("Work", &b, 30);
    for j in a_work.iter().chain([&a_hook, &b_work]) {
        store.submit_job(j).await.unwrap();
    }
    let now = now_micros();
    let claim = |owner: &'static str, limit: i64, kinds: Kinds<'static>| Claim {
        owner,
        host: "",
        now,
        lease_until: now + 60_000_000,
        limit,
        kinds,
    };
    let ids = |jobs: Vec<Job>| jobs.into_iter().map(|j| j.id).collect::<Vec<_>>();
    // The oldest of each (account, kind) first, oldest first; then the second of each.
    let first = store.claim(&claim("one", 3, Kinds::All)).await.unwrap();
    let mut got = ids(first);
    got.sort();
    let mut want = vec![a_work[0].id.clone(), a_hook.id.clone(), b_work.id.clone()];
    want.sort();
    assert_eq!(got, want);
    // A class claims only its kinds.
    assert!(store
        .claim(&claim("two", 5, Kinds::Only(&["Hook"])))
        .await
        .unwrap()
        .is_empty());
    let rest = store
        .claim(&claim("two", 5, Kinds::Except(&["Hook"])))
        .await
        .unwrap();
    let mut rest = ids(rest);
    rest.sort();
    let mut want: Vec<String> = a_work[1..].iter().map(|j| j.id.clone()).collect();
    want.sort();
    assert_eq!(rest, want);
    db.cleanup().await;
}
