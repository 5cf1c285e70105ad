//! The envelopes (docs/error-codes.md), the API gateway's refusals and their codes, and
//! `CommonError`. Family modules never build an error body: they return their error enum,
//! which names a row of its family's table (`common::api_error`), and the envelopes here put
//! it on the wire. `CommonError` covers what every family reports (malformed input, store
//! failures) and is answered with the row of the family whose route is running.

use super::api_error::{render, ApiError};
use super::context::request_id;
use super::ops::Family;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use plugboard_core::codes::Code;
use std::borrow::Cow;

tokio::task_local! {
    /// The family of the route being served (set by the route layer).
    pub static FAMILY: Family;
}

/// The family of the route being served ([`Family::System`] outside any route).
pub fn current_family() -> Family {
    FAMILY.try_with(|f| *f).unwrap_or(Family::System)
}

/// The JSON content type every body carries.
pub const JSON_UTF8: &str = "application/json;charset=UTF-8";

/// A JSON response with the exact content type the vendors send.
pub fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    // A `Value` always serializes.
    json_bytes(status, serde_json::to_vec(body).unwrap_or_default())
}

/// `body` serialized once, straight into the reply's bytes (its objects' keys in the order of
/// the types' fields, not through a `serde_json::Value`); `Err` when it cannot be serialized.
pub fn serialized<T: serde::Serialize + ?Sized>(
    status: StatusCode,
    body: &T,
) -> Result<Response, serde_json::Error> {
    // Most replies fit in 512 bytes: one allocation instead of serde_json's 128 grown twice.
    let mut bytes = Vec::with_capacity(512);
    serde_json::to_writer(&mut bytes, body)?;
    Ok(json_bytes(status, bytes))
}

/// JSON text already serialized, with the vendors' content type.
fn json_bytes(status: StatusCode, bytes: Vec<u8>) -> Response {
    let mut response = Response::new(axum::body::Body::from(bytes));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8));
    response
}

/// The envelopes (their wire types are in `error_body`).
pub mod envelope {
    use super::*;
    use crate::common::error_body::{
        FlatErrorBody, GatewayErrorBody, KeystoneError, KeystoneErrorBody, NestedErrorBody,
    };

    fn body<T: serde::Serialize>(status: StatusCode, body: &T) -> Response {
        // Strings and a number only: serializing them cannot fail.
        serialized(status, body).unwrap_or_else(|_| json_response(status, &Default::default()))
    }

    fn flat_body(code: &str, msg: &str) -> FlatErrorBody {
        FlatErrorBody {
            error_code: code.into(),
            error_msg: msg.into(),
        }
    }

    /// `{"error_code", "error_msg"}` (GaussDB, ServiceStage, plugboard admin).
    pub fn flat(status: StatusCode, code: &str, msg: &str) -> Response {
        body(status, &flat_body(code, msg))
    }

    /// `{"error_code", "error_msg", "request_id"}` (the API gateway, every Huawei family).
    pub fn gateway(status: StatusCode, code: &str, msg: &str) -> Response {
        let error = GatewayErrorBody {
            error_code: code.into(),
            error_msg: msg.into(),
            request_id: request_id(),
        };
        body(status, &error)
    }

    /// `{"error": {"error_code", "error_msg"}}` (DBSS).
    pub fn nested(status: StatusCode, code: &str, msg: &str) -> Response {
        let error = NestedErrorBody {
            error: flat_body(code, msg),
        };
        body(status, &error)
    }

    /// `{"error": {"code", "title", "message"}}` (IAM Keystone APIs).
    pub fn keystone(status: StatusCode, title: &str, msg: &str) -> Response {
        let error = KeystoneErrorBody {
            error: KeystoneError {
                code: status.as_u16(),
                title: title.into(),
                message: msg.into(),
            },
        };
        body(status, &error)
    }
}

