//! Store conformance, GaussDB: instances, plugins, licenses and extensions; every case runs on
//! SQLite and on PostgreSQL.

use crate::common;

use common::on_both;
use plugboard_core::ids::hex32;
use plugboard_store::StoreError;

fn gaussdb_instance(
    project_id: &str,
    name: &str,
    created_at: i64,
) -> plugboard_store::gaussdb::GaussDbInstance {
    plugboard_store::gaussdb::GaussDbInstance {
        id: format!("{}in14", hex32()),
        project_id: project_id.into(),
        name: name.into(),
        host: "127.0.0.1".into(),
        port: 5432,
        db_user: "postgres".into(),
        password_sealed: "sealed".into(),
        database_name: "postgres".into(),
        install_mode: "local".into(),
        pg_config: "/usr/bin/pg_config".into(),
        sharedir: "/usr/share/postgresql/15".into(),
        pkglibdir: "/usr/lib/postgresql/15/lib".into(),
        version: "15.19".into(),
        pg_major: 15,
        status: "ACTIVE".into(),
        created_at,
        updated_at: created_at,
    }
}

#[tokio::test]
async fn gaussdb_instances_plugins_licenses_and_extensions() {
    use plugboard_store::gaussdb::*;
    on_both(|store, backend| async move {
        let project = hex32();
        let a = gaussdb_instance(&project, "pg-main", 1);
        let b = gaussdb_instance(&project, "pg_100%", 2);
        store.create_gaussdb_instance(&a).await.expect("create a");
        store.create_gaussdb_instance(&b).await.expect("create b");
        let dup = gaussdb_instance(&project, "pg-main", 3);
        assert!(
            matches!(
                store.create_gaussdb_instance(&dup).await,
                Err(StoreError::Conflict(_))
            ),
            "{backend:?}: names are unique per project"
        );
        store
            .create_gaussdb_instance(&gaussdb_instance(&hex32(), "pg-main", 4))
            .await
            .expect("the same name in another project");
        assert_eq!(
            store
                .get_gaussdb_instance(&project, &a.id)
                .await
                .expect("get"),
            a
        );
        assert!(matches!(
            store.get_gaussdb_instance(&hex32(), &a.id).await,
            Err(StoreError::NotFound)
        ));

        let all = store
            .list_gaussdb_instances(&project, &InstanceFilter::default(), 0, 10)
            .await
            .expect("list");
        assert_eq!(
            (
                all.0.iter().map(|i| i.id.clone()).collect::<Vec<_>>(),
                all.1
            ),
            (vec![a.id.clone(), b.id.clone()], 2)
        );
        let page = store
            .list_gaussdb_instances(&project, &InstanceFilter::default(), 1, 1)
            .await
            .expect("page");
        assert_eq!((page.0[0].id.clone(), page.1), (b.id.clone(), 2));
        let contains = |name: &str| InstanceFilter {
            name: Some(name.into()),
            name_contains: true,
            ..Default::default()
        };
        let found = store
            .list_gaussdb_instances(&project, &contains("main"), 0, 10)
            .await
            .expect("fuzzy");
        assert_eq!(found.1, 1);
        let found = store
            .list_gaussdb_instances(&project, &contains("0%"), 0, 10)
            .await
            .expect("escaped %");
        assert_eq!(
            (found.0[0].id.clone(), found.1),
            (b.id.clone(), 1),
            "{backend:?}: % is literal"
        );
        let found = store
            .list_gaussdb_instances(&project, &contains("g_1"), 0, 10)
            .await
            .expect("escaped _");
        assert_eq!(found.1, 1, "{backend:?}: _ is literal");
        let exact = InstanceFilter {
            name: Some("main".into()),
            ..Default::default()
        };
        assert_eq!(
            store
                .list_gaussdb_instances(&project, &exact, 0, 10)
                .await
                .expect("exact")
                .1,
            0
        );
        let by_id = InstanceFilter {
            id: Some(b.id.clone()),
            ..Default::default()
        };
        assert_eq!(
            store
                .list_gaussdb_instances(&project, &by_id, 0, 10)
                .await
                .expect("id")
                .1,
            1
        );

        let plugin = |version: &str, files: &[&str]| {
            (
                InstalledPlugin {
                    instance_id: a.id.clone(),
                    plugin_name: "postgis".into(),
                    version: version.into(),
                    sha256: "ab".repeat(32),
                    extensions: vec!["postgis".into(), "postgis_raster".into()],
                    job_id: plugboard_core::ids::uuid(),
                    installed_at: 10,
                },
                files
                    .iter()
                    .map(|p| PluginFile {
                        path: p.to_string(),
                        sha256: format!("{p}-hash"),
                    })
                    .collect::<Vec<_>>(),
            )
        };
        let (p1, f1) = plugin(
            "3.3.1",
            &["/share/extension/postgis.control", "/lib/postgis-3.so"],
        );
        store
            .record_plugin_install(&p1, Some(&f1))
            .await
            .expect("record");
        let (p2, f2) = plugin("3.3.2", &["/share/extension/postgis.control"]);
        store
            .record_plugin_install(&p2, Some(&f2))
            .await
            .expect("record again");
        let (p3, _) = plugin("3.3.3", &[]);
        store
            .record_plugin_install(&p3, None)
            .await
            .expect("record without files");
        assert_eq!(
            store
                .list_plugin_files(&a.id, "postgis")
                .await
                .expect("files"),
            f2,
            "{backend:?}: None leaves the file records alone"
        );
        store
            .record_plugin_install(&p2, Some(&f2))
            .await
            .expect("record again");
        assert_eq!(
            store.list_installed_plugins(&a.id).await.expect("plugins"),
            vec![p2.clone()]
        );
        assert_eq!(
            store
                .list_plugin_files(&a.id, "postgis")
                .await
                .expect("files"),
            f2,
            "{backend:?}: a later install replaces the file records"
        );

        assert!(!store.has_plugin_license(&a.id, "*").await.expect("license"));
        store
            .set_plugin_license(&a.id, "*", "s1", 1)
            .await
            .expect("set");
        store
            .set_plugin_license(&a.id, "*", "s2", 2)
            .await
            .expect("replace");
        assert!(store.has_plugin_license(&a.id, "*").await.expect("license"));

        let dbs = vec!["app".to_string(), "gis".to_string()];
        store
            .set_extensions(&a.id, "postgis", "postgis", &dbs, true, 5)
            .await
            .expect("on");
        store
            .set_extensions(&a.id, "postgis", "postgis", &dbs, true, 6)
            .await
            .expect("on twice");
        store
            .set_extensions(&a.id, "postgis", "postgis_raster", &dbs[..1], true, 6)
            .await
            .expect("raster");
        assert_eq!(
            store.list_extensions_on(&a.id, "app").await.expect("app"),
            vec!["postgis", "postgis_raster"]
        );
        assert_eq!(
            store.count_extension_databases(&a.id).await.expect("count"),
            2
        );
        store
            .set_extensions(&a.id, "postgis", "postgis", &dbs[1..], false, 7)
            .await
            .expect("off");
        assert!(store
            .list_extensions_on(&a.id, "gis")
            .await
            .expect("gis")
            .is_empty());
        assert_eq!(
            store.count_extension_databases(&a.id).await.expect("count"),
            1
        );

        assert!(matches!(
            store.delete_gaussdb_instance(&hex32(), &a.id).await,
            Err(StoreError::NotFound)
        ));
        store
            .delete_gaussdb_instance(&project, &a.id)
            .await
            .expect("delete");
        assert!(store
            .list_installed_plugins(&a.id)
            .await
            .expect("gone")
            .is_empty());
        assert!(store
            .list_plugin_files(&a.id, "postgis")
            .await
            .expect("gone")
            .is_empty());
        assert!(store
            .list_extensions_on(&a.id, "app")
            .await
            .expect("gone")
            .is_empty());
        assert!(!store.has_plugin_license(&a.id, "*").await.expect("gone"));
        assert!(matches!(
            store.get_gaussdb_instance(&project, &a.id).await,
            Err(StoreError::NotFound)
        ));
    })
    .await;
}

