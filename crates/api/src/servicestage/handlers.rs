//! ServiceStage handlers: extract, one call of `plugboard_service::servicestage`, the vendor's
//! view. Environments (v3, and the v2 list), add-ons (catalog, install, list, show, uninstall,
//! restart/redeploy — each a durable job run by the add-on's driver) and add-on jobs (v3 with
//! lower-case keys, v2 with upper-case inner keys). Another project's environment, add-on or
//! job answers like a missing one.

use super::dto::*;
use super::error::ServiceStageError;
use super::views::*;
use crate::common::auth::Caller;
use crate::common::error::reply;
use crate::common::extract::{JsonBody, PathParams, QueryParams};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use plugboard_core::time;
use plugboard_service::servicestage::addon_job::AddonAction;
use plugboard_service::servicestage::{
    AddonJobView, CreateEnvironment, InstallAddon, JobQuery, ListEnvironments,
};
use plugboard_store::servicestage::{EnvResource, EnvironmentChange};
use serde::Deserialize;

type Result<T> = std::result::Result<T, ServiceStageError>;

fn ok<T: serde::Serialize>(body: &T) -> Result<Response> {
    reply(StatusCode::OK, body)
}

fn project(caller: &Caller) -> &str {
    caller.project_id.as_deref().unwrap_or_default()
}

fn user(caller: &Caller) -> &str {
    &caller.principal.subject.user_name
}

/// Path of environment-level operations.
#[derive(Debug, Deserialize)]
pub struct EnvironmentPath {
    pub project_id: String,
    pub environment_id: String,
}

/// Path of add-on-level operations.
#[derive(Debug, Deserialize)]
pub struct AddonPath {
    pub project_id: String,
    pub environment_id: String,
    pub addon_id: String,
}

/// Path of the job queries.
#[derive(Debug, Deserialize)]
pub struct JobPath {
    pub project_id: String,
    pub job_id: String,
}

// -- environments ----------------------------------------------------------------------------

/// `POST /v3/{project_id}/cas/environments` (create_environment): the view without
/// resources.
pub async fn create_environment(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<EnvironmentCreate>,
) -> Result<Response> {
    let env = state
        .services
        .servicestage
        .create_environment(
            project(&caller),
            user(&caller),
            CreateEnvironment {
                name: body.name,
                description: body.description,
                enterprise_project_id: body.enterprise_project_id,
                vpc_id: body.vpc_id,
                deploy_mode: body.deploy_mode,
                labels: labels_in(body.labels),
            },
        )
        .await?;
    ok(&environment_view(&env, false))
}

/// `GET /v3/{project_id}/cas/environments` (show_environments).
pub async fn show_environments(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<ShowEnvironmentsQuery>,
) -> Result<Response> {
    let (envs, count) = state
        .services
        .servicestage
        .list_environments(
            project(&caller),
            &ListEnvironments {
                limit: q.limit,
                offset: q.offset,
                order_by: q.order_by,
                order: q.order,
                name: q.name,
                environment_id: q.environment_id,
                enterprise_project_id: q.enterprise_project_id,
            },
        )
        .await?;
    ok(&ShowEnvironmentsResponse {
        count,
        environments: envs.iter().map(|e| environment_view(e, false)).collect(),
    })
}

/// `GET .../environments/{environment_id}` (show_environment_info).
pub async fn show_environment_info(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<EnvironmentPath>,
) -> Result<Response> {
    let env = state
        .services
        .servicestage
        .environment(project(&caller), &path.environment_id)
        .await?;
    ok(&environment_view(&env, true))
}

/// `PUT .../environments/{environment_id}` (modify_environment).
pub async fn modify_environment(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<EnvironmentPath>,
    JsonBody(body): JsonBody<EnvironmentModify>,
) -> Result<Response> {
    let env = state
        .services
        .servicestage
        .modify_environment(
            project(&caller),
            &path.environment_id,
            EnvironmentChange {
                name: body.name,
                description: body.description,
                labels: labels_in(body.labels),
            },
        )
        .await?;
    ok(&environment_view(&env, true))
}

