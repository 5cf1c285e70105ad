//! Admin API errors: flat `{"error_code": "PLUGBOARD.xxxx", "error_msg"}`, in one table
//! ([`codes`]). The API error wraps the GaussDB and DBSS services' errors it meets.

use crate::common::api_error::ApiError;
use crate::common::error::{CommonError, CommonKind};
use axum::response::{IntoResponse, Response};
use plugboard_core::codes::Code;
use plugboard_service::{dbss, gaussdb};
use std::borrow::Cow;

/// Every admin API code (also the system routes').
pub mod codes {
    plugboard_core::error_codes! {
        /// Every admin API code.
        pub static ADMIN in Flat;
        INVALID = 400 "PLUGBOARD.0400" "{}";
        NOT_FOUND = 404 "PLUGBOARD.0404" "{}";
        CONFLICT = 409 "PLUGBOARD.0409" "{}";
        INTERNAL = 500 "PLUGBOARD.0500" "internal error";
    }
}

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
    /// The GaussDB service's error (registering and removing instances).
    #[error(transparent)]
    GaussDb(gaussdb::Error),
    /// The DBSS service's error (audit instances).
    #[error(transparent)]
    Dbss(dbss::Error),
}

impl From<plugboard_store::StoreError> for AdminError {
    fn from(e: plugboard_store::StoreError) -> Self {
        Self::Common(e.into())
    }
}

impl From<gaussdb::Error> for AdminError {
    fn from(e: gaussdb::Error) -> Self {
        match e {
            gaussdb::Error::Store(e) => Self::Common(e.into()),
            gaussdb::Error::Internal(d) => Self::Common(CommonError::Internal(d)),
            e => Self::GaussDb(e),
        }
    }
}

impl From<dbss::Error> for AdminError {
    fn from(e: dbss::Error) -> Self {
        match e {
            dbss::Error::Store(e) => Self::Common(e.into()),
            e => Self::Dbss(e),
        }
    }
}

impl ApiError for AdminError {
    fn row(&self) -> (&'static Code, Cow<'_, str>) {
        use codes::*;
        use gaussdb::Error as G;
        let code: &'static Code = match self {
            Self::Common(e) => return e.row(),
            Self::Invalid(_) => &INVALID,
            Self::NotFound(_) => &NOT_FOUND,
            Self::Conflict(_) => &CONFLICT,
            Self::GaussDb(G::Store(_) | G::Internal(_)) => return (&INTERNAL, "".into()),
            Self::GaussDb(G::InstanceNotFound(_)) => &NOT_FOUND,
            Self::GaussDb(G::Conflict(_) | G::Busy(_) | G::JobRunning(_)) => &CONFLICT,
            Self::GaussDb(
                G::JobNotFound(_) | G::DatabaseNotFound(_) | G::PluginNotInstalled(_),
            ) => &NOT_FOUND,
            Self::GaussDb(_) => &INVALID,
            Self::Dbss(dbss::Error::Store(_)) => return (&INTERNAL, "".into()),
            Self::Dbss(
                dbss::Error::InstanceNotFound(_)
                | dbss::Error::DatabaseNotFound(_)
                | dbss::Error::NotFound(_),
            ) => &NOT_FOUND,
            Self::Dbss(_) => &INVALID,
        };
        (code, self.to_string().into())
    }

    fn as_common(&self) -> Option<&CommonError> {
        match self {
            Self::Common(e) => Some(e),
            _ => None,
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        self.render()
    }
}

/// The admin API's row for a common error (also the system routes').
pub fn common(kind: CommonKind) -> &'static Code {
    match kind {
        CommonKind::Internal => &codes::INTERNAL,
        CommonKind::BadRequest | CommonKind::EmptyBody => &codes::INVALID,
    }
}
