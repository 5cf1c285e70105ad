//! The operations table: every route plugboard serves, with its vendor operation name, its
//! family (which decides the error envelope) and the IAM action it requires. The router, the
//! authorization layer and `/openapi.json` are all built from these tables, so they cannot
//! disagree.

use axum::http::Method;

/// The API family a route belongs to; it picks the error envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// IAM (Keystone-style nested envelope).
    Iam,
    /// GaussDB (flat `error_code`/`error_msg`).
    GaussDb,
    /// DBSS (nested `{"error": {...}}`).
    Dbss,
    /// ServiceStage (flat).
    ServiceStage,
    /// ZStack REST (`/zstack/v1`: 503 `{"error": {...}}`, the vendor's plain-text 400/404).
    ZStack,
    /// ZStack RPC (`POST /zstack/api/`: HTTP 200, the outcome inside a `result` string).
    ZStackRpc,
    /// plugboard's own admin API (flat, its own codes).
    Admin,
    /// Health, metrics and the OpenAPI document.
    System,
}

impl Family {
    /// The OpenAPI tag for the family.
    pub fn tag(self) -> &'static str {
        match self {
            Family::Iam => "iam",
            Family::GaussDb => "gaussdb",
            Family::Dbss => "dbss",
            Family::ServiceStage => "servicestage",
            Family::ZStack | Family::ZStackRpc => "zstack",
            Family::Admin => "admin",
            Family::System => "system",
        }
    }
}

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No credentials (token creation, health).
    Public,
    /// Any authenticated caller (e.g. listing the caller's own projects).
    Authenticated,
    /// Callers whose policies allow this IAM action (`service:resource:verb`).
    Action(&'static str),
    /// Tenant administrators only (the domain owner or a `te_admin` holder: ZStack's admin-only
    /// APIs), whatever a normal account's policies say; the action names the operation.
    Admin(&'static str),
}

/// One route.
#[derive(Debug, PartialEq, Eq)]
pub struct Operation {
    /// The vendor operation name (the official SDK's, where there is one).
    pub name: &'static str,
    pub method: Method,
    /// The axum path (`{param}` segments); `project_id` always names the project.
    pub path: &'static str,
    pub family: Family,
    pub access: Access,
    /// One line for the OpenAPI document.
    pub summary: &'static str,
}

impl Operation {
    /// The IAM action, if the operation requires one.
    pub fn action(&self) -> Option<&'static str> {
        match self.access {
            Access::Action(a) | Access::Admin(a) => Some(a),
            _ => None,
        }
    }
}

/// Declare one operation of the table: `op!(Family, IDENT, "VendorName", METHOD, "/path",
/// access, "summary")`. The one macro every family's `routes.rs` uses.
macro_rules! op {
    ($family:ident, $ident:ident, $name:literal, $method:ident, $path:literal, $access:expr, $summary:literal) => {
        pub static $ident: $crate::common::ops::Operation = $crate::common::ops::Operation {
            name: $name,
            method: ::axum::http::Method::$method,
            path: $path,
            family: $crate::common::ops::Family::$family,
            access: $access,
            summary: $summary,
        };
    };
}
pub(crate) use op;
