//! The admin operations.

use super::handlers;
use crate::common::ops::{op, Access};
use crate::routing::{op_route, OpRoute};

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
    ]
}