/// Refusals by the API gateway: authentication, authorization, routing and size limits. The
/// same flat envelope for every Huawei family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayError {
    /// Neither a token nor a signature.
    NoCredentials,
    /// A token that is malformed or unknown.
    BadToken,
    /// A token that expired or was revoked.
    TokenExpired,
    /// A signature that does not verify; carries the server's canonical request when known.
    BadSignature(Option<String>),
    /// An access key that does not exist (or is locked or inactive).
    UnknownAccessKey,
    /// Authenticated, but not allowed.
    Forbidden,
    /// No such route or method.
    NoSuchApi,
    /// The body is larger than allowed.
    TooLarge,
    /// A handler panicked (plugboard's own code: the vendor documents no gateway 500).
    Internal,
    /// HTTP layer: a request that is not HTTP/1.x as the server reads it; names the problem.
    MalformedRequest(String),
    /// HTTP layer: the request head did not arrive within `[http] header_read_timeout_seconds`.
    RequestTimeout,
    /// HTTP layer: the request body did not arrive within `[http] body_read_timeout_seconds`
    /// (as extended by `min_body_bytes_per_second`).
    BodyTimeout,
    /// HTTP layer: too many request bodies without credentials arriving at once; names the
    /// limit.
    Throttled(String),
    /// HTTP layer: the request target is longer than `[http] max_uri_bytes`.
    UriTooLong,
    /// HTTP layer: more header fields than `[http] max_headers`, or a head larger than
    /// `[http] max_header_bytes`.
    HeadersTooLarge,
}

/// The API gateway's codes (docs/error-codes.md → API gateway). The vendor's gateway answers
/// every refusal of the request itself (size, URI, headers, syntax) with APIG.0201 and the
/// matching status.
pub mod gateway {
    plugboard_core::error_codes! {
        /// Every refusal of the API gateway.
        pub static GATEWAY in Gateway;
        NO_CREDENTIALS = 401 "APIG.0301"
            "Incorrect IAM authentication information: x-auth-token not found";
        BAD_TOKEN = 401 "APIG.0301" "Incorrect IAM authentication information: decrypt token fail";
        TOKEN_EXPIRED = 401 "APIG.0307" "The token must be updated.";
        /// The detail is empty or `, canonicalRequest: <the server's, newlines as |>`.
        BAD_SIGNATURE = 401 "APIG.0301"
            "Incorrect IAM authentication information: verify aksk signature fail{}";
        UNKNOWN_ACCESS_KEY = 401 "APIG.0301"
            "Incorrect IAM authentication information: Get secretKey failed";
        FORBIDDEN = 403 "APIG.0302" "The IAM user is not authorized to access the API.";
        NO_SUCH_API = 404 "APIG.0101"
            "The API does not exist or has not been published in the environment.";
        TOO_LARGE = 413 "APIG.0201" "Request entity too large.";
        /// plugboard's own: the vendor documents no gateway 500.
        INTERNAL = 500 "APIG.0500" "Internal server error.";
        MALFORMED_REQUEST = 400 "APIG.0201" "Bad request: {}.";
        REQUEST_TIMEOUT = 408 "APIG.0201"
            "Request timeout: the request head did not arrive in time.";
        BODY_TIMEOUT = 408 "APIG.0201" "Request timeout: the request body did not arrive in time.";
        THROTTLED = 429 "APIG.0308" "The throttling threshold has been reached: {}.";
        URI_TOO_LONG = 414 "APIG.0201" "Request URI too large.";
        HEADERS_TOO_LARGE = 431 "APIG.0201" "Request headers too large.";
    }
}

impl ApiError for GatewayError {
    fn row(&self) -> (&'static Code, Cow<'_, str>) {
        use gateway::*;
        let none = Cow::Borrowed("");
        match self {
            Self::NoCredentials => (&NO_CREDENTIALS, none),
            Self::BadToken => (&BAD_TOKEN, none),
            Self::TokenExpired => (&TOKEN_EXPIRED, none),
            Self::BadSignature(None) => (&BAD_SIGNATURE, none),
            Self::BadSignature(Some(canonical)) => (
                &BAD_SIGNATURE,
                format!(", canonicalRequest: {}", canonical.replace('\n', "|")).into(),
            ),
            Self::UnknownAccessKey => (&UNKNOWN_ACCESS_KEY, none),
            Self::Forbidden => (&FORBIDDEN, none),
            Self::NoSuchApi => (&NO_SUCH_API, none),
            Self::TooLarge => (&TOO_LARGE, none),
            Self::Internal => (&INTERNAL, none),
            Self::MalformedRequest(detail) => (&MALFORMED_REQUEST, detail.into()),
            Self::RequestTimeout => (&REQUEST_TIMEOUT, none),
            Self::BodyTimeout => (&BODY_TIMEOUT, none),
            Self::Throttled(detail) => (&THROTTLED, detail.into()),
            Self::UriTooLong => (&URI_TOO_LONG, none),
            Self::HeadersTooLarge => (&HEADERS_TOO_LARGE, none),
        }
    }
}

