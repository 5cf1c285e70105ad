//! The GaussDB operations.

use super::handlers;
use crate::common::ops::{Access, Family, Operation};
use crate::routing::{op_route, OpRoute};
use axum::http::Method;

pub static LIST_SUPPORT_KERNEL_PLUGINS: Operation = Operation {
    name: "ListSupportKernelPlugins",
    method: Method::GET,
    path: "/v3/{project_id}/instances/kernel-plugins",
    family: Family::GaussDb,
    access: Access::Action("gaussdb:instance:listSupportKernelPlugins"),
    summary: "List the kernel plug-ins that can be installed",
};

/// Every GaussDB route.
pub fn routes() -> Vec<OpRoute> {
    vec![op_route(
        &LIST_SUPPORT_KERNEL_PLUGINS,
        handlers::list_support_kernel_plugins,
    )]
}
