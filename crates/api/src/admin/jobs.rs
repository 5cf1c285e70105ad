//! `ListJobs` (`GET /plugboard/v1/jobs`): every family's jobs in one list, the caller's domain
//! and the project-less ones (docs/contract.md → Admin API → Jobs); its query and views.

use super::error::AdminError;
use crate::common::auth::Caller;
use crate::common::error::reply;
use crate::common::extract::QueryParams;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use plugboard_core::time;
use plugboard_service::jobs::{family_of, JobQuery};
use plugboard_store::jobs::Job;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The query of `ListJobs`.
#[derive(Debug, Deserialize, Default, IntoParams)]
#[serde(rename_all = "snake_case")]
pub struct ListJobsQuery {
    /// `gaussdb`, `servicestage` or `zstack`.
    pub family: Option<String>,
    /// `queued`, `running`, `completed` or `failed`.
    pub state: Option<String>,
    /// 0 or more (default 0).
    pub offset: Option<i64>,
    /// 1 to 1000 (default 100).
    pub limit: Option<i64>,
}

/// One job, whatever its family.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobSummary {
    pub id: String,
    /// `gaussdb`, `servicestage` or `zstack`.
    pub family: String,
    /// The job kind (`InstallKernelPlugin`, `ServiceStageAddon`, `ZStackRefreshPluginDrivers`...).
    pub kind: String,
    /// The project it runs in; empty for ZStack's api-jobs, which belong to no project.
    pub project_id: String,
    /// What it works on, by name (the instance, the add-on, the driver; `*` for every driver).
    pub target: String,
    /// `queued`, `running`, `completed` or `failed`.
    pub state: String,
    /// 0 to 100.
    pub progress: i64,
    /// When it was submitted (`2026-01-02T03:04:05.000000Z`).
    pub created: String,
    /// When it ended; null while it runs.
    pub ended: Option<String>,
    /// Why it failed; empty otherwise.
    pub reason: String,
}

/// The answer of `ListJobs`: newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobList {
    pub jobs: Vec<JobSummary>,
    /// How many jobs match the filters (every page).
    pub total: i64,
}

impl From<plugboard_service::jobs::Error> for AdminError {
    fn from(e: plugboard_service::jobs::Error) -> Self {
        use plugboard_service::jobs::Error as E;
        match e {
            E::Store(e) => e.into(),
            E::Invalid(d) => Self::Invalid(d),
        }
    }
}

fn summary(j: Job) -> JobSummary {
    JobSummary {
        family: family_of(&j.kind).into(),
        created: time::iam(j.created_at),
        ended: (j.ended_at > 0).then(|| time::iam(j.ended_at)),
        id: j.id,
        kind: j.kind,
        project_id: j.project_id,
        target: j.target_name,
        state: j.status,
        progress: j.progress,
        reason: j.fail_reason,
    }
}

/// `GET /plugboard/v1/jobs?family=&state=&offset=&limit=`.
pub async fn list_jobs(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<ListJobsQuery>,
) -> Result<Response, AdminError> {
    let query = JobQuery {
        family: q.family,
        state: q.state,
        offset: q.offset,
        limit: q.limit,
    };
    let (jobs, total) = state.services.jobs.list(caller.domain_id(), &query).await?;
    reply(
        StatusCode::OK,
        &JobList {
            jobs: jobs.into_iter().map(summary).collect(),
            total,
        },
    )
}
