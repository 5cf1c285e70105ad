//! Roles and their grants to groups.

use super::groups::visible_group;
use super::{json, links, page, require_id, role_view, Result};
use crate::common::auth::Caller;
use crate::common::extract::{PathParams, QueryParams};
use crate::iam::dto::*;
use crate::iam::error::IamError;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use plugboard_store::identity::{Role, Scope};

/// `GET /v3/roles` (KeystoneListPermissions).
pub async fn keystone_list_permissions(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<RoleQuery>,
) -> Result<Response> {
    let roles: Vec<Role> = state
        .services
        .identity
        .list_roles()
        .await?
        .into_iter()
        .filter(|r| q.name.as_deref().is_none_or(|n| n == r.name))
        .filter(|r| {
            q.display_name
                .as_deref()
                .is_none_or(|n| n == r.display_name)
        })
        .collect();
    let total_number = roles.len();
    let roles = page(roles, q.page, q.per_page)?;
    json(
        StatusCode::OK,
        &RoleList {
            links: links(&state, "/v3/roles"),
            roles: roles.into_iter().map(|r| role_view(&state, r)).collect(),
            total_number,
        },
    )
}

async fn existing_role(state: &AppState, id: &str) -> Result<Role> {
    require_id("role_id", id)?;
    Ok(state.services.identity.role(id).await?)
}

/// `PUT /v3/projects/{project_id}/groups/{group_id}/roles/{role_id}`
/// (KeystoneAssociateGroupWithProjectPermission).
pub async fn keystone_associate_group_with_project_permission(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((project_id, group_id, role_id)): PathParams<(String, String, String)>,
) -> Result<StatusCode> {
    require_id("project_id", &project_id)?;
    let project = state
        .services
        .identity
        .visible_project(caller.domain_id(), &project_id)
        .await?;
    let group = visible_group(&state, &caller, &group_id).await?;
    let role = existing_role(&state, &role_id).await?;
    state
        .services
        .identity
        .grant(&group, &role, Scope::Project(project.id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /v3/domains/{domain_id}/groups/{group_id}/roles/{role_id}`
/// (KeystoneAssociateGroupWithDomainPermission).
pub async fn keystone_associate_group_with_domain_permission(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((domain_id, group_id, role_id)): PathParams<(String, String, String)>,
) -> Result<StatusCode> {
    require_id("domain_id", &domain_id)?;
    if domain_id != caller.domain_id() {
        return Err(IamError::not_found(format!(
            "Could not find domain: {domain_id}."
        )));
    }
    let group = visible_group(&state, &caller, &group_id).await?;
    let role = existing_role(&state, &role_id).await?;
    state
        .services
        .identity
        .grant(&group, &role, Scope::Domain(domain_id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
