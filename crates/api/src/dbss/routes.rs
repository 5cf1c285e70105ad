//! The DBSS operations.

use super::handlers;
use crate::common::openapi::OpDoc;
use crate::common::ops::{op, Access, Operation};
use crate::routing::{op_route, OpRoute};
use axum::http::StatusCode;

op!(
    Dbss,
    ADD_DATABASE,
    "AddAuditDatabase",
    POST,
    "/v1/{project_id}/{instance_id}/audit/databases",
    Access::Action("dbss:database:add"),
    "Add a self-built database to audit (v1)"
);
op!(
    Dbss,
    ADD_DATABASE_NEW,
    "AddAuditDatabaseNew",
    POST,
    "/v2/{project_id}/audit/{instance_id}/databases",
    Access::Action("dbss:database:add"),
    "Add a self-built database to audit"
);
op!(
    Dbss,
    LIST_DATABASES,
    "ListAuditDatabases",
    GET,
    "/v1/{project_id}/{instance_id}/dbss/audit/databases",
    Access::Action("dbss:database:list"),
    "List audited databases (v1)"
);
op!(
    Dbss,
    LIST_DATABASES_NEW,
    "ListAuditDatabasesNew",
    GET,
    "/v2/{project_id}/audit/{instance_id}/databases",
    Access::Action("dbss:database:list"),
    "List audited databases"
);
op!(
    Dbss,
    DELETE_DATABASE,
    "DeleteAuditDatabase",
    DELETE,
    "/v2/{project_id}/{instance_id}/audit/databases/{db_id}",
    Access::Action("dbss:database:delete"),
    "Delete an audited database"
);
op!(
    Dbss,
    DELETE_DATABASE_NEW,
    "DeleteAuditDatabaseNew",
    DELETE,
    "/v3/{project_id}/audit/{instance_id}/databases/{id}",
    Access::Action("dbss:database:delete"),
    "Delete an audited database"
);
op!(
    Dbss,
    SWITCH_DATABASE,
    "SwitchAuditDatabase",
    POST,
    "/v2/{project_id}/{instance_id}/audit/databases/switch",
    Access::Action("dbss:database:switch"),
    "Switch audit ON or OFF"
);
op!(
    Dbss,
    SWITCH_DATABASE_NEW,
    "SwitchAuditDatabaseNew",
    POST,
    "/v3/{project_id}/audit/{instance_id}/databases/switch",
    Access::Action("dbss:database:switch"),
    "Switch audit ON or OFF"
);
op!(
    Dbss,
    LIST_INSTANCES,
    "ListAuditInstances",
    GET,
    "/v1/{project_id}/dbss/audit/instances",
    Access::Action("dbss:instance:list"),
    "List audit instances"
);

/// Every DBSS route.
pub fn routes() -> Vec<OpRoute> {
    vec![
        op_route(&ADD_DATABASE, handlers::add_audit_database),
        op_route(&ADD_DATABASE_NEW, handlers::add_audit_database),
        op_route(&LIST_DATABASES, handlers::list_audit_databases),
        op_route(&LIST_DATABASES_NEW, handlers::list_audit_databases),
        op_route(&DELETE_DATABASE, handlers::delete_audit_database),
        op_route(&DELETE_DATABASE_NEW, handlers::delete_audit_database_new),
        op_route(&SWITCH_DATABASE, handlers::switch_audit_database),
        op_route(&SWITCH_DATABASE_NEW, handlers::switch_audit_database),
        op_route(&LIST_INSTANCES, handlers::list_audit_instances),
    ]
    .into_iter()
    .chain(super::routes_audit::routes())
    .collect()
}

/// What `/openapi.json` says of each DBSS operation (`common::openapi`).
pub fn docs() -> Vec<(&'static Operation, OpDoc)> {
    use super::dto::*;
    use StatusCode as S;
    let add = || {
        OpDoc::new()
            .body::<AddDatabaseRequest>()
            .json::<IdResponse>(S::OK)
            .errors(&[S::NOT_FOUND])
    };
    let list = || {
        OpDoc::new()
            .query::<ListQuery>()
            .json::<DatabaseList>(S::OK)
            .errors(&[S::NOT_FOUND])
    };
    let switch = || {
        OpDoc::new()
            .body::<SwitchRequest>()
            .json::<StatusResponse>(S::OK)
            .errors(&[S::NOT_FOUND])
    };
    let mut docs = vec![
        (&ADD_DATABASE, add()),
        (&ADD_DATABASE_NEW, add()),
        (&LIST_DATABASES, list()),
        (&LIST_DATABASES_NEW, list()),
        (
            &DELETE_DATABASE,
            OpDoc::new()
                .json::<ResultResponse>(S::OK)
                .errors(&[S::NOT_FOUND]),
        ),
        (
            &DELETE_DATABASE_NEW,
            OpDoc::new()
                .json::<StatusResponse>(S::OK)
                .errors(&[S::NOT_FOUND]),
        ),
        (&SWITCH_DATABASE, switch()),
        (&SWITCH_DATABASE_NEW, switch()),
        (
            &LIST_INSTANCES,
            OpDoc::new()
                .query::<handlers::InstancesQuery>()
                .json::<ServerList>(S::OK),
        ),
    ];
    docs.extend(super::routes_audit::docs());
    docs
}
