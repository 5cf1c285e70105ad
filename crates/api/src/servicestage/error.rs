//! ServiceStage errors: flat `{"error_code": "SVCSTG.xxx", "error_msg"}`.

use crate::common::error::{envelope, CommonKind};
use axum::http::StatusCode;
use axum::response::Response;

/// The common errors in ServiceStage's envelope.
pub fn render_common(kind: CommonKind, msg: &str) -> Response {
    match kind {
        CommonKind::Internal => envelope::flat(
            StatusCode::INTERNAL_SERVER_ERROR,
            "SVCSTG.00100500",
            "internal error",
        ),
        CommonKind::BadRequest | CommonKind::EmptyBody => envelope::flat(
            StatusCode::BAD_REQUEST,
            "SVCSTG.00100400",
            &format!("parameter invalid: {msg}"),
        ),
    }
}
