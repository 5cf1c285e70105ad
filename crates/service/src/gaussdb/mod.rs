//! GaussDB kernel plug-ins, the domain (docs/api-coverage.md → GaussDB, docs/contract.md → Admin API):
//! managed instances ([`instances`]: registration after a connection test), install admission (every check
//! that can be made before the job is committed, [`admission`]), the `InstallKernelPlugin` job
//! ([`install`]), licenses, and switching extensions on and off. How the server is reached
//! depends on the instance's install mode ([`mode`]).

mod admission;
pub mod install;
pub mod instances;
pub mod mode;

use install::InstallKernelPlugin;
pub use instances::Registration;
use mode::Mode;
use plugboard_core::config::GaussDbConfig;
use plugboard_core::secrets::MasterKey;
use plugboard_core::{ids, time};
use plugboard_drivers::netpolicy::NetworkPolicy;
use plugboard_drivers::pg::PgTarget;
use plugboard_jobs::JobKind;
use plugboard_store::gaussdb::GaussDbInstance;
use plugboard_store::jobs::{DeleteJobError, Job, JobFilter};
use plugboard_store::{Store, StoreError};
use std::collections::HashMap;
use std::sync::Arc;

/// At most this many databases per config-plugin-extensions call [vendor].
pub const MAX_DBS_PER_CALL: usize = 10;
/// At most this many databases per instance with extensions on [vendor].
pub const MAX_DBS_PER_INSTANCE: i64 = 200;

/// What a GaussDB operation can fail with; each family's error enum maps it to its codes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something on plugboard's side failed (a sealed secret that cannot be opened).
    #[error("{0}")]
    Internal(String),
    /// A parameter is missing or invalid; the message names it.
    #[error("{0}")]
    Invalid(String),
    /// The path's instance id is not one (the id given).
    #[error("instance_id `{0}` is not a GaussDB instance id (32 hex characters and `in14`)")]
    BadInstanceId(String),
    /// No such instance in this project (the id given).
    #[error("GaussDB instance {0} does not exist")]
    InstanceNotFound(String),
    /// Another job runs on the instance, or its server cannot be reached.
    #[error("{0}")]
    Busy(String),
    #[error("{0}")]
    UnsupportedPlugin(String),
    #[error("{0}")]
    LicenseRequired(String),
    #[error("{0}")]
    UrlNotAllowed(String),
    #[error("{0}")]
    PluginNotInstalled(String),
    #[error("{0}")]
    UnknownExtension(String),
    #[error("{0}")]
    TooManyDatabases(String),
    #[error("{0}")]
    JobNotFound(String),
    #[error("{0}")]
    JobRunning(String),
    #[error("{0}")]
    DatabaseNotFound(String),
    #[error("{0}")]
    ExtensionFailed(String),
    /// The name is taken, or the instance is in use (admin).
    #[error("{0}")]
    Conflict(String),
}

type Result<T, E = Error> = std::result::Result<T, E>;

/// The GaussDB service. Cheap to clone.
#[derive(Clone)]
pub struct GaussDb {
    pub(crate) store: Store,
    pub(crate) key: MasterKey,
    pub(crate) config: GaussDbConfig,
    pub(crate) network: Arc<NetworkPolicy>,
}

/// An install request as the caller gave it (trimmed and checked by [`GaussDb::install`]).
#[derive(Debug, Clone)]
pub struct InstallRequest {
    pub plugin_name: String,
    pub url: String,
    pub sha_256: String,
}

/// One plug-in of the catalog as an instance has it.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginInfo {
    pub name: String,
    pub installed: bool,
    /// Empty when not installed.
    pub version: String,
}

/// A page of [`PluginInfo`].
#[derive(Debug, Clone)]
pub struct PluginPage {
    pub instance: GaussDbInstance,
    pub plugins: Vec<PluginInfo>,
    pub total: i64,
}

/// A request to switch an extension in databases.
#[derive(Debug, Clone)]
pub struct ExtensionSwitch {
    pub plugin_name: String,
    pub extension_name: String,
    pub db_list: Vec<String>,
    /// `on` or `off`.
    pub action: String,
}

/// A job with the instance it works on.
#[derive(Debug, Clone)]
pub struct InstanceJob {
    pub job: Job,
    pub instance_id: String,
    /// The instance's status now (empty when it is gone).
    pub instance_status: String,
}

/// The connection to an instance's server (database `database`), its password opened.
pub fn pg_target(
    key: &MasterKey,
    i: &GaussDbInstance,
    database: &str,
) -> Result<PgTarget, plugboard_core::secrets::SecretError> {
    let password = key.open(&i.password_sealed)?;
    Ok(PgTarget {
        host: i.host.clone(),
        port: u16::try_from(i.port).unwrap_or(5432),
        user: i.db_user.clone(),
        password: String::from_utf8_lossy(&password).into_owned(),
        database: database.to_string(),
    })
}

impl GaussDb {
    pub fn new(
        store: Store,
        key: MasterKey,
        config: GaussDbConfig,
        network: Arc<NetworkPolicy>,
    ) -> Self {
        Self {
            store,
            key,
            config,
            network,
        }
    }

