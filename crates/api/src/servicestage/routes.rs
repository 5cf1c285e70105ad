//! The ServiceStage operations (docs/api-coverage.md → ServiceStage), with the IAM action each
//! requires: environments (SDK v3, and the v2 list), add-ons (the vendor's pages; in no SDK)
//! and add-on jobs (v3 and v2).

use super::handlers;
use crate::common::openapi::OpDoc;
use crate::common::ops::{op, Access, Operation};
use crate::routing::{op_route, OpRoute};
use axum::http::StatusCode;

op!(
    ServiceStage,
    CREATE_ENVIRONMENT,
    "CreateEnvironment",
    POST,
    "/v3/{project_id}/cas/environments",
    Access::Action("servicestage:environment:create"),
    "Create an environment"
);
op!(
    ServiceStage,
    SHOW_ENVIRONMENTS,
    "ShowEnvironments",
    GET,
    "/v3/{project_id}/cas/environments",
    Access::Action("servicestage:environment:list"),
    "List environments (paged, ordered, filtered)"
);
op!(
    ServiceStage,
    SHOW_ENVIRONMENT_INFO,
    "ShowEnvironmentInfo",
    GET,
    "/v3/{project_id}/cas/environments/{environment_id}",
    Access::Action("servicestage:environment:get"),
    "Show an environment with its resources"
);
op!(
    ServiceStage,
    MODIFY_ENVIRONMENT,
    "ModifyEnvironment",
    PUT,
    "/v3/{project_id}/cas/environments/{environment_id}",
    Access::Action("servicestage:environment:modify"),
    "Change an environment's name, description or labels"
);
op!(
    ServiceStage,
    DELETE_ENVIRONMENT,
    "DeleteEnvironment",
    DELETE,
    "/v3/{project_id}/cas/environments/{environment_id}",
    Access::Action("servicestage:environment:delete"),
    "Delete an environment that has no add-ons"
);
op!(
    ServiceStage,
    SHOW_ENVIRONMENT_RESOURCES,
    "ShowEnvironmentResources",
    GET,
    "/v3/{project_id}/cas/environments/{environment_id}/resources",
    Access::Action("servicestage:environment:get"),
    "List the resources bound to an environment"
);
op!(
    ServiceStage,
    MODIFY_RESOURCE_IN_ENVIRONMENT,
    "ModifyResourceInEnvironment",
    PUT,
    "/v3/{project_id}/cas/environments/{environment_id}/resources",
    Access::Action("servicestage:environment:modify"),
    "Replace the resources bound to an environment"
);
op!(
    ServiceStage,
    LIST_ENVIRONMENTS,
    "ListEnvironments",
    GET,
    "/v2/{project_id}/cas/environments",
    Access::Action("servicestage:environment:list"),
    "List environments in the v2 shape"
);
op!(
    ServiceStage,
    LIST_ADDONS_METADATA,
    "ListAddonsMetadata",
    GET,
    "/v3/{project_id}/cas/environments/{environment_id}/addons-metadata",
    Access::Action("servicestage:environment:listAddon"),
    "The add-on catalog (what the drivers provide)"
);
op!(
    ServiceStage,
    CREATE_ADDON,
    "CreateAddon",
    POST,
    "/v3/{project_id}/cas/environments/{environment_id}/addons",
    Access::Action("servicestage:environment:createAddon"),
    "Install an add-on (a job run by its driver)"
);
op!(
    ServiceStage,
    LIST_ADDONS,
    "ListAddons",
    GET,
    "/v3/{project_id}/cas/environments/{environment_id}/addons",
    Access::Action("servicestage:environment:listAddon"),
    "List an environment's add-ons"
);
op!(
    ServiceStage,
    SHOW_ADDON,
    "ShowAddon",
    GET,
    "/v3/{project_id}/cas/environments/{environment_id}/addons/{addon_id}",
    Access::Action("servicestage:environment:getAddon"),
    "Show an add-on"
);
op!(
    ServiceStage,
    DELETE_ADDON,
    "DeleteAddon",
    DELETE,
    "/v3/{project_id}/cas/environments/{environment_id}/addons/{addon_id}",
    Access::Action("servicestage:environment:deleteAddon"),
    "Uninstall an add-on (a job; the add-on is gone when it succeeds)"
);
op!(
    ServiceStage,
    DELIVER_ADDON_JOB,
    "DeliverAddonJob",
    POST,
    "/v3/{project_id}/cas/environments/{environment_id}/addons/{addon_id}/action",
    Access::Action("servicestage:environment:modifyAddon"),
    "Restart or redeploy an add-on (a job run by its driver)"
);
op!(
    ServiceStage,
    SHOW_JOB_INFO,
    "ShowJobInfo",
    GET,
    "/v3/{project_id}/cas/jobs/{job_id}",
    Access::Action("servicestage:app:listApplication"),
    "Show an add-on job with its tasks (one per step)"
);
op!(
    ServiceStage,
    SHOW_JOB_DETAIL_V2,
    "ShowJobDetailV2",
    GET,
    "/v2/{project_id}/cas/jobs/{job_id}",
    Access::Action("servicestage:app:listApplication"),
    "Show an add-on job in the v2 shape (upper-case keys)"
);