impl GatewayError {
    /// Status and envelope body for `request_id`, for answers written below the router (the
    /// HTTP layer's refusals, which have no request scope).
    pub fn envelope_for(&self, request_id: &str) -> (StatusCode, String) {
        let (code, detail) = self.row();
        let body = super::error_body::GatewayErrorBody {
            error_code: code.code.into(),
            error_msg: code.message(&detail, false),
            request_id: request_id.into(),
        };
        (
            super::api_error::status_of(code),
            serde_json::to_string(&body).unwrap_or_else(|_| "{}".into()),
        )
    }
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        self.render()
    }
}

/// What every family reports, rendered in the running family's envelope.
#[derive(Debug, thiserror::Error)]
pub enum CommonError {
    /// Malformed or invalid input; the message names the field.
    #[error("{0}")]
    BadRequest(String),
    /// An empty body where one is required.
    #[error("The request is null. Enter a request parameter.")]
    EmptyBody,
    /// The body is over the size limit.
    #[error("Request entity too large.")]
    TooLarge,
    /// Something failed inside plugboard; the detail is logged, not returned.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<plugboard_store::StoreError> for CommonError {
    fn from(e: plugboard_store::StoreError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl CommonError {
    /// Log an internal error (with the request id) and say whether it was one.
    pub fn log_if_internal(&self) {
        if let Self::Internal(detail) = self {
            tracing::error!(request_id = %request_id(), %detail, "internal error");
        }
    }
}

/// What kind of common error, for a family's renderer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommonKind {
    /// Malformed or invalid input (400).
    BadRequest,
    /// An empty body where one is required (400).
    EmptyBody,
    /// Something failed inside plugboard (500; the detail is logged only).
    Internal,
}

impl CommonError {
    /// The kind of this error and its message (shown to the client except for internal ones).
    pub fn kind(&self) -> CommonKind {
        match self {
            Self::BadRequest(_) | Self::TooLarge => CommonKind::BadRequest,
            Self::EmptyBody => CommonKind::EmptyBody,
            Self::Internal(_) => CommonKind::Internal,
        }
    }
}

impl ApiError for CommonError {
    /// The running family's row for this kind (its descriptor says which); a body over the
    /// limit is the gateway's.
    fn row(&self) -> (&'static Code, Cow<'_, str>) {
        if matches!(self, Self::TooLarge) {
            return (&gateway::TOO_LARGE, "".into());
        }
        let family = crate::families::descriptor(current_family());
        ((family.common)(self.kind()), self.to_string().into())
    }

    fn as_common(&self) -> Option<&CommonError> {
        Some(self)
    }
}

impl CommonError {
    /// The answer: logged when internal, rendered by the running family (ZStack's RPC style
    /// answers inside `result`); a body over the limit is the gateway's refusal.
    pub fn respond(&self) -> Response {
        self.log_if_internal();
        let (code, detail) = self.row();
        if matches!(self, Self::TooLarge) {
            return render(code, &detail);
        }
        (crate::families::descriptor(current_family()).render)(code, &detail)
    }
}

impl IntoResponse for CommonError {
    fn into_response(self) -> Response {
        self.render()
    }
}

/// The one success reply: `body` as JSON with `status`; a body that cannot be serialized is
/// an internal error in the running family's envelope (never a 200 with `null`).
pub fn reply<T: serde::Serialize, E: From<CommonError>>(
    status: StatusCode,
    body: &T,
) -> Result<Response, E> {
    match serialized(status, body) {
        Ok(response) => Ok(response),
        Err(e) => Err(CommonError::Internal(format!("cannot serialize the reply: {e}")).into()),
    }
}
