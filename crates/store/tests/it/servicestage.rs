//! ServiceStage and driver-registry rows on both back-ends: environments (unique names per
//! project, paging and ordering, partial updates, resources replaced whole, deletion refused
//! while add-ons remain), add-ons written with their jobs (one name per environment, one job
//! per add-on, status and removal inside a job's end), and driver rows (upsert keeps the soft
//! delete, the generation moves with every change).

use plugboard_core::ids::{hex32, uuid};
use plugboard_store::drivers::DriverRow;
use plugboard_store::jobs::NewJob;
use plugboard_store::servicestage::*;
use plugboard_store::testing::TestDb;
use plugboard_store::{Store, StoreError};

async fn on_both<F, Fut>(case: F)
where
    F: Fn(Store) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for backend in crate::common::backends() {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        case(store.clone()).await;
        store.close().await;
        db.cleanup().await;
    }
}

fn env(project: &str, name: &str, at: i64) -> Environment {
    Environment {
        id: uuid(),
        project_id: project.into(),
        name: name.into(),
        description: String::new(),
        enterprise_project_id: "0".into(),
        vpc_id: "vpc-1".into(),
        creator: "admin".into(),
        deploy_mode: "mixed".into(),
        labels: vec![Label {
            key: "team".into(),
            value: "a".into(),
        }],
        resources: vec![],
        created_at: at,
        updated_at: at,
    }
}

fn addon(e: &Environment, name: &str, job: &str) -> Addon {
    Addon {
        id: uuid(),
        project_id: e.project_id.clone(),
        environment_id: e.id.clone(),
        name: name.into(),
        version: String::new(),
        cce_id: "cce-1".into(),
        cse_id: String::new(),
        job_id: job.into(),
        status: "INITIALIZING".into(),
        driver_uuid: "5d3c3f0f3b2a4c1d9e8f7a6b5c4d3e2f".into(),
        host: String::new(),
        created_at: 1,
        updated_at: 1,
    }
}

fn job(project: &str, target: &str) -> NewJob {
    NewJob {
        id: format!("JOB{}", uuid()),
        project_id: project.into(),
        kind: "AddonAction".into(),
        target: target.into(),
        target_name: "x".into(),
        steps: vec!["deploy".into()],
        input: serde_json::json!({}),
        created_at: 5,
        host: String::new(),
    }
}

#[tokio::test]
async fn environments_are_unique_per_project_paged_ordered_and_updated() {
    on_both(|store| async move {
        let p = hex32();
        let other = hex32();
        for (i, name) in ["beta", "alpha", "gamma"].iter().enumerate() {
            store
                .create_environment(&env(&p, name, i as i64 + 1))
                .await
                .expect("create");
        }
        store
            .create_environment(&env(&other, "alpha", 1))
            .await
            .expect("same name, other project");
        let err = store
            .create_environment(&env(&p, "alpha", 9))
            .await
            .expect_err("duplicate");
        assert!(
            matches!(err, StoreError::Conflict(ref w) if w == "environment name"),
            "{err:?}"
        );

        let names = |list: &[Environment]| list.iter().map(|e| e.name.clone()).collect::<Vec<_>>();
        let f = EnvironmentFilter::default();
        let (all, total) = store
            .list_environments(&p, &f, EnvironmentOrder::CreateTime, false, 0, None)
            .await
            .expect("list");
        assert_eq!(
            (names(&all), total),
            (vec!["gamma".into(), "alpha".into(), "beta".into()], 3)
        );
        let (page, total) = store
            .list_environments(&p, &f, EnvironmentOrder::Name, true, 1, Some(1))
            .await
            .expect("page");
        assert_eq!((names(&page), total), (vec!["beta".to_string()], 3));
        let (past, total) = store
            .list_environments(&p, &f, EnvironmentOrder::Name, true, 10, Some(5))
            .await
            .expect("past end");
        assert!(past.is_empty());
        assert_eq!(total, 3);
        let by_name = EnvironmentFilter {
            name: Some("alpha".into()),
            ..Default::default()
        };
        let (found, _) = store
            .list_environments(&p, &by_name, EnvironmentOrder::CreateTime, false, 0, None)
            .await
            .expect("filter");
        assert_eq!(names(&found), ["alpha"]);

        let target = found[0].clone();
        assert!(matches!(
            store.get_environment(&other, &target.id).await,
            Err(StoreError::NotFound)
        ));
        let changed = store
            .update_environment(
                &p,
                &target.id,
                &EnvironmentChange {
                    description: Some("d".into()),
                    labels: Some(vec![]),
                    ..Default::default()
                },
                50,
            )
            .await
            .expect("update");
        assert_eq!(
            (
                changed.name.as_str(),
                changed.description.as_str(),
                changed.labels.len(),
                changed.updated_at
            ),
            ("alpha", "d", 0, 50)
        );
        let err = store
            .update_environment(
                &p,
                &target.id,
                &EnvironmentChange {
                    name: Some("beta".into()),
                    ..Default::default()
                },
                51,
            )
            .await
            .expect_err("rename onto another");
        assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
        assert!(matches!(
            store
                .update_environment(&other, &target.id, &EnvironmentChange::default(), 52)
                .await,
            Err(StoreError::NotFound)
        ));
        let resources = vec![EnvResource {
            id: "cce-1".into(),
            name: "c".into(),
            kind: "cce".into(),
        }];
        let bound = store
            .set_environment_resources(&p, &target.id, &resources, 60)
            .await
            .expect("bind");
        assert_eq!(bound.resources, resources);
        let cleared = store
            .set_environment_resources(&p, &target.id, &[], 61)
            .await
            .expect("replace");
        assert!(cleared.resources.is_empty());
    })
    .await;
}