/// Every ServiceStage route.
pub fn routes() -> Vec<OpRoute> {
    vec![
        op_route(&CREATE_ENVIRONMENT, handlers::create_environment),
        op_route(&SHOW_ENVIRONMENTS, handlers::show_environments),
        op_route(&SHOW_ENVIRONMENT_INFO, handlers::show_environment_info),
        op_route(&MODIFY_ENVIRONMENT, handlers::modify_environment),
        op_route(&DELETE_ENVIRONMENT, handlers::delete_environment),
        op_route(
            &SHOW_ENVIRONMENT_RESOURCES,
            handlers::show_environment_resources,
        ),
        op_route(
            &MODIFY_RESOURCE_IN_ENVIRONMENT,
            handlers::modify_resource_in_environment,
        ),
        op_route(&LIST_ENVIRONMENTS, handlers::list_environments),
        op_route(&LIST_ADDONS_METADATA, handlers::list_addons_metadata),
        op_route(&CREATE_ADDON, handlers::create_addon),
        op_route(&LIST_ADDONS, handlers::list_addons),
        op_route(&SHOW_ADDON, handlers::show_addon),
        op_route(&DELETE_ADDON, handlers::delete_addon),
        op_route(&DELIVER_ADDON_JOB, handlers::deliver_addon_job),
        op_route(&SHOW_JOB_INFO, handlers::show_job_info),
        op_route(&SHOW_JOB_DETAIL_V2, handlers::show_job_detail_v2),
    ]
}

/// What `/openapi.json` says of each ServiceStage operation (`common::openapi`).
pub fn docs() -> Vec<(&'static Operation, OpDoc)> {
    use super::dto::*;
    use StatusCode as S;
    let nf = &[S::NOT_FOUND][..];
    vec![
        (
            &CREATE_ENVIRONMENT,
            OpDoc::new()
                .body::<EnvironmentCreate>()
                .json::<EnvironmentView>(S::OK),
        ),
        (
            &SHOW_ENVIRONMENTS,
            OpDoc::new()
                .query::<ShowEnvironmentsQuery>()
                .json::<ShowEnvironmentsResponse>(S::OK),
        ),
        (
            &SHOW_ENVIRONMENT_INFO,
            OpDoc::new().json::<EnvironmentView>(S::OK).errors(nf),
        ),
        (
            &MODIFY_ENVIRONMENT,
            OpDoc::new()
                .body::<EnvironmentModify>()
                .json::<EnvironmentView>(S::OK)
                .errors(nf),
        ),
        (
            &DELETE_ENVIRONMENT,
            OpDoc::new().empty(S::NO_CONTENT).errors(nf),
        ),
        (
            &SHOW_ENVIRONMENT_RESOURCES,
            OpDoc::new().json::<EnvironmentResources>(S::OK).errors(nf),
        ),
        (
            &MODIFY_RESOURCE_IN_ENVIRONMENT,
            OpDoc::new()
                .body::<EnvironmentResourceModify>()
                .json::<EnvironmentResources>(S::OK)
                .errors(nf),
        ),
        (
            &LIST_ENVIRONMENTS,
            OpDoc::new()
                .query::<ListEnvironmentsV2Query>()
                .json::<ListEnvironmentsV2Response>(S::OK),
        ),
        (
            &LIST_ADDONS_METADATA,
            OpDoc::new()
                .json::<ListAddonsMetadataResponse>(S::OK)
                .errors(nf),
        ),
        (
            &CREATE_ADDON,
            OpDoc::new()
                .body::<InstallAddonRequestBody>()
                .json::<InstallAddonResponse>(S::OK)
                .errors(nf),
        ),
        (
            &LIST_ADDONS,
            OpDoc::new().json::<ListAddonsResponse>(S::OK).errors(nf),
        ),
        (
            &SHOW_ADDON,
            OpDoc::new().json::<AddonView>(S::OK).errors(nf),
        ),
        (
            &DELETE_ADDON,
            OpDoc::new().json::<AddonJobResponse>(S::OK).errors(nf),
        ),
        (
            &DELIVER_ADDON_JOB,
            OpDoc::new()
                .body::<AddonActionRequestBody>()
                .json::<AddonJobResponse>(S::OK)
                .errors(nf),
        ),
        (
            &SHOW_JOB_INFO,
            OpDoc::new()
                .query::<ShowJobInfoQuery>()
                .json::<ShowJobInfoResponse>(S::OK)
                .errors(nf),
        ),
        (
            &SHOW_JOB_DETAIL_V2,
            OpDoc::new()
                .query::<ShowJobInfoQuery>()
                .json::<ShowJobDetailV2Response>(S::OK)
                .errors(nf),
        ),
    ]
}
