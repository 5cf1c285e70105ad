//! Admin API wire types.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// `POST /plugboard/v1/projects/{project_id}/dbss/instances`: an edition or an explicit limit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct CreateAuditInstanceRequest {
    pub name: String,
    pub edition: Option<String>,
    pub database_limit: Option<i64>,
}

/// An audit instance.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct AuditInstanceView {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub edition: String,
    pub database_limit: i64,
    pub database_count: i64,
    pub status: String,
    pub created: String,
}

/// `GET .../dbss/instances`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct AuditInstanceList {
    pub instances: Vec<AuditInstanceView>,
    pub total: i64,
}

/// Paging of admin listings.
#[derive(Debug, Deserialize, Default, IntoParams)]
#[serde(rename_all = "snake_case")]
pub struct PageQuery {
    pub offset: Option<i64>,
    pub limit: Option<i64>,
}

/// `POST /plugboard/v1/projects/{project_id}/gaussdb/instances`: a PostgreSQL-compatible server
/// plugboard manages.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct RegisterGaussDbInstanceRequest {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    #[serde(default)]
    pub password: String,
    #[serde(default = "default_database")]
    pub database: String,
    pub install: InstallSpec,
}

fn default_database() -> String {
    "postgres".into()
}

/// How plug-in files reach the server.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct InstallSpec {
    /// `local` or `simulated`.
    pub mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_config: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharedir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkglibdir: Option<String>,
}

/// A managed instance (the password is never returned).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct GaussDbInstanceView {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub host: String,
    pub port: i64,
    pub user: String,
    pub database: String,
    pub install: InstallSpec,
    /// The server's version (`15.19`).
    pub version: String,
    pub status: String,
    pub created: String,
    pub updated: String,
}

/// `GET .../gaussdb/instances`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct GaussDbInstanceList {
    pub instances: Vec<GaussDbInstanceView>,
    pub total: i64,
}

/// One user or access key with failed attempts or a lock.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct LockoutView {
    /// `user` (password logins) or `access_key` (signed requests).
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub user_id: String,
    pub user_name: String,
    /// The access key (`type` `access_key` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key: Option<String>,
    /// Consecutive failures counted.
    pub failures: i64,
    pub locked: bool,
    /// When the lock ends (`null` when not locked).
    pub locked_until: Option<String>,
    pub last_failure: String,
}

/// `GET /plugboard/v1/lockouts`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct LockoutList {
    pub lockouts: Vec<LockoutView>,
}

/// `DELETE /plugboard/v1/lockouts/users/{user_id}`.
#[derive(Debug, Deserialize)]
pub struct UnlockUserPath {
    pub user_id: String,
}

/// `DELETE /plugboard/v1/lockouts/access-keys/{access_key}`.
#[derive(Debug, Deserialize)]
pub struct UnlockAccessKeyPath {
    pub access_key: String,
}

/// One add-on a driver provides.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct DriverAddonView {
    pub name: String,
    pub versions: Vec<String>,
    pub latest_version: String,
}

/// A driver of the registry.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct DriverView {
    /// The product key.
    pub uuid: String,
    pub name: String,
    /// `addon`, or the family a built-in driver serves (`kernel-plugin`, `audit-probe`).
    #[serde(rename = "type")]
    pub kind: String,
    pub vendor: String,
    pub version: String,
    pub description: String,
    pub license: String,
    /// `builtin` or `external`.
    pub source: String,
    /// An external driver's folder (empty for built-in drivers).
    pub folder: String,
    pub features: std::collections::BTreeMap<String, bool>,
    pub timeout_seconds: u64,
    /// Soft-deleted: takes no new work.
    pub deleted: bool,
    pub addons: Vec<DriverAddonView>,
    /// Task names per action.
    pub steps: std::collections::BTreeMap<String, Vec<String>>,
}

/// A manifest the registry could not load.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct DriverErrorView {
    pub path: String,
    pub reason: String,
}

/// `GET /plugboard/v1/drivers` and `POST /plugboard/v1/drivers/refresh`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct DriverList {
    pub drivers: Vec<DriverView>,
    pub errors: Vec<DriverErrorView>,
}

/// `DELETE /plugboard/v1/drivers/{uuid}` query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "snake_case")]
#[into_params(parameter_in = Query)]
pub struct DeleteDriverQuery {
    /// `permissive` (default: refused while something uses the driver, else a soft delete) or
    /// `enforcing` (the driver's row removed, its running steps stopped).
    pub mode: Option<String>,
}

/// `DELETE /plugboard/v1/drivers/{uuid}` answer: the delete's api-job.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct DeleteDriverAccepted {
    pub job_id: String,
    /// Poll it (no credentials needed): 202 while it runs, 200 done, 503 failed.
    pub location: String,
}
