//! Completion effects: a job's last step's effect commits with the job's end, and a job that
//! does not end in this process applies none. The back-end follows `PLUGBOARD_TEST_BACKEND`.

#![allow(clippy::unwrap_used)]

use crate::common::*;
use plugboard_core::ids::hex32;
use plugboard_core::time::now_micros;
use plugboard_jobs::{JobHandler, StepCtx, StepError};
use plugboard_store::gaussdb::{GaussDbInstance, InstalledPlugin};
use plugboard_store::jobs::{JobEffect, NewJob};
use plugboard_store::testing::TestDb;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

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
