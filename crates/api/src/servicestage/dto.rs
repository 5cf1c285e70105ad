//! ServiceStage wire types (docs/api-coverage.md → ServiceStage), named after the official
//! SDK's models (`huaweicloudsdkservicestage` v3 and v2) and, for add-ons (in no SDK), after the
//! vendor's pages. Request fields are optional here so a missing one gets the family's 400
//! naming it; fields the vendor added later (`type`, `config_mode`, ...) are accepted and
//! ignored.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// An environment label (EnvironmentCreateLabels / EnvironmentViewLabels).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct EnvironmentLabel {
    pub key: String,
    pub value: String,
}

/// A resource bound to an environment (Resource).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct Resource {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// `vpc eip elb cce ecs as cse dcs rds`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// `POST /v3/{project_id}/cas/environments` (EnvironmentCreate).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct EnvironmentCreate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub enterprise_project_id: Option<String>,
    pub vpc_id: Option<String>,
    /// `virtualmachine`, `container` or `mixed` (default).
    pub deploy_mode: Option<String>,
    pub labels: Option<Vec<EnvironmentLabel>>,
}

/// `PUT .../environments/{environment_id}` (EnvironmentModify).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct EnvironmentModify {
    pub name: Option<String>,
    /// `""` clears it.
    pub description: Option<String>,
    /// `[]` clears them.
    pub labels: Option<Vec<EnvironmentLabel>>,
}

/// `PUT .../environments/{environment_id}/resources` (EnvironmentResourceModify): the whole
/// list.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct EnvironmentResourceModify {
    pub resources: Option<Vec<Resource>>,
}

/// An environment (ShowEnvironmentInfoResponse, CreateEnvironmentResponse, EnvironmentListView).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct EnvironmentView {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    pub enterprise_project_id: String,
    pub vpc_id: String,
    /// The user name of who created it.
    pub creator: String,
    /// Epoch milliseconds.
    pub create_time: i64,
    pub update_time: i64,
    pub deploy_mode: String,
    /// On show and modify only (not on create or in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<Resource>>,
    pub labels: Vec<EnvironmentLabel>,
}

/// `GET /v3/{project_id}/cas/environments` (ShowEnvironmentsResponse).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct ShowEnvironmentsResponse {
    /// How many match, over all pages.
    pub count: i64,
    pub environments: Vec<EnvironmentView>,
}

/// `GET /v3/{project_id}/cas/environments` query (ShowEnvironmentsRequest).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "snake_case")]
#[into_params(parameter_in = Query)]
pub struct ShowEnvironmentsQuery {
    /// 0–100; absent: up to 1000, no paging.
    pub limit: Option<String>,
    pub offset: Option<String>,
    /// `create_time` (default), `name` or `update_time`.
    pub order_by: Option<String>,
    /// `desc` (default) or `asc`.
    pub order: Option<String>,
    pub name: Option<String>,
    pub environment_id: Option<String>,
    pub enterprise_project_id: Option<String>,
}

/// `GET .../resources` and `PUT .../resources` (ShowEnvironmentResourcesResponse).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct EnvironmentResources {
    pub resources: Vec<Resource>,
}

/// An environment in the v2 list (v2 Environment).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct EnvironmentV2 {
    pub id: String,
    pub name: String,
    pub alias: String,
    pub description: String,
    pub project_id: String,
    pub enterprise_project_id: String,
    pub charge_mode: String,
    pub deploy_mode: String,
    pub vpc_id: String,
    pub base_resources: Vec<Resource>,
    pub optional_resources: Vec<Resource>,
    pub creator: String,
    pub create_time: i64,
    pub update_time: i64,
}

/// `GET /v2/{project_id}/cas/environments` (v2 ListEnvironmentsResponse).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct ListEnvironmentsV2Response {
    pub count: i64,
    pub environments: Vec<EnvironmentV2>,
}

/// `GET /v2/{project_id}/cas/environments` query (v2 ListEnvironmentsRequest).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "snake_case")]
#[into_params(parameter_in = Query)]
pub struct ListEnvironmentsV2Query {
    pub limit: Option<String>,
    pub offset: Option<String>,
    pub order_by: Option<String>,
    pub order: Option<String>,
}

// -- add-ons ---------------------------------------------------------------------------------

