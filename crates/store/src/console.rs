//! The web console's rows: its sessions (the session id's SHA-256, never the id) and the
//! job listing across projects and families that the console's Jobs and Overview pages read.

use crate::jobs::{job_from, Job, COLS};
use crate::page::Where;
use crate::{Result, Store};
use plugboard_core::time::Micros;
use sqlx::Row;

/// A console session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSessionRow {
    pub id_hash: String,
    pub user_id: String,
    pub domain_id: String,
    pub created_at: Micros,
    pub last_seen_at: Micros,
}

/// Which jobs a cross-project listing returns.
#[derive(Debug, Clone, Default)]
pub struct JobsQuery {
    /// The projects whose jobs are listed (`""` stands for jobs of no project, such as
    /// ZStack's driver jobs). Empty: none.
    pub projects: Vec<String>,
    /// Any of these kinds; empty: every kind.
    pub kinds: Vec<String>,
    /// Any of these neutral states; empty: every state.
    pub states: Vec<String>,
    /// Jobs that ended at or after this time (`ended_at`), when set.
    pub ended_from: Option<Micros>,
}

impl Store {
    /// Record a new console session.
    pub async fn create_console_session(&self, s: &ConsoleSessionRow) -> Result<()> {
        sqlx::query("INSERT INTO console_sessions (id_hash, user_id, domain_id, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&s.id_hash)
            .bind(&s.user_id)
            .bind(&s.domain_id)
            .bind(s.created_at)
            .bind(s.last_seen_at)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// A console session by its id's hash.
    pub async fn get_console_session(&self, id_hash: &str) -> Result<Option<ConsoleSessionRow>> {
        let row = sqlx::query("SELECT id_hash, user_id, domain_id, created_at, last_seen_at FROM console_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            Ok(ConsoleSessionRow {
                id_hash: r.try_get("id_hash")?,
                user_id: r.try_get("user_id")?,
                domain_id: r.try_get("domain_id")?,
                created_at: r.try_get("created_at")?,
                last_seen_at: r.try_get("last_seen_at")?,
            })
        })
        .transpose()
    }

    /// Note activity on a session.
    pub async fn touch_console_session(&self, id_hash: &str, now: Micros) -> Result<()> {
        sqlx::query("UPDATE console_sessions SET last_seen_at = $2 WHERE id_hash = $1")
            .bind(id_hash)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// End a session; `false` when there was none.
    pub async fn delete_console_session(&self, id_hash: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM console_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Remove the sessions idle since before `seen_before`; how many.
    pub async fn prune_console_sessions(&self, seen_before: Micros) -> Result<u64> {
        let done = sqlx::query("DELETE FROM console_sessions WHERE last_seen_at < $1")
            .bind(seen_before)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// A page of the jobs `q` selects, newest first, and the total that match.
    pub async fn list_jobs_across(
        &self,
        q: &JobsQuery,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<Job>, i64)> {
        if q.projects.is_empty() {
            return Ok((vec![], 0));
        }
        // SQLite would take the per-project index for several projects, then sort all their
        // jobs; `+project_id` leaves it the creation-order index (a walk that stops at the page).
        let project_column = if q.projects.len() > 1 && self.backend() == crate::Backend::Sqlite {
            "+project_id"
        } else {
            "project_id"
        };
        let mut filter = Where::new();
        filter.any(project_column, &q.projects);
        if !q.kinds.is_empty() {
            filter.any("kind", &q.kinds);
        }
        if !q.states.is_empty() {
            filter.any("status", &q.states);
        }
        if let Some(from) = q.ended_from {
            filter.cmp("ended_at", ">=", from);
        }
        let (rows, total) = self
            .read_page(
                "jobs",
                COLS,
                &filter,
                "created_at DESC, id DESC",
                offset,
                limit,
            )
            .await?;
        Ok((rows.iter().map(job_from).collect::<Result<_>>()?, total))
    }
}
