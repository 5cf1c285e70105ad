//! Install admission (`POST .../kernel-plugin`): every check that can be made before the job
//! is committed, then the job. A sound request for a plug-in that needs no licence is
//! submitted in one statement that also checks the instance
//! ([`plugboard_store::Store::submit_gaussdb_job`]); any other request, or one that statement
//! refuses, is admitted step by step ([`GaussDb::admit`]), which gives every refusal its
//! answer in the order the API documents.

use super::install::{InstallInput, InstallKernelPlugin, InstanceTarget};
use super::mode::Mode;
use super::{Error, GaussDb, InstallRequest, Result};
use plugboard_core::{ids, time};
use plugboard_drivers::fetch::check_package_url;
use plugboard_jobs::JobKind;
use plugboard_store::gaussdb::GaussDbInstance;
use plugboard_store::jobs::{InsertJobError, NewJob};

/// An install request whose own fields passed every check.
struct Checked {
    plugin: String,
    url: String,
    /// Lower-case hex.
    sha_256: String,
}

fn target_busy() -> Error {
    Error::Busy("A kernel plug-in job is already running on it.".into())
}

impl GaussDb {
    /// Admission of an install: everything that can be checked now, then the job committed;
    /// its id.
    pub async fn install(
        &self,
        project: &str,
        instance_id: &str,
        req: &InstallRequest,
    ) -> Result<String> {
        if !ids::is_gaussdb_instance_id(instance_id) {
            return Err(Error::BadInstanceId(instance_id.to_string()));
        }
        if let Ok(checked) = self.check_request(req).await {
            if !self.needs_license(&checked.plugin) {
                if let Some(id) = self.submit_at_once(project, instance_id, &checked).await? {
                    return Ok(id);
                }
            }
        }
        self.admit(project, instance_id, req).await
    }

    /// The request's own fields, each checked (the plug-in, the SHA-256, the URL).
    async fn check_request(&self, req: &InstallRequest) -> Result<Checked> {
        let plugin = req.plugin_name.trim();
        if plugin.is_empty() {
            return Err(Error::Invalid("plugin_name must not be empty.".into()));
        }
        let supported = &self.config.supported_plugins;
        if !supported.iter().any(|p| p == plugin) {
            return Err(Error::UnsupportedPlugin(format!(
                "`{plugin}` (supported: {})",
                supported.join(", ")
            )));
        }
        let sha = req.sha_256.trim();
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::Invalid(
                "sha_256 must be 64 hexadecimal characters.".into(),
            ));
        }
        let url = check_package_url(&self.network, req.url.trim())
            .await
            .map_err(|e| Error::UrlNotAllowed(e.to_string()))?;
        Ok(Checked {
            plugin: plugin.to_string(),
            url: url.as_str().to_string(),
            sha_256: sha.to_ascii_lowercase(),
        })
    }

    fn needs_license(&self, plugin: &str) -> bool {
        self.config.license_required.iter().any(|p| p == plugin)
    }

    /// The install job of a checked request on instance `instance_id` (of `project`, named
    /// `name`) in `mode`.
    fn install_job(
        project: &str,
        instance_id: &str,
        name: &str,
        mode: Mode,
        checked: &Checked,
    ) -> Result<NewJob> {
        let input = InstallInput {
            instance_id: instance_id.to_string(),
            plugin_name: checked.plugin.clone(),
            url: checked.url.clone(),
            sha_256: checked.sha_256.clone(),
            mode,
        };
        InstallKernelPlugin::new_job(
            ids::uuid(),
            project.to_string(),
            &InstanceTarget(instance_id.to_string()),
            name.to_string(),
            &input,
            time::now_micros(),
        )
        .map_err(|e| Error::Internal(e.to_string()))
    }

    /// One statement: the job, if the instance exists in the project and is `ACTIVE` (its
    /// name and mode are taken from its row). `None`: nothing written.
    async fn submit_at_once(
        &self,
        project: &str,
        instance_id: &str,
        checked: &Checked,
    ) -> Result<Option<String>> {
        // the row's name and mode replace these in the statement
        let job = Self::install_job(project, instance_id, "", Mode::Simulated, checked)?;
        let local = Self::install_job(project, instance_id, "", Mode::Local, checked)?;
        let local_name = Mode::Local.name();
        match self
            .store
            .submit_gaussdb_job(&job, instance_id, (local_name, &local.input))
            .await
        {
            Ok(true) => Ok(Some(job.id)),
            Ok(false) => Ok(None),
            Err(InsertJobError::TargetBusy) => Err(target_busy()),
            Err(InsertJobError::Store(e)) => Err(e.into()),
        }
    }

    /// Admission step by step: the instance, the request, the instance's status, the licence,
    /// then the job.
    async fn admit(
        &self,
        project: &str,
        instance_id: &str,
        req: &InstallRequest,
    ) -> Result<String> {
        let i: GaussDbInstance = self.instance(project, instance_id).await?;
        let checked = self.check_request(req).await?;
        if i.status != "ACTIVE" {
            return Err(Error::Busy(format!("The instance is {}.", i.status)));
        }
        if self.needs_license(&checked.plugin) && !self.store.has_plugin_license(&i.id, "*").await?
        {
            return Err(Error::LicenseRequired(checked.plugin));
        }
        let job = Self::install_job(&i.project_id, &i.id, &i.name, Mode::of(&i), &checked)?;
        match self.store.submit_job(&job).await {
            Ok(()) => {}
            Err(InsertJobError::TargetBusy) => return Err(target_busy()),
            Err(InsertJobError::Store(e)) => return Err(e.into()),
        }
        // the store's announcement wakes this process's engine for the job's kind
        Ok(job.id)
    }
}
