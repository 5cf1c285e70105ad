//! GaussDB wire types (docs/api-coverage.md → GaussDB), named after the official SDK's models. Bare arrays
//! and bare strings are answered as such by the handlers.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// `POST .../kernel-plugin` (InstallKernelPluginRequestBody).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct InstallKernelPluginRequestBody {
    pub plugin_name: String,
    pub url: String,
    pub sha_256: String,
}

/// InstallKernelPluginResponse.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct InstallKernelPluginResponse {
    pub job_id: String,
}

/// `PUT .../kernel-plugin-license` (SetKernelPluginLicenseRequestBody).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct SetKernelPluginLicenseRequestBody {
    pub license_str: String,
}

/// `POST .../config-plugin-extensions` (ResumePluginExtensionsRequestBody).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct ResumePluginExtensionsRequestBody {
    pub plugin_name: String,
    pub db_list: Vec<String>,
    pub extension_name: String,
    pub extension_action: String,
}

/// One item of `list_plugin_extensions` (PluginExtensions).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct PluginExtensions {
    pub extension_name: String,
    /// `on` or `off`.
    pub status: String,
}

/// `GET .../plugins` (ListPluginInfoListResponse).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct ListPluginInfoListResponse {
    pub total_count: i64,
    pub plugins: Vec<CustomerPluginInfoResult>,
}

/// One plug-in of the catalog and whether the instance has it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct CustomerPluginInfoResult {
    pub plugin_name: String,
    pub installed: bool,
    /// The instance's port, as a string.
    pub port: String,
    pub plugin_version: String,
}

/// `GET /v3/{project_id}/jobs?id=` (ShowJobDetailResponse).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct ShowJobDetailResponse {
    pub job: JobDetail,
}

/// A job as GaussDB shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct JobDetail {
    pub id: String,
    pub name: String,
    /// `Running`, `Completed` or `Failed`.
    pub status: String,
    pub created: String,
    /// Empty while running.
    pub ended: String,
    /// `"60%"`.
    pub progress: String,
    pub instance: JobInstanceInfo,
    pub fail_reason: String,
}

/// The instance a job works on.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct JobInstanceInfo {
    pub id: String,
    pub name: String,
}

/// `GET /v3/{project_id}/tasks` (ListTasksResponse).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct ListTasksResponse {
    pub tasks: Vec<TaskDetailResult>,
    pub total_count: i64,
}

/// One task (a job) in the task list.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct TaskDetailResult {
    pub instance_info: InstanceInfoResult,
    pub job_id: String,
    pub name: String,
    pub status: String,
    pub process: String,
    pub created_at: String,
    pub ended_at: String,
    pub fail_reason: String,
}

/// The instance of a task.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct InstanceInfoResult {
    pub instance_id: String,
    pub instance_name: String,
    pub instance_status: String,
}

/// `GET /v3/{project_id}/instances` (ListInstancesResponse).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct ListInstancesResponse {
    pub instances: Vec<ListInstanceResponse>,
    pub total_count: i64,
}

/// One instance: every key the vendor sends is present, filled with what plugboard knows.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct ListInstanceResponse {
    pub id: String,
    pub name: String,
    pub status: String,
    pub private_ips: Vec<String>,
    pub public_ips: Vec<String>,
    pub port: i64,
    #[serde(rename = "type")]
    pub instance_type: String,
    pub ha: serde_json::Value,
    pub replica_num: i64,
    pub region: String,
    pub datastore: ListDatastore,
    pub created: String,
    pub updated: String,
    pub db_user_name: String,
    pub vpc_id: String,
    pub subnet_id: String,
    pub security_group_id: String,
    pub flavor_ref: String,
    pub flavor_info: serde_json::Value,
    pub volume: serde_json::Value,
    pub switch_strategy: String,
    pub backup_strategy: serde_json::Value,
    pub maintenance_window: String,
    pub nodes: Vec<serde_json::Value>,
    pub enterprise_project_id: String,
    pub instance_mode: String,
    pub disk_encryption_id: String,
    pub charge_info: serde_json::Value,
    pub time_zone: String,
    pub tags: Vec<serde_json::Value>,
    pub backup_used_space: String,
}

/// The engine of an instance.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct ListDatastore {
    #[serde(rename = "type")]
    pub datastore_type: String,
    pub version: String,
}

/// `?id=` of show_job_detail.
#[derive(Debug, Deserialize, Default, IntoParams)]
pub struct JobQuery {
    pub id: Option<String>,
}

/// Query of list_tasks.
#[derive(Debug, Deserialize, Default, IntoParams)]
pub struct TasksQuery {
    pub status: Option<String>,
    pub name: Option<String>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub offset: Option<String>,
    pub limit: Option<String>,
}

/// Query of list_plugin_info_list.
#[derive(Debug, Deserialize, Default, IntoParams)]
pub struct PluginInfoQuery {
    pub offset: Option<String>,
    pub limit: Option<String>,
    pub plugin_name: Option<String>,
}

/// Query of list_plugin_extensions.
#[derive(Debug, Deserialize, Default, IntoParams)]
pub struct PluginExtensionsQuery {
    pub db_name: Option<String>,
    pub plugin_name: Option<String>,
}

/// Query of list_instances.
#[derive(Debug, Deserialize, Default, IntoParams)]
pub struct InstancesQuery {
    pub id: Option<String>,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub instance_type: Option<String>,
    pub datastore_type: Option<String>,
    pub offset: Option<String>,
    pub limit: Option<String>,
}

/// The bare JSON string `"SUCCESS"` that set_kernel_plugin_license and
/// resume_plugin_extensions answer.
#[derive(Debug, Serialize, ToSchema)]
pub enum Success {
    #[serde(rename = "SUCCESS")]
    Success,
}
