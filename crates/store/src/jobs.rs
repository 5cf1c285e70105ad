//! Durable job rows (docs/contract.md → Jobs). A job is inserted in the transaction of the
//! change that caused it; at most one job per target runs at a time (a partial unique index);
//! processes claim due jobs under a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL), renew it
//! while they work, and every write of a running job is fenced by the lease owner, so a process
//! that lost its lease cannot overwrite the work of the one that took the job over.

use crate::gaussdb::{
    record_plugin_install_in, record_plugin_installs_in, InstalledPlugin, PluginFile,
};
use crate::page::Where;
use crate::servicestage::{delete_addon_in, set_addon_status_in};
use crate::{Result, Store, StoreError};
use plugboard_core::time::Micros;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::sync::Arc;

pub use crate::job_state::JobState;

pub const QUEUED: &str = JobState::Queued.as_str();
pub const RUNNING: &str = JobState::Running.as_str();
pub const COMPLETED: &str = JobState::Completed.as_str();
pub const FAILED: &str = JobState::Failed.as_str();
/// The states of a job that has not ended.
pub const ACTIVE: &[&str] = &[QUEUED, RUNNING];

/// One step of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobStep {
    pub name: String,
    /// `pending`, `running`, `done`, `failed`.
    pub status: String,
    pub started_at: Micros,
    pub ended_at: Micros,
    pub message: String,
}

impl JobStep {
    /// A step not yet run.
    pub fn pending(name: &str) -> Self {
        Self {
            name: name.to_string(),
            status: "pending".into(),
            started_at: 0,
            ended_at: 0,
            message: String::new(),
        }
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: String,
    pub project_id: String,
    pub kind: String,
    pub target: String,
    pub target_name: String,
    pub status: String,
    pub progress: i64,
    pub current_step: i64,
    pub steps: Vec<JobStep>,
    pub input: serde_json::Value,
    pub context: serde_json::Map<String, serde_json::Value>,
    pub fail_reason: String,
    pub attempts: i64,
    pub next_run_at: Micros,
    pub lease_owner: String,
    pub lease_expires_at: Micros,
    pub created_at: Micros,
    pub updated_at: Micros,
    pub ended_at: Micros,
    /// The host the job must run on (empty: any).
    pub host: String,
}

impl Job {
    /// The job's state (`None` for a row written with a word that is not one).
    pub fn state(&self) -> Option<JobState> {
        JobState::parse(&self.status)
    }
}

/// A job to submit.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Chosen by the caller (GaussDB: a hyphenated UUID).
    pub id: String,
    pub project_id: String,
    pub kind: String,
    pub target: String,
    pub target_name: String,
    pub steps: Vec<String>,
    pub input: serde_json::Value,
    pub created_at: Micros,
    /// The host the job must run on (empty: any process may claim it).
    pub host: String,
}

/// Why a job could not be inserted.
#[derive(Debug, thiserror::Error)]
pub enum InsertJobError {
    /// Another job runs on the same target.
    #[error("another job is running on the target")]
    TargetBusy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for InsertJobError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => Self::TargetBusy,
            _ => Self::Store(StoreError::Db(e)),
        }
    }
}

/// Why a job could not be deleted.
#[derive(Debug, thiserror::Error)]
pub enum DeleteJobError {
    #[error("not found")]
    NotFound,
    /// Only finished jobs can be deleted.
    #[error("the job is running")]
    Running,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for DeleteJobError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Db(e))
    }
}

/// How jobs are filtered when listed.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    /// Any of these states ([`QUEUED`], ...); empty: every state.
    pub states: Vec<String>,
    pub kind: Option<String>,
    pub created_from: Option<Micros>,
    pub created_to: Option<Micros>,
}

/// What a runner saves after a step.
#[derive(Debug, Clone)]
pub struct StepUpdate<'a> {
    pub current_step: i64,
    pub progress: i64,
    pub steps: &'a [JobStep],
    pub context: &'a serde_json::Map<String, serde_json::Value>,
}

