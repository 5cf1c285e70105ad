//! GaussDB errors, rendered in the flat `{"error_code", "error_msg"}` envelope with the DBS
//! codes of `spec/gaussdb.md`.

use crate::common::error::{envelope, CommonError};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// What a GaussDB operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum GaussDbError {
    #[error(transparent)]
    Common(#[from] CommonError),
}

impl IntoResponse for GaussDbError {
    fn into_response(self) -> Response {
        match self {
            Self::Common(e) => e.into_response(),
        }
    }
}

/// Render a DBS code (kept here so every GaussDB body is built in this file).
pub fn dbs(status: StatusCode, code: &str, msg: &str) -> Response {
    envelope::flat(status, code, msg)
}
