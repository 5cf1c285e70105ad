//! Shared helpers of the store conformance suite (`conformance_*.rs`): run a case on SQLite and
//! on PostgreSQL, and the bootstrap seed and roles the identity cases start from.

use plugboard_core::ids::hex32;
use plugboard_core::time::now_micros;
use plugboard_store::bootstrap::BootstrapSeed;
use plugboard_store::identity::*;
use plugboard_store::testing::TestDb;
use plugboard_store::{Backend, Store};

pub async fn on_both<F, Fut>(case: F)
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

#[allow(dead_code)] // not every conformance file bootstraps
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