/// A durable change committed in the same transaction as a job's end (its completion, or its
/// failure): the job has ended exactly when its effects are recorded. Effect types belong to
/// the aggregate they change (e.g. `plugboard_service::gaussdb`); they write through the
/// repository calls of [`EffectTx`].
#[async_trait::async_trait]
pub trait JobEffect: Send + Sync + std::fmt::Debug {
    async fn apply(&self, tx: &mut EffectTx<'_>) -> Result<()>;
}

/// A job effect, shared.
pub type BoxedEffect = Arc<dyn JobEffect>;

/// The transaction a job ends in, as job effects see it.
pub struct EffectTx<'a> {
    conn: &'a mut sqlx::AnyConnection,
    /// The kinds of the jobs inserted, announced after the commit.
    pub(crate) inserted: Vec<String>,
    /// Installs without files, recorded together by [`EffectTx::flush`].
    plugins: Vec<InstalledPlugin>,
}

impl<'a> EffectTx<'a> {
    /// The effects' view of `conn`, the transaction jobs end in (one or a group commit's).
    pub(crate) fn new(conn: &'a mut sqlx::AnyConnection) -> Self {
        Self {
            conn,
            inserted: vec![],
            plugins: vec![],
        }
    }

    /// Record a kernel plug-in install ([`Store::record_plugin_install`]). One without files
    /// is written with the others of the same commit, in one statement, before it commits.
    pub async fn record_plugin_install(
        &mut self,
        plugin: &InstalledPlugin,
        files: Option<&[PluginFile]>,
    ) -> Result<()> {
        if files.is_none() {
            self.plugins.push(plugin.clone());
            return Ok(());
        }
        // in the order the effects came
        self.flush().await?;
        record_plugin_install_in(self.conn, plugin, files).await
    }

    /// Write what the effects left to write together; called before the commit.
    pub(crate) async fn flush(&mut self) -> Result<()> {
        if !self.plugins.is_empty() {
            let plugins = std::mem::take(&mut self.plugins);
            record_plugin_installs_in(self.conn, &plugins).await?;
        }
        Ok(())
    }

    /// Set a ServiceStage add-on's status (and, when given, its version and host).
    pub async fn set_addon_status(
        &mut self,
        addon_id: &str,
        status: &str,
        version: Option<&str>,
        host: Option<&str>,
        now: Micros,
    ) -> Result<()> {
        set_addon_status_in(self.conn, addon_id, status, version, host, now).await
    }

    /// Submit another job with this one's end (a ZStack web hook's delivery, say).
    pub async fn insert_job(&mut self, job: &NewJob) -> Result<()> {
        let steps: Vec<JobStep> = job.steps.iter().map(|s| JobStep::pending(s)).collect();
        insert_job_query(job, &steps)
            .execute(&mut *self.conn)
            .await?;
        self.inserted.push(job.kind.clone());
        Ok(())
    }

    /// Remove a ServiceStage add-on (its uninstall succeeded).
    pub async fn delete_addon(&mut self, addon_id: &str) -> Result<()> {
        delete_addon_in(self.conn, addon_id).await
    }
}

/// How a job ends, for [`Store::finish_jobs`].
#[derive(Debug, Clone)]
pub struct JobEnd {
    pub id: String,
    /// [`JobState::Completed`] or [`JobState::Failed`].
    pub status: JobState,
    pub fail_reason: String,
    pub progress: i64,
    pub steps: Vec<JobStep>,
    pub context: serde_json::Map<String, serde_json::Value>,
    pub ended_at: Micros,
    /// Applied in the same transaction, only if the job ends here.
    pub effects: Vec<BoxedEffect>,
}

/// `INSERT INTO jobs (…columns…)` of a new job's row, for [`INSERT_SQL`] and the one-statement
/// GaussDB submit (`gaussdb_submit`), which takes some of its values from the instance's row.
macro_rules! insert_new_job_into {
    () => {
        "INSERT INTO jobs (id, project_id, kind, target, target_name, status, progress, current_step, steps, input, context, fail_reason, attempts, next_run_at, lease_owner, lease_expires_at, created_at, updated_at, ended_at, host) "
    };
}
pub(crate) use insert_new_job_into;

const INSERT_SQL: &str = concat!(
    insert_new_job_into!(),
    "VALUES ($1, $2, $3, $4, $5, 'queued', 0, 0, $6, $7, '{}', '', 0, 0, '', 0, $8, $8, 0, $9)"
);
/// The insertion of a new job with its pending steps.
fn insert_job_query<'q>(
    job: &'q NewJob,
    steps: &[JobStep],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    sqlx::query(INSERT_SQL)
        .bind(&job.id)
        .bind(&job.project_id)
        .bind(&job.kind)
        .bind(&job.target)
        .bind(&job.target_name)
        .bind(json_text(&steps))
        .bind(json_text(&job.input))
        .bind(job.created_at)
        .bind(&job.host)
}

