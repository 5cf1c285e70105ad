//! Projects and domains.

use super::{json, links, page, project_view, project_view_json, require_id, Result};
use crate::common::auth::Caller;
use crate::common::extract::{JsonBody, PathParams, QueryParams};
use crate::iam::dto::*;
use crate::iam::error::IamError;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

/// `GET /v3/projects` (KeystoneListProjects): the projects of the caller's domain.
pub async fn keystone_list_projects(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<ListProjectsQuery>,
) -> Result<Response> {
    if q.domain_id
        .as_deref()
        .is_some_and(|d| d != caller.domain_id())
    {
        return Err(IamError::forbidden());
    }
    let projects = state
        .services
        .identity
        .list_projects(caller.domain_id(), q.name.clone(), q.enabled)
        .await?
        .into_iter()
        .filter(|p| q.parent_id.as_deref().is_none_or(|id| id == p.parent_id))
        .collect();
    let projects = page(projects, q.page, q.per_page)?;
    json(
        StatusCode::OK,
        &ProjectList {
            links: links(&state, "/v3/projects"),
            projects: projects
                .into_iter()
                .map(|p| project_view(&state, p))
                .collect(),
        },
    )
}

/// `GET /v3/auth/projects` (KeystoneListAuthProjects): the projects the caller can use. The
/// views are written once per cached project list ([`crate::DomainProjects`]).
pub async fn keystone_list_auth_projects(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response> {
    let domain = state.domain_projects(caller.domain_id()).await?;
    let projects = domain
        .with_views(|p| project_view_json(&state, p))
        .filter(|(p, _)| p.enabled && caller.principal.may_use_project(&p.id, &p.domain_id))
        .map(|(_, view)| view)
        .collect();
    json(
        StatusCode::OK,
        &ProjectListOf {
            links: links(&state, "/v3/auth/projects"),
            projects,
        },
    )
}

/// `GET /v3/auth/domains` (KeystoneListAuthDomains).
pub async fn keystone_list_auth_domains(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response> {
    let d = state.services.identity.domain(caller.domain_id()).await?;
    json(
        StatusCode::OK,
        &DomainList {
            domains: vec![DomainView {
                links: SelfLink {
                    self_: state.link(&format!("/v3/domains/{}", d.id)),
                },
                id: d.id,
                name: d.name,
                enabled: d.enabled,
                description: String::new(),
            }],
            links: links(&state, "/v3/auth/domains"),
        },
    )
}

/// `POST /v3/projects` (KeystoneCreateProject). Names are `<region>_<suffix>`, as on Huawei
/// Cloud.
pub async fn keystone_create_project(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<CreateProjectRequest>,
) -> Result<Response> {
    let p = req.project;
    let project = state
        .services
        .identity
        .create_project(
            caller.domain_id(),
            &p.name,
            p.domain_id,
            p.parent_id,
            p.description,
        )
        .await?;
    state.projects_changed();
    json(
        StatusCode::CREATED,
        &ProjectResponse {
            project: project_view(&state, project),
        },
    )
}

/// `GET /v3/projects/{project_id}` (KeystoneShowProject).
pub async fn keystone_show_project(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(project_id): PathParams<String>,
) -> Result<Response> {
    require_id("project_id", &project_id)?;
    let project = state
        .services
        .identity
        .visible_project(caller.domain_id(), &project_id)
        .await?;
    json(
        StatusCode::OK,
        &ProjectResponse {
            project: project_view(&state, project),
        },
    )
}
