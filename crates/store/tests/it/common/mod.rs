//! Shared helpers of the store suite: the back-ends a case runs on (SQLite always, PostgreSQL
//! when `PLUGBOARD_TEST_PG_ADMIN_URL` names a server), running a case on each, and the
//! bootstrap seed and roles the identity cases start from.

use plugboard_core::ids::hex32;
use plugboard_core::time::now_micros;
use plugboard_store::bootstrap::BootstrapSeed;
use plugboard_store::identity::*;
use plugboard_store::testing::TestDb;
use plugboard_store::{Backend, Store};

/// The variable that names the PostgreSQL server of the store suite (`scripts/test.sh` sets it;
/// the other crates' tests fall back to a local default, see `plugboard_store::testing`).
pub const PG_URL_VAR: &str = "PLUGBOARD_TEST_PG_ADMIN_URL";

/// Whether the suite may use PostgreSQL: `PLUGBOARD_TEST_PG_ADMIN_URL` is set. When it is not,
/// prints that the running test (its thread's name) skipped its PostgreSQL part, so a run
/// without it never passes silently.
pub fn postgres_given() -> bool {
    let given = std::env::var_os(PG_URL_VAR).is_some_and(|v| !v.is_empty());
    if !given {
        let thread = std::thread::current();
        let test = thread.name().unwrap_or("a store test");
        eprintln!("{test}: PostgreSQL skipped ({PG_URL_VAR} is not set); SQLite only");
    }
    given
}

/// The back-ends a store case runs on: SQLite, and PostgreSQL when [`postgres_given`].
pub fn backends() -> Vec<Backend> {
    let mut all = vec![Backend::Sqlite];
    if postgres_given() {
        all.push(Backend::Postgres);
    }
    all
}

/// Run `case` on a fresh, migrated store of each of [`backends`].
pub async fn on_both<F, Fut>(case: F)
where
    F: Fn(Store, Backend) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        case(store.clone(), backend).await;
        store.close().await;
        db.cleanup().await;
    }
}

#[allow(dead_code)] // not every module bootstraps
pub fn seed(role: &str) -> BootstrapSeed {
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

#[allow(dead_code)]
pub fn role(name: &str) -> Role {
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

#[allow(dead_code)]
pub async fn bootstrapped(store: &Store) -> BootstrapSeed {
    store.upsert_role(&role("te_admin")).await.expect("role");
    let s = seed("te_admin");
    assert!(store.bootstrap_once(&s).await.expect("bootstrap"));
    s
}
