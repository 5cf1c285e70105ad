//! Migration 9 (`jobs neutral states`) maps the job rows written in GaussDB's words to the
//! neutral states, on the back-end `PLUGBOARD_TEST_BACKEND` names: a job not yet claimed is
//! `queued`, one that has started `running`, ended ones `completed` / `failed`; and the
//! rebuilt partial index still allows one active job per target.

#![allow(clippy::unwrap_used)]

use plugboard_core::ids::hex32;
use plugboard_store::jobs::{InsertJobError, NewJob};
use plugboard_store::testing::TestDb;
use plugboard_store::Backend;

fn backend() -> Backend {
    match std::env::var("PLUGBOARD_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

/// The row-mapping statement of the migration (its index statements need the old indexes).
fn mapping() -> String {
    let sql = include_str!("../../migrations/0009_jobs_neutral_states.sql");
    sql.split(';')
        .find(|s| s.contains("UPDATE jobs"))
        .unwrap()
        .to_string()
}

/// Migration 66's row statement: ended jobs without an end time get one.
fn ended_at_fix() -> String {
    let sql = include_str!("../../migrations/0066_jobs_hot_claim.sql");
    sql.split(';')
        .find(|s| s.contains("UPDATE jobs"))
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn old_job_states_map_to_the_neutral_ones() {
    let db = TestDb::new(backend()).await;
    let store = db.store().await;
    let project = "p".repeat(32);
    // (old status, current_step, attempts, lease_owner) → expected
    let rows = [
        ("Running", 0, 0, "", "queued"),
        ("Running", 0, 0, "owner-1", "running"),
        ("Running", 0, 2, "", "running"),
        ("Running", 2, 0, "", "running"),
        ("Completed", 4, 0, "", "completed"),
        ("Failed", 1, 0, "", "failed"),
    ];
    let mut ids = Vec::new();
    for (i, (status, step, attempts, owner, _)) in rows.iter().enumerate() {
        let id = hex32();
        sqlx::query("INSERT INTO jobs (id, project_id, kind, target, target_name, status, progress, current_step, steps, input, context, fail_reason, attempts, next_run_at, lease_owner, lease_expires_at, created_at, updated_at, ended_at) VALUES ($1, $2, 'K', $3, 'n', $4, 0, $5, '[]', '{}', '{}', '', $6, 0, $7, 0, 1, 1, 0)")
            .bind(&id)
            .bind(&project)
            .bind(format!("old:{i}"))
            .bind(*status)
            .bind(i64::from(*step))
            .bind(i64::from(*attempts))
            .bind(*owner)
            .execute(store.pool())
            .await
            .unwrap();
        ids.push(id);
    }
    sqlx::query(&mapping()).execute(store.pool()).await.unwrap();
    if backend() == Backend::Postgres {
        // migration 66 then gives the ended ones an end time (its indexes know active jobs
        // by `ended_at = 0`)
        sqlx::query(&ended_at_fix())
            .execute(store.pool())
            .await
            .unwrap();
    }
    for (id, (_, _, _, _, expected)) in ids.iter().zip(rows.iter()) {
        let job = store.get_job(&project, id).await.unwrap();
        assert_eq!(&job.status, expected, "{job:?}");
    }
    // one active job per target, queued or running alike
    let job = |target: &str| NewJob {
        id: plugboard_core::ids::uuid(),
        project_id: project.clone(),
        kind: "K".into(),
        target: target.into(),
        target_name: "n".into(),
        steps: vec!["s".into()],
        input: serde_json::json!({}),
        created_at: 2,
        host: String::new(),
    };
    assert!(matches!(
        store.submit_job(&job("old:0")).await,
        Err(InsertJobError::TargetBusy)
    ));
    assert!(matches!(
        store.submit_job(&job("old:3")).await,
        Err(InsertJobError::TargetBusy)
    ));
    store.submit_job(&job("old:4")).await.unwrap();
    db.cleanup().await;
}
