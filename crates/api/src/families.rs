//! The families' descriptors, one per [`Family`]: which of its codes answers each common
//! error and how its rows are rendered (its codes live only in its own `error.rs`), how its callers are authenticated, and how the
//! path's `project_id` applies. The shared layer (`common/`) asks here and knows no family.

use crate::common::api_error::render;
use crate::common::auth::{gateway_denied, Authenticator, Denied, HuaweiGateway};
use crate::common::error::CommonKind;
use crate::common::ops::{Family, Operation};
use axum::response::Response;
use plugboard_core::codes::Code;

/// How the path's `project_id` applies to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectScope {
    /// It is the project the request acts in (checked against the caller and `X-Project-Id`).
    Path,
    /// Paths name projects as resources (IAM): the scope is `X-Project-Id` or the token's.
    Resource,
}

/// What a family brings to the shared layer.
pub struct Descriptor {
    /// The family's row for a common error (malformed input, an empty body, an internal
    /// failure).
    pub common: fn(CommonKind) -> &'static Code,
    /// Render a row of the family's with its detail (`common::api_error::render`, but for
    /// ZStack's RPC style, which answers inside `result`).
    pub render: fn(&'static Code, &str) -> Response,
    /// Who the caller is.
    pub authenticator: &'static (dyn Authenticator + Sync),
    pub project_scope: ProjectScope,
    /// Whether the caller must also be a tenant administrator (the domain owner or a
    /// `te_admin` holder), whatever else its policies match.
    pub tenant_admin_only: bool,
    /// Render the refusal of an authenticated caller the operation is not for.
    pub render_denied: fn(&'static Operation, Denied) -> Response,
}

static IAM: Descriptor = Descriptor {
    common: crate::iam::error::common,
    render,
    authenticator: &HuaweiGateway,
    project_scope: ProjectScope::Resource,
    tenant_admin_only: false,
    render_denied: gateway_denied,
};

static GAUSSDB: Descriptor = Descriptor {
    common: crate::gaussdb::error::common,
    render,
    authenticator: &HuaweiGateway,
    project_scope: ProjectScope::Path,
    tenant_admin_only: false,
    render_denied: gateway_denied,
};

static DBSS: Descriptor = Descriptor {
    common: crate::dbss::error::common,
    render,
    authenticator: &HuaweiGateway,
    project_scope: ProjectScope::Path,
    tenant_admin_only: false,
    render_denied: gateway_denied,
};

static SERVICESTAGE: Descriptor = Descriptor {
    common: crate::servicestage::error::common,
    render,
    authenticator: &HuaweiGateway,
    project_scope: ProjectScope::Path,
    tenant_admin_only: false,
    render_denied: gateway_denied,
};

static ADMIN: Descriptor = Descriptor {
    common: crate::admin::error::common,
    render,
    authenticator: &HuaweiGateway,
    project_scope: ProjectScope::Path,
    tenant_admin_only: true,
    render_denied: gateway_denied,
};

static ZSTACK: Descriptor = Descriptor {
    common: crate::zstack::error::common,
    render,
    authenticator: &crate::zstack::auth::SessionHeader,
    project_scope: ProjectScope::Resource,
    tenant_admin_only: false,
    render_denied: crate::zstack::error::render_denied,
};

static ZSTACK_RPC: Descriptor = Descriptor {
    common: crate::zstack::error::common,
    render: crate::zstack::error::render_rpc,
    authenticator: &crate::zstack::auth::SessionInBody,
    project_scope: ProjectScope::Resource,
    tenant_admin_only: false,
    render_denied: crate::zstack::error::render_denied_rpc,
};

/// The system routes (health, metrics, OpenAPI) answer in the admin API's envelope.
static SYSTEM: Descriptor = Descriptor {
    common: crate::admin::error::common,
    render,
    authenticator: &HuaweiGateway,
    project_scope: ProjectScope::Path,
    tenant_admin_only: false,
    render_denied: gateway_denied,
};

/// The descriptor of `family`.
pub fn descriptor(family: Family) -> &'static Descriptor {
    match family {
        Family::Iam => &IAM,
        Family::GaussDb => &GAUSSDB,
        Family::Dbss => &DBSS,
        Family::ServiceStage => &SERVICESTAGE,
        Family::ZStack => &ZSTACK,
        Family::ZStackRpc => &ZSTACK_RPC,
        Family::Admin => &ADMIN,
        Family::System => &SYSTEM,
    }
}