pub(crate) const COLS: &str = "id, project_id, kind, target, target_name, status, progress, current_step, steps, input, context, fail_reason, attempts, next_run_at, lease_owner, lease_expires_at, created_at, updated_at, ended_at, host";

pub(crate) fn job_from(row: &AnyRow) -> Result<Job> {
    let steps: String = row.try_get("steps")?;
    let input: String = row.try_get("input")?;
    let context: String = row.try_get("context")?;
    Ok(Job {
        id: row.try_get("id")?,
        project_id: row.try_get("project_id")?,
        kind: row.try_get("kind")?,
        target: row.try_get("target")?,
        target_name: row.try_get("target_name")?,
        status: row.try_get("status")?,
        progress: row.try_get("progress")?,
        current_step: row.try_get("current_step")?,
        steps: serde_json::from_str(&steps).unwrap_or_default(),
        input: serde_json::from_str(&input).unwrap_or_default(),
        context: serde_json::from_str(&context).unwrap_or_default(),
        fail_reason: row.try_get("fail_reason")?,
        attempts: row.try_get("attempts")?,
        next_run_at: row.try_get("next_run_at")?,
        lease_owner: row.try_get("lease_owner")?,
        lease_expires_at: row.try_get("lease_expires_at")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        ended_at: row.try_get("ended_at")?,
        host: row.try_get("host")?,
    })
}

pub(crate) fn json_text<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

impl Store {
    /// Insert a job inside the caller's transaction, so it commits with the change that caused
    /// it. `TargetBusy` when another job runs on the target. After the commit, announce it
    /// ([`Store::announce_jobs`]) so other processes claim it at once.
    pub async fn insert_job(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        job: &NewJob,
    ) -> Result<(), InsertJobError> {
        let steps: Vec<JobStep> = job.steps.iter().map(|s| JobStep::pending(s)).collect();
        self.insert_job_query(job, &steps)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Insert a job on its own (one statement, committed at once).
    pub async fn submit_job(&self, job: &NewJob) -> Result<(), InsertJobError> {
        let steps: Vec<JobStep> = job.steps.iter().map(|s| JobStep::pending(s)).collect();
        self.insert_job_query(job, &steps)
            .execute(self.pool())
            .await?;
        self.announce_jobs([job.kind.as_str()]);
        Ok(())
    }

    fn insert_job_query<'q>(
        &self,
        job: &'q NewJob,
        steps: &[JobStep],
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        insert_job_query(job, steps)
    }

