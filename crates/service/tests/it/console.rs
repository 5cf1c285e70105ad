//! The web console's sessions without HTTP, on the back-end `PLUGBOARD_TEST_BACKEND` names:
//! one refusal for a wrong password and an unknown account, the same lockout as the token
//! path, the idle expiry, sessions ended by a password change, a disabled or a deleted user,
//! and the job listing across projects.

use plugboard_auth::identity::Identity;
use plugboard_core::config::{ConsoleConfig, IamConfig};
use plugboard_core::secrets::MasterKey;
use plugboard_core::time::now_micros;
use plugboard_service::console::{csrf_token, Console, Error};
use plugboard_service::identity::{IdentityService, NewUser, UserUpdate};
use plugboard_store::console::JobsQuery;
use plugboard_store::jobs::NewJob;
use plugboard_store::testing::TestDb;
use plugboard_store::{Backend, Store};
use std::sync::Arc;

fn backend() -> Backend {
    match std::env::var("PLUGBOARD_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

const PASSWORD: &str = "Console-Test-Passw0rd";

struct World {
    db: TestDb,
    store: Store,
    console: Console,
    identity: IdentityService,
    domain_id: String,
    project_id: String,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = TestDb::new(backend()).await;
    let store = db.store().await;
    let key = MasterKey::load_or_create(&dir.path().join("master.key")).expect("key");
    plugboard_service::identity::seed::seed_roles(&store)
        .await
        .expect("roles");
    let first = plugboard_service::identity::seed::first_identity(&key, "local", PASSWORD.into())
        .await
        .expect("first identity");
    store.bootstrap_once(&first.seed).await.expect("bootstrap");
    let auth = Arc::new(Identity::new(store.clone(), key, IamConfig::default()));
    let console = Console::new(
        store.clone(),
        auth.clone(),
        &ConsoleConfig {
            session_idle_minutes: 1,
        },
    );
    let identity = IdentityService::new(store.clone(), auth, "local".into());
    World {
        db,
        store,
        console,
        identity,
        domain_id: first.seed.domain.id.clone(),
        project_id: first.seed.project.id.clone(),
        _dir: dir,
    }
}

#[tokio::test]
async fn sign_in_refuses_alike_then_opens_and_ends_a_session() {
    let w = world().await;
    for (account, user, password) in [
        ("plugboard", "admin", "wrong"),
        ("plugboard", "nobody", PASSWORD),
        ("no-such-account", "admin", PASSWORD),
    ] {
        let e = w
            .console
            .sign_in(account, user, password)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::SignInRefused), "{account}/{user}: {e:?}");
    }
    let s = w
        .console
        .sign_in("plugboard", "admin", PASSWORD)
        .await
        .expect("sign in");
    assert_eq!(s.id.len(), 64);
    let live = w.console.session(&s.id).await.unwrap().expect("live");
    assert_eq!(live.principal.subject.user_name, "admin");
    assert_eq!(live.csrf, csrf_token(&s.id));
    assert_ne!(live.csrf, s.id);
    let projects = w.console.visible_projects(&live.principal).await.unwrap();
    assert_eq!(projects.len(), 1);
    assert!(w.console.session("not-a-session").await.unwrap().is_none());
    assert!(w.console.session(&"0".repeat(64)).await.unwrap().is_none());
    w.console.sign_out(&s.id).await.unwrap();
    assert!(w.console.session(&s.id).await.unwrap().is_none());
    w.db.cleanup().await;
}

#[tokio::test]
async fn wrong_passwords_lock_the_user_as_the_token_path_does() {
    let w = world().await;
    for _ in 0..IamConfig::default().user_lockout_threshold {
        assert!(w
            .console
            .sign_in("plugboard", "admin", "wrong")
            .await
            .is_err());
    }
    let e = w
        .console
        .sign_in("plugboard", "admin", PASSWORD)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::SignInRefused), "{e:?}");
    w.db.cleanup().await;
}

#[tokio::test]
async fn an_idle_session_expires() {
    let w = world().await;
    let s = w
        .console
        .sign_in("plugboard", "admin", PASSWORD)
        .await
        .unwrap();
    let hash = plugboard_auth::token::token_hash(&s.id);
    w.store
        .touch_console_session(&hash, now_micros() - 61_000_000)
        .await
        .unwrap();
    assert!(w.console.session(&s.id).await.unwrap().is_none());
    assert!(w.store.get_console_session(&hash).await.unwrap().is_none());
    w.db.cleanup().await;
}

