//! ServiceStage (`docs/api-coverage.md` → ServiceStage): environments ([`environments`]) with their labels and
//! bound resources, the add-ons installed in them, and the add-on jobs that drivers run. Every
//! rule is checked before anything is stored; an add-on and the job acting on it are written in
//! one transaction, and the add-on's status follows its job: install → INITIALIZING, an action
//! → UPGRADING, uninstall → DELETING, and SUCCEEDED or FAILED in the transaction that ends the
//! job ([`addon_job`]).

pub mod addon_job;
pub mod environments;
pub mod rules;

use crate::drivers::{CatalogEntry, Registry};
use addon_job::{AddonAction, AddonJob, AddonJobInput, AddonTarget};
pub use environments::{CreateEnvironment, ListEnvironments};
use plugboard_core::ids;
use plugboard_core::time::{now_micros, Micros};
use plugboard_jobs::JobKind;
use plugboard_store::jobs::{Job, NewJob};
use plugboard_store::servicestage::{
    Addon, AddonJobError, DeleteEnvironmentError, EnvResource, Environment, EnvironmentChange,
    EnvironmentFilter, EnvironmentOrder, Label,
};
use plugboard_store::{Store, StoreError};
use std::sync::Arc;
use tokio::sync::Notify;

/// What a ServiceStage operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A field is missing or invalid; the message names it.
    #[error("{0}")]
    Invalid(String),
    /// The project has an environment of that name.
    #[error("environment name `{0}` is already used")]
    NameTaken(String),
    /// No such environment in the project (the id given).
    #[error("environment {0} not found")]
    EnvironmentNotFound(String),
    /// No such add-on in the environment (the id given).
    #[error("add-on {0} not found")]
    AddonNotFound(String),
    /// No such ServiceStage job in the project (the id given).
    #[error("job {0} not found")]
    JobNotFound(String),
    /// A job runs on the add-on.
    #[error("a job is running on add-on {0}; wait for it to end")]
    Busy(String),
    /// Something that should not happen (a stored job that cannot be read).
    #[error("{0}")]
    Internal(String),
}

type Result<T, E = Error> = std::result::Result<T, E>;

/// Add-on statuses (the vendor's words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddonStatus {
    Initializing,
    Upgrading,
    Deleting,
    Succeeded,
    Failed,
}

impl AddonStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Initializing => "INITIALIZING",
            Self::Upgrading => "UPGRADING",
            Self::Deleting => "DELETING",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
        }
    }
}

/// The ServiceStage service. Cheap to clone.
#[derive(Clone)]
pub struct ServiceStage {
    pub(crate) store: Store,
    pub(crate) registry: Registry,
    pub(crate) waker: Arc<Notify>,
    /// This process's host (a `local-process` add-on belongs to the host that installs it).
    pub(crate) host: String,
    /// `<data-dir>/addons`: the add-ons' work directories.
    pub(crate) addons_root: std::path::PathBuf,
}

/// An add-on to install, as the caller gave it.
#[derive(Debug, Clone, Default)]
pub struct InstallAddon {
    pub name: Option<String>,
    pub cce_id: Option<String>,
    pub cse_id: Option<String>,
}

/// A job query's paging (query values as they came).
#[derive(Debug, Clone, Default)]
pub struct JobQuery {
    pub instance_id: Option<String>,
    pub limit: Option<String>,
    pub offset: Option<String>,
    pub desc: Option<String>,
}

/// A ServiceStage job with the page of its tasks asked for.
#[derive(Debug, Clone)]
pub struct AddonJobView {
    pub job: Job,
    pub input: AddonJobInput,
    /// (index, step) of the page, in the order asked for.
    pub tasks: Vec<(usize, plugboard_store::jobs::JobStep)>,
}

/// The longest list without `limit`.
const UNPAGED_MAX: i64 = 1000;

fn parse_int(field: &str, value: Option<&str>, max: i64) -> Result<Option<i64>> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    match v.parse::<i64>() {
        Ok(n) if (0..=max).contains(&n) => Ok(Some(n)),
        _ => Err(Error::Invalid(format!(
            "{field} must be an integer from 0 to {max} (got `{v}`)"
        ))),
    }
}

impl ServiceStage {
    pub fn new(
        store: Store,
        registry: Registry,
        waker: Arc<Notify>,
        host: String,
        addons_root: std::path::PathBuf,
    ) -> Self {
        Self {
            store,
            registry,
            waker,
            host,
            addons_root,
        }
    }

    /// The driver registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    // -- add-ons ---------------------------------------------------------------------------

    /// The add-on catalog the drivers provide (`addons-metadata`).
    pub async fn catalog(&self, project: &str, environment_id: &str) -> Result<Vec<CatalogEntry>> {
        self.environment(project, environment_id).await?;
        Ok(self.registry.view().await.catalog())
    }

