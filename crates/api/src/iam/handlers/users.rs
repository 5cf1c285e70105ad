//! Users, and the groups a user belongs to.

use super::{group_view, json, links, require_id, user_view, Result};
use crate::common::auth::Caller;
use crate::common::extract::{JsonBody, PathParams, QueryParams};
use crate::iam::dto::*;
use crate::iam::error::IamError;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use plugboard_service::identity::{NewUser, UserUpdate};
use plugboard_store::identity::User;

/// User `id` of the caller's domain (a malformed id is a 400).
pub(super) async fn visible_user(state: &AppState, caller: &Caller, id: &str) -> Result<User> {
    require_id("user_id", id)?;
    Ok(state
        .services
        .identity
        .visible_user(caller.domain_id(), id)
        .await?)
}

/// `POST /v3.0/OS-USER/users` (CreateUser).
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<CreateUserRequest>,
) -> Result<Response> {
    let u = req.user;
    let new = NewUser {
        name: u.name,
        domain_id: u.domain_id,
        password: u.password,
        email: u.email,
        description: u.description,
        enabled: u.enabled,
    };
    let user = state
        .services
        .identity
        .create_user(caller.domain_id(), new)
        .await?;
    json(
        StatusCode::CREATED,
        &UserResponse {
            user: user_view(&state, user),
        },
    )
}

/// `GET /v3/users` (KeystoneListUsers).
pub async fn keystone_list_users(
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
    let users = state
        .services
        .identity
        .list_users(caller.domain_id(), q.name.as_deref())
        .await?;
    json(
        StatusCode::OK,
        &UserList {
            links: links(&state, "/v3/users"),
            users: users.into_iter().map(|u| user_view(&state, u)).collect(),
        },
    )
}

/// `GET /v3/users/{user_id}` (KeystoneShowUser).
pub async fn keystone_show_user(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(user_id): PathParams<String>,
) -> Result<Response> {
    let user = visible_user(&state, &caller, &user_id).await?;
    json(
        StatusCode::OK,
        &UserResponse {
            user: user_view(&state, user),
        },
    )
}

/// `PUT /v3.0/OS-USER/users/{user_id}` (UpdateUser): name, email, description, password and
/// enabled. A new password or an enabled value ends the user's tokens at once.
pub async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(user_id): PathParams<String>,
    JsonBody(req): JsonBody<UpdateUserRequest>,
) -> Result<Response> {
    let user = visible_user(&state, &caller, &user_id).await?;
    let u = req.user;
    let user = state
        .services
        .identity
        .update_user(
            &user,
            UserUpdate {
                name: u.name,
                email: u.email,
                description: u.description,
                password: u.password,
                enabled: u.enabled,
            },
        )
        .await?;
    json(
        StatusCode::OK,
        &UserResponse {
            user: user_view(&state, user),
        },
    )
}

/// `DELETE /v3/users/{user_id}` (KeystoneDeleteUser): with its tokens, keys and memberships.
pub async fn keystone_delete_user(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(user_id): PathParams<String>,
) -> Result<StatusCode> {
    let user = visible_user(&state, &caller, &user_id).await?;
    state.services.identity.delete_user(&user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v3/users/{user_id}/groups` (KeystoneListGroupsForUser): a user lists their own
/// groups; another's takes `iam:users:listGroupsForUser`.
pub async fn keystone_list_groups_for_user(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(user_id): PathParams<String>,
) -> Result<Response> {
    if caller.user_id() != user_id && !caller.allows("iam:users:listGroupsForUser") {
        return Err(IamError::forbidden());
    }
    let user = visible_user(&state, &caller, &user_id).await?;
    let groups = state.services.identity.groups_of_user(&user).await?;
    json(
        StatusCode::OK,
        &GroupList {
            links: links(&state, &format!("/v3/users/{}/groups", user.id)),
            groups: groups.into_iter().map(|g| group_view(&state, g)).collect(),
        },
    )
}
