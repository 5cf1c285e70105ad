//! ZStack errors, in each style's own way (docs/error-codes.md → ZStack). REST: an API failure is
//! HTTP 503 `{"error": {"code", "description", "details"}}`; mistakes the vendor's REST layer
//! catches before any API runs (headers, the action mapping, unknown paths) are plain text with
//! 400/404/405. RPC: HTTP 200 always, the failure inside the `result` string, keyed by the API's
//! reply or event class — or by the generic `APIReply`/`APIEvent` when a check before the API
//! (session, permission, argument) refused it. The API codes are the service's table
//! (`plugboard_service::zstack::codes`); the REST layer's plain texts are [`texts`].

use super::routes::rpc_meta;
use crate::common::api_error::{render, zstack_error, ApiError};
use crate::common::auth::Denied;
use crate::common::error::{json_response, CommonError, CommonKind};
use crate::common::ops::Operation;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use plugboard_core::codes::Code;
use plugboard_core::time;
use plugboard_service::zstack::{codes, Error as Domain, ErrorCode};
use serde_json::{json, Map, Value};
use std::borrow::Cow;

/// The plain texts of ZStack's REST layer: mistakes it catches before any API runs.
pub mod texts {
    plugboard_core::error_codes! {
        /// Every plain-text refusal of the REST layer.
        pub static ZSTACK_TEXT in Text;
        MISSING_AUTHORIZATION = 400 "" "missing header 'Authorization'";
        NOT_OAUTH = 400 "" "Authorization type must be 'OAuth'";
        NO_ACTION_MAPPING = 400 "" "the body doesn't contain action mapping to the URL[{}]";
        /// `X-Job-UUID` is not 32 hexadecimal digits.
        BAD_JOB_UUID = 400 "" "Invalid header[X-Job-UUID], it must be a UUID with '-' stripped";
        DUPLICATE_JOB_UUID = 400 "" "Duplicate job uuid[{}]";
        NO_API_MAPPING = 404 "" "no api mapping to {}";
        JOB_EXPIRED = 404 "" "the job has been expired";
        ONLY_GET = 405 "" "only GET method is allowed for querying job status";
    }
}

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
    /// A REST-layer refusal: a row of [`texts`] with its detail.
    #[error("{}", .0.message(.1, false))]
    Text(&'static Code, String),
}

impl ZStackError {
    /// A REST-layer refusal without a detail.
    pub fn text(code: &'static Code) -> Self {
        Self::Text(code, String::new())
    }
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
            Domain::BadJobUuid => Self::text(&texts::BAD_JOB_UUID),
            Domain::DuplicateJobUuid(id) => Self::Text(&texts::DUPLICATE_JOB_UUID, id),
        }
    }
}

impl From<plugboard_store::StoreError> for ZStackError {
    fn from(e: plugboard_store::StoreError) -> Self {
        Self::Common(e.into())
    }
}

/// A plain-text answer: the row `code` with `detail`.
pub fn text(code: &'static Code, detail: &str) -> Response {
    render(code, detail)
}

/// The REST error body of `e`.
pub fn rest_error_body(e: &ErrorCode) -> Value {
    json!({ "error": e })
}

/// 503 with `e`.
pub fn rest_failure(e: &ErrorCode) -> Response {
    json_response(StatusCode::SERVICE_UNAVAILABLE, &rest_error_body(e))
}

impl ApiError for ZStackError {
    /// An error code not in the table (one a driver wrote) answers as itself, with the row
    /// of SYS.1000 named here.
    fn row(&self) -> (&'static Code, Cow<'_, str>) {
        match self {
            Self::Common(e) => e.row(),
            Self::Api(e) => (
                e.row().unwrap_or(&codes::INTERNAL),
                e.details.as_str().into(),
            ),
            Self::Text(code, detail) => (code, detail.into()),
        }
    }

    fn as_common(&self) -> Option<&CommonError> {
        match self {
            Self::Common(e) => Some(e),
            _ => None,
        }
    }

    fn render(self) -> Response {
        match self {
            Self::Common(e) => e.respond(),
            Self::Api(e) => rest_failure(&e),
            Self::Text(code, detail) => text(code, &detail),
        }
    }
}

impl IntoResponse for ZStackError {
    fn into_response(self) -> Response {
        self.render()
    }
}

/// ZStack's row for a common error (REST and RPC).
pub fn common(kind: CommonKind) -> &'static Code {
    match kind {
        CommonKind::Internal => &codes::INTERNAL,
        CommonKind::BadRequest | CommonKind::EmptyBody => &codes::INVALID_ARGUMENT,
    }
}

/// A row over RPC, before the API ran: HTTP 200, the generic class.
pub fn render_rpc(code: &'static Code, detail: &str) -> Response {
    rpc_refused(None, &zstack_error(code, detail))
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

/// An RPC caller the operation is not for.
pub fn render_denied_rpc(op: &'static Operation, why: Denied) -> Response {
    rpc_refused(Some(op), &denial(op, why))
}
