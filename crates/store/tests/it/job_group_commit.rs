//! A group commit's effects and announcements (issue 20, branch `jobs26`): the kernel plug-in
//! installs recorded by the jobs ending in one commit are written together (one statement per
//! 64), exactly as one by one would (a later record of the same plug-in wins, a job whose lease
//! is lost records nothing); and on PostgreSQL a submitted job is announced on the jobs
//! channel after its commit, by the store, now that no trigger does it inside the transaction.

use crate::common::{self, on_both};
use plugboard_core::ids::{hex32, uuid};
use plugboard_store::gaussdb::{GaussDbInstance, InstalledPlugin};
use plugboard_store::job_state::JobState;
use plugboard_store::jobs::{EffectTx, JobEffect, JobEnd, NewJob};
use plugboard_store::notify::{Heard, JOBS_CHANNEL};
use plugboard_store::testing::TestDb;
use plugboard_store::Backend;
use std::sync::Arc;
use std::time::Duration;

/// A job end's effect: record `plugin` (no files), as a simulated install does.
#[derive(Debug)]
struct Record(InstalledPlugin);

#[async_trait::async_trait]
impl JobEffect for Record {
    async fn apply(&self, tx: &mut EffectTx<'_>) -> plugboard_store::Result<()> {
        tx.record_plugin_install(&self.0, None).await
    }
}

fn instance(project: &str, n: usize) -> GaussDbInstance {
    GaussDbInstance {
        id: format!("{}in14", hex32()),
        project_id: project.into(),
        name: format!("sim{n}"),
        host: "db.invalid".into(),
        port: 5432,
        db_user: "app".into(),
        password_sealed: "sealed".into(),
        database_name: "postgres".into(),
        install_mode: "simulated".into(),
        pg_config: String::new(),
        sharedir: String::new(),
        pkglibdir: String::new(),
        version: "15".into(),
        pg_major: 15,
        status: "ACTIVE".into(),
        created_at: n as i64,
        updated_at: n as i64,
    }
}

fn job(project: &str, kind: &str, target: &str) -> NewJob {
    NewJob {
        id: uuid(),
        project_id: project.into(),
        kind: kind.into(),
        target: target.into(),
        target_name: "t".into(),
        steps: vec!["run".into()],
        input: serde_json::json!({}),
        created_at: 5,
        host: String::new(),
    }
}

fn record(instance: &str, plugin: &str, job_id: &str, version: &str) -> InstalledPlugin {
    InstalledPlugin {
        instance_id: instance.into(),
        plugin_name: plugin.into(),
        version: version.into(),
        sha256: "a".repeat(64),
        extensions: vec![plugin.into()],
        job_id: job_id.into(),
        installed_at: 7,
    }
}

fn end(id: &str, effect: InstalledPlugin) -> JobEnd {
    JobEnd {
        id: id.into(),
        status: JobState::Completed,
        fail_reason: String::new(),
        progress: 100,
        steps: vec![],
        context: Default::default(),
        ended_at: 9,
        effects: vec![Arc::new(Record(effect))],
    }
}

