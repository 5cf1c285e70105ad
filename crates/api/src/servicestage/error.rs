//! ServiceStage errors: flat `{"error_code": "SVCSTG.xxx", "error_msg"}` with the vendor's
//! codes and plugboard's own `SVCSTG.00100430` for a missing add-on (the vendor documents
//! none), in one table ([`codes`]). The API error wraps the ServiceStage service's.

use crate::common::api_error::ApiError;
use crate::common::error::{CommonError, CommonKind};
use axum::response::{IntoResponse, Response};
use plugboard_core::codes::Code;
use plugboard_service::servicestage::Error as Domain;
use std::borrow::Cow;

/// Every ServiceStage code.
pub mod codes {
    plugboard_core::error_codes! {
        /// Every ServiceStage code.
        pub static SERVICESTAGE in Flat;
        /// A parameter is missing or invalid (the message names it), or a job runs on the
        /// add-on.
        INVALID = 400 "SVCSTG.00100400" "parameter invalid: {}";
        JOB_ID_EMPTY = 400 "SVCSTG.00100414" "job id can not empty";
        NAME_TAKEN = 400 "SVCSTG.00100449" "environment name is already used: {}";
        ENVIRONMENT_NOT_FOUND = 404 "SVCSTG.00100411" "environment not found: {}";
        JOB_NOT_FOUND = 404 "SVCSTG.00100429" "job not found: {}";
        /// [ours]
        ADDON_NOT_FOUND = 404 "SVCSTG.00100430" "add-on not found: {}";
        INTERNAL = 500 "SVCSTG.00100500" "internal error";
    }
}

/// What a ServiceStage operation can fail with: a common error, the service's, or an empty
/// job id.
#[derive(Debug, thiserror::Error)]
pub enum ServiceStageError {
    #[error(transparent)]
    Common(#[from] CommonError),
    #[error(transparent)]
    Service(Domain),
    /// `SVCSTG.00100414`: the job id is empty.
    #[error("job id can not empty")]
    JobIdEmpty,
}

impl ServiceStageError {
    /// A parameter is missing or invalid; `msg` names it.
    pub fn invalid(msg: impl Into<String>) -> Self {
        Self::Service(Domain::Invalid(msg.into()))
    }
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
            e => Self::Service(e),
        }
    }
}

impl ApiError for ServiceStageError {
    fn row(&self) -> (&'static Code, Cow<'_, str>) {
        use codes::*;
        let e = match self {
            Self::Common(e) => return e.row(),
            Self::JobIdEmpty => return (&JOB_ID_EMPTY, "".into()),
            Self::Service(e) => e,
        };
        match e {
            Domain::Store(_) | Domain::Internal(_) => (&INTERNAL, "".into()),
            Domain::Invalid(d) => (&INVALID, d.into()),
            Domain::Busy(_) => (&INVALID, e.to_string().into()),
            Domain::NameTaken(n) => (&NAME_TAKEN, n.into()),
            Domain::EnvironmentNotFound(id) => (&ENVIRONMENT_NOT_FOUND, id.into()),
            Domain::AddonNotFound(id) => (&ADDON_NOT_FOUND, id.into()),
            Domain::JobNotFound(id) => (&JOB_NOT_FOUND, id.into()),
        }
    }

    fn as_common(&self) -> Option<&CommonError> {
        match self {
            Self::Common(e) => Some(e),
            _ => None,
        }
    }
}

impl IntoResponse for ServiceStageError {
    fn into_response(self) -> Response {
        self.render()
    }
}

/// ServiceStage's row for a common error.
pub fn common(kind: CommonKind) -> &'static Code {
    match kind {
        CommonKind::Internal => &codes::INTERNAL,
        CommonKind::BadRequest | CommonKind::EmptyBody => &codes::INVALID,
    }
}
