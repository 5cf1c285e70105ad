//! DBSS errors, rendered in the nested `{"error": {"error_code", "error_msg"}}` envelope with
//! the codes of one table ([`codes`]). The API error wraps the DBSS service's.

use crate::common::api_error::ApiError;
use crate::common::error::{CommonError, CommonKind};
use axum::response::{IntoResponse, Response};
use plugboard_core::codes::Code;
use plugboard_service::dbss::Error as Domain;
use std::borrow::Cow;

/// Every DBSS code.
pub mod codes {
    plugboard_core::error_codes! {
        /// Every DBSS code.
        pub static DBSS in Nested;
        INVALID = 400 "DBSS.10000001" "Enter a valid request message: {}";
        LIMIT_REACHED = 400 "DBSS.10020118" "Failed to add database, exceeding the limit";
        INVALID_ID = 400 "DBSS.10020021" "Invalid request parameter ID. {}";
        /// An agent that may not ship or report (the vendor's "Failed to authenticate the
        /// token in the request").
        REFUSED = 403 "DBSS.10020100" "{}";
        NOT_FOUND = 404 "DBSS.10021004" "{}";
        INTERNAL = 500 "DBSS.11000000"
            "Internal system exception. Contact technical support engineers";
    }
}

/// What a DBSS operation can fail with: a common error or the DBSS service's.
#[derive(Debug, thiserror::Error)]
pub enum DbssError {
    #[error(transparent)]
    Common(#[from] CommonError),
    #[error(transparent)]
    Service(Domain),
}

impl DbssError {
    /// A field is missing or invalid; `msg` names it.
    pub fn invalid(msg: impl Into<String>) -> Self {
        Self::Service(Domain::Invalid(msg.into()))
    }
}

impl From<plugboard_store::StoreError> for DbssError {
    fn from(e: plugboard_store::StoreError) -> Self {
        Self::Common(e.into())
    }
}

impl From<Domain> for DbssError {
    fn from(e: Domain) -> Self {
        match e {
            Domain::Store(e) => Self::Common(e.into()),
            e => Self::Service(e),
        }
    }
}

impl ApiError for DbssError {
    fn row(&self) -> (&'static Code, Cow<'_, str>) {
        use codes::*;
        let e = match self {
            Self::Common(e) => return e.row(),
            Self::Service(e) => e,
        };
        let code: &'static Code = match e {
            Domain::Store(_) => return (&INTERNAL, "".into()),
            Domain::Invalid(d) => return (&INVALID, d.into()),
            Domain::InstanceNotFound(id) => {
                return (
                    &NOT_FOUND,
                    format!("The audit instance {id} does not exist.").into(),
                )
            }
            Domain::BadInstanceId(_) | Domain::BadDatabaseId(_) | Domain::BadId(..) => &INVALID_ID,
            Domain::LimitReached => &LIMIT_REACHED,
            Domain::DatabaseNotFound(_) | Domain::NotFound(_) => &NOT_FOUND,
            Domain::Refused(_) => &REFUSED,
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

impl IntoResponse for DbssError {
    fn into_response(self) -> Response {
        self.render()
    }
}

/// DBSS's row for a common error.
pub fn common(kind: CommonKind) -> &'static Code {
    match kind {
        CommonKind::Internal => &codes::INTERNAL,
        CommonKind::BadRequest | CommonKind::EmptyBody => &codes::INVALID,
    }
}
