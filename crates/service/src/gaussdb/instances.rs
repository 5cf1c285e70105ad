//! GaussDB instances: registration (after the install mode's checks and a connection test),
//! the project's list, and deletion (refused while a job runs on the instance).

use super::install::{InstallKernelPlugin, InstanceTarget};
use super::mode::{Mode, ServerFacts};
use super::{Error, GaussDb, Result};
use plugboard_core::{ids, time};
use plugboard_drivers::pg::PgTarget;
use plugboard_jobs::JobKind;
use plugboard_store::gaussdb::{GaussDbInstance, InstanceFilter};
use plugboard_store::StoreError;

/// A `local` or `simulated` instance to register (admin API).
#[derive(Debug, Clone)]
pub struct Registration {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub database: String,
    pub mode: String,
    pub pg_config: Option<String>,
    pub sharedir: Option<String>,
    pub pkglibdir: Option<String>,
}

impl Registration {
    /// The connection the registration names.
    pub(crate) fn target(&self) -> PgTarget {
        PgTarget {
            host: self.host.trim().to_string(),
            port: self.port,
            user: self.user.clone(),
            password: self.password.clone(),
            database: self.database.clone(),
        }
    }
}

fn text_field(name: &str, value: &str, max: usize) -> Result<()> {
    if value.trim().is_empty() || value.chars().count() > max {
        return Err(Error::Invalid(format!(
            "{name} must be 1 to {max} characters"
        )));
    }
    Ok(())
}

impl GaussDb {
    /// A page of the project's instances and the total that match.
    pub async fn list_instances(
        &self,
        project: &str,
        filter: &InstanceFilter,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<GaussDbInstance>, i64)> {
        Ok(self
            .store
            .list_gaussdb_instances(project, filter, offset, limit)
            .await?)
    }

    /// Register an instance (admin API) after its mode's checks.
    pub async fn register(&self, project: &str, reg: Registration) -> Result<GaussDbInstance> {
        text_field("name", &reg.name, 64)?;
        text_field("host", &reg.host, 255)?;
        text_field("user", &reg.user, 63)?;
        text_field("database", &reg.database, 63)?;
        if reg.port == 0 {
            return Err(Error::Invalid("port must be from 1 to 65535".into()));
        }
        let mode = Mode::parse(&reg.mode).ok_or_else(|| {
            Error::Invalid(format!(
                "install.mode must be `local` or `simulated` (got `{}`)",
                reg.mode
            ))
        })?;
        let ServerFacts {
            version,
            pg_major,
            layout,
        } = mode.driver().probe(&reg).await?;
        let now = time::now_micros();
        let dir = |d: Option<&std::path::PathBuf>| d.map(|d| d.display().to_string());
        let instance = GaussDbInstance {
            id: format!("{}in14", ids::hex32()),
            project_id: project.to_string(),
            name: reg.name.trim().to_string(),
            host: reg.host.trim().to_string(),
            port: i64::from(reg.port),
            password_sealed: self.key.seal(reg.password.as_bytes()),
            db_user: reg.user,
            database_name: reg.database,
            install_mode: mode.name().to_string(),
            pg_config: reg.pg_config.unwrap_or_default(),
            sharedir: dir(layout.as_ref().map(|l| &l.sharedir)).unwrap_or_default(),
            pkglibdir: dir(layout.as_ref().map(|l| &l.pkglibdir)).unwrap_or_default(),
            version,
            pg_major: i64::from(pg_major),
            status: "ACTIVE".into(),
            created_at: now,
            updated_at: now,
        };
        match self.store.create_gaussdb_instance(&instance).await {
            Ok(()) => Ok(instance),
            Err(StoreError::Conflict(_)) => Err(Error::Conflict(format!(
                "an instance named `{}` already exists in this project",
                instance.name
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Forget an instance and what plugboard recorded about it (files installed stay on the
    /// server); refused while a job runs on it.
    pub async fn delete_instance(&self, project: &str, id: &str) -> Result<()> {
        let i = self.instance(project, id).await?;
        if self
            .store
            .target_has_running_job(&InstallKernelPlugin::target_key(&InstanceTarget(
                i.id.clone(),
            )))
            .await?
        {
            return Err(Error::Conflict(format!(
                "a job is running on instance {}; delete it when the job has ended",
                i.id
            )));
        }
        match self
            .store
            .delete_gaussdb_instance(&i.project_id, &i.id)
            .await
        {
            Ok(()) | Err(StoreError::NotFound) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
