//! The store conformance suite: every case runs on SQLite and on PostgreSQL.

use plugboard_core::ids::hex32;
use plugboard_core::time::now_micros;
use plugboard_store::bootstrap::BootstrapSeed;
use plugboard_store::identity::*;
use plugboard_store::testing::TestDb;
use plugboard_store::{Backend, Store, StoreError};

async fn on_both<F, Fut>(case: F)
where
    F: Fn(Store, Backend) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        case(store.clone(), backend).await;
        store.close().await;
        db.cleanup().await;
    }
}

fn seed(role: &str) -> BootstrapSeed {
    let domain = hex32();
    let admin = hex32();
    BootstrapSeed {
        domain: Domain {
            id: domain.clone(),
            name: "plugboard".into(),
            enabled: true,
        },
        admin: User {
            id: admin.clone(),
            domain_id: domain.clone(),
            name: "admin".into(),
            password_hash: Some("hash".into()),
            email: String::new(),
            description: String::new(),
            enabled: true,
            is_owner: true,
            created_at: 1,
            tokens_valid_after: 0,
        },
        project: Project {
            id: hex32(),
            domain_id: domain.clone(),
            name: "local".into(),
            parent_id: domain.clone(),
            description: String::new(),
            enabled: true,
            created_at: 1,
        },
        group: Group {
            id: hex32(),
            domain_id: domain.clone(),
            name: "admin".into(),
            description: String::new(),
            created_at: 1,
        },
        credential: Credential {
            access: plugboard_core::ids::access_key(),
            user_id: admin,
            secret_sealed: "v1:sealed".into(),
            status: "active".into(),
            description: String::new(),
            created_at: 1,
        },
        admin_role: role.into(),
        created_at: 1,
    }
}

fn role(name: &str) -> Role {
    Role {
        id: hex32(),
        name: name.into(),
        display_name: name.into(),
        description: String::new(),
        kind: "AA".into(),
        policy: r#"{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["*:*:*"]}]}"#.into(),
        created_at: now_micros(),
    }
}

async fn bootstrapped(store: &Store) -> BootstrapSeed {
    store.upsert_role(&role("te_admin")).await.expect("role");
    let s = seed("te_admin");
    assert!(store.bootstrap_once(&s).await.expect("bootstrap"));
    s
}

#[tokio::test]
async fn migrations_are_idempotent_and_ready() {
    on_both(|store, _| async move {
        store.migrate().await.expect("second migrate");
        assert!(store.ready().await.expect("ready"));
        assert!(!store.is_bootstrapped().await.expect("flag"));
    })
    .await;
}

#[tokio::test]
async fn bootstrap_happens_once() {
    on_both(|store, _| async move {
        let s = bootstrapped(&store).await;
        assert!(store.is_bootstrapped().await.expect("flag"));
        assert!(
            !store
                .bootstrap_once(&seed("te_admin"))
                .await
                .expect("again"),
            "second bootstrap must do nothing"
        );
        let admin = store
            .find_user_by_name(&s.domain.id, "admin")
            .await
            .expect("admin");
        assert!(admin.is_owner);
        let grants = store.effective_grants(&admin.id).await.expect("grants");
        assert_eq!(grants.len(), 1);
        assert_eq!(grants[0].scope, Scope::Domain(s.domain.id.clone()));
        assert_eq!(grants[0].role_name, "te_admin");
        let c = store
            .get_credential(&s.credential.access)
            .await
            .expect("key");
        assert_eq!(c.user_id, admin.id);
    })
    .await;
}

