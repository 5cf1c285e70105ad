//! The store's batched job writes the engine relies on: a claim takes many jobs in one
//! statement and never hands one job to two claimers at once (PostgreSQL, many processes);
//! a group commit ends many jobs in one statement, each only where its lease is held; a
//! heartbeat renews every lease it holds in one statement and reports the ones it lost. The
//! back-end of the last two follows `PLUGBOARD_TEST_BACKEND`.

#![allow(clippy::unwrap_used)]

use plugboard_core::ids::{hex32, uuid};
use plugboard_core::time::now_micros;
use plugboard_store::jobs::{JobEnd, JobState, NewJob};
use plugboard_store::testing::TestDb;
use plugboard_store::{Backend, Store};
use std::collections::{HashMap, HashSet};

fn backend() -> Backend {
    match std::env::var("PLUGBOARD_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

fn job(project: &str, created_at: i64) -> NewJob {
    NewJob {
        id: uuid(),
        project_id: project.into(),
        kind: "Batch".into(),
        target: hex32(),
        target_name: "t".into(),
        steps: vec!["run".into()],
        input: serde_json::json!({}),
        created_at,
        host: String::new(),
    }
}

fn end(id: &str) -> JobEnd {
    JobEnd {
        id: id.into(),
        status: JobState::Completed,
        fail_reason: String::new(),
        progress: 100,
        steps: vec![],
        context: serde_json::Map::new(),
        ended_at: now_micros(),
        effects: vec![],
    }
}

/// Submit `n` jobs over a few accounts and lease them all to `owner`; their ids.
async fn leased(store: &Store, owner: &str, n: usize) -> Vec<String> {
    let base = now_micros() - 1_000_000;
    let jobs: Vec<NewJob> = (0..n)
        .map(|i| job(&format!("{:032}", i % 3), base + i as i64))
        .collect();
    for j in &jobs {
        store.submit_job(j).await.unwrap();
    }
    let now = now_micros();
    let claimed = store
        .claim_jobs(owner, "", now, now + 60_000_000, n as i64)
        .await
        .unwrap();
    assert_eq!(claimed.len(), n, "one claim takes them all");
    jobs.into_iter().map(|j| j.id).collect()
}

#[tokio::test]
async fn concurrent_batch_claims_never_hand_one_job_to_two_processes() {
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.store().await;
    let base = now_micros() - 10_000_000;
    let jobs: Vec<NewJob> = (0..600)
        .map(|i| job(&format!("{:032}", i % 7), base + i))
        .collect();
    for j in &jobs {
        store.submit_job(j).await.unwrap();
    }
    // eight "processes", each with its own pool, claiming batches of 16 until none is left
    let mut claimers = Vec::new();
    for c in 0..8 {
        let store = Store::connect(&db.url).await.unwrap();
        claimers.push(tokio::spawn(async move {
            let owner = format!("claimer-{c}");
            let mut got = Vec::new();
            loop {
                let now = now_micros();
                let batch = store
                    .claim_jobs(&owner, "", now, now + 60_000_000, 16)
                    .await
                    .unwrap();
                if batch.is_empty() {
                    break;
                }
                assert!(batch.len() <= 16);
                for j in batch {
                    assert_eq!(j.lease_owner, owner);
                    got.push(j.id);
                }
            }
            store.close().await;
            (owner, got)
        }));
    }
    let mut owner_of: HashMap<String, String> = HashMap::new();
    let mut busy = 0;
    for c in claimers {
        let (owner, got) = c.await.unwrap();
        busy += usize::from(!got.is_empty());
        for id in got {
            if let Some(first) = owner_of.insert(id.clone(), owner.clone()) {
                panic!("job {id} was handed to {first} and to {owner}");
            }
        }
    }
    assert_eq!(owner_of.len(), jobs.len(), "every job was claimed");
    assert!(busy > 1, "the claimers shared the work");
    // and the rows say so: each job leased to the one claimer that got it
    for j in &jobs {
        let row = store.job_by_id(&j.id).await.unwrap();
        assert_eq!(Some(&row.lease_owner), owner_of.get(&j.id));
        assert_eq!(row.status, "running");
    }
    db.cleanup().await;
}

#[tokio::test]
async fn a_group_commit_ends_only_the_jobs_whose_lease_it_holds() {
    let db = TestDb::new(backend()).await;
    let store = db.store().await;
    // more than one statement's worth, and some leased to another process
    let mine = leased(&store, "me", 150).await;
    let theirs = leased(&store, "them", 5).await;
    let mut ends: Vec<JobEnd> = mine.iter().map(|id| end(id)).collect();
    ends[7].status = JobState::Failed;
    ends[7].fail_reason = "broken".into();
    ends.extend(theirs.iter().map(|id| end(id)));
    let answers = store.finish_jobs("me", &ends).await.unwrap();
    assert_eq!(answers.len(), ends.len());
    for (e, ended) in ends.iter().zip(&answers) {
        let row = store.job_by_id(&e.id).await.unwrap();
        if mine.contains(&e.id) {
            assert!(ended, "{} ended", e.id);
            assert_eq!(row.status, e.status.as_str());
            assert_eq!(row.fail_reason, e.fail_reason);
            assert_eq!((row.lease_owner.as_str(), row.progress), ("", 100));
            assert_eq!(row.ended_at, e.ended_at);
        } else {
            assert!(!ended, "{} is another process's", e.id);
            assert_eq!(
                (row.status.as_str(), row.lease_owner.as_str()),
                ("running", "them")
            );
        }
    }
    // a job that already ended does not end again
    assert_eq!(
        store.finish_jobs("me", &ends[..3]).await.unwrap(),
        vec![false; 3]
    );
    // one end alone, and its answer
    let one = leased(&store, "me", 1).await;
    assert!(store.finish_job("me", &end(&one[0])).await.unwrap());
    assert!(!store.finish_job("me", &end(&one[0])).await.unwrap());
    db.cleanup().await;
}

#[tokio::test]
async fn a_heartbeat_renews_every_lease_it_holds_and_names_the_lost_ones() {
    let db = TestDb::new(backend()).await;
    let store = db.store().await;
    let mine = leased(&store, "me", 100).await;
    let theirs = leased(&store, "them", 3).await;
    // one of mine ended meanwhile: not held any more
    assert!(store.finish_job("me", &end(&mine[0])).await.unwrap());
    let until = now_micros() + 3_600_000_000;
    let mut ask: Vec<String> = mine.clone();
    ask.extend(theirs.iter().cloned());
    let held: HashSet<String> = store
        .heartbeat_jobs("me", &ask, until)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let want: HashSet<String> = mine[1..].iter().cloned().collect();
    assert_eq!(held, want);
    for id in &mine[1..] {
        assert_eq!(store.job_by_id(id).await.unwrap().lease_expires_at, until);
    }
    for id in &theirs {
        let row = store.job_by_id(id).await.unwrap();
        assert_eq!(row.lease_owner, "them");
        assert_ne!(row.lease_expires_at, until);
    }
    assert!(store
        .heartbeat_jobs("me", &[], until)
        .await
        .unwrap()
        .is_empty());
    db.cleanup().await;
}
