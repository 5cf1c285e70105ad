//! GaussDB errors, rendered in the flat `{"error_code", "error_msg"}` envelope with the DBS
//! codes of `spec/gaussdb.md` (and plugboard's own `DBS.280xxx` for plug-in specifics, listed
//! in `docs/error-codes.md`).

use crate::common::error::{envelope, CommonError};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// What a GaussDB operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum GaussDbError {
    #[error(transparent)]
    Common(#[from] CommonError),
    /// A parameter is missing or invalid; the message names it.
    #[error("Parameter error. {0}")]
    Invalid(String),
    /// No such instance in this project.
    #[error("The DB instance does not exist.")]
    InstanceNotFound,
    /// Another job runs on the instance, or the instance cannot be reached.
    #[error(
        "Another operation is being performed on the DB instance or the DB instance is faulty. {0}"
    )]
    Busy(String),
    /// The plug-in is not in the catalog (`[gaussdb] supported_plugins`).
    #[error("The plug-in is not supported: {0}")]
    UnsupportedPlugin(String),
    /// The plug-in needs `kernel-plugin-license` first.
    #[error("A license is required before installing {0}: set it with kernel-plugin-license.")]
    LicenseRequired(String),
    /// The package URL is refused by the network policy.
    #[error("The plug-in package URL is not allowed: {0}")]
    UrlNotAllowed(String),
    /// The plug-in is not installed on the instance.
    #[error("The plug-in {0} is not installed on the DB instance.")]
    PluginNotInstalled(String),
    /// The extension does not belong to the plug-in.
    #[error("{0}")]
    UnknownExtension(String),
    /// Too many databases in one call or on the instance.
    #[error("{0}")]
    TooManyDatabases(String),
    /// No such job in this project.
    #[error("The job does not exist: {0}")]
    JobNotFound(String),
    /// The job has not ended and cannot be deleted.
    #[error("The job {0} is still running and cannot be deleted.")]
    JobRunning(String),
    /// A database named in the request does not exist on the instance.
    #[error("{0}")]
    DatabaseNotFound(String),
    /// The server refused the extension change.
    #[error("{0}")]
    ExtensionFailed(String),
}

impl From<plugboard_store::StoreError> for GaussDbError {
    fn from(e: plugboard_store::StoreError) -> Self {
        Self::Common(e.into())
    }
}

impl IntoResponse for GaussDbError {
    fn into_response(self) -> Response {
        let msg = self.to_string();
        let bad = StatusCode::BAD_REQUEST;
        let (status, code) = match self {
            Self::Common(e) => return e.into_response(),
            Self::Invalid(_) => (bad, "DBS.200001"),
            Self::InstanceNotFound => (StatusCode::NOT_FOUND, "DBS.200002"),
            Self::Busy(_) => (StatusCode::CONFLICT, "DBS.200011"),
            Self::UnsupportedPlugin(_) => (bad, "DBS.280001"),
            Self::LicenseRequired(_) => (bad, "DBS.280002"),
            Self::UrlNotAllowed(_) => (bad, "DBS.280003"),
            Self::PluginNotInstalled(_) => (bad, "DBS.280004"),
            Self::UnknownExtension(_) => (bad, "DBS.280005"),
            Self::TooManyDatabases(_) => (bad, "DBS.280006"),
            Self::JobNotFound(_) => (StatusCode::NOT_FOUND, "DBS.280007"),
            Self::JobRunning(_) => (StatusCode::CONFLICT, "DBS.280008"),
            Self::DatabaseNotFound(_) => (bad, "DBS.280009"),
            Self::ExtensionFailed(_) => (bad, "DBS.280010"),
        };
        envelope::flat(status, code, &msg)
    }
}