#[tokio::test]
async fn concurrent_bootstraps_on_separate_pools_elect_one() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDb::new(backend).await;
        let first = db.store().await;
        first.upsert_role(&role("te_admin")).await.expect("role");
        // Separate pools stand in for separate processes sharing one database.
        let mut pools = vec![first.clone()];
        for _ in 0..3 {
            pools.push(db.store().await);
        }
        let tasks: Vec<_> = pools
            .iter()
            .flat_map(|s| [s.clone(), s.clone()])
            .map(|s| {
                tokio::spawn(async move {
                    s.bootstrap_once(&seed("te_admin"))
                        .await
                        .expect("bootstrap")
                })
            })
            .collect();
        let mut won = 0;
        for t in tasks {
            if t.await.expect("join") {
                won += 1;
            }
        }
        assert_eq!(won, 1, "exactly one bootstrap on {backend:?}");
        let domains: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM domains")
            .fetch_one(first.pool())
            .await
            .expect("count");
        assert_eq!(domains, 1);
        for p in pools {
            p.close().await;
        }
        db.cleanup().await;
    }
}

#[tokio::test]
async fn projects() {
    on_both(|store, _| async move {
        let s = bootstrapped(&store).await;
        let p = Project {
            id: hex32(),
            domain_id: s.domain.id.clone(),
            name: "local_dev".into(),
            parent_id: s.domain.id.clone(),
            description: "dev".into(),
            enabled: true,
            created_at: 5,
        };
        store.create_project(&p).await.expect("create");
        assert_eq!(store.get_project(&p.id).await.expect("get"), p);
        let dup = Project {
            id: hex32(),
            ..p.clone()
        };
        assert!(matches!(
            store.create_project(&dup).await,
            Err(StoreError::Conflict(_))
        ));
        let all = store
            .list_projects(&ProjectFilter {
                domain_id: Some(s.domain.id.clone()),
                ..Default::default()
            })
            .await
            .expect("list");
        assert_eq!(
            all.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            vec!["local", "local_dev"]
        );
        let named = store
            .list_projects(&ProjectFilter {
                name: Some("local".into()),
                ..Default::default()
            })
            .await
            .expect("list");
        assert_eq!(named.len(), 1);
        assert_eq!(named[0].id, s.project.id);
        let disabled = store
            .list_projects(&ProjectFilter {
                enabled: Some(false),
                ..Default::default()
            })
            .await
            .expect("list");
        assert!(disabled.is_empty());
        assert!(matches!(
            store.get_project(&hex32()).await,
            Err(StoreError::NotFound)
        ));
    })
    .await;
}

