//! ServiceStage rows: environments (with their labels and bound resources) and the add-ons
//! installed in them. An add-on and the job that acts on it are written in one transaction;
//! the add-on's status follows its job through functions a job's end effect calls inside the
//! transaction that ends the job (`*_in`), so an add-on is SUCCEEDED or FAILED exactly when its
//! job is.
//!
//! Lock order: a transaction that writes both a job row and an add-on row writes the job row
//! first. A job's end updates its job row, then (its effect) the add-on; starting an action
//! therefore inserts its job before it updates the add-on — the other way round, the insert
//! waited for the ending job (the one-active-job-per-target index) while holding the add-on the
//! ending job needed next: a deadlock on PostgreSQL.

use crate::jobs::{InsertJobError, NewJob};
use crate::page::Where;
use crate::{Result, Store, StoreError};
use plugboard_core::time::Micros;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

/// An environment label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    pub key: String,
    pub value: String,
}

/// A resource bound to an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvResource {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// An environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    pub enterprise_project_id: String,
    pub vpc_id: String,
    /// The name of the user who created it.
    pub creator: String,
    pub deploy_mode: String,
    pub labels: Vec<Label>,
    pub resources: Vec<EnvResource>,
    pub created_at: Micros,
    pub updated_at: Micros,
}

/// Which environments a list returns.
#[derive(Debug, Clone, Default)]
pub struct EnvironmentFilter {
    pub name: Option<String>,
    pub id: Option<String>,
    pub enterprise_project_id: Option<String>,
}

/// How environments are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EnvironmentOrder {
    #[default]
    CreateTime,
    Name,
    UpdateTime,
}

/// What an environment update changes (`None`: leave it).
#[derive(Debug, Clone, Default)]
pub struct EnvironmentChange {
    pub name: Option<String>,
    pub description: Option<String>,
    pub labels: Option<Vec<Label>>,
}

/// Why an environment could not be deleted.
#[derive(Debug, thiserror::Error)]
pub enum DeleteEnvironmentError {
    #[error("not found")]
    NotFound,
    /// Add-ons are still installed in it.
    #[error("the environment still has {0} add-on(s)")]
    HasAddons(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for DeleteEnvironmentError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Db(e))
    }
}

/// An add-on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addon {
    pub id: String,
    pub project_id: String,
    pub environment_id: String,
    pub name: String,
    pub version: String,
    pub cce_id: String,
    pub cse_id: String,
    /// The add-on's last job.
    pub job_id: String,
    /// `INITIALIZING`, `UPGRADING`, `DELETING`, `SUCCEEDED` or `FAILED`.
    pub status: String,
    pub driver_uuid: String,
    /// The host it belongs to (`local-process`), empty otherwise.
    pub host: String,
    pub created_at: Micros,
    pub updated_at: Micros,
}

/// Why an add-on job could not be started.
#[derive(Debug, thiserror::Error)]
pub enum AddonJobError {
    /// No such environment (install) or add-on (action, uninstall) in the project.
    #[error("not found")]
    NotFound,
    /// An add-on of that name is already in the environment.
    #[error("duplicate add-on name")]
    Duplicate,
    /// A job runs on the add-on.
    #[error("a job is running on the add-on")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AddonJobError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Db(e))
    }
}

impl crate::retry::MaybeConflict for AddonJobError {
    fn is_conflict(&self) -> bool {
        matches!(self, Self::Store(e) if crate::retry::MaybeConflict::is_conflict(e))
    }
}

impl From<InsertJobError> for AddonJobError {
    fn from(e: InsertJobError) -> Self {
        match e {
            InsertJobError::TargetBusy => Self::Busy,
            InsertJobError::Store(e) => Self::Store(e),
        }
    }
}

const ENV_COLS: &str = "id, project_id, name, description, enterprise_project_id, vpc_id, creator, deploy_mode, labels, resources, created_at, updated_at";
const ADDON_COLS: &str = "id, project_id, environment_id, name, version, cce_id, cse_id, job_id, status, driver_uuid, host, created_at, updated_at";

