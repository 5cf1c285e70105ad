//! The GaussDB operations (docs/api-coverage.md → GaussDB), with the IAM action each requires.

use super::handlers;
use crate::common::openapi::OpDoc;
use crate::common::ops::{op, Access, Operation};
use crate::routing::{op_route, OpRoute};
use axum::http::StatusCode;
use utoipa::PartialSchema;

op!(
    GaussDb,
    LIST_SUPPORT_KERNEL_PLUGINS,
    "ListSupportKernelPlugins",
    GET,
    "/v3/{project_id}/instances/kernel-plugins",
    Access::Action("gaussdb:instance:listSupportKernelPlugins"),
    "List the kernel plug-ins that can be installed"
);
op!(
    GaussDb,
    INSTALL_KERNEL_PLUGIN,
    "InstallKernelPlugin",
    POST,
    "/v3/{project_id}/instances/{instance_id}/kernel-plugin",
    Access::Action("gaussdb:instance:installKernelPlugin"),
    "Install a kernel plug-in package (a job: download, verify, unpack, install, check)"
);
op!(
    GaussDb,
    LIST_KERNEL_PLUGINS,
    "ListKernelPlugins",
    GET,
    "/v3/{project_id}/instances/{instance_id}/kernel-plugins",
    Access::Action("gaussdb:instance:listKernelPlugins"),
    "List the kernel plug-ins installed on an instance"
);
op!(
    GaussDb,
    LIST_PLUGIN_INFO_LIST,
    "ListPluginInfoList",
    GET,
    "/v3/{project_id}/instances/{instance_id}/plugins",
    Access::Action("gaussdb:instance:listPluginInfo"),
    "List the plug-in catalog with the instance's installed versions"
);
op!(
    GaussDb,
    SET_KERNEL_PLUGIN_LICENSE,
    "SetKernelPluginLicense",
    PUT,
    "/v3/{project_id}/instances/{instance_id}/kernel-plugin-license",
    Access::Action("gaussdb:instance:setKernelPluginLicense"),
    "Set the kernel plug-in license of an instance"
);
op!(
    GaussDb,
    LIST_PLUGIN_EXTENSIONS,
    "ListPluginExtensions",
    GET,
    "/v3/{project_id}/instances/{instance_id}/plugin-extensions",
    Access::Action("gaussdb:instance:listPluginExtensions"),
    "List a plug-in's extensions and whether each is on in a database"
);
op!(
    GaussDb,
    RESUME_PLUGIN_EXTENSIONS,
    "ResumePluginExtensions",
    POST,
    "/v3/{project_id}/instances/{instance_id}/config-plugin-extensions",
    Access::Action("gaussdb:instance:configPluginExtensions"),
    "Turn a plug-in extension on or off in up to 10 databases"
);
op!(
    GaussDb,
    SHOW_JOB_DETAIL,
    "ShowJobDetail",
    GET,
    "/v3/{project_id}/jobs",
    Access::Action("gaussdb:job:get"),
    "Show a job (?id=)"
);
op!(
    GaussDb,
    LIST_TASKS,
    "ListTasks",
    GET,
    "/v3/{project_id}/tasks",
    Access::Action("gaussdb:task:list"),
    "List jobs as tasks"
);
op!(
    GaussDb,
    DELETE_JOB,
    "DeleteJob",
    DELETE,
    "/v3/{project_id}/jobs/{job_id}",
    Access::Action("gaussdb:job:delete"),
    "Delete a finished job's record"
);
op!(
    GaussDb,
    LIST_INSTANCES,
    "ListInstances",
    GET,
    "/v3/{project_id}/instances",
    Access::Action("gaussdb:instance:list"),
    "List GaussDB instances"
);

