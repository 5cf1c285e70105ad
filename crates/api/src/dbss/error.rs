//! DBSS errors, rendered in the nested `{"error": {"error_code", "error_msg"}}` envelope.

use crate::common::error::{envelope, CommonError, CommonKind};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// What a DBSS operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum DbssError {
    #[error(transparent)]
    Common(#[from] CommonError),
    /// A field is missing or invalid; the message names it.
    #[error("Enter a valid request message: {0}")]
    Invalid(String),
    /// The instance audits as many databases as its edition allows.
    #[error("Failed to add database, exceeding the limit")]
    LimitReached,
    /// A path id that cannot be an id.
    #[error("Invalid request parameter ID. {0}")]
    InvalidId(String),
    /// No such audit instance, database, agent, rule, alarm or statement (in this project).
    #[error("{0}")]
    NotFound(String),
    /// An agent that may not ship or report: off, deleted, of another instance, not serving
    /// the database (the message says which).
    #[error("{0}")]
    Refused(String),
}

impl From<plugboard_store::StoreError> for DbssError {
    fn from(e: plugboard_store::StoreError) -> Self {
        Self::Common(e.into())
    }
}

impl IntoResponse for DbssError {
    fn into_response(self) -> Response {
        let msg = self.to_string();
        let (status, code) = match self {
            Self::Common(e) => return e.into_response(),
            Self::Invalid(_) => (StatusCode::BAD_REQUEST, "DBSS.10000001"),
            Self::LimitReached => (StatusCode::BAD_REQUEST, "DBSS.10020118"),
            Self::InvalidId(_) => (StatusCode::BAD_REQUEST, "DBSS.10020021"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "DBSS.10021004"),
            Self::Refused(_) => (StatusCode::FORBIDDEN, "DBSS.10020100"),
        };
        envelope::nested(status, code, &msg)
    }
}

impl From<plugboard_service::dbss::Error> for DbssError {
    fn from(e: plugboard_service::dbss::Error) -> Self {
        use plugboard_service::dbss::Error as E;
        match e {
            E::Store(e) => Self::Common(e.into()),
            E::Invalid(d) => Self::Invalid(d),
            e @ (E::BadInstanceId(_) | E::BadDatabaseId(_)) => Self::InvalidId(e.to_string()),
            E::InstanceNotFound(id) => {
                Self::NotFound(format!("The audit instance {id} does not exist."))
            }
            e @ E::DatabaseNotFound(_) => Self::NotFound(e.to_string()),
            E::LimitReached => Self::LimitReached,
            e @ E::BadId(..) => Self::InvalidId(e.to_string()),
            E::NotFound(m) => Self::NotFound(m),
            E::Refused(m) => Self::Refused(m),
        }
    }
}

/// The common errors in DBSS's envelope.
pub fn render_common(kind: CommonKind, msg: &str) -> Response {
    match kind {
        CommonKind::Internal => envelope::nested(
            StatusCode::INTERNAL_SERVER_ERROR,
            "DBSS.11000000",
            "Internal system exception. Contact technical support engineers",
        ),
        CommonKind::BadRequest | CommonKind::EmptyBody => envelope::nested(
            StatusCode::BAD_REQUEST,
            "DBSS.10000001",
            &format!("Enter a valid request message: {msg}"),
        ),
    }
}
