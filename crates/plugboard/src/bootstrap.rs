//! First-start set-up (docs/contract.md → Bootstrap): system roles kept in step with the
//! code at every start; on an empty store, the domain, `admin`, the region's project, group
//! `admin` with `te_admin` on the domain and one access key, and `<data-dir>/bootstrap.json`
//! (mode 0600, never rewritten). Secrets are never logged.

use anyhow::Context;
use plugboard_auth::policy::SYSTEM_ROLES;
use plugboard_core::config::Config;
use plugboard_core::secrets::MasterKey;
use plugboard_core::{ids, password, time};
use plugboard_store::bootstrap::BootstrapSeed;
use plugboard_store::identity::{Credential, Domain, Group, Project, Role, User};
use plugboard_store::Store;
use serde::Serialize;
use std::io::Write;
use std::path::Path;

/// The name of the bootstrap domain.
pub const DOMAIN_NAME: &str = "plugboard";

/// `bootstrap.json`: exactly these keys.
#[derive(Serialize)]
struct BootstrapFile {
    endpoint: String,
    region: String,
    domain_name: String,
    domain_id: String,
    user_name: String,
    user_id: String,
    password: String,
    project_name: String,
    project_id: String,
    access_key: String,
    secret_key: String,
}

/// Insert or update the system roles.
pub async fn seed_roles(store: &Store) -> anyhow::Result<()> {
    for role in SYSTEM_ROLES {
        store
            .upsert_role(&Role {
                id: ids::hex32(),
                name: role.name.into(),
                display_name: role.display_name.into(),
                description: role.description.into(),
                kind: "AA".into(),
                policy: serde_json::to_string(&role.policy())?,
                created_at: time::now_micros(),
            })
            .await
            .with_context(|| format!("seeding role {}", role.name))?;
    }
    Ok(())
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut file = opts.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// Refuse to start with a master key that does not open the store's secrets: processes sharing
/// one PostgreSQL database must share one key, or every access key would fail in the others
/// with "Get secretKey failed".
pub async fn check_master_key(
    store: &Store,
    key: &MasterKey,
    key_file: &Path,
) -> anyhow::Result<()> {
    if let Some(sealed) = store.oldest_sealed_secret().await? {
        if key.open(&sealed).is_err() {
            anyhow::bail!(
                "the master key {} does not open the secrets in this store: every process \
                 sharing a database must use the same master key (copy the first process's \
                 master.key, or point master_key_file at one shared file)",
                key_file.display()
            );
        }
    }
    Ok(())
}

/// A process that died after its bootstrap committed but before it moved `bootstrap.json`
/// into place left the file aside (`.bootstrap.json.<hex>`): move it into place now. A file
/// aside is this store's when its access key exists in the store (keys are random); others
/// (a bootstrap that lost the race, or failed) are left alone.
async fn recover_bootstrap_file(store: &Store, data_dir: &Path) -> anyhow::Result<()> {
    let path = data_dir.join("bootstrap.json");
    if path.exists() {
        return Ok(());
    }
    let Ok(entries) = std::fs::read_dir(data_dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let aside = entry.path();
        let is_aside = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(".bootstrap.json."));
        if !is_aside {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&aside) else {
            continue;
        };
        let access = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("access_key")?.as_str().map(str::to_string));
        if let Some(access) = access {
            if store.get_credential(&access).await.is_ok() {
                std::fs::rename(&aside, &path)
                    .with_context(|| format!("writing {}", path.display()))?;
                tracing::warn!(path = %path.display(), "recovered the bootstrap credentials an interrupted first start left aside");
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Bootstrap the store if nobody has; write `bootstrap.json` if this process did it.
pub async fn bootstrap(
    store: &Store,
    key: &MasterKey,
    config: &Config,
    endpoint: &str,
) -> anyhow::Result<()> {
    if store.is_bootstrapped().await? {
        return recover_bootstrap_file(store, &config.data_dir).await;
    }
    let admin_password = match std::env::var("PLUGBOARD_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => p,
        _ => ids::password(24),
    };
    let hashed = password::hash(&admin_password).await?;
    let now = time::now_micros();
    let domain_id = ids::hex32();
    let admin_id = ids::hex32();
    let project_id = ids::hex32();
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
            id: project_id.clone(),
            domain_id: domain_id.clone(),
            name: config.region.clone(),
            parent_id: domain_id.clone(),
            description: String::new(),
            enabled: true,
            created_at: now,
        },
        group: Group {
            id: ids::hex32(),
            domain_id: domain_id.clone(),
            name: "admin".into(),
            description: "Administrators".into(),
            created_at: now,
        },
        credential: Credential {
            access: ids::access_key(),
            user_id: admin_id.clone(),
            secret_sealed: key.seal(secret.as_bytes()),
            status: "active".into(),
            description: "bootstrap".into(),
            created_at: now,
        },
        admin_role: "te_admin".into(),
        created_at: now,
    };
    let file = BootstrapFile {
        endpoint: endpoint.to_string(),
        region: config.region.clone(),
        domain_name: DOMAIN_NAME.into(),
        domain_id,
        user_name: "admin".into(),
        user_id: admin_id,
        password: admin_password,
        project_name: config.region.clone(),
        project_id,
        access_key: seed.credential.access.clone(),
        secret_key: secret,
    };
    // Written aside first and moved into place once the store has committed, so the file
    // exists exactly when this process's bootstrap does.
    let path = config.data_dir.join("bootstrap.json");
    let staging = config
        .data_dir
        .join(format!(".bootstrap.json.{}", ids::hex32()));
    write_private(&staging, &serde_json::to_string_pretty(&file)?)
        .with_context(|| format!("writing {}", staging.display()))?;
    let result = store.bootstrap_once(&seed).await;
    match result {
        Ok(true) if !path.exists() => {
            std::fs::rename(&staging, &path)
                .with_context(|| format!("writing {}", path.display()))?;
            tracing::info!(path = %path.display(), "bootstrapped: credentials written");
        }
        Ok(true) => {
            std::fs::remove_file(&staging).ok();
            tracing::warn!(path = %path.display(), "bootstrapped, but a bootstrap file already exists and is kept; the new credentials were not written");
        }
        Ok(false) => {
            std::fs::remove_file(&staging).ok();
        }
        Err(e) => {
            std::fs::remove_file(&staging).ok();
            return Err(e.into());
        }
    }
    Ok(())
}
