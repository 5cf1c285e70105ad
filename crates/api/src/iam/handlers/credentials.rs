//! Permanent access keys: a user manages their own; managing another's takes the action.

use super::users::visible_user;
use super::{json, Result};
use crate::common::auth::Caller;
use crate::common::extract::{JsonBody, PathParams, QueryParams};
use crate::iam::dto::*;
use crate::iam::error::IamError;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use plugboard_core::time;

pub use plugboard_service::identity::MAX_KEYS_PER_USER;

/// A user manages their own keys; another's needs `action`.
fn may_manage_keys(caller: &Caller, user_id: &str, action: &str) -> Result<()> {
    if caller.user_id() == user_id || caller.allows(action) {
        Ok(())
    } else {
        Err(IamError::forbidden())
    }
}

/// `POST /v3.0/OS-CREDENTIAL/credentials` (CreatePermanentAccessKey).
pub async fn create_permanent_access_key(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<CreateCredentialRequest>,
) -> Result<Response> {
    let c = req.credential;
    may_manage_keys(&caller, &c.user_id, "iam:credentials:createCredential")?;
    let user = visible_user(&state, &caller, &c.user_id).await?;
    let (credential, secret) = state
        .services
        .identity
        .create_key(caller.domain_id(), &user, c.description)
        .await?;
    json(
        StatusCode::CREATED,
        &NewCredentialResponse {
            credential: NewCredential {
                access: credential.access,
                secret,
                status: credential.status,
                user_id: credential.user_id,
                create_time: time::iam(credential.created_at),
                description: credential.description,
            },
        },
    )
}

/// `GET /v3.0/OS-CREDENTIAL/credentials` (ListPermanentAccessKeys).
pub async fn list_permanent_access_keys(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<CredentialQuery>,
) -> Result<Response> {
    let user_id = q.user_id.unwrap_or_else(|| caller.user_id().to_string());
    may_manage_keys(&caller, &user_id, "iam:credentials:listCredentials")?;
    let credentials = state
        .services
        .identity
        .list_keys(caller.domain_id(), &user_id)
        .await?
        .into_iter()
        .map(|c| CredentialView {
            access: c.access,
            status: c.status,
            user_id: c.user_id,
            create_time: time::iam(c.created_at),
            description: c.description,
        })
        .collect();
    json(StatusCode::OK, &CredentialList { credentials })
}

/// `DELETE /v3.0/OS-CREDENTIAL/credentials/{access_key}` (DeletePermanentAccessKey).
pub async fn delete_permanent_access_key(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(access): PathParams<String>,
) -> Result<StatusCode> {
    let owner = state
        .services
        .identity
        .key_owner(caller.domain_id(), &access)
        .await?;
    may_manage_keys(&caller, &owner.id, "iam:credentials:deleteCredential")?;
    state.services.identity.delete_key(&access).await?;
    Ok(StatusCode::NO_CONTENT)
}