/// Every GaussDB route, each served in the language of its request's `X-Language`.
pub fn routes() -> Vec<OpRoute> {
    let routes = vec![
        op_route(
            &LIST_SUPPORT_KERNEL_PLUGINS,
            handlers::list_support_kernel_plugins,
        ),
        op_route(&INSTALL_KERNEL_PLUGIN, handlers::install_kernel_plugin),
        op_route(&LIST_KERNEL_PLUGINS, handlers::list_kernel_plugins),
        op_route(&LIST_PLUGIN_INFO_LIST, handlers::list_plugin_info_list),
        op_route(
            &SET_KERNEL_PLUGIN_LICENSE,
            handlers::set_kernel_plugin_license,
        ),
        op_route(&LIST_PLUGIN_EXTENSIONS, handlers::list_plugin_extensions),
        op_route(
            &RESUME_PLUGIN_EXTENSIONS,
            handlers::resume_plugin_extensions,
        ),
        op_route(&SHOW_JOB_DETAIL, handlers::show_job_detail),
        op_route(&LIST_TASKS, handlers::list_tasks),
        op_route(&DELETE_JOB, handlers::delete_job),
        op_route(&LIST_INSTANCES, handlers::list_instances),
    ];
    routes
        .into_iter()
        .map(|r| OpRoute {
            route: r.route.layer(axum::middleware::from_fn(
                crate::common::api_error::with_language,
            )),
            ..r
        })
        .collect()
}

/// What `/openapi.json` says of each GaussDB operation (`common::openapi`).
pub fn docs() -> Vec<(&'static Operation, OpDoc)> {
    use super::dto::*;
    use StatusCode as S;
    let names = || Vec::<String>::schema();
    vec![
        (
            &LIST_SUPPORT_KERNEL_PLUGINS,
            OpDoc::new().json_schema(S::OK, names()),
        ),
        (
            &INSTALL_KERNEL_PLUGIN,
            OpDoc::new()
                .body::<InstallKernelPluginRequestBody>()
                .json::<InstallKernelPluginResponse>(S::OK)
                .errors(&[S::NOT_FOUND, S::CONFLICT]),
        ),
        (
            &LIST_KERNEL_PLUGINS,
            OpDoc::new()
                .json_schema(S::OK, names())
                .errors(&[S::NOT_FOUND]),
        ),
        (
            &LIST_PLUGIN_INFO_LIST,
            OpDoc::new()
                .query::<PluginInfoQuery>()
                .json::<ListPluginInfoListResponse>(S::OK)
                .errors(&[S::NOT_FOUND]),
        ),
        (
            &SET_KERNEL_PLUGIN_LICENSE,
            OpDoc::new()
                .body::<SetKernelPluginLicenseRequestBody>()
                .json::<Success>(S::OK)
                .errors(&[S::NOT_FOUND]),
        ),
        (
            &LIST_PLUGIN_EXTENSIONS,
            OpDoc::new()
                .query::<PluginExtensionsQuery>()
                .json_list::<PluginExtensions>(S::OK)
                .errors(&[S::NOT_FOUND, S::CONFLICT]),
        ),
        (
            &RESUME_PLUGIN_EXTENSIONS,
            OpDoc::new()
                .body::<ResumePluginExtensionsRequestBody>()
                .json::<Success>(S::OK)
                .errors(&[S::NOT_FOUND, S::CONFLICT]),
        ),
        (
            &SHOW_JOB_DETAIL,
            OpDoc::new()
                .query::<JobQuery>()
                .json::<ShowJobDetailResponse>(S::OK)
                .errors(&[S::NOT_FOUND]),
        ),
        (
            &LIST_TASKS,
            OpDoc::new()
                .query::<TasksQuery>()
                .json::<ListTasksResponse>(S::OK),
        ),
        (
            &DELETE_JOB,
            OpDoc::new()
                .empty(S::OK)
                .errors(&[S::NOT_FOUND, S::CONFLICT]),
        ),
        (
            &LIST_INSTANCES,
            OpDoc::new()
                .query::<InstancesQuery>()
                .json::<ListInstancesResponse>(S::OK),
        ),
    ]
    .into_iter()
    .map(|(op, doc)| {
        (
            op,
            doc.header(
                "X-Language",
                false,
                "`zh-cn` for error messages in Chinese; anything else, or none, English",
            ),
        )
    })
    .collect()
}