#[tokio::test]
async fn users_groups_grants_and_cascading_delete() {
    on_both(|store, _| async move {
        let s = bootstrapped(&store).await;
        let readonly = store.upsert_role(&role("readonly")).await.expect("role");
        let again = store
            .upsert_role(&Role {
                id: hex32(),
                display_name: "Tenant Guest".into(),
                ..role("readonly")
            })
            .await
            .expect("upsert");
        assert_eq!(readonly, again, "upsert keeps the role id");
        assert_eq!(
            store.get_role(&readonly).await.expect("role").display_name,
            "Tenant Guest"
        );

        let user = User {
            id: hex32(),
            domain_id: s.domain.id.clone(),
            name: "alice".into(),
            password_hash: None,
            email: "a@example.com".into(),
            description: String::new(),
            enabled: true,
            is_owner: false,
            created_at: 7,
            tokens_valid_after: 0,
        };
        store.create_user(&user).await.expect("user");
        assert!(matches!(
            store
                .create_user(&User {
                    id: hex32(),
                    ..user.clone()
                })
                .await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            store
                .find_user_by_name(&s.domain.id, "alice")
                .await
                .expect("find"),
            user
        );
        assert_eq!(
            store
                .list_users(&s.domain.id, None)
                .await
                .expect("list")
                .len(),
            2
        );

        let group = Group {
            id: hex32(),
            domain_id: s.domain.id.clone(),
            name: "readers".into(),
            description: String::new(),
            created_at: 8,
        };
        store.create_group(&group).await.expect("group");
        store
            .add_group_member(&group.id, &user.id)
            .await
            .expect("member");
        store
            .add_group_member(&group.id, &user.id)
            .await
            .expect("member is idempotent");
        store
            .grant(&group.id, &readonly, &Scope::Project(s.project.id.clone()))
            .await
            .expect("grant");
        store
            .grant(&group.id, &readonly, &Scope::Project(s.project.id.clone()))
            .await
            .expect("grant is idempotent");
        let grants = store.effective_grants(&user.id).await.expect("grants");
        assert_eq!(grants.len(), 1);
        assert_eq!(grants[0].scope, Scope::Project(s.project.id.clone()));
        assert!(grants[0].policy.contains("Statement"));

        store
            .update_user_credentials(&user.id, Some("newhash"), Some(false))
            .await
            .expect("update");
        let changed = store.get_user(&user.id).await.expect("get");
        assert_eq!(changed.password_hash.as_deref(), Some("newhash"));
        assert!(!changed.enabled);
        assert!(changed.tokens_valid_after > 0);

        let token = TokenRecord {
            user_id: user.id.clone(),
            project_id: Some(s.project.id.clone()),
            methods: "password".into(),
            issued_at: 10,
            expires_at: 20,
            revoked: false,
        };
        store.insert_token("hash-1", &token).await.expect("token");
        let cred = Credential {
            access: plugboard_core::ids::access_key(),
            user_id: user.id.clone(),
            secret_sealed: "v1:x".into(),
            status: "active".into(),
            description: "d".into(),
            created_at: 9,
        };
        store.insert_credential(&cred).await.expect("cred");
        assert_eq!(
            store
                .list_credentials(&s.domain.id, Some(&user.id))
                .await
                .expect("list")
                .len(),
            1
        );
        assert_eq!(
            store
                .list_credentials(&s.domain.id, None)
                .await
                .expect("list")
                .len(),
            2
        );

        store.delete_user(&user.id).await.expect("delete");
        assert!(matches!(
            store.get_user(&user.id).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store.get_token("hash-1").await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store.get_credential(&cred.access).await,
            Err(StoreError::NotFound)
        ));
        assert!(store
            .effective_grants(&user.id)
            .await
            .expect("grants")
            .is_empty());
        assert!(matches!(
            store.delete_user(&user.id).await,
            Err(StoreError::NotFound)
        ));
    })
    .await;
}

#[tokio::test]
async fn tokens_and_keys() {
    on_both(|store, _| async move {
        let s = bootstrapped(&store).await;
        let t = TokenRecord {
            user_id: s.admin.id.clone(),
            project_id: None,
            methods: "password".into(),
            issued_at: 100,
            expires_at: 200,
            revoked: false,
        };
        store.insert_token("h1", &t).await.expect("insert");
        assert_eq!(store.get_token("h1").await.expect("get"), t);
        store.revoke_token("h1").await.expect("revoke");
        assert!(store.get_token("h1").await.expect("get").revoked);
        assert!(matches!(
            store.revoke_token("nope").await,
            Err(StoreError::NotFound)
        ));
        store
            .insert_token(
                "h2",
                &TokenRecord {
                    expires_at: 1_000,
                    ..t.clone()
                },
            )
            .await
            .expect("insert");
        assert_eq!(store.prune_tokens(500).await.expect("prune"), 1);
        assert!(store.get_token("h2").await.is_ok());

        let c = store
            .get_credential(&s.credential.access)
            .await
            .expect("get");
        assert!(matches!(
            store.insert_credential(&c).await,
            Err(StoreError::Conflict(_))
        ));
        store.delete_credential(&c.access).await.expect("delete");
        assert!(matches!(
            store.delete_credential(&c.access).await,
            Err(StoreError::NotFound)
        ));
    })
    .await;
}

mod dbss {
    use super::*;
    use plugboard_store::dbss::*;

    fn instance(project: &str, limit: i64) -> AuditInstance {
        AuditInstance {
            id: hex32(),
            project_id: project.into(),
            name: "audit".into(),
            edition: "custom".into(),
            database_limit: limit,
            database_count: 0,
            on_count: 0,
            status: "ACTIVE".into(),
            created_at: now_micros(),
        }
    }

    fn database(instance: &str, name: &str, port: &str) -> AuditDatabase {
        AuditDatabase {
            id: plugboard_core::ids::dbss_database_id(),
            instance_id: instance.into(),
            db_classification: "ECS".into(),
            name: name.into(),
            db_type: "MYSQL".into(),
            version: "10".into(),
            charset: "UTF8".into(),
            ip: "127.0.0.1".into(),
            port: port.into(),
            os: "LINUX64".into(),
            instance_name: String::new(),
            status: "OFF".into(),
            audit_status: "SHUTOFF".into(),
            audit_reason: String::new(),
            probed_at: 0,
            created_at: now_micros(),
        }
    }

    #[tokio::test]
    async fn limit_duplicates_paging_and_counters() {
        on_both(|store, _| async move {
            let project = hex32();
            let inst = instance(&project, 3);
            store.create_audit_instance(&inst).await.expect("instance");
            // Concurrent adds never pass the limit.
            let tasks: Vec<_> = (0..8)
                .map(|i| {
                    let s = store.clone();
                    let d = database(&inst.id, &format!("db{i}"), "3306");
                    let p = project.clone();
                    tokio::spawn(async move { s.add_audit_database(&p, &d).await })
                })
                .collect();
            let mut ok = 0;
            let mut limited = 0;
            for t in tasks {
                match t.await.expect("join") {
                    Ok(()) => ok += 1,
                    Err(AddDatabaseError::LimitReached) => limited += 1,
                    Err(e) => panic!("unexpected {e:?}"),
                }
            }
            assert_eq!((ok, limited), (3, 5));
            let inst = store
                .get_audit_instance(&project, &inst.id)
                .await
                .expect("get");
            assert_eq!(inst.database_count, 3);
            let (page, total) = store
                .list_audit_databases(&inst, None, 0, 2)
                .await
                .expect("list");
            assert_eq!((page.len(), total), (2, 3));
            let (rest, _) = store
                .list_audit_databases(&inst, None, 2, 2)
                .await
                .expect("list");
            assert_eq!(rest.len(), 1);
            assert!(!page.iter().any(|d| d.id == rest[0].id));

            // Duplicate ip+port+name in one instance; and another project's view is empty.
            let big = instance(&project, 10);
            store.create_audit_instance(&big).await.expect("instance");
            let d = database(&big.id, "orders", "5432");
            store.add_audit_database(&project, &d).await.expect("add");
            assert!(matches!(
                store
                    .add_audit_database(&project, &database(&big.id, "orders", "5432"))
                    .await,
                Err(AddDatabaseError::Duplicate)
            ));
            assert!(matches!(
                store
                    .add_audit_database(&hex32(), &database(&big.id, "x", "1"))
                    .await,
                Err(AddDatabaseError::InstanceNotFound)
            ));
            let big_now = store
                .get_audit_instance(&project, &big.id)
                .await
                .expect("get");
            assert_eq!(big_now.database_count, 1, "a refused add is not counted");
            assert!(matches!(
                store.get_audit_instance(&hex32(), &big.id).await,
                Err(StoreError::NotFound)
            ));

            // Switch and delete keep the counters true.
            assert!(store
                .switch_audit_database(&big.id, &d.id, true)
                .await
                .expect("on"));
            assert!(!store
                .switch_audit_database(&big.id, &d.id, true)
                .await
                .expect("on again"));
            let big_now = store
                .get_audit_instance(&project, &big.id)
                .await
                .expect("get");
            assert_eq!(big_now.on_count, 1);
            let (on, on_total) = store
                .list_audit_databases(&big_now, Some("ON"), 0, 10)
                .await
                .expect("list");
            assert_eq!((on.len(), on_total), (1, 1));
            let (off, off_total) = store
                .list_audit_databases(&big_now, Some("OFF"), 0, 10)
                .await
                .expect("list");
            assert_eq!((off.len(), off_total), (0, 0));
            store
                .delete_audit_database(&big.id, &d.id)
                .await
                .expect("delete");
            let big_now = store
                .get_audit_instance(&project, &big.id)
                .await
                .expect("get");
            assert_eq!((big_now.database_count, big_now.on_count), (0, 0));
            assert!(matches!(
                store.delete_audit_database(&big.id, &d.id).await,
                Err(StoreError::NotFound)
            ));
            assert!(matches!(
                store.switch_audit_database(&big.id, &d.id, true).await,
                Err(StoreError::NotFound)
            ));

            store
                .delete_audit_instance(&project, &inst.id)
                .await
                .expect("delete instance");
            assert!(matches!(
                store.get_audit_database(&inst.id, &page[0].id).await,
                Err(StoreError::NotFound)
            ));
        })
        .await;
    }

    #[tokio::test]
    async fn probe_claims_and_outcomes() {
        on_both(|store, _| async move {
            let project = hex32();
            let inst = instance(&project, 100);
            store.create_audit_instance(&inst).await.expect("instance");
            let mut ids = vec![];
            for i in 0..10 {
                let d = database(&inst.id, &format!("db{i}"), "3306");
                store.add_audit_database(&project, &d).await.expect("add");
                ids.push(d.id);
            }
            for id in &ids[..6] {
                store
                    .switch_audit_database(&inst.id, id, true)
                    .await
                    .expect("on");
            }
            let now = now_micros();
            let first = store
                .claim_due_probes(now, now + 1_000_000, 4)
                .await
                .expect("claim");
            let second = store
                .claim_due_probes(now, now + 1_000_000, 4)
                .await
                .expect("claim");
            assert_eq!(
                (first.len(), second.len()),
                (4, 2),
                "only ON rows, each claimed once"
            );
            assert!(store
                .claim_due_probes(now, now + 1_000_000, 4)
                .await
                .expect("claim")
                .is_empty());
            let later = store
                .claim_due_probes(now + 2_000_000, now + 3_000_000, 10)
                .await
                .expect("claim");
            assert_eq!(later.len(), 6, "due again after the interval");

            // An outcome for a database switched OFF meanwhile does not overwrite SHUTOFF.
            let generation = |id: &str| {
                later
                    .iter()
                    .find(|p| p.id == id)
                    .map(|p| p.generation)
                    .expect("claimed")
            };
            store
                .switch_audit_database(&inst.id, &ids[0], false)
                .await
                .expect("off");
            let written = store
                .record_probes(&[
                    ProbeOutcome {
                        id: ids[0].clone(),
                        generation: generation(&ids[0]),
                        audit_status: "ACTIVE",
                        audit_reason: String::new(),
                        probed_at: now,
                    },
                    ProbeOutcome {
                        id: ids[1].clone(),
                        generation: generation(&ids[1]),
                        audit_status: "ERROR",
                        audit_reason: "connection refused".into(),
                        probed_at: now,
                    },
                ])
                .await
                .expect("record");
            assert_eq!(written, 1, "only the database still ON at its generation");
            let off = store
                .get_audit_database(&inst.id, &ids[0])
                .await
                .expect("get");
            assert_eq!(
                (off.status.as_str(), off.audit_status.as_str()),
                ("OFF", "SHUTOFF")
            );
            let err = store
                .get_audit_database(&inst.id, &ids[1])
                .await
                .expect("get");
            assert_eq!(
                (err.audit_status.as_str(), err.audit_reason.as_str()),
                ("ERROR", "connection refused")
            );
        })
        .await;
    }

    /// A probe claimed before OFF → ON (or ON → OFF → ON) answers a generation that is gone:
    /// its outcome is dropped, and only the probe claimed after the last switch is recorded.
    #[tokio::test]
    async fn stale_probe_after_off_and_on_is_not_recorded() {
        on_both(|store, backend| async move {
            let project = hex32();
            let inst = instance(&project, 10);
            store.create_audit_instance(&inst).await.expect("instance");
            let d = database(&inst.id, "orders", "3306");
            store.add_audit_database(&project, &d).await.expect("add");
            assert!(store
                .switch_audit_database(&inst.id, &d.id, true)
                .await
                .expect("on"));
            let now = now_micros();
            let [stale] = <[DueProbe; 1]>::try_from(
                store
                    .claim_due_probes(now, now + 60_000_000, 10)
                    .await
                    .expect("claim"),
            )
            .expect("one claim");
            assert_eq!(stale.id, d.id);

            // While that probe runs, the database is switched OFF and ON again.
            assert!(store
                .switch_audit_database(&inst.id, &d.id, false)
                .await
                .expect("off"));
            assert!(store
                .switch_audit_database(&inst.id, &d.id, true)
                .await
                .expect("on again"));
            let outcome = |p: &DueProbe, status: &'static str, reason: &str| ProbeOutcome {
                id: p.id.clone(),
                generation: p.generation,
                audit_status: status,
                audit_reason: reason.into(),
                probed_at: now_micros(),
            };
            // The stale probe's result arrives: dropped, the database waits for its new probe.
            let written = store
                .record_probes(&[outcome(&stale, "ERROR", "connection refused")])
                .await
                .expect("record");
            assert_eq!(written, 0, "{backend:?}: a stale outcome is not written");
            let seen = store
                .get_audit_database(&inst.id, &d.id)
                .await
                .expect("get");
            assert_eq!(
                (
                    seen.status.as_str(),
                    seen.audit_status.as_str(),
                    seen.audit_reason.as_str(),
                    seen.probed_at
                ),
                ("ON", "SHUTOFF", "", 0),
                "{backend:?}"
            );

            // Switched ON again, it is due at once, under a new generation; that probe counts.
            let [fresh] = <[DueProbe; 1]>::try_from(
                store
                    .claim_due_probes(now, now + 60_000_000, 10)
                    .await
                    .expect("claim"),
            )
            .expect("due again after ON");
            assert_ne!(fresh.generation, stale.generation);
            let written = store
                .record_probes(&[outcome(&fresh, "ACTIVE", "")])
                .await
                .expect("record");
            assert_eq!(written, 1);
            // ... and a late stale result after it does not overwrite it either.
            store
                .record_probes(&[outcome(&stale, "ERROR", "late")])
                .await
                .expect("record");
            let seen = store
                .get_audit_database(&inst.id, &d.id)
                .await
                .expect("get");
            assert_eq!(
                (seen.audit_status.as_str(), seen.audit_reason.as_str()),
                ("ACTIVE", ""),
                "{backend:?}"
            );

            // Re-probes of an unchanged database keep its generation and are recorded.
            let [again] = <[DueProbe; 1]>::try_from(
                store
                    .claim_due_probes(now + 120_000_000, now + 180_000_000, 10)
                    .await
                    .expect("claim"),
            )
            .expect("re-probe");
            assert_eq!(again.generation, fresh.generation);
            let written = store
                .record_probes(&[outcome(&again, "ERROR", "connection refused")])
                .await
                .expect("record");
            assert_eq!(written, 1);
        })
        .await;
    }

    #[tokio::test]
    async fn concurrent_claims_on_separate_pools_do_not_overlap() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let db = TestDb::new(backend).await;
            let store = db.store().await;
            let project = hex32();
            let inst = instance(&project, 1000);
            store.create_audit_instance(&inst).await.expect("instance");
            for i in 0..300 {
                let d = database(&inst.id, &format!("db{i}"), "1");
                store.add_audit_database(&project, &d).await.expect("add");
                store
                    .switch_audit_database(&inst.id, &d.id, true)
                    .await
                    .expect("on");
            }
            let mut pools = vec![];
            for _ in 0..3 {
                pools.push(db.store().await);
            }
            let now = now_micros();
            let tasks: Vec<_> = pools
                .iter()
                .cloned()
                .map(|s| {
                    tokio::spawn(async move {
                        let mut got = vec![];
                        loop {
                            let batch = s
                                .claim_due_probes(now, now + 60_000_000, 25)
                                .await
                                .expect("claim");
                            if batch.is_empty() {
                                break got;
                            }
                            got.extend(batch.into_iter().map(|p| p.id));
                        }
                    })
                })
                .collect();
            let mut all = vec![];
            for t in tasks {
                all.extend(t.await.expect("join"));
            }
            let unique: std::collections::HashSet<_> = all.iter().collect();
            assert_eq!(all.len(), 300, "{backend:?}: every due row claimed");
            assert_eq!(unique.len(), 300, "{backend:?}: no row claimed twice");
            for p in pools {
                p.close().await;
            }
            store.close().await;
            db.cleanup().await;
        }
    }
}

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