fn json_text<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".into())
}

fn environment_from(row: &AnyRow) -> Result<Environment> {
    let labels: String = row.try_get("labels")?;
    let resources: String = row.try_get("resources")?;
    Ok(Environment {
        id: row.try_get("id")?,
        project_id: row.try_get("project_id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        enterprise_project_id: row.try_get("enterprise_project_id")?,
        vpc_id: row.try_get("vpc_id")?,
        creator: row.try_get("creator")?,
        deploy_mode: row.try_get("deploy_mode")?,
        labels: serde_json::from_str(&labels).unwrap_or_default(),
        resources: serde_json::from_str(&resources).unwrap_or_default(),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn addon_from(row: &AnyRow) -> Result<Addon> {
    Ok(Addon {
        id: row.try_get("id")?,
        project_id: row.try_get("project_id")?,
        environment_id: row.try_get("environment_id")?,
        name: row.try_get("name")?,
        version: row.try_get("version")?,
        cce_id: row.try_get("cce_id")?,
        cse_id: row.try_get("cse_id")?,
        job_id: row.try_get("job_id")?,
        status: row.try_get("status")?,
        driver_uuid: row.try_get("driver_uuid")?,
        host: row.try_get("host")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Set an add-on's status (and, when given, its version and host) inside the transaction
/// that ends its job.
pub async fn set_addon_status_in(
    conn: &mut sqlx::AnyConnection,
    addon_id: &str,
    status: &str,
    version: Option<&str>,
    host: Option<&str>,
    now: Micros,
) -> Result<()> {
    sqlx::query("UPDATE ss_addons SET status = $2, version = COALESCE($3, version), host = COALESCE($4, host), updated_at = $5 WHERE id = $1")
        .bind(addon_id)
        .bind(status)
        .bind(version)
        .bind(host)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Remove an add-on inside the transaction that ends its uninstall job.
pub async fn delete_addon_in(conn: &mut sqlx::AnyConnection, addon_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM ss_addons WHERE id = $1")
        .bind(addon_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

impl Store {
    /// Create an environment; `Conflict` when the project has one of that name.
    pub async fn create_environment(&self, e: &Environment) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO ss_environments ({ENV_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(&e.id)
        .bind(&e.project_id)
        .bind(&e.name)
        .bind(&e.description)
        .bind(&e.enterprise_project_id)
        .bind(&e.vpc_id)
        .bind(&e.creator)
        .bind(&e.deploy_mode)
        .bind(json_text(&e.labels))
        .bind(json_text(&e.resources))
        .bind(e.created_at)
        .bind(e.updated_at)
        .execute(self.pool())
        .await
        .map_err(|err| StoreError::conflict_on_unique(err, "environment name"))?;
        Ok(())
    }

    /// An environment of `project_id` (another project's is `NotFound`).
    pub async fn get_environment(&self, project_id: &str, id: &str) -> Result<Environment> {
        let row = sqlx::query(&format!(
            "SELECT {ENV_COLS} FROM ss_environments WHERE id = $1 AND project_id = $2"
        ))
        .bind(id)
        .bind(project_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        environment_from(&row)
    }

    /// A page of a project's environments and the total that match; `limit: None` returns
    /// them all.
    pub async fn list_environments(
        &self,
        project_id: &str,
        filter: &EnvironmentFilter,
        order: EnvironmentOrder,
        ascending: bool,
        offset: i64,
        limit: Option<i64>,
    ) -> Result<(Vec<Environment>, i64)> {
        let mut w = Where::new();
        w.eq("project_id", project_id);
        for (column, value) in [
            ("name", &filter.name),
            ("id", &filter.id),
            ("enterprise_project_id", &filter.enterprise_project_id),
        ] {
            if let Some(v) = value {
                w.eq(column, v);
            }
        }
        let column = match order {
            EnvironmentOrder::CreateTime => "created_at",
            EnvironmentOrder::Name => "name",
            EnvironmentOrder::UpdateTime => "updated_at",
        };
        let direction = if ascending { "ASC" } else { "DESC" };
        let (rows, total) = self
            .read_page(
                "ss_environments",
                ENV_COLS,
                &w,
                &format!("{column} {direction}, id {direction}"),
                offset,
                limit.unwrap_or(i64::MAX),
            )
            .await?;
        Ok((
            rows.iter().map(environment_from).collect::<Result<_>>()?,
            total,
        ))
    }

    /// Change an environment's name, description or labels; the environment as it now is.
    pub async fn update_environment(
        &self,
        project_id: &str,
        id: &str,
        change: &EnvironmentChange,
        now: Micros,
    ) -> Result<Environment> {
        let labels = change.labels.as_ref().map(json_text);
        let done = sqlx::query("UPDATE ss_environments SET name = COALESCE($3, name), description = COALESCE($4, description), labels = COALESCE($5, labels), updated_at = $6 WHERE id = $1 AND project_id = $2")
            .bind(id)
            .bind(project_id)
            .bind(change.name.as_deref())
            .bind(change.description.as_deref())
            .bind(labels)
            .bind(now)
            .execute(self.pool())
            .await
            .map_err(|err| StoreError::conflict_on_unique(err, "environment name"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.get_environment(project_id, id).await
    }

    /// Replace the resources bound to an environment; the environment as it now is.
    pub async fn set_environment_resources(
        &self,
        project_id: &str,
        id: &str,
        resources: &[EnvResource],
        now: Micros,
    ) -> Result<Environment> {
        let done = sqlx::query("UPDATE ss_environments SET resources = $3, updated_at = $4 WHERE id = $1 AND project_id = $2")
            .bind(id)
            .bind(project_id)
            .bind(json_text(&resources))
            .bind(now)
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.get_environment(project_id, id).await
    }

    /// Delete an environment that has no add-ons.
    pub async fn delete_environment(
        &self,
        project_id: &str,
        id: &str,
    ) -> Result<(), DeleteEnvironmentError> {
        let mut tx = self.begin_write().await?;
        // Locked, so an install running at the same time either finishes first (and is
        // counted) or finds the environment gone.
        let exists = sqlx::query(&format!(
            "SELECT 1 FROM ss_environments WHERE id = $1 AND project_id = $2{}",
            self.row_lock("UPDATE")
        ))
        .bind(id)
        .bind(project_id)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
        if !exists {
            return Err(DeleteEnvironmentError::NotFound);
        }
        let addons: i64 = sqlx::query("SELECT COUNT(*) FROM ss_addons WHERE environment_id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        if addons > 0 {
            return Err(DeleteEnvironmentError::HasAddons(addons));
        }
        sqlx::query("DELETE FROM ss_environments WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// ` FOR <mode>` on PostgreSQL (SQLite's write transactions are serialized already).
    fn row_lock(&self, mode: &str) -> String {
        match self.backend() {
            crate::Backend::Postgres => format!(" FOR {mode}"),
            crate::Backend::Sqlite => String::new(),
        }
    }

    /// Install an add-on: the add-on row and its job in one transaction.
    pub async fn install_addon(&self, addon: &Addon, job: &NewJob) -> Result<(), AddonJobError> {
        self.retry_conflicts("install add-on", || self.install_addon_once(addon, job))
            .await
    }

    async fn install_addon_once(&self, addon: &Addon, job: &NewJob) -> Result<(), AddonJobError> {
        let mut tx = self.begin_write().await?;
        let env = sqlx::query(&format!(
            "SELECT 1 FROM ss_environments WHERE id = $1 AND project_id = $2{}",
            self.row_lock("SHARE")
        ))
        .bind(&addon.environment_id)
        .bind(&addon.project_id)
        .fetch_optional(&mut *tx)
        .await?;
        if env.is_none() {
            return Err(AddonJobError::NotFound);
        }
        let inserted = sqlx::query(&format!(
            "INSERT INTO ss_addons ({ADDON_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(&addon.id)
        .bind(&addon.project_id)
        .bind(&addon.environment_id)
        .bind(&addon.name)
        .bind(&addon.version)
        .bind(&addon.cce_id)
        .bind(&addon.cse_id)
        .bind(&addon.job_id)
        .bind(&addon.status)
        .bind(&addon.driver_uuid)
        .bind(&addon.host)
        .bind(addon.created_at)
        .bind(addon.updated_at)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(AddonJobError::Duplicate)
            }
            Err(e) => return Err(e.into()),
        }
        self.insert_job(&mut tx, job).await?;
        tx.commit().await?;
        self.announce_jobs([job.kind.as_str()]);
        Ok(())
    }

    /// Start a job on an installed add-on (an action or an uninstall): its status and last job
    /// change with the job's insertion, in one transaction (the job row first: see the lock
    /// order above).
    pub async fn start_addon_job(
        &self,
        project_id: &str,
        environment_id: &str,
        addon_id: &str,
        status: &str,
        job: &NewJob,
    ) -> Result<(), AddonJobError> {
        self.retry_conflicts("start an add-on job", || {
            self.start_addon_job_once(project_id, environment_id, addon_id, status, job)
        })
        .await
    }

    async fn start_addon_job_once(
        &self,
        project_id: &str,
        environment_id: &str,
        addon_id: &str,
        status: &str,
        job: &NewJob,
    ) -> Result<(), AddonJobError> {
        let mut tx = self.begin_write().await?;
        // Not locked: only so that another project's add-on is NotFound, never Busy.
        let exists = sqlx::query(
            "SELECT 1 FROM ss_addons WHERE id = $1 AND environment_id = $2 AND project_id = $3",
        )
        .bind(addon_id)
        .bind(environment_id)
        .bind(project_id)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
        if !exists {
            return Err(AddonJobError::NotFound);
        }
        self.insert_job(&mut tx, job).await?;
        let done = sqlx::query("UPDATE ss_addons SET status = $4, job_id = $5, updated_at = $6 WHERE id = $1 AND environment_id = $2 AND project_id = $3")
            .bind(addon_id)
            .bind(environment_id)
            .bind(project_id)
            .bind(status)
            .bind(&job.id)
            .bind(job.created_at)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            // Removed meanwhile (its uninstall ended): the job goes with the rollback.
            return Err(AddonJobError::NotFound);
        }
        tx.commit().await?;
        self.announce_jobs([job.kind.as_str()]);
        Ok(())
    }

    /// An add-on of an environment of `project_id`.
    pub async fn get_addon(
        &self,
        project_id: &str,
        environment_id: &str,
        id: &str,
    ) -> Result<Addon> {
        let row = sqlx::query(&format!(
            "SELECT {ADDON_COLS} FROM ss_addons WHERE id = $1 AND environment_id = $2 AND project_id = $3"
        ))
        .bind(id)
        .bind(environment_id)
        .bind(project_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        addon_from(&row)
    }

    /// An add-on by id alone (job handlers).
    pub async fn addon(&self, id: &str) -> Result<Addon> {
        let row = sqlx::query(&format!("SELECT {ADDON_COLS} FROM ss_addons WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        addon_from(&row)
    }

    /// The add-ons of an environment, oldest first.
    pub async fn list_addons(&self, project_id: &str, environment_id: &str) -> Result<Vec<Addon>> {
        let rows = sqlx::query(&format!(
            "SELECT {ADDON_COLS} FROM ss_addons WHERE environment_id = $1 AND project_id = $2 ORDER BY created_at, id"
        ))
        .bind(environment_id)
        .bind(project_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(addon_from).collect()
    }

    /// The add-ons a driver runs (whichever project).
    pub async fn addons_of_driver(&self, driver_uuid: &str) -> Result<Vec<Addon>> {
        let rows = sqlx::query(&format!(
            "SELECT {ADDON_COLS} FROM ss_addons WHERE driver_uuid = $1 ORDER BY created_at, id"
        ))
        .bind(driver_uuid)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(addon_from).collect()
    }
}
