//! Install modes: how plugboard reaches a managed instance's server. `local` (the server is on
//! this machine: files go into its `sharedir`/`pkglibdir`, extensions are switched with SQL),
//! `simulated` (no server is touched; everything is recorded only) and, planned, `agent`. The
//! mode is read once from the instance ([`Mode::parse`]) and everything that differs by mode
//! goes through [`InstallMode`].

use super::{Error, GaussDb, Registration};
use plugboard_drivers::pginstall::{layout_from_pg_config, PgLayout};
use plugboard_store::gaussdb::GaussDbInstance;
use serde::{Deserialize, Serialize};

/// The name of an install mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Local,
    Simulated,
}

impl Mode {
    /// Every mode an instance may use, as named on the wire.
    pub const NAMES: &'static [&'static str] = &["local", "simulated"];

    /// The mode named `name` (`None`: not one plugboard has).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "local" => Some(Self::Local),
            "simulated" => Some(Self::Simulated),
            _ => None,
        }
    }

    /// The mode of a stored instance (an unknown word is treated as `simulated`: touch nothing).
    pub fn of(instance: &GaussDbInstance) -> Self {
        Self::parse(&instance.install_mode).unwrap_or(Self::Simulated)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Simulated => "simulated",
        }
    }

    /// What the mode does.
    pub fn driver(self) -> &'static dyn InstallMode {
        match self {
            Self::Local => &Local,
            Self::Simulated => &Simulated,
        }
    }
}

/// What an instance registered in a mode is found to be.
#[derive(Debug, Clone)]
pub struct ServerFacts {
    pub version: String,
    pub pg_major: u32,
    pub layout: Option<PgLayout>,
}

/// Everything that differs by install mode.
#[async_trait::async_trait]
pub trait InstallMode: Send + Sync {
    /// Registration: check the mode's settings and the server (a connection test).
    async fn probe(&self, reg: &Registration) -> Result<ServerFacts, Error>;

    /// Whether the instance's view shows its layout (`pg_config`, `sharedir`, `pkglibdir`).
    fn shows_layout(&self) -> bool;

    /// Whether an install's download, unpack and install steps do anything, and its check
    /// asks the server.
    fn touches_server(&self) -> bool;

    /// The extensions on in database `db`.
    async fn extensions_on(
        &self,
        svc: &GaussDb,
        i: &GaussDbInstance,
        db: &str,
    ) -> Result<Vec<String>, Error>;

    /// Switch `extension` on or off in each of `dbs` (before it is recorded).
    async fn switch_extension(
        &self,
        svc: &GaussDb,
        i: &GaussDbInstance,
        dbs: &[String],
        extension: &str,
        on: bool,
    ) -> Result<(), Error>;
}

/// `local`: the server runs on this machine.
struct Local;

/// `simulated`: no server.
struct Simulated;

/// Where a `local` instance's files go: from `pg_config`, or given explicitly.
async fn resolve_layout(reg: &Registration) -> Result<PgLayout, Error> {
    let layout =
        match (&reg.pg_config, &reg.sharedir, &reg.pkglibdir) {
            (Some(pg_config), None, None) => layout_from_pg_config(std::path::Path::new(pg_config))
                .await
                .map_err(|e| Error::Invalid(format!("install.pg_config: {e}")))?,
            (None, Some(share), Some(lib)) => PgLayout {
                sharedir: share.into(),
                pkglibdir: lib.into(),
            },
            _ => return Err(Error::Invalid(
                "mode `local` needs install.pg_config, or install.sharedir and install.pkglibdir"
                    .into(),
            )),
        };
    for (name, dir) in [
        ("sharedir", &layout.sharedir),
        ("pkglibdir", &layout.pkglibdir),
    ] {
        if !dir.is_absolute() || !dir.is_dir() {
            return Err(Error::Invalid(format!(
                "install.{name} {} is not an existing absolute directory",
                dir.display()
            )));
        }
    }
    Ok(layout)
}

fn unreachable(e: impl std::fmt::Display) -> Error {
    Error::Busy(e.to_string())
}

#[async_trait::async_trait]
impl InstallMode for Local {
    async fn probe(&self, reg: &Registration) -> Result<ServerFacts, Error> {
        let layout = resolve_layout(reg).await?;
        let (version, pg_major) = reg
            .target()
            .server_version()
            .await
            .map_err(|e| Error::Invalid(format!("connection test failed: {e}")))?;
        Ok(ServerFacts {
            version,
            pg_major,
            layout: Some(layout),
        })
    }

    fn shows_layout(&self) -> bool {
        true
    }

    fn touches_server(&self) -> bool {
        true
    }

    async fn extensions_on(
        &self,
        svc: &GaussDb,
        i: &GaussDbInstance,
        db: &str,
    ) -> Result<Vec<String>, Error> {
        let target = svc.pg_target(i, &i.database_name)?;
        let databases = target.list_databases().await.map_err(unreachable)?;
        if !databases.iter().any(|d| d == db) {
            return Err(Error::DatabaseNotFound(format!(
                "Database `{db}` does not exist on the DB instance."
            )));
        }
        target.installed_extensions(db).await.map_err(unreachable)
    }

    async fn switch_extension(
        &self,
        svc: &GaussDb,
        i: &GaussDbInstance,
        dbs: &[String],
        extension: &str,
        on: bool,
    ) -> Result<(), Error> {
        let admin = svc.pg_target(i, &i.database_name)?;
        let existing = admin.list_databases().await.map_err(unreachable)?;
        if let Some(missing) = dbs.iter().find(|d| !existing.contains(d)) {
            return Err(Error::DatabaseNotFound(format!(
                "Database `{missing}` does not exist on the DB instance."
            )));
        }
        for db in dbs {
            let done = if on {
                admin.create_extension(db, extension).await
            } else {
                admin.drop_extension(db, extension).await
            };
            done.map_err(|e| {
                Error::ExtensionFailed(format!(
                    "{} EXTENSION {extension} failed in database `{db}`: {e}",
                    if on { "CREATE" } else { "DROP" },
                ))
            })?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl InstallMode for Simulated {
    async fn probe(&self, reg: &Registration) -> Result<ServerFacts, Error> {
        if reg.pg_config.is_some() || reg.sharedir.is_some() || reg.pkglibdir.is_some() {
            return Err(Error::Invalid(
                "install.pg_config, install.sharedir and install.pkglibdir apply to mode `local` only"
                    .into(),
            ));
        }
        Ok(ServerFacts {
            version: "15.0".into(),
            pg_major: 15,
            layout: None,
        })
    }

    fn shows_layout(&self) -> bool {
        false
    }

    fn touches_server(&self) -> bool {
        false
    }

    async fn extensions_on(
        &self,
        svc: &GaussDb,
        i: &GaussDbInstance,
        db: &str,
    ) -> Result<Vec<String>, Error> {
        Ok(svc.store.list_extensions_on(&i.id, db).await?)
    }

    async fn switch_extension(
        &self,
        _svc: &GaussDb,
        _i: &GaussDbInstance,
        _dbs: &[String],
        _extension: &str,
        _on: bool,
    ) -> Result<(), Error> {
        Ok(())
    }
}
