//! DBSS wire types (docs/api-coverage.md → DBSS), as the official SDK names them.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// `POST .../audit/databases` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct AddDatabaseRequest {
    pub database: DatabaseInput,
}

/// The database to audit. `port` is a string on the wire.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct DatabaseInput {
    pub db_classification: String,
    pub name: String,
    #[serde(rename = "type")]
    pub db_type: String,
    pub version: String,
    pub charset: String,
    pub ip: String,
    pub port: String,
    pub os: String,
    pub instance_name: Option<String>,
}

/// `{"id"}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct IdResponse {
    pub id: String,
}

/// A listed database. `audit_reason` is plugboard's: why `audit_status` is `ERROR`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct DatabaseView {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub db_type: String,
    pub version: String,
    pub charset: String,
    pub ip: String,
    pub port: String,
    pub os: String,
    pub status: String,
    pub instance_name: String,
    pub audit_status: String,
    pub audit_reason: String,
    pub agent_url: Vec<String>,
    pub db_classification: String,
    pub rds_audit_switch_mismatch: bool,
    pub rds_id: String,
    pub rds_obj_info: String,
    pub dws_obj_info: String,
    pub clouddb_obj_info: String,
}

/// `{"database": {...}}`, one list item.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct DatabaseItem {
    pub database: DatabaseView,
}

/// `GET .../audit/databases`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct DatabaseList {
    pub databases: Vec<DatabaseItem>,
    pub total: i64,
}

/// List query: all strings on the wire.
#[derive(Debug, Deserialize, Default, IntoParams)]
#[serde(rename_all = "snake_case")]
pub struct ListQuery {
    pub status: Option<String>,
    pub offset: Option<String>,
    pub limit: Option<String>,
}

/// `POST .../databases/switch` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct SwitchRequest {
    pub id: String,
    pub status: String,
}

/// `{"status": "SUCCESS"}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct StatusResponse {
    pub status: String,
}

/// `{"result": "SUCCESS"}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct ResultResponse {
    pub result: String,
}

/// One audit instance in the vendor listing (`AuditInstanceListBean`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct ServerView {
    pub id: String,
    pub name: String,
    pub status: String,
    pub database_limit: i64,
    pub config_num: i64,
    pub specification: String,
    pub resource_spec_code: String,
    pub resource_id: String,
    pub created: String,
    pub region: String,
    pub zone: String,
    pub version: String,
    pub new_version: String,
    pub keep_days: String,
    pub remain_days: String,
    pub effect: i64,
    pub expired: String,
    pub task: String,
    pub charge_model: String,
    pub comment: String,
    pub scene: String,
    pub cpu: i64,
    pub ram: i64,
    pub connect_ip: String,
    pub connect_ipv6: String,
    pub port_id: String,
    pub vpc_id: String,
    pub subnet_id: String,
    pub security_group_id: String,
}

/// `GET /v1/{project_id}/dbss/audit/instances`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct ServerList {
    pub servers: Vec<ServerView>,
    pub total: i64,
}
