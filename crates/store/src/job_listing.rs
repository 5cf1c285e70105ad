//! Jobs of every family in one list (docs/contract.md → Jobs): a domain's jobs — those of its
//! projects, ZStack's api-jobs (kept under the submitting account, a user of the domain) and
//! the project-less ones (web-hook deliveries) — newest first, filtered by kinds and
//! state, behind the admin API's `ListJobs` and `plugboard job list`.

use crate::jobs::{job_from, Job, COLS};
use crate::{Result, Store};
use sqlx::Row;

/// Which jobs a domain-wide listing returns.
#[derive(Debug, Clone, Default)]
pub struct DomainJobFilter {
    /// Only jobs of these kinds; `None`: every kind.
    pub kinds: Option<Vec<String>>,
    /// Only jobs in this stored state (`queued`, `running`, `completed`, `failed`).
    pub state: Option<String>,
}

impl Store {
    /// A page of the jobs of `domain_id`'s projects, of its users' ZStack accounts and of no
    /// project, newest first, and the
    /// total that match.
    pub async fn list_domain_jobs(
        &self,
        domain_id: &str,
        filter: &DomainJobFilter,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<Job>, i64)> {
        let mut clause = String::from(
            "(project_id = '' OR project_id IN (SELECT id FROM projects WHERE domain_id = $1) \
             OR project_id IN (SELECT id FROM users WHERE domain_id = $1))",
        );
        let mut texts = vec![domain_id.to_string()];
        if let Some(kinds) = &filter.kinds {
            if kinds.is_empty() {
                return Ok((vec![], 0));
            }
            let mut any = Vec::with_capacity(kinds.len());
            for kind in kinds {
                texts.push(kind.clone());
                any.push(format!("${}", texts.len()));
            }
            clause.push_str(&format!(" AND kind IN ({})", any.join(", ")));
        }
        if let Some(state) = &filter.state {
            texts.push(state.clone());
            clause.push_str(&format!(" AND status = ${}", texts.len()));
        }
        let page_sql = format!(
            "SELECT {COLS} FROM jobs WHERE {clause} ORDER BY created_at DESC, id DESC LIMIT ${} OFFSET ${}",
            texts.len() + 1,
            texts.len() + 2
        );
        let mut page = sqlx::query(&page_sql);
        for t in &texts {
            page = page.bind(t);
        }
        let rows = page.bind(limit).bind(offset).fetch_all(self.pool()).await?;
        let count_sql = format!("SELECT COUNT(*) FROM jobs WHERE {clause}");
        let mut count = sqlx::query(&count_sql);
        for t in &texts {
            count = count.bind(t);
        }
        let total: i64 = count.fetch_one(self.pool()).await?.try_get(0)?;
        Ok((rows.iter().map(job_from).collect::<Result<_>>()?, total))
    }
}
