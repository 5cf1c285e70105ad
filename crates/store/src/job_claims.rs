//! Claiming due jobs (docs/operations.md → Jobs): which jobs a process takes next. Claims are
//! fair: each claim takes the oldest due job of every (account, kind) first, then the oldest
//! due jobs of all, so one account's flood of queued jobs cannot hold back another account's
//! job by more than a claim. Each execution class claims only its
//! own kinds ([`Kinds`]). On PostgreSQL rows another claimer holds are skipped
//! (`FOR UPDATE SKIP LOCKED`), so every job goes to exactly one process.

use crate::jobs::{job_from, Job, COLS};
use crate::{Backend, Result, Store};
use plugboard_core::time::Micros;
use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;

/// PostgreSQL: the pool claims run on (opened at the first claim; a process has one claim
/// loop, so two connections are plenty), with two settings for its sessions only:
/// - `plan_cache_mode = force_generic_plan`: each claim shape is planned once per connection
///   (PostgreSQL otherwise planned every claim afresh: 0.65–1.2 ms of planning for a claim
///   that executes in 0.4–3 ms);
/// - `enable_bitmapscan` and `enable_seqscan` off: a claim walks its indexes in claim order
///   and stops at its limit. A queue's statistics are always stale (and absent where
///   autovacuum is off), and with an estimate of a dozen active jobs PostgreSQL read every
///   active row and sorted them, twice per claim: a claim of 16 from 2,000 queued jobs read
///   701 buffers in 2.2–4.7 ms, walking the indexes 277 in 0.4–0.6 ms (docs/benchmarks.md,
///   2026-12-07 stop 27).
///
/// Every other statement keeps the server's settings.
pub(crate) fn claim_pool(url: &str) -> Result<AnyPool> {
    let option = "options=-c%20plan_cache_mode%3Dforce_generic_plan%20-c%20enable_bitmapscan%3Doff%20-c%20enable_seqscan%3Doff";
    let sep = if url.contains('?') { '&' } else { '?' };
    Ok(AnyPoolOptions::new()
        .max_connections(2)
        .min_connections(0)
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect_lazy(&format!("{url}{sep}{option}"))?)
}

/// Which kinds of job a claim takes.
#[derive(Debug, Clone, Copy)]
pub enum Kinds<'a> {
    /// Every kind.
    All,
    /// Only these kinds.
    Only(&'a [&'a str]),
    /// Every kind but these.
    Except(&'a [&'a str]),
}

/// One claim: up to `limit` due jobs of `kinds`, leased to `owner` until `lease_until`.
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    pub owner: &'a str,
    /// The claimer's host: it also takes the jobs pinned to it.
    pub host: &'a str,
    pub now: Micros,
    pub lease_until: Micros,
    pub limit: i64,
    pub kinds: Kinds<'a>,
}

impl Store {
    /// Claim up to `limit` due jobs of any kind (see [`Store::claim`]).
    pub async fn claim_jobs(
        &self,
        owner: &str,
        host: &str,
        now: Micros,
        lease_until: Micros,
        limit: i64,
    ) -> Result<Vec<Job>> {
        self.claim(&Claim {
            owner,
            host,
            now,
            lease_until,
            limit,
            kinds: Kinds::All,
        })
        .await
    }

