//! First-start set-up (docs/contract.md → Bootstrap): the system roles and, on an empty
//! store, the first identity (both seeded by `plugboard_service::identity::seed`), and
//! `<data-dir>/bootstrap.json` (mode 0600, never rewritten). Secrets are never logged.

use anyhow::Context;
use plugboard_core::config::Config;
use plugboard_core::ids;
use plugboard_core::secrets::MasterKey;
use plugboard_service::identity::seed::{self, DOMAIN_NAME};
use plugboard_store::Store;
use serde::Serialize;
use std::io::Write;
use std::path::Path;

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
    Ok(seed::seed_roles(store).await?)
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
    let seed::FirstIdentity {
        seed,
        password: admin_password,
        secret_key: secret,
    } = seed::first_identity(key, &config.region, admin_password).await?;
    let file = BootstrapFile {
        endpoint: endpoint.to_string(),
        region: config.region.clone(),
        domain_name: DOMAIN_NAME.into(),
        domain_id: seed.domain.id.clone(),
        user_name: "admin".into(),
        user_id: seed.admin.id.clone(),
        password: admin_password,
        project_name: config.region.clone(),
        project_id: seed.project.id.clone(),
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