/// An install job on `instance` of `project`, its input naming `mode`.
fn install_job(project: &str, instance: &str, mode: &str) -> plugboard_store::jobs::NewJob {
    plugboard_store::jobs::NewJob {
        id: plugboard_core::ids::uuid(),
        project_id: project.into(),
        kind: "InstallKernelPlugin".into(),
        target: format!("gaussdb:{instance}"),
        target_name: String::new(),
        steps: vec!["download".into(), "check".into()],
        input: serde_json::json!({"instance_id": instance, "mode": mode}),
        created_at: 10,
        host: String::new(),
    }
}

#[tokio::test]
async fn gaussdb_job_submitted_in_one_statement_only_on_an_active_instance_of_its_project() {
    use plugboard_store::jobs::InsertJobError;
    on_both(|store, backend| async move {
        let project = hex32();
        let local = gaussdb_instance(&project, "pg-local", 1);
        let mut simulated = gaussdb_instance(&project, "pg-sim", 2);
        simulated.install_mode = "simulated".into();
        let mut creating = gaussdb_instance(&project, "pg-creating", 3);
        creating.status = "CREATING".into();
        for i in [&local, &simulated, &creating] {
            store.create_gaussdb_instance(i).await.expect("create");
        }
        let submit = |project: String, instance: String| {
            let store = store.clone();
            async move {
                let job = install_job(&project, &instance, "simulated");
                let when_local = serde_json::json!({"instance_id": instance, "mode": "local"});
                let written = store
                    .submit_gaussdb_job(&job, &instance, ("local", &when_local))
                    .await;
                (job, written)
            }
        };

        let (job, written) = submit(project.clone(), local.id.clone()).await;
        assert!(matches!(written, Ok(true)), "{backend:?}: {written:?}");
        let stored = store.get_job(&project, &job.id).await.expect("stored");
        assert_eq!(
            stored.target_name, "pg-local",
            "{backend:?}: the row's name"
        );
        assert_eq!(
            stored.input["mode"], "local",
            "{backend:?}: the local input"
        );
        assert_eq!(
            (stored.status.as_str(), stored.target.as_str()),
            ("queued", format!("gaussdb:{}", local.id).as_str())
        );
        let (_, again) = submit(project.clone(), local.id.clone()).await;
        assert!(
            matches!(again, Err(InsertJobError::TargetBusy)),
            "{backend:?}: one active job per instance: {again:?}"
        );

        let (job, written) = submit(project.clone(), simulated.id.clone()).await;
        assert!(matches!(written, Ok(true)), "{backend:?}: {written:?}");
        let stored = store.get_job(&project, &job.id).await.expect("stored");
        assert_eq!(
            (stored.target_name.as_str(), stored.input["mode"].as_str()),
            ("pg-sim", Some("simulated")),
            "{backend:?}: any other mode keeps the job's input"
        );

        for (project, instance, why) in [
            (project.clone(), creating.id.clone(), "not ACTIVE"),
            (hex32(), simulated.id.clone(), "another project's"),
            (
                project.clone(),
                format!("{}in14", hex32()),
                "no such instance",
            ),
        ] {
            let (job, written) = submit(project.clone(), instance).await;
            assert!(
                matches!(written, Ok(false)),
                "{backend:?}: {why}: {written:?}"
            );
            assert!(
                matches!(
                    store.get_job(&project, &job.id).await,
                    Err(StoreError::NotFound)
                ),
                "{backend:?}: {why}: nothing written"
            );
        }
    })
    .await;
}