    /// Install an add-on: the catalog's latest version, through the driver providing it.
    /// Answers the add-on (status INITIALIZING) with its job's id.
    pub async fn install_addon(
        &self,
        project: &str,
        creator: &str,
        environment_id: &str,
        req: InstallAddon,
    ) -> Result<Addon> {
        let env = self.environment(project, environment_id).await?;
        let name = rules::required("name", req.name.as_deref())?.to_string();
        let view = self.registry.view().await;
        let Some(entry) = view.addon(&name) else {
            let names: Vec<String> = view.catalog().into_iter().map(|e| e.addon.name).collect();
            return Err(Error::Invalid(format!(
                "name `{name}` is not an add-on the drivers provide (the catalog has: {})",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )));
        };
        let cce_id = rules::required("cce_id", req.cce_id.as_deref())?.to_string();
        bound(&env, "cce_id", &cce_id, "cce")?;
        let cse_id = req.cse_id.unwrap_or_default();
        if name == "sermantInjector" && cse_id.trim().is_empty() {
            return Err(Error::Invalid(
                "cse_id is required for sermantInjector".into(),
            ));
        }
        if !cse_id.is_empty() {
            bound(&env, "cse_id", &cse_id, "cse")?;
        }
        let version = entry.addon.latest_version().unwrap_or_default().to_string();
        let now = now_micros();
        let host = if entry.driver.is_local_process() {
            self.host.clone()
        } else {
            String::new()
        };
        let mut addon = Addon {
            id: ids::uuid(),
            project_id: project.to_string(),
            environment_id: env.id.clone(),
            name: name.clone(),
            version,
            cce_id,
            cse_id,
            job_id: String::new(),
            status: AddonStatus::Initializing.as_str().into(),
            driver_uuid: entry.driver.manifest.uuid.clone(),
            host,
            created_at: now,
            updated_at: now,
        };
        let job = self.new_job(&addon, &entry.driver, AddonAction::Install, creator, now)?;
        addon.job_id = job.id.clone();
        match self.store.install_addon(&addon, &job).await {
            Ok(()) => {}
            Err(AddonJobError::NotFound) => {
                return Err(Error::EnvironmentNotFound(environment_id.into()))
            }
            Err(AddonJobError::Duplicate) => {
                return Err(Error::Invalid(format!(
                    "name: environment {environment_id} already has add-on {name}; uninstall it (or redeploy it) instead"
                )))
            }
            Err(AddonJobError::Busy) => return Err(Error::Busy(addon.id)),
            Err(AddonJobError::Store(e)) => return Err(e.into()),
        }
        self.waker.notify_one();
        Ok(addon)
    }

    /// The add-ons of an environment.
    pub async fn list_addons(&self, project: &str, environment_id: &str) -> Result<Vec<Addon>> {
        self.environment(project, environment_id).await?;
        Ok(self.store.list_addons(project, environment_id).await?)
    }

