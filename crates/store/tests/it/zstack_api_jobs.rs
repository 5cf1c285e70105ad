//! ZStack api-jobs are counted per account when submitted (issue 17): an account at its
//! maximum of api-jobs that have not ended is refused, another account is not, and an ended
//! job makes room again; on both back-ends.

use plugboard_core::ids::hex32;
use plugboard_store::jobs::NewJob;
use plugboard_store::testing::TestDb;
use plugboard_store::zstack::SubmitApiJobError;

const KINDS: &[&str] = &["ZStackRefreshPluginDrivers", "ZStackDeletePluginDrivers"];

fn api_job(account: &str) -> NewJob {
    let id = hex32();
    NewJob {
        id: id.clone(),
        project_id: account.into(),
        kind: KINDS[0].into(),
        target: format!("zstack:refresh:{id}"),
        target_name: "*".into(),
        steps: vec!["refresh".into()],
        input: serde_json::json!({}),
        created_at: 5,
        host: String::new(),
    }
}

#[tokio::test]
async fn api_jobs_are_capped_per_account_until_some_end() {
    for backend in crate::common::backends() {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let (a, b) = (hex32(), hex32());
        let first = api_job(&a);
        store.submit_api_job(&first, KINDS, 2).await.expect("first");
        store
            .submit_api_job(&api_job(&a), KINDS, 2)
            .await
            .expect("second");
        assert!(matches!(
            store.submit_api_job(&api_job(&a), KINDS, 2).await,
            Err(SubmitApiJobError::TooMany(2))
        ));
        store
            .submit_api_job(&api_job(&b), KINDS, 2)
            .await
            .expect("another account");
        // The same id again is refused as busy (the caller reports the duplicate).
        assert!(matches!(
            store.submit_api_job(&first, KINDS, 10).await,
            Err(SubmitApiJobError::TargetBusy)
        ));
        sqlx::query("UPDATE jobs SET status = 'completed', ended_at = 1 WHERE id = $1")
            .bind(&first.id)
            .execute(store.pool())
            .await
            .expect("end one");
        store
            .submit_api_job(&api_job(&a), KINDS, 2)
            .await
            .expect("room again");
        store.close().await;
        db.cleanup().await;
    }
}
