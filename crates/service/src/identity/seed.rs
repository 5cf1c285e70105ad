//! Identity seeding (docs/contract.md → Bootstrap): the system roles, kept in step with the
//! code at every start, and the first identity of an empty store — the domain, its owner
//! `admin`, the region's project, group `admin` with `te_admin` on the domain, one access key.

use plugboard_auth::policy::SYSTEM_ROLES;
use plugboard_core::secrets::MasterKey;
use plugboard_core::{ids, password, time};
use plugboard_store::bootstrap::BootstrapSeed;
use plugboard_store::identity::{Credential, Domain, Group, Project, Role, User};
use plugboard_store::{Store, StoreError};

/// The name of the bootstrap domain.
pub const DOMAIN_NAME: &str = "plugboard";

/// What seeding can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("seeding role {role}: {source}")]
    Role { role: String, source: StoreError },
    #[error("{0}")]
    Internal(String),
}

/// Insert or update the system roles.
pub async fn seed_roles(store: &Store) -> Result<(), SeedError> {
    for role in SYSTEM_ROLES {
        let policy = serde_json::to_string(&role.policy())
            .map_err(|e| SeedError::Internal(e.to_string()))?;
        store
            .upsert_role(&Role {
                id: ids::hex32(),
                name: role.name.into(),
                display_name: role.display_name.into(),
                description: role.description.into(),
                kind: "AA".into(),
                policy,
                created_at: time::now_micros(),
            })
            .await
            .map_err(|source| SeedError::Role {
                role: role.name.into(),
                source,
            })?;
    }
    Ok(())
}

/// The first identity of a store, with the secrets shown once (the admin's password and the
/// access key's secret).
pub struct FirstIdentity {
    pub seed: BootstrapSeed,
    pub password: String,
    pub secret_key: String,
}

/// The first identity for `region`; `admin_password` is used as given (hashed here).
pub async fn first_identity(
    key: &MasterKey,
    region: &str,
    admin_password: String,
) -> Result<FirstIdentity, SeedError> {
    let hashed = password::hash(&admin_password)
        .await
        .map_err(|e| SeedError::Internal(e.to_string()))?;
    let now = time::now_micros();
    let domain_id = ids::hex32();
    let admin_id = ids::hex32();
    let secret = ids::secret_key();
    let seed = BootstrapSeed {
        domain: Domain {
            id: domain_id.clone(),
            name: DOMAIN_NAME.into(),
            enabled: true,
        },
        admin: User {
            id: admin_id.clone(),
            domain_id: domain_id.clone(),
            name: "admin".into(),
            password_hash: Some(hashed),
            email: String::new(),
            description: "domain owner".into(),
            enabled: true,
            is_owner: true,
            created_at: now,
            tokens_valid_after: 0,
        },
        project: Project {
            id: ids::hex32(),
            domain_id: domain_id.clone(),
            name: region.to_string(),
            parent_id: domain_id.clone(),
            description: String::new(),
            enabled: true,
            created_at: now,
        },
        group: Group {
            id: ids::hex32(),
            domain_id,
            name: "admin".into(),
            description: "Administrators".into(),
            created_at: now,
        },
        credential: Credential {
            access: ids::access_key(),
            user_id: admin_id,
            secret_sealed: key.seal(secret.as_bytes()),
            status: "active".into(),
            description: "bootstrap".into(),
            created_at: now,
        },
        admin_role: "te_admin".into(),
        created_at: now,
    };
    Ok(FirstIdentity {
        seed,
        password: admin_password,
        secret_key: secret,
    })
}