    /// A job of `project_id` (another project's is `NotFound`).
    pub async fn get_job(&self, project_id: &str, id: &str) -> Result<Job> {
        let row = sqlx::query(&format!(
            "SELECT {COLS} FROM jobs WHERE id = $1 AND project_id = $2"
        ))
        .bind(id)
        .bind(project_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        job_from(&row)
    }

    /// A job by id alone, whichever project (ZStack api-jobs are polled by id).
    pub async fn job_by_id(&self, id: &str) -> Result<Job> {
        let row = sqlx::query(&format!("SELECT {COLS} FROM jobs WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        job_from(&row)
    }

    /// Whether a job of that id exists (any project, any state).
    pub async fn job_exists(&self, id: &str) -> Result<bool> {
        Ok(sqlx::query("SELECT 1 FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .is_some())
    }

    /// Whether a job runs on `target`.
    pub async fn target_has_running_job(&self, target: &str) -> Result<bool> {
        Ok(
            sqlx::query("SELECT 1 FROM jobs WHERE target = $1 AND ended_at = 0 AND status IN ('queued', 'running')")
                .bind(target)
                .fetch_optional(self.pool())
                .await?
                .is_some(),
        )
    }

    /// A page of a project's jobs, newest first, and the total that match.
    pub async fn list_jobs(
        &self,
        project_id: &str,
        filter: &JobFilter,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<Job>, i64)> {
        let mut w = Where::new();
        w.eq("project_id", project_id);
        if !filter.states.is_empty() {
            w.any("status", &filter.states);
        }
        if let Some(kind) = &filter.kind {
            w.eq("kind", kind);
        }
        if let Some(from) = filter.created_from {
            w.cmp("created_at", ">=", from);
        }
        if let Some(to) = filter.created_to {
            w.cmp("created_at", "<=", to);
        }
        let (rows, total) = self
            .read_page("jobs", COLS, &w, "created_at DESC, id DESC", offset, limit)
            .await?;
        Ok((rows.iter().map(job_from).collect::<Result<_>>()?, total))
    }

    /// Delete a finished job.
    pub async fn delete_job(&self, project_id: &str, id: &str) -> Result<(), DeleteJobError> {
        let done = sqlx::query(
            "DELETE FROM jobs WHERE id = $1 AND project_id = $2 AND status IN ('completed', 'failed')",
        )
        .bind(id)
        .bind(project_id)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        match self.get_job(project_id, id).await {
            Ok(_) => Err(DeleteJobError::Running),
            Err(StoreError::NotFound) => Err(DeleteJobError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// How many jobs there are of each (kind, status).
    pub async fn count_jobs_by_kind_and_status(&self) -> Result<Vec<(String, String, i64)>> {
        let rows =
            sqlx::query("SELECT kind, status, COUNT(*) AS n FROM jobs GROUP BY kind, status")
                .fetch_all(self.pool())
                .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("kind")?, r.try_get("status")?, r.try_get("n")?)))
            .collect()
    }

    /// Save a step's outcome (fenced by the lease); `false`: the lease is lost, stop.
    pub async fn save_job_step(&self, owner: &str, id: &str, u: &StepUpdate<'_>) -> Result<bool> {
        let done = sqlx::query("UPDATE jobs SET current_step = $3, progress = $4, steps = $5, context = $6, attempts = 0, updated_at = $7 WHERE id = $1 AND lease_owner = $2 AND status IN ('queued', 'running')")
            .bind(id)
            .bind(owner)
            .bind(u.current_step)
            .bind(u.progress)
            .bind(json_text(&u.steps))
            .bind(json_text(&u.context))
            .bind(plugboard_core::time::now_micros())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Record progress within a step (fenced by the lease).
    pub async fn set_job_progress(
        &self,
        owner: &str,
        id: &str,
        progress: i64,
        steps: &[JobStep],
    ) -> Result<bool> {
        let done = sqlx::query("UPDATE jobs SET progress = $3, steps = $4, updated_at = $5 WHERE id = $1 AND lease_owner = $2 AND status IN ('queued', 'running')")
            .bind(id)
            .bind(owner)
            .bind(progress)
            .bind(json_text(&steps))
            .bind(plugboard_core::time::now_micros())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Put a job back to be tried again at `next_run_at` (a transient failure), releasing the
    /// lease.
    pub async fn retry_job(
        &self,
        owner: &str,
        id: &str,
        attempts: i64,
        next_run_at: Micros,
        steps: &[JobStep],
    ) -> Result<bool> {
        let done = sqlx::query("UPDATE jobs SET attempts = $3, next_run_at = $4, steps = $5, lease_owner = '', lease_expires_at = 0, updated_at = $6 WHERE id = $1 AND lease_owner = $2 AND status IN ('queued', 'running')")
            .bind(id)
            .bind(owner)
            .bind(attempts)
            .bind(next_run_at)
            .bind(json_text(&steps))
            .bind(plugboard_core::time::now_micros())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Release every lease `owner` holds (graceful shutdown): another process resumes them now.
    pub async fn release_job_leases(&self, owner: &str) -> Result<u64> {
        Ok(sqlx::query(
            "UPDATE jobs SET lease_owner = '', lease_expires_at = 0 WHERE lease_owner = $1 AND status IN ('queued', 'running')",
        )
        .bind(owner)
        .execute(self.pool())
        .await?
        .rows_affected())
    }

    /// Delete jobs that ended before `ended_before`.
    pub async fn prune_jobs(&self, ended_before: Micros) -> Result<u64> {
        Ok(sqlx::query(
            "DELETE FROM jobs WHERE status IN ('completed', 'failed') AND ended_at > 0 AND ended_at < $1",
        )
        .bind(ended_before)
        .execute(self.pool())
        .await?
        .rows_affected())
    }
}