/// `DELETE .../environments/{environment_id}` (delete_environment): 204, no body.
pub async fn delete_environment(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<EnvironmentPath>,
) -> Result<Response> {
    state
        .services
        .servicestage
        .delete_environment(project(&caller), &path.environment_id)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET .../environments/{environment_id}/resources` (show_environment_resources).
pub async fn show_environment_resources(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<EnvironmentPath>,
) -> Result<Response> {
    let env = state
        .services
        .servicestage
        .environment(project(&caller), &path.environment_id)
        .await?;
    ok(&EnvironmentResources {
        resources: env.resources.iter().map(resource_view).collect(),
    })
}

/// `PUT .../environments/{environment_id}/resources` (modify_resource_in_environment): the
/// list replaced as a whole.
pub async fn modify_resource_in_environment(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<EnvironmentPath>,
    JsonBody(body): JsonBody<EnvironmentResourceModify>,
) -> Result<Response> {
    let Some(resources) = body.resources else {
        return Err(ServiceStageError::invalid("resources is required"));
    };
    let env = state
        .services
        .servicestage
        .modify_resources(
            project(&caller),
            &path.environment_id,
            resources
                .into_iter()
                .map(|r| EnvResource {
                    id: r.id,
                    name: r.name,
                    kind: r.kind,
                })
                .collect(),
        )
        .await?;
    ok(&EnvironmentResources {
        resources: env.resources.iter().map(resource_view).collect(),
    })
}

/// `GET /v2/{project_id}/cas/environments` (v2 list_environments): the same environments,
/// their resources as `base_resources`.
pub async fn list_environments(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<ListEnvironmentsV2Query>,
) -> Result<Response> {
    let (envs, count) = state
        .services
        .servicestage
        .list_environments(
            project(&caller),
            &ListEnvironments {
                limit: q.limit,
                offset: q.offset,
                order_by: q.order_by,
                order: q.order,
                ..Default::default()
            },
        )
        .await?;
    ok(&ListEnvironmentsV2Response {
        count,
        environments: envs
            .iter()
            .map(|e| EnvironmentV2 {
                id: e.id.clone(),
                name: e.name.clone(),
                alias: String::new(),
                description: e.description.clone(),
                project_id: e.project_id.clone(),
                enterprise_project_id: e.enterprise_project_id.clone(),
                charge_mode: "provided".into(),
                deploy_mode: e.deploy_mode.clone(),
                vpc_id: e.vpc_id.clone(),
                base_resources: e.resources.iter().map(resource_view).collect(),
                optional_resources: vec![],
                creator: e.creator.clone(),
                create_time: time::millis(e.created_at),
                update_time: time::millis(e.updated_at),
            })
            .collect(),
    })
}

// -- add-ons ---------------------------------------------------------------------------------

/// `GET .../addons-metadata`: the catalog, each add-on with its latest version.
pub async fn list_addons_metadata(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<EnvironmentPath>,
) -> Result<Response> {
    let catalog = state
        .services
        .servicestage
        .catalog(project(&caller), &path.environment_id)
        .await?;
    ok(&ListAddonsMetadataResponse {
        addons: catalog
            .into_iter()
            .map(|e| AddonMetadata {
                latest_version: e.addon.latest_version().unwrap_or_default().to_string(),
                name: e.addon.name,
            })
            .collect(),
    })
}

/// `POST .../addons`: the install job's id and the add-on's.
pub async fn create_addon(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<EnvironmentPath>,
    JsonBody(body): JsonBody<InstallAddonRequestBody>,
) -> Result<Response> {
    let addon = state
        .services
        .servicestage
        .install_addon(
            project(&caller),
            user(&caller),
            &path.environment_id,
            InstallAddon {
                name: body.name,
                cce_id: body.cce_id,
                cse_id: body.cse_id,
            },
        )
        .await?;
    ok(&InstallAddonResponse {
        job_id: addon.job_id,
        id: addon.id,
    })
}

/// `GET .../addons`: `{"addons": [...]}`, no paging.
pub async fn list_addons(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<EnvironmentPath>,
) -> Result<Response> {
    let addons = state
        .services
        .servicestage
        .list_addons(project(&caller), &path.environment_id)
        .await?;
    ok(&ListAddonsResponse {
        addons: addons.iter().map(addon_view).collect(),
    })
}

/// `GET .../addons/{addon_id}`: the add-on, flat.
pub async fn show_addon(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<AddonPath>,
) -> Result<Response> {
    let addon = state
        .services
        .servicestage
        .addon(project(&caller), &path.environment_id, &path.addon_id)
        .await?;
    ok(&addon_view(&addon))
}

/// `DELETE .../addons/{addon_id}`: the uninstall job's id.
pub async fn delete_addon(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<AddonPath>,
) -> Result<Response> {
    let job_id = state
        .services
        .servicestage
        .addon_job(
            project(&caller),
            user(&caller),
            &path.environment_id,
            &path.addon_id,
            AddonAction::Uninstall,
        )
        .await?;
    ok(&AddonJobResponse { job_id })
}

/// `POST .../addons/{addon_id}/action` `{"action": "restart"|"redeploy"}`: the job's id.
pub async fn deliver_addon_job(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<AddonPath>,
    JsonBody(body): JsonBody<AddonActionRequestBody>,
) -> Result<Response> {
    let action = match body.action.as_deref() {
        Some("restart") => AddonAction::Restart,
        Some("redeploy") => AddonAction::Redeploy,
        None => {
            return Err(ServiceStageError::invalid(
                "action is required (allowed: restart, redeploy)",
            ))
        }
        Some(other) => {
            return Err(ServiceStageError::invalid(format!(
                "action must be one of restart, redeploy (got `{other}`)"
            )))
        }
    };
    let job_id = state
        .services
        .servicestage
        .addon_job(
            project(&caller),
            user(&caller),
            &path.environment_id,
            &path.addon_id,
            action,
        )
        .await?;
    ok(&AddonJobResponse { job_id })
}

// -- jobs ------------------------------------------------------------------------------------

async fn job_view(
    state: &AppState,
    caller: &Caller,
    path: &JobPath,
    q: ShowJobInfoQuery,
) -> Result<AddonJobView> {
    if path.job_id.trim().is_empty() {
        return Err(ServiceStageError::JobIdEmpty);
    }
    Ok(state
        .services
        .servicestage
        .job(
            project(caller),
            &path.job_id,
            &JobQuery {
                instance_id: q.instance_id,
                limit: q.limit,
                offset: q.offset,
                desc: q.desc,
            },
        )
        .await?)
}

/// `GET /v3/{project_id}/cas/jobs/{job_id}` (show_job_info): lower-case keys, one task per
/// step, `limit`/`offset`/`desc` paging the tasks.
pub async fn show_job_info(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<JobPath>,
    QueryParams(q): QueryParams<ShowJobInfoQuery>,
) -> Result<Response> {
    let view = job_view(&state, &caller, &path, q).await?;
    ok(&job_info_response(&view))
}

/// `GET /v2/{project_id}/cas/jobs/{job_id}` (v2 show_job_detail): upper-case inner keys.
pub async fn show_job_detail_v2(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<JobPath>,
    QueryParams(q): QueryParams<ShowJobInfoQuery>,
) -> Result<Response> {
    let view = job_view(&state, &caller, &path, q).await?;
    ok(&job_detail_v2_response(&view))
}
