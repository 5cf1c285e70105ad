//! ZStack errors as the service reports them: the vendor's `ErrorCode` (`code`, `description`,
//! `details`), its codes in one table ([`codes`], docs/error-codes.md → ZStack; here rather
//! than in the API crate because api-jobs store them), and the REST-layer refusals that are not
//! one (the plain-text 400s about `X-Job-UUID`).

use plugboard_core::codes::Code;
use plugboard_store::StoreError;
use serde::{Deserialize, Serialize};

/// Every ZStack code (HTTP 503 over REST; inside `result` over RPC).
pub mod codes {
    plugboard_core::error_codes! {
        /// Every ZStack code.
        pub static ZSTACK in ZStack;
        INTERNAL = 503 "SYS.1000" "An internal error happened in system";
        INVALID_RESOURCE = 503 "SYS.1003" "Resource not found or invalid resource uuid";
        OPERATION_ERROR = 503 "SYS.1006" "Operation error";
        INVALID_ARGUMENT = 503 "SYS.1007" "One or more API argument is invalid";
        AUTHENTICATION = 503 "ID.1000" "Authentication error";
        INVALID_SESSION = 503 "ID.1001"
            "The session is invalid, either wrong session id or the session has been expired";
        PERMISSION_DENIED = 503 "ID.1002" "Permission denied";
        TOO_MANY_SESSIONS = 503 "ID.1006" "Too many concurrent sessions";
    }
}

/// A ZStack error: `code`, `description`, `details` (the vendor's `ErrorCode`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorCode {
    pub code: String,
    pub description: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub details: String,
}

impl ErrorCode {
    /// The row `code` with `details`.
    pub fn of(code: &Code, details: impl Into<String>) -> Self {
        Self {
            code: code.code.into(),
            description: code.en.into(),
            details: details.into(),
        }
    }

    /// SYS.1000.
    pub fn internal(details: impl Into<String>) -> Self {
        Self::of(&codes::INTERNAL, details)
    }

    /// SYS.1003.
    pub fn invalid_resource(details: impl Into<String>) -> Self {
        Self::of(&codes::INVALID_RESOURCE, details)
    }

    /// SYS.1006.
    pub fn operation_error(details: impl Into<String>) -> Self {
        Self::of(&codes::OPERATION_ERROR, details)
    }

    /// SYS.1007.
    pub fn invalid_argument(details: impl Into<String>) -> Self {
        Self::of(&codes::INVALID_ARGUMENT, details)
    }

    /// ID.1000.
    pub fn authentication() -> Self {
        Self::of(&codes::AUTHENTICATION, "wrong account name or password")
    }

    /// ID.1001.
    pub fn invalid_session(details: impl Into<String>) -> Self {
        Self::of(&codes::INVALID_SESSION, details)
    }

    /// ID.1002 for `fqcn`.
    pub fn admin_only(fqcn: &str) -> Self {
        Self::of(
            &codes::PERMISSION_DENIED,
            format!("request api[name: {fqcn}] is admin only, can not be executed by current user"),
        )
    }

    /// SYS.1006: a normal account without a policy allowing `fqcn`.
    pub fn denied_by_default(fqcn: &str) -> Self {
        Self::operation_error(format!(
            "operation[API:{fqcn}] is denied by default, please contact admin to correct it"
        ))
    }

    /// SYS.1006: the account has `max` api-jobs that have not ended (`[zstack]
    /// max_api_jobs_per_account`), in the words of ID.1006.
    pub fn too_many_api_jobs(account: &str, open: i64, max: i64) -> Self {
        Self::operation_error(format!(
            "Too many api-jobs: account[uuid:{account}] already has {open} that have not ended, the maximum is {max}; wait for some to end"
        ))
    }

    /// ID.1006.
    pub fn too_many_sessions(details: impl Into<String>) -> Self {
        Self::of(&codes::TOO_MANY_SESSIONS, details)
    }

    /// The row of this error's code, if it is one of [`codes::ZSTACK`].
    pub fn row(&self) -> Option<&'static Code> {
        codes::ZSTACK.iter().copied().find(|c| c.code == self.code)
    }
}

/// What a ZStack operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An API failure (503 over REST, `success: false` over RPC).
    #[error("{}: {}", .0.code, .0.details)]
    Api(ErrorCode),
    /// `X-Job-UUID` is not 32 hexadecimal digits (a REST-layer 400 in plain text).
    #[error("Invalid header[X-Job-UUID], it must be a UUID with '-' stripped")]
    BadJobUuid,
    /// `X-Job-UUID` names a job that exists (a REST-layer 400 in plain text).
    #[error("Duplicate job uuid[{0}]")]
    DuplicateJobUuid(String),
}

impl From<ErrorCode> for Error {
    fn from(e: ErrorCode) -> Self {
        Self::Api(e)
    }
}

/// An api-job uuid in its stored form (lower case) if `text` is one: 32 hexadecimal digits,
/// the vendor's UUID with '-' stripped.
pub fn job_uuid(text: &str) -> Option<String> {
    let t = text.trim();
    (t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit())).then(|| t.to_ascii_lowercase())
}

/// An api-job's failure as its result shows it: the job's ZStack error; any other failure (an
/// internal one: a store error, a lost lease) is SYS.1000 without its text, which is logged by
/// the engine but may name internals no caller should read.
pub fn api_failure_of(job_id: &str, fail_reason: &str) -> ErrorCode {
    serde_json::from_str::<ErrorCode>(fail_reason).unwrap_or_else(|_| {
        ErrorCode::internal(format!(
            "the api-job[uuid:{job_id}] failed inside plugboard; the server log has the reason"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_uuids_are_32_hex_digits_kept_in_lower_case() {
        let upper = "0123456789ABCDEF0123456789ABCDEF";
        assert_eq!(
            job_uuid(upper).as_deref(),
            Some("0123456789abcdef0123456789abcdef")
        );
        assert_eq!(job_uuid(&"z".repeat(32)), None);
        assert_eq!(job_uuid("01234567-89ab-cdef-0123-456789abcdef"), None);
        assert_eq!(job_uuid(&"a".repeat(31)), None);
        assert_eq!(job_uuid(""), None);
    }

    #[test]
    fn a_result_never_carries_an_internal_failure_text() {
        let api = ErrorCode::operation_error("driver x is still used by 2 add-ons");
        let kept = serde_json::to_string(&api).unwrap_or_default();
        assert_eq!(api_failure_of("j", &kept), api);
        let hidden = api_failure_of("j", "the store failed: database error: password authentication failed for user pb on 10.0.0.5");
        assert_eq!(hidden.code, "SYS.1000");
        assert!(!hidden.details.contains("10.0.0.5"), "{hidden:?}");
        assert!(hidden.details.contains("api-job[uuid:j]"), "{hidden:?}");
    }
}
