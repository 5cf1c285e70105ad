//! Tokens: issue by password (with its scope), validate, revoke.

use super::{json, Result};
use crate::common::auth::Caller;
use crate::common::extract::{JsonBody, QueryParams};
use crate::iam::dto::*;
use crate::iam::error::IamError;
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use plugboard_auth::identity::Subject;
use plugboard_core::time;
use plugboard_service::identity::{PasswordLogin, TokenScope};
use plugboard_store::identity::TokenRecord;

async fn token_body(
    state: &AppState,
    subject: &Subject,
    record: &TokenRecord,
    with_catalog: bool,
) -> Result<TokenResponse> {
    let domain = Ref {
        id: subject.domain_id.clone(),
        name: subject.domain_name.clone(),
    };
    let (project, roles) = state.services.identity.token_scope(subject, record).await?;
    let roles = roles
        .into_iter()
        .map(|(id, name)| Ref { id, name })
        .collect();
    Ok(TokenResponse {
        token: Token {
            expires_at: time::iam(record.expires_at),
            issued_at: time::iam(record.issued_at),
            methods: record.methods.split(',').map(str::to_string).collect(),
            catalog: with_catalog.then(|| state.catalog(project.as_ref().map(|p| p.id.as_str()))),
            domain: project.is_none().then(|| domain.clone()),
            project: project.map(|p| TokenProject {
                id: p.id,
                name: p.name,
                domain: domain.clone(),
            }),
            roles,
            user: TokenUser {
                id: subject.user_id.clone(),
                name: subject.user_name.clone(),
                domain,
                password_expires_at: String::new(),
            },
        },
    })
}

fn with_subject_token(response: Result<Response>, token: &str) -> Result<Response> {
    let mut response = response?;
    if let Ok(v) = HeaderValue::from_str(token) {
        response.headers_mut().insert("x-subject-token", v);
    }
    Ok(response)
}

/// `POST /v3/auth/tokens` (KeystoneCreateUserTokenByPassword).
pub async fn keystone_create_user_token_by_password(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<TokenQuery>,
    JsonBody(req): JsonBody<CreateTokenRequest>,
) -> Result<Response> {
    let identity = req.auth.identity;
    if !identity.methods.iter().any(|m| m == "password") {
        return Err(IamError::bad_request(
            "auth.identity.methods: only the `password` method is supported.",
        ));
    }
    let user = identity
        .password
        .ok_or_else(|| IamError::bad_request("auth.identity.password: missing field"))?
        .user;
    let (domain_id, domain_name) = match user.domain {
        Some(NameOrId { id: Some(id), .. }) => (Some(id), None),
        Some(NameOrId { name, .. }) => (None, name),
        None => (None, None),
    };
    let scope = match req.auth.scope {
        Some(ScopeBody {
            project: Some(p), ..
        }) => TokenScope::Project {
            id: p.id,
            name: p.name,
        },
        Some(ScopeBody {
            domain: Some(d), ..
        }) => TokenScope::Domain {
            id: d.id,
            name: d.name,
        },
        _ => TokenScope::Unscoped,
    };
    let login = PasswordLogin {
        domain_id,
        domain_name,
        user_id: user.id,
        user_name: user.name,
        password: user.password,
        scope,
    };
    let issued = state.services.identity.login(&login).await?;
    let nocatalog = query.nocatalog.is_some_and(|v| v != "false");
    let body = token_body(&state, &issued.subject, &issued.record, !nocatalog).await?;
    with_subject_token(json(StatusCode::CREATED, &body), &issued.token)
}

fn subject_token(headers: &HeaderMap) -> Result<String> {
    headers
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
        .ok_or_else(|| IamError::bad_request("X-Subject-Token header is required."))
}

/// `GET /v3/auth/tokens` (KeystoneValidateToken).
pub async fn keystone_validate_token(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    QueryParams(query): QueryParams<TokenQuery>,
) -> Result<Response> {
    let token = subject_token(&headers)?;
    let (record, subject) = state
        .services
        .identity
        .validate_token(&token)
        .await
        .ok_or_else(|| IamError::not_found("Could not find token."))?;
    if subject.user_id != caller.user_id() && !caller.allows("iam:tokens:validateToken") {
        return Err(IamError::forbidden());
    }
    let nocatalog = query.nocatalog.is_some_and(|v| v != "false");
    let body = token_body(&state, &subject, &record, !nocatalog).await?;
    with_subject_token(json(StatusCode::OK, &body), &token)
}

/// `DELETE /v3/auth/tokens` (KeystoneRevokeToken): revoke the subject token.
pub async fn keystone_revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<StatusCode> {
    let token = subject_token(&headers)?;
    let (_, subject) = state
        .services
        .identity
        .validate_token(&token)
        .await
        .ok_or_else(|| IamError::not_found("Could not find token."))?;
    if subject.user_id != caller.user_id() && !caller.allows("iam:tokens:revokeToken") {
        return Err(IamError::forbidden());
    }
    state.services.identity.revoke_token(&token).await?;
    Ok(StatusCode::NO_CONTENT)
}
