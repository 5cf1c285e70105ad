//! ZStack errors, in each style's own way (docs/error-codes.md → ZStack). REST: an API failure is
//! HTTP 503 `{"error": {"code", "description", "details"}}`; mistakes the vendor's REST layer
//! catches before any API runs (headers, the action mapping, unknown paths) are plain text with
//! 400/404/405. RPC: HTTP 200 always, the failure inside the `result` string, keyed by the API's
//! reply or event class — or by the generic `APIReply`/`APIEvent` when a check before the API
//! (session, permission, argument) refused it.

use super::routes::rpc_meta;
use crate::common::auth::Denied;
use crate::common::error::{json_response, CommonError, CommonKind};
use crate::common::ops::Operation;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use plugboard_core::time;
use plugboard_service::zstack::{Error as Domain, ErrorCode};
use serde_json::{json, Map, Value};

/// The generic reply class (a sync API refused before its handler ran).
pub const GENERIC_REPLY: &str = "org.zstack.header.message.APIReply";
/// The generic event class (an async API refused before its handler ran).
pub const GENERIC_EVENT: &str = "org.zstack.header.message.APIEvent";

/// What a ZStack REST operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ZStackError {
    #[error(transparent)]
    Common(#[from] CommonError),
    /// 503 with the error code.
    #[error("{}", .0.code)]
    Api(ErrorCode),
    /// A REST-layer refusal: plain text.
    #[error("{1}")]
    Text(StatusCode, String),
}

impl From<ErrorCode> for ZStackError {
    fn from(e: ErrorCode) -> Self {
        Self::Api(e)
    }
}

impl From<Domain> for ZStackError {
    fn from(e: Domain) -> Self {
        match e {
            Domain::Store(e) => Self::Common(e.into()),
            Domain::Api(code) => Self::Api(code),
            e @ (Domain::BadJobUuid | Domain::DuplicateJobUuid(_)) => {
                Self::Text(StatusCode::BAD_REQUEST, e.to_string())
            }
        }
    }
}

impl From<plugboard_store::StoreError> for ZStackError {
    fn from(e: plugboard_store::StoreError) -> Self {
        Self::Common(e.into())
    }
}

/// A plain-text answer.
pub fn text(status: StatusCode, body: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

/// The REST error body of `e`.
pub fn rest_error_body(e: &ErrorCode) -> Value {
    json!({ "error": e })
}

/// 503 with `e`.
pub fn rest_failure(e: &ErrorCode) -> Response {
    json_response(StatusCode::SERVICE_UNAVAILABLE, &rest_error_body(e))
}

impl IntoResponse for ZStackError {
    fn into_response(self) -> Response {
        match self {
            Self::Common(e) => e.into_response(),
            Self::Api(e) => rest_failure(&e),
            Self::Text(status, body) => text(status, &body),
        }
    }
}

/// The common errors over REST: API failures (503).
pub fn render_common(kind: CommonKind, msg: &str) -> Response {
    match kind {
        CommonKind::Internal => rest_failure(&ErrorCode::internal(msg)),
        CommonKind::BadRequest | CommonKind::EmptyBody => {
            rest_failure(&ErrorCode::invalid_argument(msg))
        }
    }
}

/// A REST caller the operation is not for: ID.1002 (admin only) or SYS.1006 (no policy).
pub fn render_denied(op: &'static Operation, why: Denied) -> Response {
    rest_failure(&denial(op, why))
}

fn denial(op: &'static Operation, why: Denied) -> ErrorCode {
    let fqcn = rpc_meta(op.name).map(|m| m.fqcn).unwrap_or(op.name);
    match why {
        Denied::AdminOnly => ErrorCode::admin_only(fqcn),
        Denied::Action => ErrorCode::denied_by_default(fqcn),
    }
}

// -- RPC ------------------------------------------------------------------------------------

/// The RPC answer of a finished call: `result` is the JSON text `{"<class>": fields}`.
pub fn rpc_done(class: &str, mut fields: Map<String, Value>, created: i64) -> Value {
    fields.entry("success").or_insert(json!(true));
    let result = json!({ class: fields }).to_string();
    json!({
        "state": "Done",
        "createdDate": time::zstack(created),
        "finishedDate": time::zstack(time::now_micros()),
        "result": result,
    })
}

/// The RPC answer of a failed call, keyed by `class`.
pub fn rpc_failed(class: &str, e: &ErrorCode, created: i64) -> Value {
    let mut fields = Map::new();
    fields.insert("success".into(), json!(false));
    fields.insert("error".into(), json!(e));
    rpc_done(class, fields, created)
}

/// The generic class of the operation (`APIEvent` for async APIs, else `APIReply`).
pub fn generic_class(op: Option<&'static Operation>) -> &'static str {
    match op.and_then(|o| rpc_meta(o.name)) {
        Some(m) if m.is_async => GENERIC_EVENT,
        _ => GENERIC_REPLY,
    }
}

/// An RPC refusal before the API ran: HTTP 200, the generic class.
pub fn rpc_refused(op: Option<&'static Operation>, e: &ErrorCode) -> Response {
    json_response(
        StatusCode::OK,
        &rpc_failed(generic_class(op), e, time::now_micros()),
    )
}

/// The common errors over RPC.
pub fn render_common_rpc(kind: CommonKind, msg: &str) -> Response {
    let e = match kind {
        CommonKind::Internal => ErrorCode::internal(msg),
        CommonKind::BadRequest | CommonKind::EmptyBody => ErrorCode::invalid_argument(msg),
    };
    rpc_refused(None, &e)
}

/// An RPC caller the operation is not for.
pub fn render_denied_rpc(op: &'static Operation, why: Denied) -> Response {
    rpc_refused(Some(op), &denial(op, why))
}
