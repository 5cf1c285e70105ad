//! The DBSS operations.

use super::handlers;
use crate::common::openapi::OpDoc;
use crate::common::ops::{Access, Family, Operation};
use crate::routing::{op_route, OpRoute};
use axum::http::{Method, StatusCode};

macro_rules! dbss_op {
    ($ident:ident, $name:literal, $method:ident, $path:literal, $action:literal, $summary:literal) => {
        pub static $ident: Operation = Operation {
            name: $name,
            method: Method::$method,
            path: $path,
            family: Family::Dbss,
            access: Access::Action($action),
            summary: $summary,
        };
    };
}

dbss_op!(
    ADD_DATABASE,
    "AddAuditDatabase",
    POST,
    "/v1/{project_id}/{instance_id}/audit/databases",
    "dbss:database:add",
    "Add a self-built database to audit (v1)"
);
dbss_op!(
    ADD_DATABASE_NEW,
    "AddAuditDatabaseNew",
    POST,
    "/v2/{project_id}/audit/{instance_id}/databases",
    "dbss:database:add",
    "Add a self-built database to audit"
);
dbss_op!(
    LIST_DATABASES,
    "ListAuditDatabases",
    GET,
    "/v1/{project_id}/{instance_id}/dbss/audit/databases",
    "dbss:database:list",
    "List audited databases (v1)"
);
dbss_op!(
    LIST_DATABASES_NEW,
    "ListAuditDatabasesNew",
    GET,
    "/v2/{project_id}/audit/{instance_id}/databases",
    "dbss:database:list",
    "List audited databases"
);
dbss_op!(
    DELETE_DATABASE,
    "DeleteAuditDatabase",
    DELETE,
    "/v2/{project_id}/{instance_id}/audit/databases/{db_id}",
    "dbss:database:delete",
    "Delete an audited database"
);
dbss_op!(
    DELETE_DATABASE_NEW,
    "DeleteAuditDatabaseNew",
    DELETE,
    "/v3/{project_id}/audit/{instance_id}/databases/{id}",
    "dbss:database:delete",
    "Delete an audited database"
);
dbss_op!(
    SWITCH_DATABASE,
    "SwitchAuditDatabase",
    POST,
    "/v2/{project_id}/{instance_id}/audit/databases/switch",
    "dbss:database:switch",
    "Switch audit ON or OFF"
);
dbss_op!(
    SWITCH_DATABASE_NEW,
    "SwitchAuditDatabaseNew",
    POST,
    "/v3/{project_id}/audit/{instance_id}/databases/switch",
    "dbss:database:switch",
    "Switch audit ON or OFF"
);
dbss_op!(
    LIST_INSTANCES,
    "ListAuditInstances",
    GET,
    "/v1/{project_id}/dbss/audit/instances",
    "dbss:instance:list",
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
    vec![
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
    ]
}