#[tokio::test]
async fn lockouts_count_lock_expire_clear_and_list() {
    use plugboard_store::lockout::{LockKind, LockPolicy};
    on_both(|store, backend| async move {
        let s = bootstrapped(&store).await;
        let user = s.admin.id.clone();
        let policy = LockPolicy {
            threshold: 3,
            lock_micros: 1_000,
        };
        let fail = |now| store.record_lock_failure(LockKind::User, &user, now, policy);
        assert_eq!(fail(100).await.unwrap().state.failures, 1);
        assert_eq!(fail(200).await.unwrap().state.failures, 2);
        let third = fail(300).await.unwrap();
        assert!(third.locked_now, "{backend:?}: {third:?}");
        assert_eq!(third.state.locked_until, Some(1_300));
        // While locked nothing changes, and a success does not lift the lock.
        let during = fail(400).await.unwrap();
        assert!(!during.locked_now);
        assert_eq!(
            (during.state.failures, during.state.locked_until),
            (3, Some(1_300))
        );
        store
            .clear_lock_failures(LockKind::User, &user, 500)
            .await
            .unwrap();
        let st = store
            .lock_state(LockKind::User, &user)
            .await
            .unwrap()
            .unwrap();
        assert!(st.locked_at(500) && !st.locked_at(1_300));
        // After the lock, counting starts again; so it does after a long quiet spell.
        let after = fail(1_400).await.unwrap();
        assert_eq!((after.state.failures, after.state.locked_until), (1, None));
        assert_eq!(fail(1_500).await.unwrap().state.failures, 2);
        assert_eq!(fail(5_000).await.unwrap().state.failures, 1);
        store
            .clear_lock_failures(LockKind::User, &user, 5_001)
            .await
            .unwrap();
        assert_eq!(store.lock_state(LockKind::User, &user).await.unwrap(), None);

        // Concurrent failures are all counted and exactly one of them locks.
        let policy = LockPolicy {
            threshold: 5,
            lock_micros: 60_000_000,
        };
        let ak = s.credential.access.clone();
        let tries: Vec<_> = (0..12)
            .map(|i| {
                let (store, ak) = (store.clone(), ak.clone());
                tokio::spawn(async move {
                    store
                        .record_lock_failure(LockKind::AccessKey, &ak, 10_000 + i, policy)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut locked_now = 0;
        for t in tries {
            locked_now += usize::from(t.await.unwrap().locked_now);
        }
        assert_eq!(locked_now, 1, "{backend:?}");
        let st = store
            .lock_state(LockKind::AccessKey, &ak)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(st.failures, 5);

        // Listed for the key's domain only, with its user.
        store
            .record_lock_failure(LockKind::User, &user, 20_000, policy)
            .await
            .unwrap();
        let list = store.list_lockouts(&s.domain.id).await.unwrap();
        let got: Vec<_> = list
            .iter()
            .map(|e| {
                (
                    e.kind,
                    e.subject.as_str(),
                    e.user_name.as_str(),
                    e.state.failures,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (LockKind::User, user.as_str(), "admin", 1),
                (LockKind::AccessKey, ak.as_str(), "admin", 5)
            ]
        );
        assert!(store.list_lockouts(&hex32()).await.unwrap().is_empty());
        assert!(store.unlock(LockKind::AccessKey, &ak).await.unwrap());
        assert!(!store.unlock(LockKind::AccessKey, &ak).await.unwrap());
        assert_eq!(
            store.lock_state(LockKind::AccessKey, &ak).await.unwrap(),
            None
        );
    })
    .await;
}
