//! ZStack sessions: one row per live session (the session uuid's SHA-256, never the uuid),
//! shared by every process of a scale-out. Creating one counts the account's live sessions in
//! the same transaction, so the per-account bound holds under concurrent logins. Api-jobs are
//! job rows whose `project_id` is the submitting account; submitting one counts the account's
//! api-jobs that have not ended the same way.

use crate::jobs::{InsertJobError, NewJob};
use crate::{Result, Store};
use plugboard_core::time::Micros;
use sqlx::Row;

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub uuid_hash: String,
    pub user_id: String,
    pub domain_id: String,
    pub created_at: Micros,
    pub expires_at: Micros,
}

/// Why a session could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateSessionError {
    /// The account already holds this many live sessions.
    #[error("the account already has {0} sessions")]
    TooMany(i64),
    #[error(transparent)]
    Store(#[from] crate::StoreError),
}

impl From<sqlx::Error> for CreateSessionError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

/// Why an api-job could not be submitted.
#[derive(Debug, thiserror::Error)]
pub enum SubmitApiJobError {
    /// The account already has this many api-jobs that have not ended.
    #[error("the account already has {0} api-jobs that have not ended")]
    TooMany(i64),
    /// Another job runs on the same target, or the id is taken.
    #[error("another job is running on the target")]
    TargetBusy,
    #[error(transparent)]
    Store(#[from] crate::StoreError),
}

impl From<sqlx::Error> for SubmitApiJobError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

impl From<InsertJobError> for SubmitApiJobError {
    fn from(e: InsertJobError) -> Self {
        match e {
            InsertJobError::TargetBusy => Self::TargetBusy,
            InsertJobError::Store(e) => Self::Store(e),
        }
    }
}

impl Store {
    /// Submit an api-job of the account in `job.project_id` unless the account has `max`
    /// jobs of `kinds` that have not ended (queued or running).
    pub async fn submit_api_job(
        &self,
        job: &NewJob,
        kinds: &[&str],
        max: i64,
    ) -> Result<(), SubmitApiJobError> {
        let mut tx = self.begin_write().await?;
        // PostgreSQL: one submit of an account at a time (the count is then exact).
        if self.backend() == crate::Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                .bind(format!("zstack-api-jobs:{}", job.project_id))
                .execute(&mut *tx)
                .await?;
        }
        let marks: Vec<String> = (0..kinds.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT COUNT(*) FROM jobs WHERE project_id = $1 AND ended_at = 0 AND status IN ('queued', 'running') AND kind IN ({})",
            marks.join(", ")
        );
        let mut count = sqlx::query(&sql).bind(&job.project_id);
        for k in kinds {
            count = count.bind(*k);
        }
        let open: i64 = count.fetch_one(&mut *tx).await?.try_get(0)?;
        if open >= max {
            return Err(SubmitApiJobError::TooMany(open));
        }
        self.insert_job(&mut tx, job).await?;
        tx.commit().await?;
        self.announce_jobs([job.kind.as_str()]);
        Ok(())
    }

    /// Create a session unless the user holds `max` live ones at `now` (expired sessions of
    /// the user are removed on the way).
    pub async fn create_zstack_session(
        &self,
        s: &SessionRow,
        max: i64,
        now: Micros,
    ) -> Result<(), CreateSessionError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM zstack_sessions WHERE user_id = $1 AND expires_at <= $2")
            .bind(&s.user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        // PostgreSQL: one login of a user at a time (the count is then exact).
        if self.backend() == crate::Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                .bind(&s.user_id)
                .execute(&mut *tx)
                .await?;
        }
        let live: i64 = sqlx::query("SELECT COUNT(*) FROM zstack_sessions WHERE user_id = $1")
            .bind(&s.user_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        if live >= max {
            return Err(CreateSessionError::TooMany(live));
        }
        sqlx::query("INSERT INTO zstack_sessions (uuid_hash, user_id, domain_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&s.uuid_hash)
            .bind(&s.user_id)
            .bind(&s.domain_id)
            .bind(s.created_at)
            .bind(s.expires_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A session by its uuid's hash (expired ones included: the caller checks).
    pub async fn get_zstack_session(&self, uuid_hash: &str) -> Result<Option<SessionRow>> {
        let row = sqlx::query("SELECT uuid_hash, user_id, domain_id, created_at, expires_at FROM zstack_sessions WHERE uuid_hash = $1")
            .bind(uuid_hash)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            Ok(SessionRow {
                uuid_hash: r.try_get("uuid_hash")?,
                user_id: r.try_get("user_id")?,
                domain_id: r.try_get("domain_id")?,
                created_at: r.try_get("created_at")?,
                expires_at: r.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    /// End a session; `false` when there was none.
    pub async fn delete_zstack_session(&self, uuid_hash: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM zstack_sessions WHERE uuid_hash = $1")
            .bind(uuid_hash)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Remove every session that expired before `now`; how many.
    pub async fn prune_zstack_sessions(&self, now: Micros) -> Result<u64> {
        let done = sqlx::query("DELETE FROM zstack_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }
}
