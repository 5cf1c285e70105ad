//! Ending jobs and renewing their leases in as few statements as the batch allows: the job
//! engine's group commit ends many jobs with one `UPDATE … FROM (VALUES …)` per chunk (each
//! row fenced by its lease, the ids that ended here returned), and its heartbeat renews every
//! lease it holds with one statement. Batches are padded to a power of two with rows that
//! match no job, so a connection prepares a handful of statements, not one per batch size.

use crate::jobs::{json_text, EffectTx, JobEnd};
use crate::{Result, Store};
use plugboard_core::time::Micros;
use sqlx::Row;
use std::collections::HashSet;

/// Rows one statement ends or renews at most (a power of two).
const CHUNK: usize = 64;

/// The columns of a job's end, in the order they are bound.
const END_COLS: usize = 7;

/// The size a batch of `n` rows is padded to: the next power of two, at most [`CHUNK`].
fn padded(n: usize) -> usize {
    n.max(1).next_power_of_two().min(CHUNK)
}

/// `UPDATE jobs … FROM (VALUES …)` ending `rows` jobs, each only if `$1` holds its lease.
fn end_sql(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|r| {
            let first = 2 + r * END_COLS;
            let cols: Vec<String> = (first..first + END_COLS).map(|i| format!("${i}")).collect();
            format!("({})", cols.join(", "))
        })
        .collect();
    format!(
        "WITH v(e_id, e_status, e_reason, e_progress, e_steps, e_context, e_at) AS (VALUES {}) \
         UPDATE jobs SET status = e_status, fail_reason = e_reason, progress = e_progress, \
         steps = e_steps, context = e_context, lease_owner = '', lease_expires_at = 0, \
         updated_at = e_at, ended_at = e_at FROM v \
         WHERE id = e_id AND lease_owner = $1 AND status IN ('queued', 'running') \
         RETURNING id",
        values.join(", ")
    )
}

/// `UPDATE jobs SET lease_expires_at …` renewing the leases `$1` holds on `rows` ids.
fn renew_sql(rows: usize) -> String {
    let ids: Vec<String> = (0..rows).map(|r| format!("${}", 3 + r)).collect();
    format!(
        "UPDATE jobs SET lease_expires_at = $2 WHERE lease_owner = $1 \
         AND status IN ('queued', 'running') AND id IN ({}) RETURNING id",
        ids.join(", ")
    )
}

/// End `ends` (at most [`CHUNK`]) in one statement on `conn`; the ids that ended.
async fn end_chunk<'c, E>(conn: E, owner: &str, ends: &[JobEnd]) -> Result<HashSet<String>>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let rows = padded(ends.len());
    let sql = end_sql(rows);
    let mut q = sqlx::query(&sql).bind(owner);
    for end in ends {
        q = q
            .bind(end.id.as_str())
            .bind(end.status.as_str())
            .bind(end.fail_reason.as_str())
            .bind(end.progress)
            .bind(json_text(&end.steps))
            .bind(json_text(&end.context))
            .bind(end.ended_at);
    }
    // padding: an id no job has
    for _ in ends.len()..rows {
        q = q
            .bind("")
            .bind("")
            .bind("")
            .bind(0i64)
            .bind("")
            .bind("")
            .bind(0i64);
    }
    let done = q.fetch_all(conn).await?;
    done.iter()
        .map(|r| Ok(r.try_get::<String, _>(0)?))
        .collect()
}

impl Store {
    /// End a job (fenced by the lease); `false`: the lease is lost, nothing was written.
    pub async fn finish_job(&self, owner: &str, end: &JobEnd) -> Result<bool> {
        Ok(self.finish_jobs(owner, std::slice::from_ref(end)).await?[0])
    }

    /// End several jobs in one transaction (one commit for all: the job engine's group
    /// commit), each fenced by the lease and with its effects applied only if it ends here.
    /// Returns, per job, whether it ended. Up to [`CHUNK`] ends without effects are one
    /// statement, committed on its own.
    /// A conflict that aborts the transaction (a deadlock, a serialization failure) runs it
    /// again ([`crate::retry`]).
    pub async fn finish_jobs(&self, owner: &str, ends: &[JobEnd]) -> Result<Vec<bool>> {
        self.retry_conflicts("end jobs", || self.finish_jobs_once(owner, ends))
            .await
    }

    async fn finish_jobs_once(&self, owner: &str, ends: &[JobEnd]) -> Result<Vec<bool>> {
        let answer = |ended: &HashSet<String>| ends.iter().map(|e| ended.contains(&e.id)).collect();
        if ends.len() <= CHUNK && ends.iter().all(|e| e.effects.is_empty()) {
            let ended = end_chunk(self.pool(), owner, ends).await?;
            return Ok(answer(&ended));
        }
        let mut tx = self.begin_write().await?;
        let mut ended = HashSet::with_capacity(ends.len());
        for chunk in ends.chunks(CHUNK) {
            ended.extend(end_chunk(&mut *tx, owner, chunk).await?);
        }
        let mut effects = EffectTx::new(&mut tx);
        for end in ends.iter().filter(|e| ended.contains(&e.id)) {
            for effect in &end.effects {
                effect.apply(&mut effects).await?;
            }
        }
        effects.flush().await?;
        let inserted = std::mem::take(&mut effects.inserted);
        tx.commit().await?;
        self.announce_jobs(inserted.iter().map(String::as_str));
        Ok(answer(&ended))
    }

    /// Renew the leases `owner` holds on `ids`; returns the ids still held.
    pub async fn heartbeat_jobs(
        &self,
        owner: &str,
        ids: &[String],
        lease_until: Micros,
    ) -> Result<Vec<String>> {
        let mut held = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let rows = padded(chunk.len());
            let sql = renew_sql(rows);
            let mut q = sqlx::query(&sql).bind(owner).bind(lease_until);
            for id in chunk {
                q = q.bind(id.as_str());
            }
            for _ in chunk.len()..rows {
                q = q.bind("");
            }
            for row in q.fetch_all(self.pool()).await? {
                held.push(row.try_get(0)?);
            }
        }
        Ok(held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_padded_to_a_few_statement_shapes() {
        let sizes: HashSet<usize> = (1..=CHUNK).map(padded).collect();
        assert_eq!(sizes.len(), 7, "{sizes:?}");
        assert_eq!(padded(0), 1);
        assert_eq!(padded(3), 4);
        assert_eq!(padded(64), 64);
        assert!(end_sql(2).contains("($9, $10, $11, $12, $13, $14, $15)"));
        assert!(renew_sql(2).ends_with("IN ($3, $4) RETURNING id"));
    }
}