#[tokio::test]
async fn addons_come_with_their_jobs_and_follow_them() {
    on_both(|store| async move {
        let p = hex32();
        let e = env(&p, "dev", 1);
        store.create_environment(&e).await.expect("env");
        let first_job = job(&p, "addon:a");
        let a = Addon {
            id: "a".into(),
            ..addon(&e, "sermantInjector", &first_job.id)
        };
        store.install_addon(&a, &first_job).await.expect("install");
        let stored_job = store
            .get_job(&p, &first_job.id)
            .await
            .expect("the job is there");
        assert_eq!(stored_job.kind, "AddonAction");

        // one add-on of a name per environment: nothing stored by the refusal
        let dup_job = job(&p, "addon:b");
        let dup = Addon {
            id: "b".into(),
            ..addon(&e, "sermantInjector", &dup_job.id)
        };
        assert!(matches!(
            store.install_addon(&dup, &dup_job).await,
            Err(AddonJobError::Duplicate)
        ));
        assert!(matches!(
            store.get_job(&p, &dup_job.id).await,
            Err(StoreError::NotFound)
        ));
        // another project's environment is not found
        let foreign = Addon {
            project_id: hex32(),
            ..addon(&e, "other", "j")
        };
        assert!(matches!(
            store
                .install_addon(&foreign, &job(&foreign.project_id, "addon:c"))
                .await,
            Err(AddonJobError::NotFound)
        ));

        // one job per add-on at a time: the refused action changes nothing
        let action = job(&p, "addon:a");
        assert!(matches!(
            store
                .start_addon_job(&p, &e.id, "a", "UPGRADING", &action)
                .await,
            Err(AddonJobError::Busy)
        ));
        let now = store.get_addon(&p, &e.id, "a").await.expect("addon");
        assert_eq!(
            (now.status.as_str(), now.job_id.as_str()),
            ("INITIALIZING", first_job.id.as_str())
        );

        // the job's end sets the status (and version, host) in its transaction
        let mut tx = store.begin_write().await.expect("tx");
        set_addon_status_in(
            &mut tx,
            "a",
            "SUCCEEDED",
            Some("1.3.1.0"),
            Some("host-1"),
            9,
        )
        .await
        .expect("status");
        sqlx::query("UPDATE jobs SET status = 'Completed', ended_at = 9 WHERE id = $1")
            .bind(&first_job.id)
            .execute(&mut *tx)
            .await
            .expect("end");
        tx.commit().await.expect("commit");
        let now = store.addon("a").await.expect("addon");
        assert_eq!(
            (now.status.as_str(), now.version.as_str(), now.host.as_str()),
            ("SUCCEEDED", "1.3.1.0", "host-1")
        );

        let redeploy = job(&p, "addon:a");
        store
            .start_addon_job(&p, &e.id, "a", "UPGRADING", &redeploy)
            .await
            .expect("action");
        let now = store.get_addon(&p, &e.id, "a").await.expect("addon");
        assert_eq!(
            (now.status.as_str(), now.job_id.as_str()),
            ("UPGRADING", redeploy.id.as_str())
        );
        assert!(matches!(
            store
                .start_addon_job(&p, &e.id, "nope", "UPGRADING", &job(&p, "addon:n"))
                .await,
            Err(AddonJobError::NotFound)
        ));

        assert_eq!(store.list_addons(&p, &e.id).await.expect("list").len(), 1);
        assert_eq!(
            store
                .addons_of_driver("5d3c3f0f3b2a4c1d9e8f7a6b5c4d3e2f")
                .await
                .expect("by driver")
                .len(),
            1
        );
        // an environment with add-ons stays
        assert!(matches!(
            store.delete_environment(&p, &e.id).await,
            Err(DeleteEnvironmentError::HasAddons(1))
        ));
        let mut tx = store.begin_write().await.expect("tx");
        delete_addon_in(&mut tx, "a").await.expect("remove");
        tx.commit().await.expect("commit");
        assert!(store.list_addons(&p, &e.id).await.expect("list").is_empty());
        assert!(matches!(
            store.delete_environment(&hex32(), &e.id).await,
            Err(DeleteEnvironmentError::NotFound)
        ));
        store.delete_environment(&p, &e.id).await.expect("delete");
        assert!(matches!(
            store.delete_environment(&p, &e.id).await,
            Err(DeleteEnvironmentError::NotFound)
        ));
    })
    .await;
}

