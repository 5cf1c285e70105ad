//! DBSS handlers. Every field is validated before anything is stored, and the message names
//! the field; instances and databases of other projects answer like missing ones.

use super::dto::*;
use super::error::DbssError;
use crate::common::auth::Caller;
use crate::common::error::reply;
use crate::common::extract::{JsonBody, PathParams, QueryParams};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use plugboard_core::time;
use plugboard_service::dbss::DatabaseFields;
use plugboard_store::dbss::AuditDatabase;
use serde::Deserialize;

type Result<T> = std::result::Result<T, DbssError>;

fn ok<T: serde::Serialize>(body: &T) -> Result<Response> {
    reply(StatusCode::OK, body)
}

fn project(caller: &Caller) -> &str {
    caller.project_id.as_deref().unwrap_or_default()
}

/// A paging number; the message names the field.
pub(crate) fn number(
    field: &str,
    value: Option<&str>,
    default: i64,
    min: i64,
    max: i64,
) -> std::result::Result<i64, String> {
    let Some(v) = value else {
        return Ok(default);
    };
    v.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| format!("{field} must be a number from {min} to {max} (got `{v}`)"))
}

/// Path of every instance-level operation (v1, v2 and v3 name the same parameters).
#[derive(Debug, Deserialize)]
pub struct InstancePath {
    pub project_id: String,
    pub instance_id: String,
}

/// Path of delete operations (v2 names the database `db_id`, v3 `id`).
#[derive(Debug, Deserialize)]
pub struct DatabasePath {
    pub project_id: String,
    pub instance_id: String,
    #[serde(alias = "db_id")]
    pub id: String,
}

/// `POST /v1/{project_id}/{instance_id}/audit/databases` (AddAuditDatabase) and
/// `POST /v2/{project_id}/audit/{instance_id}/databases` (AddAuditDatabaseNew).
pub async fn add_audit_database(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(req): JsonBody<AddDatabaseRequest>,
) -> Result<Response> {
    let d = req.database;
    let fields = DatabaseFields {
        db_classification: d.db_classification,
        name: d.name,
        db_type: d.db_type,
        version: d.version,
        charset: d.charset,
        ip: d.ip,
        port: d.port,
        os: d.os,
        instance_name: d.instance_name,
    };
    let id = state
        .services
        .dbss
        .add_database(project(&caller), &path.instance_id, fields)
        .await?;
    ok(&IdResponse { id })
}

fn view(d: AuditDatabase) -> DatabaseItem {
    DatabaseItem {
        database: DatabaseView {
            id: d.id,
            name: d.name,
            db_type: d.db_type,
            version: d.version,
            charset: d.charset,
            ip: d.ip,
            port: d.port,
            os: d.os,
            status: d.status,
            instance_name: d.instance_name,
            audit_status: d.audit_status,
            audit_reason: d.audit_reason,
            agent_url: vec![],
            db_classification: d.db_classification,
            rds_audit_switch_mismatch: false,
            rds_id: String::new(),
            rds_obj_info: String::new(),
            dws_obj_info: String::new(),
            clouddb_obj_info: String::new(),
        },
    }
}

