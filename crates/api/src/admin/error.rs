//! Admin API errors: flat `{"error_code": "PLUGBOARD.xxxx", "error_msg"}`.

use crate::common::error::{envelope, CommonError, CommonKind};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// What an admin operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Common(#[from] CommonError),
    /// Invalid input; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// No such resource in this project.
    #[error("{0}")]
    NotFound(String),
    /// The resource is in use or the name is taken.
    #[error("{0}")]
    Conflict(String),
}

impl From<plugboard_store::StoreError> for AdminError {
    fn from(e: plugboard_store::StoreError) -> Self {
        Self::Common(e.into())
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let msg = self.to_string();
        match self {
            Self::Common(e) => e.into_response(),
            Self::Invalid(_) => envelope::flat(StatusCode::BAD_REQUEST, "PLUGBOARD.0400", &msg),
            Self::NotFound(_) => envelope::flat(StatusCode::NOT_FOUND, "PLUGBOARD.0404", &msg),
            Self::Conflict(_) => envelope::flat(StatusCode::CONFLICT, "PLUGBOARD.0409", &msg),
        }
    }
}

impl From<plugboard_service::gaussdb::Error> for AdminError {
    fn from(e: plugboard_service::gaussdb::Error) -> Self {
        use plugboard_service::gaussdb::Error as E;
        match e {
            E::Store(e) => Self::Common(e.into()),
            E::Internal(d) => Self::Common(CommonError::Internal(d)),
            e @ (E::BadInstanceId(_) | E::Invalid(_)) => Self::Invalid(e.to_string()),
            e @ E::InstanceNotFound(_) => Self::NotFound(e.to_string()),
            E::Conflict(d) | E::Busy(d) | E::JobRunning(d) => Self::Conflict(d),
            E::JobNotFound(d) | E::DatabaseNotFound(d) | E::PluginNotInstalled(d) => {
                Self::NotFound(d)
            }
            E::UnsupportedPlugin(d)
            | E::LicenseRequired(d)
            | E::UrlNotAllowed(d)
            | E::UnknownExtension(d)
            | E::TooManyDatabases(d)
            | E::ExtensionFailed(d) => Self::Invalid(d),
        }
    }
}

impl From<plugboard_service::dbss::Error> for AdminError {
    fn from(e: plugboard_service::dbss::Error) -> Self {
        use plugboard_service::dbss::Error as E;
        match e {
            E::Store(e) => Self::Common(e.into()),
            e @ (E::Invalid(_)
            | E::BadInstanceId(_)
            | E::BadDatabaseId(_)
            | E::BadId(..)
            | E::LimitReached
            | E::Refused(_)) => Self::Invalid(e.to_string()),
            e @ (E::InstanceNotFound(_) | E::DatabaseNotFound(_) | E::NotFound(_)) => {
                Self::NotFound(e.to_string())
            }
        }
    }
}

/// The common errors in the admin API's envelope (also the system routes').
pub fn render_common(kind: CommonKind, msg: &str) -> Response {
    match kind {
        CommonKind::Internal => envelope::flat(
            StatusCode::INTERNAL_SERVER_ERROR,
            "PLUGBOARD.0500",
            "internal error",
        ),
        CommonKind::BadRequest | CommonKind::EmptyBody => {
            envelope::flat(StatusCode::BAD_REQUEST, "PLUGBOARD.0400", msg)
        }
    }
}