fn driver(uuid: &str, name: &str, at: i64) -> DriverRow {
    DriverRow {
        uuid: uuid.into(),
        name: name.into(),
        kind: "addon".into(),
        vendor: "plugboard".into(),
        version: "1.0.0".into(),
        description: String::new(),
        license: "Apache-2.0".into(),
        features: "{\"restart\":true}".into(),
        manifest: serde_json::json!({"name": name}),
        deleted: false,
        created_at: at,
        updated_at: at,
    }
}

#[tokio::test]
async fn driver_rows_keep_their_soft_delete_across_refreshes() {
    on_both(|store| async move {
        let g0 = store.drivers_generation().await.expect("generation");
        store
            .upsert_drivers(&[driver("u1", "alpha", 1), driver("u2", "beta", 1)])
            .await
            .expect("upsert");
        let g1 = store.drivers_generation().await.expect("generation");
        assert!(g1 > g0);
        assert!(store
            .set_driver_deleted("u1", true, 2)
            .await
            .expect("soft delete"));
        assert!(!store
            .set_driver_deleted("nope", true, 2)
            .await
            .expect("unknown"));
        let mut again = driver("u1", "alpha", 3);
        again.version = "1.1.0".into();
        store.upsert_drivers(&[again]).await.expect("refresh");
        let row = store.get_driver("u1").await.expect("row");
        assert!(row.deleted, "a refresh leaves deleted as it was");
        assert_eq!(
            (row.version.as_str(), row.created_at, row.updated_at),
            ("1.1.0", 1, 3)
        );
        let names: Vec<String> = store
            .list_drivers()
            .await
            .expect("list")
            .into_iter()
            .map(|d| d.name)
            .collect();
        assert_eq!(names, ["alpha", "beta"]);
        assert!(store.delete_driver("u2").await.expect("delete"));
        assert!(!store.delete_driver("u2").await.expect("gone"));
        assert!(matches!(
            store.get_driver("u2").await,
            Err(StoreError::NotFound)
        ));
        assert!(store.drivers_generation().await.expect("generation") > g1);
    })
    .await;
}

#[tokio::test]
async fn jobs_pinned_to_a_host_are_claimed_only_there() {
    on_both(|store| async move {
        let project = hex32();
        let mut pinned = job(&project, "servicestage:addon:pinned");
        pinned.host = "alpha".into();
        let free = job(&project, "servicestage:addon:free");
        store.submit_job(&pinned).await.unwrap();
        store.submit_job(&free).await.unwrap();
        let lease = i64::MAX / 2;
        // a process on another host takes only the job that may run anywhere
        let beta = store
            .claim_jobs("beta-1", "beta", 10, lease, 10)
            .await
            .unwrap();
        assert_eq!(
            beta.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(),
            [free.id.as_str()]
        );
        assert!(store
            .claim_jobs("beta-2", "beta", 10, lease, 10)
            .await
            .unwrap()
            .is_empty());
        // the pinned job waits for its host
        let alpha = store
            .claim_jobs("alpha-1", "alpha", 10, lease, 10)
            .await
            .unwrap();
        assert_eq!(alpha.len(), 1);
        assert_eq!(
            (alpha[0].id.as_str(), alpha[0].host.as_str()),
            (pinned.id.as_str(), "alpha")
        );
    })
    .await;
}
