//! Store conformance, identity: migrations, bootstrap, projects, users, groups, grants, tokens,
//! keys and lockouts; every case runs on SQLite and on PostgreSQL.

use crate::common;

use common::{bootstrapped, on_both, role, seed};
use plugboard_core::ids::hex32;
use plugboard_store::identity::*;
use plugboard_store::testing::TestDb;
use plugboard_store::StoreError;

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
    for backend in crate::common::backends() {
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
