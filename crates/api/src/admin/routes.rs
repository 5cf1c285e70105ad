//! The admin operations.

use super::handlers;
use crate::common::openapi::OpDoc;
use crate::common::ops::{op, Access, Operation};
use crate::routing::{op_route, OpRoute};
use axum::http::StatusCode;

op!(
    Admin,
    CREATE_AUDIT_INSTANCE,
    "CreateAuditInstance",
    POST,
    "/plugboard/v1/projects/{project_id}/dbss/instances",
    Access::Action("plugboard:dbssInstance:create"),
    "Create a DBSS audit instance"
);
op!(
    Admin,
    LIST_AUDIT_INSTANCES,
    "ListAuditInstancesAdmin",
    GET,
    "/plugboard/v1/projects/{project_id}/dbss/instances",
    Access::Action("plugboard:dbssInstance:list"),
    "List DBSS audit instances"
);
op!(
    Admin,
    SHOW_AUDIT_INSTANCE,
    "ShowAuditInstance",
    GET,
    "/plugboard/v1/projects/{project_id}/dbss/instances/{instance_id}",
    Access::Action("plugboard:dbssInstance:get"),
    "Show a DBSS audit instance"
);
op!(
    Admin,
    DELETE_AUDIT_INSTANCE,
    "DeleteAuditInstance",
    DELETE,
    "/plugboard/v1/projects/{project_id}/dbss/instances/{instance_id}",
    Access::Action("plugboard:dbssInstance:delete"),
    "Delete a DBSS audit instance and its databases"
);

op!(
    Admin,
    REGISTER_GAUSSDB_INSTANCE,
    "RegisterGaussDbInstance",
    POST,
    "/plugboard/v1/projects/{project_id}/gaussdb/instances",
    Access::Action("plugboard:gaussdbInstance:create"),
    "Register a PostgreSQL-compatible server as a GaussDB instance (connection test first)"
);
op!(
    Admin,
    LIST_GAUSSDB_INSTANCES_ADMIN,
    "ListGaussDbInstancesAdmin",
    GET,
    "/plugboard/v1/projects/{project_id}/gaussdb/instances",
    Access::Action("plugboard:gaussdbInstance:list"),
    "List registered GaussDB instances"
);
op!(
    Admin,
    SHOW_GAUSSDB_INSTANCE,
    "ShowGaussDbInstance",
    GET,
    "/plugboard/v1/projects/{project_id}/gaussdb/instances/{instance_id}",
    Access::Action("plugboard:gaussdbInstance:get"),
    "Show a registered GaussDB instance"
);
op!(
    Admin,
    DELETE_GAUSSDB_INSTANCE,
    "DeleteGaussDbInstance",
    DELETE,
    "/plugboard/v1/projects/{project_id}/gaussdb/instances/{instance_id}",
    Access::Action("plugboard:gaussdbInstance:delete"),
    "Forget a GaussDB instance (refused while a job runs on it)"
);

op!(
    Admin,
    LIST_LOCKOUTS,
    "ListLockouts",
    GET,
    "/plugboard/v1/lockouts",
    Access::Action("plugboard:lockout:list"),
    "List the users and access keys of the domain with failed attempts or a lock"
);
op!(
    Admin,
    UNLOCK_USER,
    "UnlockUser",
    DELETE,
    "/plugboard/v1/lockouts/users/{user_id}",
    Access::Action("plugboard:lockout:delete"),
    "Lift a user's login lock and forget its failed attempts"
);
op!(
    Admin,
    UNLOCK_ACCESS_KEY,
    "UnlockAccessKey",
    DELETE,
    "/plugboard/v1/lockouts/access-keys/{access_key}",
    Access::Action("plugboard:lockout:delete"),
    "Lift an access key's lock and forget its failed attempts"
);

op!(
    Admin,
    LIST_DRIVERS,
    "ListDrivers",
    GET,
    "/plugboard/v1/drivers",
    Access::Action("plugboard:driver:list"),
    "List the driver registry (built-in and external drivers) and the manifests it could not load"
);
op!(
    Admin,
    REFRESH_DRIVERS,
    "RefreshDrivers",
    POST,
    "/plugboard/v1/drivers/refresh",
    Access::Action("plugboard:driver:refresh"),
    "Rescan the plug-in folder; every process of a scale-out sees the result within a second"
);

op!(
    Admin,
    DELETE_DRIVER,
    "DeleteDriver",
    DELETE,
    "/plugboard/v1/drivers/{uuid}",
    Access::Action("plugboard:driver:delete"),
    "Delete a driver (async, like ZStack's DeletePluginDrivers; ?mode=permissive|enforcing)"
);

