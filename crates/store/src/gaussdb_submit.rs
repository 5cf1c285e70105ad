//! A GaussDB install job submitted in one statement: the job row is written only if its
//! instance exists in the job's project and is `ACTIVE`, and takes the instance's name and
//! (by its install mode) its input from that row, so an accepted install costs one round
//! trip to the store instead of a read of the instance and then an insert.

use crate::jobs::{insert_new_job_into, json_text, InsertJobError, JobStep, NewJob};
use crate::Store;

/// The job's columns as [`crate::jobs`] inserts them, the instance's name and the input by
/// mode taken from the instance's row.
const SUBMIT_SQL: &str = concat!(
    insert_new_job_into!(),
    "SELECT $1, $2, $3, $4, name, 'queued', 0, 0, $5, CASE WHEN install_mode = $6 THEN $7 ELSE $8 END, '{}', '', 0, 0, '', 0, $9, $9, 0, $10 \
FROM gaussdb_instances WHERE id = $11 AND project_id = $2 AND status = 'ACTIVE'"
);

impl Store {
    /// Submit `job` on GaussDB instance `instance_id` of `job.project_id` in one statement,
    /// committed at once, if that instance is `ACTIVE`. The job's `target_name` is the
    /// instance's name; its input is `mode_input.1` when the instance's `install_mode` is
    /// `mode_input.0`, else `job.input`. `Ok(false)`: no such instance in the project, or it
    /// is not `ACTIVE`; nothing was written. `TargetBusy` when another job runs on the
    /// target. Announced after the commit ([`Store::announce_jobs`]).
    pub async fn submit_gaussdb_job(
        &self,
        job: &NewJob,
        instance_id: &str,
        mode_input: (&str, &serde_json::Value),
    ) -> Result<bool, InsertJobError> {
        let steps: Vec<JobStep> = job.steps.iter().map(|s| JobStep::pending(s)).collect();
        let written = sqlx::query(SUBMIT_SQL)
            .bind(&job.id)
            .bind(&job.project_id)
            .bind(&job.kind)
            .bind(&job.target)
            .bind(json_text(&steps))
            .bind(mode_input.0)
            .bind(json_text(mode_input.1))
            .bind(json_text(&job.input))
            .bind(job.created_at)
            .bind(&job.host)
            .bind(instance_id)
            .execute(self.pool())
            .await?
            .rows_affected();
        if written == 0 {
            return Ok(false);
        }
        self.announce_jobs([job.kind.as_str()]);
        Ok(true)
    }
}
