//! IAM errors, rendered in Keystone's nested envelope (`{"error": {"code", "title",
//! "message"}}`, the rows' code being the title); permission refusals are the gateway's
//! APIG.0302 like everywhere else. The API error wraps the identity service's.

use crate::common::api_error::ApiError;
use crate::common::error::{gateway, CommonError, CommonKind};
use axum::response::{IntoResponse, Response};
use plugboard_core::codes::Code;
use plugboard_service::identity::Error as Domain;
use std::borrow::Cow;

/// Every IAM answer but the gateway's.
pub mod codes {
    plugboard_core::error_codes! {
        /// IAM's answers, by status (the title is the status's reason phrase).
        pub static IAM in Keystone;
        BAD_REQUEST = 400 "Bad Request" "{}";
        UNAUTHORIZED = 401 "Unauthorized" "The request you have made requires authentication.";
        REFUSED = 403 "Forbidden" "{}";
        NOT_FOUND = 404 "Not Found" "{}";
        CONFLICT = 409 "Conflict" "{}";
        INTERNAL = 500 "Internal Server Error"
            "An unexpected error prevented the server from fulfilling your request.";
    }
}

/// What an IAM operation can fail with: a common error or the identity service's.
#[derive(Debug, thiserror::Error)]
pub enum IamError {
    #[error(transparent)]
    Common(#[from] CommonError),
    #[error(transparent)]
    Service(Domain),
}

impl IamError {
    /// Outside the caller's domain or policies (the gateway's APIG.0302).
    pub fn forbidden() -> Self {
        Self::Service(Domain::Forbidden)
    }

    /// Invalid input; `msg` names the field.
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::Service(Domain::Invalid(msg.into()))
    }

    /// No such resource; `msg` names it.
    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::Service(Domain::NotFound(msg.into()))
    }
}

impl From<plugboard_store::StoreError> for IamError {
    fn from(e: plugboard_store::StoreError) -> Self {
        Self::Common(e.into())
    }
}

impl From<Domain> for IamError {
    fn from(e: Domain) -> Self {
        match e {
            Domain::Store(e) => Self::Common(e.into()),
            Domain::Internal(d) => Self::Common(CommonError::Internal(d)),
            e => Self::Service(e),
        }
    }
}

impl ApiError for IamError {
    fn row(&self) -> (&'static Code, Cow<'_, str>) {
        use codes::*;
        let e = match self {
            Self::Common(e) => return e.row(),
            Self::Service(e) => e,
        };
        let code: &'static Code = match e {
            Domain::Store(_) | Domain::Internal(_) => return (&INTERNAL, "".into()),
            Domain::Forbidden => return (&gateway::FORBIDDEN, "".into()),
            Domain::Invalid(_) => &BAD_REQUEST,
            Domain::Unauthorized => &UNAUTHORIZED,
            Domain::Refused(_) => &REFUSED,
            Domain::NotFound(_) => &NOT_FOUND,
            Domain::Conflict(_) => &CONFLICT,
        };
        (code, e.to_string().into())
    }

    fn as_common(&self) -> Option<&CommonError> {
        match self {
            Self::Common(e) => Some(e),
            Self::Service(_) => None,
        }
    }
}

impl IntoResponse for IamError {
    fn into_response(self) -> Response {
        self.render()
    }
}

/// IAM's row for a common error.
pub fn common(kind: CommonKind) -> &'static Code {
    match kind {
        CommonKind::Internal => &codes::INTERNAL,
        CommonKind::BadRequest | CommonKind::EmptyBody => &codes::BAD_REQUEST,
    }
}