    /// One add-on. One read when it exists (the add-on row names its environment and
    /// project); the environment is read only to tell which of the two is missing.
    pub async fn addon(&self, project: &str, environment_id: &str, id: &str) -> Result<Addon> {
        if ids::is_uuid(id) && ids::is_uuid(environment_id) {
            match self.store.get_addon(project, environment_id, id).await {
                Ok(a) => return Ok(a),
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.environment(project, environment_id).await?;
        Err(Error::AddonNotFound(id.to_string()))
    }

    /// Start `action` (restart, redeploy or uninstall) on an add-on; the job's id.
    pub async fn addon_job(
        &self,
        project: &str,
        creator: &str,
        environment_id: &str,
        id: &str,
        action: AddonAction,
    ) -> Result<String> {
        let addon = self.addon(project, environment_id, id).await?;
        let view = self.registry.view().await;
        let now = now_micros();
        let Some(driver) = view.driver(&addon.driver_uuid).filter(|d| d.runs_addons()) else {
            // The driver is gone (an Enforcing delete): the job is accepted and fails saying
            // so, like every job of the add-on until the driver is back.
            let job = self.new_job_steps(
                &addon,
                &addon.driver_uuid,
                vec![action.as_str().into()],
                action,
                creator,
                now,
            )?;
            return self.start(project, environment_id, id, action, job).await;
        };
        if driver.deleted && action != AddonAction::Uninstall {
            return Err(Error::Invalid(format!(
                "driver {} is deleted and takes no new work (only uninstall)",
                driver.manifest.name
            )));
        }
        let feature = action.as_str();
        if matches!(action, AddonAction::Restart | AddonAction::Redeploy)
            && driver.manifest.features.get(feature) == Some(&false)
        {
            return Err(Error::Invalid(format!(
                "action: driver {} does not support {feature}",
                driver.manifest.name
            )));
        }
        let job = self.new_job(&addon, driver, action, creator, now)?;
        self.start(project, environment_id, id, action, job).await
    }

    /// Commit an add-on job with the add-on's new status; the job's id.
    async fn start(
        &self,
        project: &str,
        environment_id: &str,
        id: &str,
        action: AddonAction,
        job: NewJob,
    ) -> Result<String> {
        let status = match action {
            AddonAction::Uninstall => AddonStatus::Deleting,
            _ => AddonStatus::Upgrading,
        };
        match self
            .store
            .start_addon_job(project, environment_id, id, status.as_str(), &job)
            .await
        {
            Ok(()) => {}
            Err(AddonJobError::NotFound) => return Err(Error::AddonNotFound(id.into())),
            Err(AddonJobError::Busy) => return Err(Error::Busy(id.into())),
            Err(AddonJobError::Duplicate) => return Err(Error::Busy(id.into())),
            Err(AddonJobError::Store(e)) => return Err(e.into()),
        }
        self.waker.notify_one();
        Ok(job.id)
    }

    fn new_job(
        &self,
        addon: &Addon,
        driver: &crate::drivers::Driver,
        action: AddonAction,
        creator: &str,
        now: Micros,
    ) -> Result<NewJob> {
        let steps = driver.manifest.steps_of(action.as_str());
        self.new_job_steps(addon, &driver.manifest.uuid, steps, action, creator, now)
    }

    fn new_job_steps(
        &self,
        addon: &Addon,
        driver_uuid: &str,
        steps: Vec<String>,
        action: AddonAction,
        creator: &str,
        now: Micros,
    ) -> Result<NewJob> {
        let input = AddonJobInput {
            action,
            addon_id: addon.id.clone(),
            environment_id: addon.environment_id.clone(),
            driver_uuid: driver_uuid.to_string(),
            created_by: creator.to_string(),
        };
        let mut job = AddonJob::new_job(
            format!("JOB{}", ids::uuid()),
            addon.project_id.clone(),
            &AddonTarget(addon.id.clone()),
            addon.name.clone(),
            &input,
            now,
        )
        .map_err(|e| Error::Internal(e.to_string()))?;
        job.steps = steps;
        job.host = addon.host.clone();
        Ok(job)
    }

    // -- jobs ------------------------------------------------------------------------------

    /// A ServiceStage job of the project with a page of its tasks.
    pub async fn job(&self, project: &str, id: &str, q: &JobQuery) -> Result<AddonJobView> {
        let limit = parse_int("limit", q.limit.as_deref(), i64::from(i32::MAX))?.filter(|l| *l > 0);
        let offset = parse_int("offset", q.offset.as_deref(), i64::from(i32::MAX))?.unwrap_or(0);
        let desc = match q.desc.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(Error::Invalid(format!(
                    "desc must be true or false (got `{other}`)"
                )))
            }
        };
        let job = match self.store.get_job(project, id).await {
            Ok(j) if j.kind == AddonJob::KIND => j,
            Ok(_) | Err(StoreError::NotFound) => return Err(Error::JobNotFound(id.to_string())),
            Err(e) => return Err(e.into()),
        };
        let input = AddonJob::input_of(&job).map_err(|e| Error::Internal(e.to_string()))?;
        if let Some(instance) = q.instance_id.as_deref().filter(|i| !i.is_empty()) {
            if instance != input.addon_id {
                return Err(Error::JobNotFound(id.to_string()));
            }
        }
        let mut tasks: Vec<_> = job.steps.iter().cloned().enumerate().collect();
        if desc {
            tasks.reverse();
        }
        let tasks = tasks
            .into_iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(limit.map_or(usize::MAX, |l| l as usize))
            .collect();
        Ok(AddonJobView { job, input, tasks })
    }
}

/// `value` is a resource of type `kind` bound to the environment.
fn bound(env: &Environment, field: &str, value: &str, kind: &str) -> Result<()> {
    if env
        .resources
        .iter()
        .any(|r| r.kind == kind && r.id == value)
    {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "{field} `{value}` is not a resource of type {kind} bound to environment {} (bind it with modify_resource_in_environment first)",
        env.id
    )))
}

/// Register the add-on job kind with `engine`.
pub fn register(engine: &mut plugboard_jobs::Engine, svc: &ServiceStage) {
    engine.register::<AddonJob>(Arc::new(addon_job::AddonJobHandler::new(
        svc.store.clone(),
        svc.registry.clone(),
        svc.addons_root.clone(),
    )));
    // A registry changed by another process (a refresh, an Enforcing delete) is read again
    // at once here, and the steps of a driver deleted there stop at once.
    let registry = svc.registry.clone();
    engine.on_signal(plugboard_store::notify::DRIVERS_CHANNEL, move || {
        registry.stale()
    });
}