    pub(crate) fn pg_target(&self, i: &GaussDbInstance, database: &str) -> Result<PgTarget> {
        pg_target(&self.key, i, database).map_err(|e| Error::Internal(e.to_string()))
    }

    /// The plug-ins the catalog accepts.
    pub fn supported_plugins(&self) -> &[String] {
        &self.config.supported_plugins
    }

    /// Instance `id` of `project`.
    pub async fn instance(&self, project: &str, id: &str) -> Result<GaussDbInstance> {
        if !ids::is_gaussdb_instance_id(id) {
            return Err(Error::BadInstanceId(id.to_string()));
        }
        match self.store.get_gaussdb_instance(project, id).await {
            Ok(i) => Ok(i),
            Err(StoreError::NotFound) => Err(Error::InstanceNotFound(id.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    /// The names of the plug-ins installed on an instance.
    pub async fn installed_plugin_names(&self, project: &str, id: &str) -> Result<Vec<String>> {
        let i = self.instance(project, id).await?;
        Ok(self
            .store
            .list_installed_plugins(&i.id)
            .await?
            .into_iter()
            .map(|p| p.plugin_name)
            .collect())
    }

    /// The catalog (and whatever else is installed), each plug-in with whether and in which
    /// version the instance has it; `wanted` filters by name; `window` is the page (offset,
    /// limit) or why the caller's is not one, reported after the instance's own errors.
    pub async fn plugin_info(
        &self,
        project: &str,
        id: &str,
        wanted: Option<&str>,
        window: Result<(i64, i64)>,
    ) -> Result<PluginPage> {
        let i = self.instance(project, id).await?;
        let (offset, limit) = window?;
        let installed: HashMap<String, String> = self
            .store
            .list_installed_plugins(&i.id)
            .await?
            .into_iter()
            .map(|p| (p.plugin_name, p.version))
            .collect();
        let mut names: Vec<&String> = self.config.supported_plugins.iter().collect();
        for name in installed.keys() {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let matching: Vec<&String> = names
            .into_iter()
            .filter(|n| wanted.is_none_or(|w| n.as_str() == w))
            .collect();
        let plugins = matching
            .iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(usize::try_from(limit).unwrap_or(0))
            .map(|name| PluginInfo {
                name: name.to_string(),
                installed: installed.contains_key(name.as_str()),
                version: installed.get(name.as_str()).cloned().unwrap_or_default(),
            })
            .collect();
        Ok(PluginPage {
            total: matching.len() as i64,
            plugins,
            instance: i,
        })
    }

    /// Store the license (sealed) for the instance.
    pub async fn set_license(&self, project: &str, id: &str, license: &str) -> Result<()> {
        let i = self.instance(project, id).await?;
        let license = license.trim();
        if license.is_empty() || license.len() > 8192 {
            return Err(Error::Invalid(
                "license_str must be 1 to 8192 characters.".into(),
            ));
        }
        let sealed = self.key.seal(license.as_bytes());
        self.store
            .set_plugin_license(&i.id, "*", &sealed, time::now_micros())
            .await?;
        Ok(())
    }

    /// Whether a licence is stored for the instance, and the plug-ins that need one to
    /// install (`[gaussdb] license_required`). The licence itself is never read back.
    pub async fn license_state(&self, project: &str, id: &str) -> Result<(bool, Vec<String>)> {
        let i = self.instance(project, id).await?;
        let stored = self.store.has_plugin_license(&i.id, "*").await?;
        Ok((stored, self.config.license_required.clone()))
    }

    /// The installed plug-in `name` of an instance, with the extensions it ships.
    async fn installed_plugin(&self, i: &GaussDbInstance, name: &str) -> Result<Vec<String>> {
        self.store
            .list_installed_plugins(&i.id)
            .await?
            .into_iter()
            .find(|p| p.plugin_name == name)
            .map(|p| p.extensions)
            .ok_or_else(|| Error::PluginNotInstalled(name.to_string()))
    }

    /// The plug-in's extensions and whether each is on in database `db`.
    pub async fn plugin_extensions(
        &self,
        project: &str,
        id: &str,
        db: Option<&str>,
        plugin: Option<&str>,
    ) -> Result<Vec<(String, bool)>> {
        let i = self.instance(project, id).await?;
        let db = db
            .filter(|d| !d.is_empty())
            .ok_or_else(|| Error::Invalid("db_name is required.".into()))?;
        let plugin = plugin
            .filter(|p| !p.is_empty())
            .ok_or_else(|| Error::Invalid("plugin_name is required.".into()))?;
        let extensions = self.installed_plugin(&i, plugin).await?;
        let on = Mode::of(&i).driver().extensions_on(self, &i, db).await?;
        Ok(extensions
            .into_iter()
            .map(|e| {
                let is_on = on.contains(&e);
                (e, is_on)
            })
            .collect())
    }

    /// Switch an extension on or off in the listed databases, then record it.
    pub async fn switch_extension(
        &self,
        project: &str,
        id: &str,
        req: &ExtensionSwitch,
    ) -> Result<()> {
        let i = self.instance(project, id).await?;
        let on = match req.action.as_str() {
            "on" => true,
            "off" => false,
            other => {
                return Err(Error::Invalid(format!(
                    "extension_action must be `on` or `off` (got `{other}`)."
                )))
            }
        };
        if req.db_list.is_empty() {
            return Err(Error::Invalid(
                "db_list must name at least one database.".into(),
            ));
        }
        if req.db_list.len() > MAX_DBS_PER_CALL {
            return Err(Error::TooManyDatabases(format!(
                "db_list names {} databases; at most {MAX_DBS_PER_CALL} per call.",
                req.db_list.len()
            )));
        }
        let mut dbs: Vec<String> = Vec::new();
        for db in &req.db_list {
            if db.is_empty() || db.len() > 63 {
                return Err(Error::Invalid(format!(
                    "db_list: `{db}` is not a database name (1 to 63 characters)."
                )));
            }
            if !dbs.contains(db) {
                dbs.push(db.clone());
            }
        }
        let extensions = self.installed_plugin(&i, &req.plugin_name).await?;
        if !extensions.contains(&req.extension_name) {
            return Err(Error::UnknownExtension(format!(
                "extension_name `{}` is not an extension of plug-in {} (it ships: {}).",
                req.extension_name,
                req.plugin_name,
                extensions.join(", ")
            )));
        }
        if on {
            let mut known = Vec::new();
            for db in &dbs {
                if self.store.list_extensions_on(&i.id, db).await?.is_empty() {
                    known.push(db);
                }
            }
            let count = self.store.count_extension_databases(&i.id).await?;
            if count + known.len() as i64 > MAX_DBS_PER_INSTANCE {
                return Err(Error::TooManyDatabases(format!(
                    "at most {MAX_DBS_PER_INSTANCE} databases per DB instance may have plug-in extensions on ({count} have)."
                )));
            }
        }
        Mode::of(&i)
            .driver()
            .switch_extension(self, &i, &dbs, &req.extension_name, on)
            .await?;
        self.store
            .set_extensions(
                &i.id,
                &req.plugin_name,
                &req.extension_name,
                &dbs,
                on,
                time::now_micros(),
            )
            .await?;
        Ok(())
    }

    /// A job of the project, with its instance.
    pub async fn job(&self, project: &str, id: &str) -> Result<InstanceJob> {
        if !ids::is_uuid(id) {
            return Err(Error::Invalid(format!("id `{id}` is not a job id.")));
        }
        let job = match self.store.get_job(project, id).await {
            Ok(j) => j,
            Err(StoreError::NotFound) => return Err(Error::JobNotFound(id.to_string())),
            Err(e) => return Err(e.into()),
        };
        Ok(InstanceJob {
            instance_id: instance_of(&job),
            instance_status: String::new(),
            job,
        })
    }

    /// A page of the project's jobs (newest first), each with its instance's status, and the
    /// total that match.
    pub async fn tasks(
        &self,
        project: &str,
        filter: &JobFilter,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<InstanceJob>, i64)> {
        let (jobs, total) = self.store.list_jobs(project, filter, offset, limit).await?;
        let mut ids: Vec<String> = jobs.iter().map(instance_of).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.retain(|id| !id.is_empty());
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let status_of = self.store.gaussdb_instance_statuses(project, &ids).await?;
        let tasks = jobs
            .into_iter()
            .map(|job| {
                let instance_id = instance_of(&job);
                InstanceJob {
                    instance_status: status_of.get(&instance_id).cloned().unwrap_or_default(),
                    instance_id,
                    job,
                }
            })
            .collect();
        Ok((tasks, total))
    }

    /// Remove a finished job's record.
    pub async fn delete_job(&self, project: &str, id: &str) -> Result<()> {
        if !ids::is_uuid(id) {
            return Err(Error::Invalid(format!("job_id `{id}` is not a job id.")));
        }
        match self.store.delete_job(project, id).await {
            Ok(()) => Ok(()),
            Err(DeleteJobError::NotFound) => Err(Error::JobNotFound(id.to_string())),
            Err(DeleteJobError::Running) => Err(Error::JobRunning(id.to_string())),
            Err(DeleteJobError::Store(e)) => Err(e.into()),
        }
    }
}

/// The instance a GaussDB job works on (empty for a job of another kind).
fn instance_of(job: &Job) -> String {
    InstallKernelPlugin::parse_target(&job.target)
        .map(|t| t.0)
        .unwrap_or_default()
}

/// Whether an instance's view shows its layout.
pub fn shows_layout(i: &GaussDbInstance) -> bool {
    Mode::of(i).driver().shows_layout()
}

/// Register the GaussDB job kinds with `engine`.
pub fn register(
    engine: &mut plugboard_jobs::Engine,
    svc: &GaussDb,
    staging_root: std::path::PathBuf,
) {
    engine.register::<InstallKernelPlugin>(Arc::new(install::InstallHandler {
        store: svc.store.clone(),
        policy: svc.network.clone(),
        key: svc.key.clone(),
        staging_root,
        limits: plugboard_drivers::package::PackageLimits::default(),
        cache: Default::default(),
    }));
}