op!(
    Admin,
    LIST_JOBS,
    "ListJobs",
    GET,
    "/plugboard/v1/jobs",
    Access::Action("plugboard:job:list"),
    "List the jobs of every family (the caller's domain and ZStack's api-jobs), newest first"
);

/// Every admin route.
pub fn routes() -> Vec<OpRoute> {
    vec![
        op_route(&CREATE_AUDIT_INSTANCE, handlers::create_audit_instance),
        op_route(&LIST_AUDIT_INSTANCES, handlers::list_audit_instances),
        op_route(&SHOW_AUDIT_INSTANCE, handlers::show_audit_instance),
        op_route(&DELETE_AUDIT_INSTANCE, handlers::delete_audit_instance),
        op_route(
            &REGISTER_GAUSSDB_INSTANCE,
            handlers::register_gaussdb_instance,
        ),
        op_route(
            &LIST_GAUSSDB_INSTANCES_ADMIN,
            handlers::list_gaussdb_instances_admin,
        ),
        op_route(&SHOW_GAUSSDB_INSTANCE, handlers::show_gaussdb_instance),
        op_route(&DELETE_GAUSSDB_INSTANCE, handlers::delete_gaussdb_instance),
        op_route(&LIST_LOCKOUTS, handlers::list_lockouts),
        op_route(&UNLOCK_USER, handlers::unlock_user),
        op_route(&UNLOCK_ACCESS_KEY, handlers::unlock_access_key),
        op_route(&LIST_DRIVERS, handlers::list_drivers),
        op_route(&REFRESH_DRIVERS, handlers::refresh_drivers),
        op_route(&DELETE_DRIVER, handlers::delete_driver),
        op_route(&LIST_JOBS, super::jobs::list_jobs),
    ]
}

/// What `/openapi.json` says of each admin operation (`common::openapi`).
pub fn docs() -> Vec<(&'static Operation, OpDoc)> {
    use super::dto::*;
    use StatusCode as S;
    vec![
        (
            &CREATE_AUDIT_INSTANCE,
            OpDoc::new()
                .body::<CreateAuditInstanceRequest>()
                .json::<AuditInstanceView>(S::CREATED),
        ),
        (
            &LIST_AUDIT_INSTANCES,
            OpDoc::new()
                .query::<PageQuery>()
                .json::<AuditInstanceList>(S::OK),
        ),
        (
            &SHOW_AUDIT_INSTANCE,
            OpDoc::new()
                .json::<AuditInstanceView>(S::OK)
                .errors(&[S::NOT_FOUND]),
        ),
        (
            &DELETE_AUDIT_INSTANCE,
            OpDoc::new().empty(S::NO_CONTENT).errors(&[S::NOT_FOUND]),
        ),
        (
            &REGISTER_GAUSSDB_INSTANCE,
            OpDoc::new()
                .body::<RegisterGaussDbInstanceRequest>()
                .json::<GaussDbInstanceView>(S::CREATED)
                .errors(&[S::CONFLICT]),
        ),
        (
            &LIST_GAUSSDB_INSTANCES_ADMIN,
            OpDoc::new()
                .query::<PageQuery>()
                .json::<GaussDbInstanceList>(S::OK),
        ),
        (
            &SHOW_GAUSSDB_INSTANCE,
            OpDoc::new()
                .json::<GaussDbInstanceView>(S::OK)
                .errors(&[S::NOT_FOUND]),
        ),
        (
            &DELETE_GAUSSDB_INSTANCE,
            OpDoc::new()
                .empty(S::NO_CONTENT)
                .errors(&[S::NOT_FOUND, S::CONFLICT]),
        ),
        (&LIST_LOCKOUTS, OpDoc::new().json::<LockoutList>(S::OK)),
        (
            &UNLOCK_USER,
            OpDoc::new().empty(S::NO_CONTENT).errors(&[S::NOT_FOUND]),
        ),
        (
            &UNLOCK_ACCESS_KEY,
            OpDoc::new().empty(S::NO_CONTENT).errors(&[S::NOT_FOUND]),
        ),
        (&LIST_DRIVERS, OpDoc::new().json::<DriverList>(S::OK)),
        (&REFRESH_DRIVERS, OpDoc::new().json::<DriverList>(S::OK)),
        (
            &DELETE_DRIVER,
            OpDoc::new()
                .query::<DeleteDriverQuery>()
                .json::<DeleteDriverAccepted>(S::ACCEPTED)
                .errors(&[S::CONFLICT]),
        ),
        (
            &LIST_JOBS,
            OpDoc::new()
                .query::<super::jobs::ListJobsQuery>()
                .json::<super::jobs::JobList>(S::OK),
        ),
    ]
}