    /// Claim the due jobs `c` describes that hold no live lease: the oldest of every (account,
    /// kind) first, then the oldest of all. A job pinned to a host (its `host`) is claimed only by a claimer on that host.
    pub async fn claim(&self, c: &Claim<'_>) -> Result<Vec<Job>> {
        let (names, negate) = match c.kinds {
            Kinds::All => (&[][..], false),
            Kinds::Only(k) => (k, false),
            Kinds::Except(k) => (k, true),
        };
        if names.is_empty() && !negate && !matches!(c.kinds, Kinds::All) {
            return Ok(vec![]);
        }
        let kind_clause = if names.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = (0..names.len()).map(|i| format!("${}", 6 + i)).collect();
            format!(
                " AND kind {}IN ({})",
                if negate { "NOT " } else { "" },
                list.join(", ")
            )
        };
        // Due and free: checked in every part, and again on the row locked (a concurrent
        // claim may have taken it since this statement's snapshot).
        let free = |t: &str| {
            format!("{t}status IN ('queued', 'running') AND {t}next_run_at <= $3 AND ({t}lease_owner = '' OR {t}lease_expires_at < $3) AND ({t}host = '' OR {t}host = $5)")
        };
        // With `ended_at = 0` (active: the same rows) the active jobs' partial indexes match
        // on either back-end (PostgreSQL's are on `ended_at = 0` since migration 0066,
        // SQLite's on the states).
        let due = |t: &str| format!("{t}ended_at = 0 AND {}", free(t));
        // Active, for finding the (account, kind) pairs: on PostgreSQL `ended_at = 0` alone,
        // which `jobs_fair` answers without reading the rows (with the states too, PostgreSQL
        // read and sorted every active row to find the first pair).
        let active = match self.backend() {
            Backend::Postgres => "ended_at = 0",
            Backend::Sqlite => "status IN ('queued', 'running')",
        };
        // `g`: every (account, kind) with active jobs, found by skipping through `jobs_fair`
        // from one pair to the next (a few index probes per pair, however many jobs queue: the
        // next kind of the same account, else the next account's first kind).
        let pairs = format!(
            "WITH RECURSIVE g(p, k) AS (\
               SELECT p, k FROM (SELECT project_id AS p, kind AS k FROM jobs WHERE {active} ORDER BY project_id, kind LIMIT 1) AS first \
               UNION ALL \
               SELECT CASE WHEN (SELECT MIN(kind) FROM jobs WHERE {active} AND project_id = g.p AND kind > g.k) IS NULL \
                        THEN (SELECT MIN(project_id) FROM jobs WHERE {active} AND project_id > g.p) ELSE g.p END, \
                      COALESCE((SELECT MIN(kind) FROM jobs WHERE {active} AND project_id = g.p AND kind > g.k), \
                        (SELECT MIN(kind) FROM jobs WHERE {active} AND project_id = (SELECT MIN(project_id) FROM jobs WHERE {active} AND project_id > g.p))) \
               FROM g WHERE g.p IS NOT NULL\
             )"
        );
        let sql = match self.backend() {
            // `c`: the candidates with their claim order, each pair's oldest due job first
            // (`pri` 0), then the oldest due jobs of all (`pri` 1, with room to spare for rows
            // another process holds), gathered into one ordered array; the rows are then found
            // and locked by primary key, in that order. No step joins the table to a set of
            // unknown size, so the plan stays index lookups whatever the statistics say (a
            // generic plan made while the table was small once joined them row by row: 27 ms
            // for 26 jobs). The lock step leaves out `ended_at = 0`, so no partial index
            // matches it and the rows are found by primary key: with it, PostgreSQL walked
            // every active job's entry in `jobs_claim` and compared each id with the whole
            // array (612 rows × 192 ids for a claim of 96; docs/benchmarks.md, stop 27).
            Backend::Postgres => format!(
                "{pairs}, c(id, pri, nra, ca) AS (\
                   SELECT x.id, 0, x.next_run_at, x.created_at FROM g CROSS JOIN LATERAL \
                     (SELECT id, next_run_at, created_at FROM jobs WHERE project_id = g.p AND kind = g.k AND {due}{kind_clause} ORDER BY created_at LIMIT 1) AS x \
                     WHERE g.p IS NOT NULL \
                   UNION ALL \
                   SELECT id, 1, next_run_at, created_at FROM (SELECT id, next_run_at, created_at FROM jobs WHERE {due}{kind_clause} ORDER BY next_run_at, created_at LIMIT $4 * 2) AS fifo\
                 ), picked(ids) AS (\
                   SELECT array_agg(id ORDER BY pri, nra, ca) FROM (SELECT DISTINCT ON (id) id, pri, nra, ca FROM c ORDER BY id, pri) AS d\
                 ) \
                 UPDATE jobs SET status = 'running', lease_owner = $1, lease_expires_at = $2 WHERE id = ANY(ARRAY(\
                   SELECT j.id FROM jobs j WHERE j.id = ANY((SELECT ids FROM picked)::text[]) AND {due_j} \
                   ORDER BY array_position((SELECT ids FROM picked)::text[], j.id) LIMIT $4 FOR UPDATE OF j SKIP LOCKED\
                 )) RETURNING {COLS}",
                due = due(""),
                due_j = free("j."),
            ),
            // One process: no rows held by another claimer, and SQLite plans these joins by
            // its indexes.
            Backend::Sqlite => format!(
                "{pairs}, c(id, pri) AS (\
                   SELECT (SELECT id FROM jobs WHERE project_id = g.p AND kind = g.k AND {due}{kind_clause} ORDER BY created_at LIMIT 1), 0 FROM g WHERE g.p IS NOT NULL \
                   UNION ALL \
                   SELECT id, 1 FROM (SELECT id FROM jobs WHERE {due}{kind_clause} ORDER BY next_run_at, created_at LIMIT $4 * 2) AS fifo\
                 ) \
                 UPDATE jobs SET status = 'running', lease_owner = $1, lease_expires_at = $2 WHERE id IN (\
                   SELECT j.id FROM jobs j JOIN (SELECT id, MIN(pri) AS pri FROM c WHERE id IS NOT NULL GROUP BY id) r ON r.id = j.id \
                   WHERE {due_j} ORDER BY r.pri, j.next_run_at, j.created_at LIMIT $4\
                 ) RETURNING {COLS}",
                due = due(""),
                due_j = due("j."),
            ),
        };
        let mut q = sqlx::query(&sql)
            .bind(c.owner)
            .bind(c.lease_until)
            .bind(c.now)
            .bind(c.limit)
            .bind(c.host);
        for k in names {
            q = q.bind(*k);
        }
        let pool = self.claim_pool.as_ref().unwrap_or(self.pool());
        let rows = q.fetch_all(pool).await?;
        rows.iter().map(job_from).collect()
    }
}
