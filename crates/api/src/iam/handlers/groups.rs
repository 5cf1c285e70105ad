//! Groups and their members.

use super::users::visible_user;
use super::{group_view, json, links, require_id, Result};
use crate::common::auth::Caller;
use crate::common::extract::{JsonBody, PathParams, QueryParams};
use crate::iam::dto::*;
use crate::iam::error::IamError;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use plugboard_store::identity::Group;

/// Group `id` of the caller's domain (a malformed id is a 400).
pub(super) async fn visible_group(state: &AppState, caller: &Caller, id: &str) -> Result<Group> {
    require_id("group_id", id)?;
    Ok(state
        .services
        .identity
        .visible_group(caller.domain_id(), id)
        .await?)
}

/// `POST /v3/groups` (KeystoneCreateGroup).
pub async fn keystone_create_group(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<CreateGroupRequest>,
) -> Result<Response> {
    let g = req.group;
    let group = state
        .services
        .identity
        .create_group(caller.domain_id(), &g.name, g.domain_id, g.description)
        .await?;
    json(
        StatusCode::CREATED,
        &GroupResponse {
            group: group_view(&state, group),
        },
    )
}

/// `GET /v3/groups` (KeystoneListGroups).
pub async fn keystone_list_groups(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<NameQuery>,
) -> Result<Response> {
    if q.domain_id
        .as_deref()
        .is_some_and(|d| d != caller.domain_id())
    {
        return Err(IamError::forbidden());
    }
    let groups = state
        .services
        .identity
        .list_groups(caller.domain_id(), q.name.as_deref())
        .await?;
    json(
        StatusCode::OK,
        &GroupList {
            links: links(&state, "/v3/groups"),
            groups: groups.into_iter().map(|g| group_view(&state, g)).collect(),
        },
    )
}

/// `PUT /v3/groups/{group_id}/users/{user_id}` (KeystoneAddUserToGroup).
pub async fn keystone_add_user_to_group(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((group_id, user_id)): PathParams<(String, String)>,
) -> Result<StatusCode> {
    let group = visible_group(&state, &caller, &group_id).await?;
    let user = visible_user(&state, &caller, &user_id).await?;
    state.services.identity.add_member(&group, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}