/// `GET /v1/{project_id}/{instance_id}/dbss/audit/databases` (ListAuditDatabases) and
/// `GET /v2/{project_id}/audit/{instance_id}/databases` (ListAuditDatabasesNew).
pub async fn list_audit_databases(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<Response> {
    let status = q.status.as_deref().filter(|s| !s.is_empty());
    let window = number("offset", q.offset.as_deref(), 0, 0, i64::MAX / 2)
        .and_then(|offset| Ok((offset, number("limit", q.limit.as_deref(), 100, 1, 10_000)?)))
        .map_err(plugboard_service::dbss::Error::Invalid);
    let (rows, total) = state
        .services
        .dbss
        .list_databases(project(&caller), &path.instance_id, status, window)
        .await?;
    ok(&DatabaseList {
        databases: rows.into_iter().map(view).collect(),
        total,
    })
}

async fn delete(state: &AppState, caller: &Caller, path: &DatabasePath) -> Result<()> {
    Ok(state
        .services
        .dbss
        .delete_database(project(caller), &path.instance_id, &path.id)
        .await?)
}

/// `DELETE /v2/{project_id}/{instance_id}/audit/databases/{db_id}` (DeleteAuditDatabase).
pub async fn delete_audit_database(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<DatabasePath>,
) -> Result<Response> {
    delete(&state, &caller, &path).await?;
    ok(&ResultResponse {
        result: "SUCCESS".into(),
    })
}

/// `DELETE /v3/{project_id}/audit/{instance_id}/databases/{id}` (DeleteAuditDatabaseNew).
pub async fn delete_audit_database_new(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<DatabasePath>,
) -> Result<Response> {
    delete(&state, &caller, &path).await?;
    ok(&StatusResponse {
        status: "SUCCESS".into(),
    })
}

/// `POST /v2/{project_id}/{instance_id}/audit/databases/switch` (SwitchAuditDatabase) and
/// `POST /v3/{project_id}/audit/{instance_id}/databases/switch` (SwitchAuditDatabaseNew).
/// ON wakes the audit monitor, which probes the database at once and then periodically.
pub async fn switch_audit_database(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(req): JsonBody<SwitchRequest>,
) -> Result<Response> {
    state
        .services
        .dbss
        .switch(project(&caller), &path.instance_id, &req.id, &req.status)
        .await?;
    ok(&StatusResponse {
        status: "SUCCESS".into(),
    })
}

/// Listing query of audit instances.
#[derive(Debug, Deserialize, Default, utoipa::IntoParams)]
pub struct InstancesQuery {
    pub offset: Option<String>,
    pub limit: Option<String>,
}

/// Edition → the vendor's specification code.
fn specification(edition: &str) -> String {
    match edition {
        "entry" => "dbss.bypassaudit.entry",
        "basic" => "dbss.bypassaudit.low",
        "professional" => "dbss.bypassaudit.medium",
        "advanced" => "dbss.bypassaudit.high",
        _ => "dbss.bypassaudit.custom",
    }
    .to_string()
}

/// `GET /v1/{project_id}/dbss/audit/instances` (ListAuditInstances).
pub async fn list_audit_instances(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<InstancesQuery>,
) -> Result<Response> {
    let offset =
        number("offset", q.offset.as_deref(), 0, 0, i64::MAX / 2).map_err(DbssError::invalid)?;
    let limit = number("limit", q.limit.as_deref(), 100, 1, 10_000).map_err(DbssError::invalid)?;
    let (rows, total) = state
        .services
        .dbss
        .list_instances(project(&caller), offset, limit)
        .await?;
    let region = state.config.region.clone();
    let servers = rows
        .into_iter()
        .map(|i| ServerView {
            specification: specification(&i.edition),
            resource_spec_code: specification(&i.edition),
            resource_id: i.id.clone(),
            created: time::to_datetime(i.created_at)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string(),
            id: i.id,
            name: i.name,
            status: i.status,
            database_limit: i.database_limit,
            config_num: i.database_count,
            region: region.clone(),
            zone: region.clone(),
            version: env!("CARGO_PKG_VERSION").into(),
            new_version: String::new(),
            keep_days: "180".into(),
            remain_days: String::new(),
            effect: 1,
            expired: String::new(),
            task: "NO_TASK".into(),
            charge_model: "Period".into(),
            comment: String::new(),
            scene: String::new(),
            cpu: 0,
            ram: 0,
            connect_ip: String::new(),
            connect_ipv6: String::new(),
            port_id: String::new(),
            vpc_id: String::new(),
            subnet_id: String::new(),
            security_group_id: String::new(),
        })
        .collect();
    ok(&ServerList { servers, total })
}
