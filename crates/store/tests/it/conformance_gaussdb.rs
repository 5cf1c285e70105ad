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
