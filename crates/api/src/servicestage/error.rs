//! ServiceStage errors: flat `{"error_code": "SVCSTG.xxx", "error_msg"}` with the vendor's
//! codes (docs/error-codes.md → ServiceStage) and plugboard's own `SVCSTG.00100430` for a
//! missing add-on (the vendor documents none).

use crate::common::error::{envelope, CommonError, CommonKind};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use plugboard_service::servicestage::Error as Domain;

/// What a ServiceStage operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ServiceStageError {
    #[error(transparent)]
    Common(#[from] CommonError),
    /// `SVCSTG.00100400`: a parameter is missing or invalid (the message names it), or a job
    /// runs on the add-on.
    #[error("parameter invalid: {0}")]
    Invalid(String),
    /// `SVCSTG.00100414`: the job id is empty.
    #[error("job id can not empty")]
    JobIdEmpty,
    /// `SVCSTG.00100449`.
    #[error("environment name is already used: {0}")]
    NameTaken(String),
    /// `SVCSTG.00100411`.
    #[error("environment not found: {0}")]
    EnvironmentNotFound(String),
    /// `SVCSTG.00100429`.
    #[error("job not found: {0}")]
    JobNotFound(String),
    /// `SVCSTG.00100430` [ours].
    #[error("add-on not found: {0}")]
    AddonNotFound(String),
}

impl From<plugboard_store::StoreError> for ServiceStageError {
    fn from(e: plugboard_store::StoreError) -> Self {
        Self::Common(e.into())
    }
}

impl From<Domain> for ServiceStageError {
    fn from(e: Domain) -> Self {
        match e {
            Domain::Store(e) => Self::Common(e.into()),
            Domain::Internal(d) => Self::Common(CommonError::Internal(d)),
            Domain::Invalid(d) => Self::Invalid(d),
            e @ Domain::Busy(_) => Self::Invalid(e.to_string()),
            Domain::NameTaken(n) => Self::NameTaken(n),
            Domain::EnvironmentNotFound(id) => Self::EnvironmentNotFound(id),
            Domain::AddonNotFound(id) => Self::AddonNotFound(id),
            Domain::JobNotFound(id) => Self::JobNotFound(id),
        }
    }
}

impl IntoResponse for ServiceStageError {
    fn into_response(self) -> Response {
        let msg = self.to_string();
        let (status, code) = match self {
            Self::Common(e) => return e.into_response(),
            Self::Invalid(_) => (StatusCode::BAD_REQUEST, "SVCSTG.00100400"),
            Self::JobIdEmpty => (StatusCode::BAD_REQUEST, "SVCSTG.00100414"),
            Self::NameTaken(_) => (StatusCode::BAD_REQUEST, "SVCSTG.00100449"),
            Self::EnvironmentNotFound(_) => (StatusCode::NOT_FOUND, "SVCSTG.00100411"),
            Self::JobNotFound(_) => (StatusCode::NOT_FOUND, "SVCSTG.00100429"),
            Self::AddonNotFound(_) => (StatusCode::NOT_FOUND, "SVCSTG.00100430"),
        };
        envelope::flat(status, code, &msg)
    }
}

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
