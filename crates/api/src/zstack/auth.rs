//! Who calls a ZStack API: a session. REST sends it as `Authorization: OAuth <uuid>` (the
//! vendor's plain-text 400s when the header is missing or of another type; 503 ID.1001 when the
//! session is not valid); RPC inside the message, `{"<APIxxxMsg>": {"session": {"uuid"}}}`
//! (HTTP 200 with the generic class's failure).

use super::error::{rest_failure, rpc_refused, text, texts};
use crate::common::auth::{Authenticated, Authenticator, ResolvedOp};
use crate::AppState;
use axum::body::Body;
use axum::http::request::Parts;
use plugboard_service::zstack::{Error as Domain, ErrorCode};

/// REST: `Authorization: OAuth <session uuid>`.
pub struct SessionHeader;

impl Authenticator for SessionHeader {
    fn authenticate<'a>(
        &'a self,
        state: &'a AppState,
        parts: &'a Parts,
        body: Body,
    ) -> Authenticated<'a> {
        Box::pin(async move {
            let Some(value) = parts
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
            else {
                return Err(text(&texts::MISSING_AUTHORIZATION, ""));
            };
            let Some(session) = value.trim().strip_prefix("OAuth") else {
                return Err(text(&texts::NOT_OAUTH, ""));
            };
            match state.services.zstack.principal(session.trim()).await {
                Ok(p) => Ok((p, body)),
                Err(Domain::Api(e)) => Err(rest_failure(&e)),
                Err(e) => Err(rest_failure(&ErrorCode::internal(e.to_string()))),
            }
        })
    }
}

/// RPC: the session inside the message.
pub struct SessionInBody;

impl Authenticator for SessionInBody {
    fn authenticate<'a>(
        &'a self,
        state: &'a AppState,
        parts: &'a Parts,
        body: Body,
    ) -> Authenticated<'a> {
        Box::pin(async move {
            let op = parts.extensions.get::<ResolvedOp>().map(|r| r.0);
            let bytes = axum::body::to_bytes(body, state.config.http.max_body_bytes)
                .await
                .map_err(|_| {
                    rpc_refused(op, &ErrorCode::invalid_argument("the body is too large"))
                })?;
            let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
            let session = value
                .as_object()
                .and_then(|m| m.values().next())
                .and_then(|msg| msg.get("session"))
                .and_then(|s| s.get("uuid"))
                .and_then(|u| u.as_str())
                .unwrap_or_default()
                .to_string();
            match state.services.zstack.principal(&session).await {
                Ok(p) => Ok((p, Body::from(bytes))),
                Err(Domain::Api(e)) => Err(rpc_refused(op, &e)),
                Err(e) => Err(rpc_refused(op, &ErrorCode::internal(e.to_string()))),
            }
        })
    }
}
