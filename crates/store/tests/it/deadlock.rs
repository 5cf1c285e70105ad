//! The lock order between starting an add-on action and ending the add-on's job (issue 17):
//! on PostgreSQL the two transactions used to take the add-on row and the job row in opposite
//! orders, so an action submitted while the add-on's job was ending deadlocked ("deadlock
//! detected", a 500 to the caller, or a job end that failed and left its add-on UPGRADING).
//! Here every job end is held open between its job-row update and its add-on update while an
//! action on the same add-on is submitted: both must succeed, with no transaction aborted and
//! run again ([`Store::conflicts_retried`]).

use plugboard_core::ids::{hex32, uuid};
use plugboard_store::job_state::JobState;
use plugboard_store::jobs::{EffectTx, JobEffect, JobEnd, NewJob};
use plugboard_store::servicestage::{Addon, Environment};
use plugboard_store::testing::TestDb;
use plugboard_store::{Backend, Store};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// The add-on effect of a job's end, paused after the job row was updated (the window the
/// deadlock needed, made wide instead of waited for).
#[derive(Debug)]
struct PausedAddonStatus {
    addon: String,
    job_row_updated: Arc<Notify>,
}

#[async_trait::async_trait]
impl JobEffect for PausedAddonStatus {
    async fn apply(&self, tx: &mut EffectTx<'_>) -> plugboard_store::Result<()> {
        self.job_row_updated.notify_one();
        tokio::time::sleep(Duration::from_millis(300)).await;
        tx.set_addon_status(&self.addon, "SUCCEEDED", Some("1.0.0"), None, 10)
            .await
    }
}

fn job(project: &str, addon: &str, kind: &str) -> NewJob {
    NewJob {
        id: uuid(),
        project_id: project.into(),
        kind: kind.into(),
        target: format!("addon:{addon}"),
        target_name: addon.into(),
        steps: vec!["run".into()],
        input: serde_json::json!({}),
        created_at: 5,
        host: String::new(),
    }
}

async fn actions_while_jobs_end(store: Store) {
    const ADDONS: usize = 8;
    let p = hex32();
    let env = Environment {
        id: uuid(),
        project_id: p.clone(),
        name: "dev".into(),
        description: String::new(),
        enterprise_project_id: "0".into(),
        vpc_id: "vpc-1".into(),
        creator: "admin".into(),
        deploy_mode: "mixed".into(),
        labels: vec![],
        resources: vec![],
        created_at: 1,
        updated_at: 1,
    };
    store.create_environment(&env).await.expect("environment");
    let mut installs = Vec::new();
    for i in 0..ADDONS {
        let id = uuid();
        let install = job(&p, &id, "AddonInstall");
        let addon = Addon {
            id: id.clone(),
            project_id: p.clone(),
            environment_id: env.id.clone(),
            name: format!("addon-{i}"),
            version: String::new(),
            cce_id: "cce-1".into(),
            cse_id: String::new(),
            job_id: install.id.clone(),
            status: "INITIALIZING".into(),
            driver_uuid: "5d3c3f0f3b2a4c1d9e8f7a6b5c4d3e2f".into(),
            host: String::new(),
            created_at: 1,
            updated_at: 1,
        };
        store
            .install_addon(&addon, &install)
            .await
            .expect("install");
        installs.push((id, install));
    }
    let claimed = store
        .claim_jobs("worker", "", 10, i64::MAX / 2, 100)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), ADDONS);

    let mut tasks = Vec::new();
    for (addon, install) in installs {
        let updated = Arc::new(Notify::new());
        let end = JobEnd {
            id: install.id.clone(),
            status: JobState::Completed,
            fail_reason: String::new(),
            progress: 100,
            steps: vec![],
            context: Default::default(),
            ended_at: 20,
            effects: vec![Arc::new(PausedAddonStatus {
                addon: addon.clone(),
                job_row_updated: updated.clone(),
            })],
        };
        let ender = store.clone();
        let ending = tokio::spawn(async move { ender.finish_jobs("worker", &[end]).await });
        let starter = store.clone();
        let (p, env_id) = (p.clone(), env.id.clone());
        let starting = tokio::spawn(async move {
            updated.notified().await;
            let action = job(&p, &addon, "AddonAction");
            let started = starter
                .start_addon_job(&p, &env_id, &addon, "UPGRADING", &action)
                .await;
            (addon, action.id, started)
        });
        tasks.push((ending, starting));
    }
    for (ending, starting) in tasks {
        let ended = ending.await.expect("task").expect("the job end commits");
        assert_eq!(ended, vec![true]);
        let (addon, action, started) = starting.await.expect("task");
        started.expect("the action is submitted");
        let now = store.addon(&addon).await.expect("addon");
        assert_eq!(
            (now.status.as_str(), now.job_id.as_str()),
            ("UPGRADING", action.as_str())
        );
    }
    assert_eq!(
        store.conflicts_retried(),
        0,
        "no transaction was aborted by a deadlock"
    );
}

#[tokio::test]
async fn an_action_submitted_while_its_addons_job_ends_does_not_deadlock() {
    for backend in crate::common::backends() {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        actions_while_jobs_end(store.clone()).await;
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_real_deadlock_is_recognised_as_a_conflict_to_run_again() {
    use plugboard_store::retry::is_conflict;
    use sqlx::Connection;
    if !crate::common::postgres_given() {
        return;
    }
    let db = TestDb::new(Backend::Postgres).await;
    let mut a = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    let mut b = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    sqlx::query("CREATE TABLE t (id INT PRIMARY KEY)")
        .execute(&mut a)
        .await
        .expect("table");
    sqlx::query("INSERT INTO t VALUES (1), (2)")
        .execute(&mut a)
        .await
        .expect("rows");
    let mut ta = a.begin().await.expect("begin");
    let mut tb = b.begin().await.expect("begin");
    sqlx::query("UPDATE t SET id = id WHERE id = 1")
        .execute(&mut *ta)
        .await
        .expect("a locks 1");
    sqlx::query("UPDATE t SET id = id WHERE id = 2")
        .execute(&mut *tb)
        .await
        .expect("b locks 2");
    let (ra, rb) = tokio::join!(
        sqlx::query("UPDATE t SET id = id WHERE id = 2").execute(&mut *ta),
        sqlx::query("UPDATE t SET id = id WHERE id = 1").execute(&mut *tb),
    );
    let failed = match (ra, rb) {
        (Err(e), Ok(_)) | (Ok(_), Err(e)) => e,
        other => panic!("exactly one side is aborted: {other:?}"),
    };
    assert!(is_conflict(&failed), "{failed}");
    assert!(!is_conflict(&sqlx::Error::RowNotFound));
    drop((ta, tb));
    db.cleanup().await;
}