#[tokio::test]
async fn installs_recorded_by_one_group_commit_are_the_ones_recorded_one_by_one() {
    on_both(|store, backend| async move {
        let project = hex32();
        // 70 jobs: a chunk of 64 and one of 6 (padded to 8)
        let mut instances = vec![];
        let mut jobs = vec![];
        for n in 0..70 {
            let i = instance(&project, n);
            store.create_gaussdb_instance(&i).await.unwrap();
            let j = job(
                &project,
                "InstallKernelPlugin",
                &format!("gaussdb:{}", i.id),
            );
            store.submit_job(&j).await.unwrap();
            instances.push(i);
            jobs.push(j);
        }
        // one more job, whose lease another process holds
        let other = instance(&project, 70);
        store.create_gaussdb_instance(&other).await.unwrap();
        let lost = job(
            &project,
            "InstallKernelPlugin",
            &format!("gaussdb:{}", other.id),
        );
        store.submit_job(&lost).await.unwrap();
        let claimed = store
            .claim_jobs("worker", "", 10, i64::MAX / 2, 100)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 71, "{backend:?}");

        let mut ends: Vec<JobEnd> = jobs
            .iter()
            .zip(&instances)
            .map(|(j, i)| end(&j.id, record(&i.id, "postgis", &j.id, "1.0")))
            .collect();
        // the same plug-in recorded twice in one commit: the later record wins
        ends[3].effects.push(Arc::new(Record(record(
            &instances[3].id,
            "postgis",
            &jobs[3].id,
            "2.0",
        ))));
        // a second plug-in on the same instance
        ends[3].effects.push(Arc::new(Record(record(
            &instances[3].id,
            "pgvector",
            &jobs[3].id,
            "0.5",
        ))));
        ends.push(end(&lost.id, record(&other.id, "postgis", &lost.id, "1.0")));
        sqlx::query("UPDATE jobs SET lease_owner = 'someone-else' WHERE id = $1")
            .bind(&lost.id)
            .execute(store.pool())
            .await
            .unwrap();

        let ended = store.finish_jobs("worker", &ends).await.unwrap();
        assert_eq!(ended.iter().filter(|e| **e).count(), 70, "{backend:?}");
        assert!(
            !ended[70],
            "{backend:?}: the job whose lease is lost did not end here"
        );

        for (n, i) in instances.iter().enumerate() {
            let plugins = store.list_installed_plugins(&i.id).await.unwrap();
            let mut want = vec![("postgis".to_string(), "1.0".to_string())];
            if n == 3 {
                want = vec![
                    ("pgvector".to_string(), "0.5".to_string()),
                    ("postgis".to_string(), "2.0".to_string()),
                ];
            }
            let got: Vec<(String, String)> = plugins
                .iter()
                .map(|p| (p.plugin_name.clone(), p.version.clone()))
                .collect();
            assert_eq!(got, want, "{backend:?}: instance {n}");
            assert!(plugins.iter().all(|p| p.job_id == jobs[n].id));
        }
        assert!(
            store
                .list_installed_plugins(&other.id)
                .await
                .unwrap()
                .is_empty(),
            "{backend:?}: a job that did not end here records nothing"
        );
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM gaussdb_plugins")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(rows, 71, "{backend:?}: no padding row was recorded");
    })
    .await;
}

#[tokio::test]
async fn a_submitted_job_is_announced_after_its_commit() {
    if !common::postgres_given() {
        return;
    }
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.store().await;
    let mut listener = store.listen(&[JOBS_CHANNEL]).await.unwrap().unwrap();
    let submitter = db.store().await;
    let project = hex32();
    submitter
        .submit_job(&job(&project, "KindA", &hex32()))
        .await
        .unwrap();
    let heard = tokio::time::timeout(Duration::from_secs(5), listener.next())
        .await
        .expect("the submit was announced")
        .unwrap();
    assert_eq!(
        heard,
        Heard::Notified(vec![(JOBS_CHANNEL.to_string(), "KindA".to_string())])
    );
    // a submit refused (the target busy) commits nothing and announces nothing
    let busy = job(&project, "KindB", "same-target");
    submitter.submit_job(&busy).await.unwrap();
    let heard = tokio::time::timeout(Duration::from_secs(5), listener.next())
        .await
        .expect("the second submit was announced")
        .unwrap();
    assert_eq!(
        heard,
        Heard::Notified(vec![(JOBS_CHANNEL.to_string(), "KindB".to_string())])
    );
    let again = job(&project, "KindC", "same-target");
    assert!(submitter.submit_job(&again).await.is_err());
    let heard = tokio::time::timeout(Duration::from_millis(500), listener.next()).await;
    assert!(
        heard.is_err(),
        "a refused submit announced something: {heard:?}"
    );
    store.close().await;
    submitter.close().await;
    db.cleanup().await;
}