/// One add-on of the catalog.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct AddonMetadata {
    pub name: String,
    pub latest_version: String,
}

/// `GET .../addons-metadata`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct ListAddonsMetadataResponse {
    pub addons: Vec<AddonMetadata>,
}

/// `POST .../addons`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct InstallAddonRequestBody {
    /// An add-on of the catalog.
    pub name: Option<String>,
    /// A `cce` resource bound to the environment.
    pub cce_id: Option<String>,
    /// A `cse` resource bound to the environment (required for `sermantInjector`).
    pub cse_id: Option<String>,
}

/// `POST .../addons` answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct InstallAddonResponse {
    pub job_id: String,
    /// The add-on's id.
    pub id: String,
}

/// An add-on (show answers it flat; list in `addons`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct AddonView {
    pub id: String,
    pub name: String,
    pub version: String,
    pub cce_id: String,
    pub cse_id: String,
    /// The add-on's last job.
    pub job_id: String,
    pub environment_id: String,
    /// `INITIALIZING`, `UPGRADING`, `FAILED`, `SUCCEEDED` or `DELETING`.
    pub status: String,
}

/// `GET .../addons`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct ListAddonsResponse {
    pub addons: Vec<AddonView>,
}

/// `POST .../addons/{addon_id}/action`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct AddonActionRequestBody {
    /// `restart` or `redeploy`.
    pub action: Option<String>,
}

/// The answer of an add-on action or uninstall.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct AddonJobResponse {
    pub job_id: String,
}

// -- jobs ------------------------------------------------------------------------------------

/// `GET /v3|v2/{project_id}/cas/jobs/{job_id}` query (ShowJobInfoRequest): all strings.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "snake_case")]
#[into_params(parameter_in = Query)]
pub struct ShowJobInfoQuery {
    /// The add-on's id (a job of another add-on is not found).
    pub instance_id: Option<String>,
    pub limit: Option<String>,
    pub offset: Option<String>,
    /// `true` (tasks last first) or `false`.
    pub desc: Option<String>,
}

/// The v3 job (JobInfo): lower-case keys, as the SDK and Terraform read them.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct JobInfo {
    /// `SUBMITTED`, `RUNNING`, `SUCCEEDED` or `FAILED`.
    pub execution_status: String,
    pub job_id: String,
    /// `PROVISION`, `DEPROVISION` or `DAILY_OPERATION`.
    pub job_type: String,
    pub rollback_enabled: bool,
    pub project_id: String,
    pub order_id: String,
    /// The add-on's id.
    pub service_instance_id: String,
}

/// A v3 task (TaskInfo): one per job step.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct TaskInfo {
    pub task_id: String,
    pub task_name: String,
    /// `SUBMITTED`, `RUNNING`, `SUCCEEDED`, `FAILED` or `SKIPPED`.
    pub task_status: String,
    pub task_type: String,
    pub task_index: i64,
    pub messages: String,
    pub created_at: String,
    pub update_at: String,
}

/// `GET /v3/{project_id}/cas/jobs/{job_id}` (ShowJobInfoResponse).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct ShowJobInfoResponse {
    /// All tasks, whatever the page.
    pub task_count: i64,
    pub job: JobInfo,
    pub tasks: Vec<TaskInfo>,
}

/// The v2 job (v2 JobInfo): upper-case keys.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub struct JobInfoV2 {
    pub created_by: String,
    pub execution_status: String,
    pub job_desc: String,
    pub job_id: String,
    pub job_name: String,
    pub job_type: String,
    pub order_id: String,
    pub project_id: String,
    pub service_instance_id: String,
}

/// A v2 task (v2 TaskInfo): upper-case keys.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub struct TaskInfoV2 {
    pub created_at: String,
    pub last_health_check: String,
    pub messages: String,
    pub owner_id: String,
    pub task_id: String,
    pub task_index: i64,
    pub task_name: String,
    pub task_status: String,
    pub task_type: String,
}

/// `GET /v2/{project_id}/cas/jobs/{job_id}` (ShowJobDetailResponse): outer keys lower case.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct ShowJobDetailV2Response {
    pub task_count: i64,
    pub job: JobInfoV2,
    pub tasks: Vec<TaskInfoV2>,
}
