//! Jobs of every family in one list (docs/contract.md → Jobs): a domain's jobs — those of its
//! projects, and ZStack's api-jobs, recorded under the account (user) that started them or
//! under no one — newest first, filtered by kinds and state, behind the admin API's `ListJobs`
//! and `plugboard job list`.

use crate::jobs::{job_from, Job, COLS};
use crate::page::Where;
use crate::{Result, Store};

/// Which jobs a domain-wide listing returns.
#[derive(Debug, Clone, Default)]
pub struct DomainJobFilter {
    /// Only jobs of these kinds; `None`: every kind.
    pub kinds: Option<Vec<String>>,
    /// Only jobs in this stored state (`queued`, `running`, `completed`, `failed`).
    pub state: Option<String>,
}

impl Store {
    /// A page of the jobs of `domain_id`'s projects and users and of no one, newest first, and
    /// the total that match.
    pub async fn list_domain_jobs(
        &self,
        domain_id: &str,
        filter: &DomainJobFilter,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<Job>, i64)> {
        let mut w = Where::new();
        // A job belongs to a project, or (ZStack's api-jobs) to the account that started it
        // (a user id), or to no one.
        let domain = w.mark(domain_id);
        w.and(format!(
            "(project_id = '' OR project_id IN (SELECT id FROM projects WHERE domain_id = {domain}) OR project_id IN (SELECT id FROM users WHERE domain_id = {domain}))"
        ));
        if let Some(kinds) = &filter.kinds {
            if kinds.is_empty() {
                return Ok((vec![], 0));
            }
            w.any("kind", kinds);
        }
        if let Some(state) = &filter.state {
            w.eq("status", state);
        }
        let (rows, total) = self
            .read_page("jobs", COLS, &w, "created_at DESC, id DESC", offset, limit)
            .await?;
        Ok((rows.iter().map(job_from).collect::<Result<_>>()?, total))
    }
}