fn password(p: &str) -> UserUpdate {
    UserUpdate {
        password: Some(p.into()),
        ..Default::default()
    }
}

fn enabled(on: bool) -> UserUpdate {
    UserUpdate {
        enabled: Some(on),
        ..Default::default()
    }
}

#[tokio::test]
async fn password_change_disable_and_delete_end_sessions() {
    let w = world().await;
    let user = w
        .identity
        .create_user(
            &w.domain_id,
            NewUser {
                name: "operator".into(),
                domain_id: w.domain_id.clone(),
                password: Some(PASSWORD.into()),
                email: None,
                description: None,
                enabled: Some(true),
            },
        )
        .await
        .expect("user");
    let sign_in = || w.console.sign_in("plugboard", "operator", PASSWORD);

    let s = sign_in().await.unwrap();
    w.identity
        .update_user(&user, password(&format!("{PASSWORD}-2")))
        .await
        .unwrap();
    assert!(w.console.session(&s.id).await.unwrap().is_none());
    let user = w
        .identity
        .update_user(&user, password(PASSWORD))
        .await
        .unwrap();

    let s = sign_in().await.unwrap();
    let user = w.identity.update_user(&user, enabled(false)).await.unwrap();
    assert!(w.console.session(&s.id).await.unwrap().is_none());
    assert!(sign_in().await.is_err());
    let user = w.identity.update_user(&user, enabled(true)).await.unwrap();

    let s = sign_in().await.unwrap();
    w.identity.delete_user(&user).await.unwrap();
    assert!(w.console.session(&s.id).await.unwrap().is_none());
    w.db.cleanup().await;
}

#[tokio::test]
async fn jobs_are_listed_across_projects_with_filters() {
    let w = world().await;
    let now = now_micros();
    for (i, (project, kind)) in [
        (w.project_id.as_str(), "InstallKernelPlugin"),
        (w.project_id.as_str(), "ServiceStageAddon"),
        ("", "ZStackDeletePluginDrivers"),
        ("ffffffffffffffffffffffffffffffff", "InstallKernelPlugin"),
    ]
    .into_iter()
    .enumerate()
    {
        w.store
            .submit_job(&NewJob {
                id: format!("job-{i}"),
                project_id: project.into(),
                kind: kind.into(),
                target: format!("target-{i}"),
                target_name: format!("target {i}"),
                steps: vec!["only".into()],
                input: serde_json::json!({}),
                created_at: now + i as i64,
                host: String::new(),
            })
            .await
            .unwrap();
    }
    let mine = vec![w.project_id.clone(), String::new()];
    let q = |kinds: &[&str], states: &[&str]| JobsQuery {
        projects: mine.clone(),
        kinds: kinds.iter().map(|k| k.to_string()).collect(),
        states: states.iter().map(|s| s.to_string()).collect(),
        ended_from: None,
    };
    let (all, total) = w.console.jobs(&q(&[], &[]), 0, 50).await.unwrap();
    assert_eq!(total, 3);
    let ids: Vec<&str> = all.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(
        ids,
        ["job-2", "job-1", "job-0"],
        "newest first, other projects left out"
    );
    let (page, total) = w.console.jobs(&q(&[], &[]), 1, 1).await.unwrap();
    assert_eq!((page.len(), total, page[0].id.as_str()), (1, 3, "job-1"));
    let (gauss, _) = w
        .console
        .jobs(&q(&["InstallKernelPlugin"], &["queued"]), 0, 50)
        .await
        .unwrap();
    assert_eq!(gauss.len(), 1);
    let (none, total) = w.console.jobs(&q(&[], &["failed"]), 0, 50).await.unwrap();
    assert!(none.is_empty() && total == 0);
    assert_eq!(
        w.console.job(&mine, "job-2").await.unwrap().kind,
        "ZStackDeletePluginDrivers"
    );
    assert!(matches!(
        w.console.job(&mine, "job-3").await,
        Err(Error::NoSuchJob)
    ));
    w.db.cleanup().await;
}
