//! IAM errors, rendered in Keystone's nested envelope (`{"error": {"code", "title",
//! "message"}}`); permission refusals are the gateway's APIG.0302 like everywhere else.

use crate::common::error::{envelope, CommonError, CommonKind, GatewayError};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use plugboard_store::StoreError;

/// What an IAM operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum IamError {
    #[error(transparent)]
    Common(#[from] CommonError),
    /// Wrong credentials at token creation (one answer for every cause).
    #[error("The request you have made requires authentication.")]
    Unauthorized,
    /// The caller's policies do not allow this.
    #[error("not authorized")]
    Forbidden,
    /// A rule of the domain forbids this (e.g. deleting the domain owner).
    #[error("{0}")]
    Refused(String),
    /// No such resource; the message names it.
    #[error("{0}")]
    NotFound(String),
    /// A name or key already in use.
    #[error("{0}")]
    Conflict(String),
    /// Invalid input; the message names the field.
    #[error("{0}")]
    BadRequest(String),
}

impl IamError {
    /// A store error, with `what` naming the resource for not-found and conflicts.
    pub fn store(what: &str) -> impl Fn(StoreError) -> IamError + '_ {
        move |e| match e {
            StoreError::NotFound => IamError::NotFound(format!("Could not find {what}.")),
            StoreError::Conflict(c) => IamError::Conflict(format!(
                "Conflict occurred attempting to store {what}: {c} is already in use."
            )),
            e => IamError::Common(e.into()),
        }
    }
}

impl From<StoreError> for IamError {
    fn from(e: StoreError) -> Self {
        IamError::Common(e.into())
    }
}

impl IntoResponse for IamError {
    fn into_response(self) -> Response {
        let msg = self.to_string();
        match self {
            Self::Common(e) => e.into_response(),
            Self::Forbidden => GatewayError::Forbidden.into_response(),
            Self::Unauthorized => envelope::keystone(StatusCode::UNAUTHORIZED, &msg),
            Self::Refused(_) => envelope::keystone(StatusCode::FORBIDDEN, &msg),
            Self::NotFound(_) => envelope::keystone(StatusCode::NOT_FOUND, &msg),
            Self::Conflict(_) => envelope::keystone(StatusCode::CONFLICT, &msg),
            Self::BadRequest(_) => envelope::keystone(StatusCode::BAD_REQUEST, &msg),
        }
    }
}

impl From<plugboard_service::identity::Error> for IamError {
    fn from(e: plugboard_service::identity::Error) -> Self {
        use plugboard_service::identity::Error as E;
        match e {
            E::Store(e) => Self::Common(e.into()),
            E::Internal(d) => Self::Common(CommonError::Internal(d)),
            E::Invalid(d) => Self::BadRequest(d),
            E::Unauthorized => Self::Unauthorized,
            E::Forbidden => Self::Forbidden,
            E::Refused(d) => Self::Refused(d),
            E::NotFound(d) => Self::NotFound(d),
            E::Conflict(d) => Self::Conflict(d),
        }
    }
}

/// The common errors in IAM's envelope.
pub fn render_common(kind: CommonKind, msg: &str) -> Response {
    match kind {
        CommonKind::Internal => envelope::keystone(
            StatusCode::INTERNAL_SERVER_ERROR,
            "An unexpected error prevented the server from fulfilling your request.",
        ),
        CommonKind::BadRequest | CommonKind::EmptyBody => {
            envelope::keystone(StatusCode::BAD_REQUEST, msg)
        }
    }
}
