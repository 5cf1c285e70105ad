//! The error envelopes as wire types: `error::envelope` serializes these, and `/openapi.json`
//! describes every error response with their schemas, so the document and the bodies cannot
//! drift apart.

use serde::Serialize;
use utoipa::ToSchema;

/// `{"error_code", "error_msg", "request_id"}`: the API gateway's refusals (authentication,
/// authorization, unknown routes, size limits), the same for every Huawei family.
#[derive(Debug, Serialize, ToSchema)]
pub struct GatewayErrorBody {
    /// `APIG.xxxx`.
    pub error_code: String,
    pub error_msg: String,
    /// The request's `X-Request-Id`.
    pub request_id: String,
}

/// `{"error_code", "error_msg"}` (GaussDB, ServiceStage, plugboard's admin API; each
/// family's codes are in its own `error.rs`).
#[derive(Debug, Serialize, ToSchema)]
pub struct FlatErrorBody {
    pub error_code: String,
    pub error_msg: String,
}

/// `{"error": {"error_code", "error_msg"}}` (DBSS).
#[derive(Debug, Serialize, ToSchema)]
pub struct NestedErrorBody {
    pub error: FlatErrorBody,
}

/// `{"error": {"code", "title", "message"}}` (IAM Keystone APIs).
#[derive(Debug, Serialize, ToSchema)]
pub struct KeystoneErrorBody {
    pub error: KeystoneError,
}

/// The inside of a Keystone error.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeystoneError {
    /// The HTTP status, as a number.
    pub code: u16,
    /// The status's reason phrase (`Bad Request`).
    pub title: String,
    pub message: String,
}

/// `{"error": {"code", "description", "details"}}` (ZStack REST, with HTTP 503).
#[derive(Debug, Serialize, ToSchema)]
pub struct ZStackErrorBody {
    pub error: ZStackError,
}

/// A ZStack `ErrorCode`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ZStackError {
    /// The vendor's code (`zstack/error.rs` lists them).
    pub code: String,
    pub description: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub details: String,
}
