//! GaussDB handlers: extract, one call of `plugboard_service::gaussdb`, the vendor's view.
//! Kernel plug-ins (install as a durable job, catalog, installed list, licenses, extensions
//! on/off in real databases), jobs and tasks, instances. Path ids are validated before any
//! lookup; another project's instance or job answers like a missing one.

use super::dto::*;
use super::error::GaussDbError;
use crate::common::auth::Caller;
use crate::common::error::reply;
use crate::common::extract::{JsonBody, PathParams, QueryParams};
use crate::common::page;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use plugboard_core::time::{self, Micros};
use plugboard_service::gaussdb::{ExtensionSwitch, InstallRequest};
use plugboard_store::gaussdb::InstanceFilter;
use plugboard_store::jobs::{self, Job, JobFilter};
use serde::Deserialize;
use serde_json::json;

type Result<T> = std::result::Result<T, GaussDbError>;

fn ok<T: serde::Serialize>(body: &T) -> Result<Response> {
    reply(StatusCode::OK, body)
}

/// Path of instance-level operations.
#[derive(Debug, Deserialize)]
pub struct InstancePath {
    pub project_id: String,
    pub instance_id: String,
}

/// Path of `DELETE /v3/{project_id}/jobs/{job_id}`.
#[derive(Debug, Deserialize)]
pub struct JobPath {
    pub project_id: String,
    pub job_id: String,
}

fn project(caller: &Caller) -> &str {
    caller.project_id.as_deref().unwrap_or_default()
}

fn parse_page(
    offset: Option<&str>,
    limit: Option<&str>,
    max: i64,
    default: i64,
) -> Result<(i64, i64)> {
    page::parse(offset, limit, max, default).map_err(|e| GaussDbError::invalid(format!("{e}.")))
}

// -- kernel plug-ins ------------------------------------------------------------------------------

/// `GET /v3/{project_id}/instances/kernel-plugins` (ListSupportKernelPlugins): a bare JSON
/// array of the plug-in names the catalog accepts.
pub async fn list_support_kernel_plugins(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Response> {
    ok(&state.services.gaussdb.supported_plugins())
}

/// `POST /v3/{project_id}/instances/{instance_id}/kernel-plugin` (InstallKernelPlugin): checks
/// everything that can be checked now, then commits the install job and answers its id.
pub async fn install_kernel_plugin(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(body): JsonBody<InstallKernelPluginRequestBody>,
) -> Result<Response> {
    let request = InstallRequest {
        plugin_name: body.plugin_name,
        url: body.url,
        sha_256: body.sha_256,
    };
    let job_id = state
        .services
        .gaussdb
        .install(project(&caller), &path.instance_id, &request)
        .await?;
    ok(&InstallKernelPluginResponse { job_id })
}

/// `GET /v3/{project_id}/instances/{instance_id}/kernel-plugins` (ListKernelPlugins): a bare
/// array of the installed plug-in names.
pub async fn list_kernel_plugins(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
) -> Result<Response> {
    let names = state
        .services
        .gaussdb
        .installed_plugin_names(project(&caller), &path.instance_id)
        .await?;
    ok(&names)
}

/// `GET /v3/{project_id}/instances/{instance_id}/plugins` (ListPluginInfoList): the catalog,
/// each plug-in with whether and in which version the instance has it.
pub async fn list_plugin_info_list(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    QueryParams(q): QueryParams<PluginInfoQuery>,
) -> Result<Response> {
    let wanted = q.plugin_name.as_deref().filter(|n| !n.is_empty());
    // reported after the instance's own errors, as before
    let window = page::parse(q.offset.as_deref(), q.limit.as_deref(), 100, 100)
        .map_err(|e| plugboard_service::gaussdb::Error::Invalid(format!("{e}.")));
    let page = state
        .services
        .gaussdb
        .plugin_info(project(&caller), &path.instance_id, wanted, window)
        .await?;
    let port = page.instance.port.to_string();
    ok(&ListPluginInfoListResponse {
        total_count: page.total,
        plugins: page
            .plugins
            .into_iter()
            .map(|p| CustomerPluginInfoResult {
                plugin_name: p.name,
                installed: p.installed,
                port: port.clone(),
                plugin_version: p.version,
            })
            .collect(),
    })
}

/// `PUT /v3/{project_id}/instances/{instance_id}/kernel-plugin-license`
/// (SetKernelPluginLicense): stores the license (sealed) for the instance; a bare `"SUCCESS"`.
pub async fn set_kernel_plugin_license(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(body): JsonBody<SetKernelPluginLicenseRequestBody>,
) -> Result<Response> {
    state
        .services
        .gaussdb
        .set_license(project(&caller), &path.instance_id, &body.license_str)
        .await?;
    ok(&Success::Success)
}

/// `GET /v3/{project_id}/instances/{instance_id}/plugin-extensions` (ListPluginExtensions): a
/// bare array of the plug-in's extensions and whether each is on in `db_name`.
pub async fn list_plugin_extensions(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    QueryParams(q): QueryParams<PluginExtensionsQuery>,
) -> Result<Response> {
    let extensions = state
        .services
        .gaussdb
        .plugin_extensions(
            project(&caller),
            &path.instance_id,
            q.db_name.as_deref(),
            q.plugin_name.as_deref(),
        )
        .await?;
    let items: Vec<PluginExtensions> = extensions
        .into_iter()
        .map(|(extension_name, on)| PluginExtensions {
            status: if on { "on" } else { "off" }.into(),
            extension_name,
        })
        .collect();
    ok(&items)
}

/// `POST /v3/{project_id}/instances/{instance_id}/config-plugin-extensions`
/// (ResumePluginExtensions): `CREATE EXTENSION` / `DROP EXTENSION` in every listed database
/// (`local`), or recorded only (`simulated`); a bare `"SUCCESS"`.
pub async fn resume_plugin_extensions(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(body): JsonBody<ResumePluginExtensionsRequestBody>,
) -> Result<Response> {
    let switch = ExtensionSwitch {
        plugin_name: body.plugin_name,
        extension_name: body.extension_name,
        db_list: body.db_list,
        action: body.extension_action,
    };
    state
        .services
        .gaussdb
        .switch_extension(project(&caller), &path.instance_id, &switch)
        .await?;
    ok(&Success::Success)
}

// -- jobs and tasks -------------------------------------------------------------------------------

/// A job's state in GaussDB's words.
fn status(job: &Job) -> String {
    match job.status.as_str() {
        jobs::QUEUED | jobs::RUNNING => "Running",
        jobs::COMPLETED => "Completed",
        jobs::FAILED => "Failed",
        other => other,
    }
    .to_string()
}

/// The stored states a GaussDB status names.
fn states(status: &str) -> Option<Vec<String>> {
    let states: &[&str] = match status {
        "Running" => jobs::ACTIVE,
        "Completed" => &[jobs::COMPLETED],
        "Failed" => &[jobs::FAILED],
        _ => return None,
    };
    Some(states.iter().map(|s| s.to_string()).collect())
}

fn progress(job: &Job) -> String {
    format!("{}%", job.progress.clamp(0, 100))
}

fn ended(job: &Job) -> String {
    if job.ended_at > 0 {
        time::gaussdb_job(job.ended_at)
    } else {
        String::new()
    }
}

/// `GET /v3/{project_id}/jobs?id=` (ShowJobDetail).
pub async fn show_job_detail(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<JobQuery>,
) -> Result<Response> {
    let id =
        q.id.filter(|i| !i.is_empty())
            .ok_or_else(|| GaussDbError::invalid("id is required."))?;
    let found = state.services.gaussdb.job(project(&caller), &id).await?;
    let job = &found.job;
    ok(&ShowJobDetailResponse {
        job: JobDetail {
            id: job.id.clone(),
            name: job.kind.clone(),
            status: status(job),
            created: time::gaussdb_job(job.created_at),
            ended: ended(job),
            progress: progress(job),
            instance: JobInstanceInfo {
                id: found.instance_id.clone(),
                name: job.target_name.clone(),
            },
            fail_reason: job.fail_reason.clone(),
        },
    })
}

/// A `start_time`/`end_time` of list_tasks: epoch milliseconds, or a date-time such as
/// `2026-11-22T05:18:00+0000` or RFC 3339.
fn parse_time(field: &str, text: &str) -> Result<Micros> {
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms.saturating_mul(1000));
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .or_else(|_| chrono::DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%z"))
        .map(|t| t.timestamp_micros())
        .map_err(|_| {
            GaussDbError::invalid(format!(
                "{field} must be epoch milliseconds or a time like 2026-11-22T05:18:00+0000 (got `{text}`)."
            ))
        })
}

/// `GET /v3/{project_id}/tasks` (ListTasks).
pub async fn list_tasks(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<TasksQuery>,
) -> Result<Response> {
    let (offset, limit) = parse_page(q.offset.as_deref(), q.limit.as_deref(), 100, 10)?;
    let states = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => Vec::new(),
        Some(s) => states(s).ok_or_else(|| {
            GaussDbError::invalid(format!(
                "status must be Running, Completed or Failed (got `{s}`)."
            ))
        })?,
    };
    let filter = JobFilter {
        states,
        kind: q.name.filter(|n| !n.is_empty()),
        created_from: q
            .start_time
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(|t| parse_time("start_time", t))
            .transpose()?,
        created_to: q
            .end_time
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(|t| parse_time("end_time", t))
            .transpose()?,
    };
    let (jobs, total) = state
        .services
        .gaussdb
        .tasks(project(&caller), &filter, offset, limit)
        .await?;
    let tasks = jobs
        .into_iter()
        .map(|found| {
            let job = &found.job;
            TaskDetailResult {
                instance_info: InstanceInfoResult {
                    instance_id: found.instance_id.clone(),
                    instance_name: job.target_name.clone(),
                    instance_status: found.instance_status.clone(),
                },
                job_id: job.id.clone(),
                name: job.kind.clone(),
                status: status(job),
                process: progress(job),
                created_at: time::gaussdb_job(job.created_at),
                ended_at: ended(job),
                fail_reason: job.fail_reason.clone(),
            }
        })
        .collect();
    ok(&ListTasksResponse {
        tasks,
        total_count: total,
    })
}

/// `DELETE /v3/{project_id}/jobs/{job_id}` (DeleteJob): removes a finished job's record;
/// 200 with an empty body.
pub async fn delete_job(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<JobPath>,
) -> Result<Response> {
    state
        .services
        .gaussdb
        .delete_job(project(&caller), &path.job_id)
        .await?;
    Ok(StatusCode::OK.into_response())
}

// -- instances ------------------------------------------------------------------------------------

/// `GET /v3/{project_id}/instances` (ListInstances): every vendor key present, filled with what
/// plugboard knows; a `name` starting with `*` matches as a substring [vendor].
pub async fn list_instances(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<InstancesQuery>,
) -> Result<Response> {
    let (offset, limit) = parse_page(q.offset.as_deref(), q.limit.as_deref(), 100, 100)?;
    let mut filter = InstanceFilter {
        id: q.id.filter(|i| !i.is_empty()),
        ..Default::default()
    };
    if let Some(name) = q.name.filter(|n| !n.is_empty()) {
        match name.strip_prefix('*') {
            Some(part) => {
                filter.name = Some(part.to_string());
                filter.name_contains = true;
            }
            None => filter.name = Some(name),
        }
    }
    let type_matches = q
        .instance_type
        .as_deref()
        .is_none_or(|t| t.is_empty() || t == "centralization_standard");
    let store_matches = q
        .datastore_type
        .as_deref()
        .is_none_or(|t| t.is_empty() || t.eq_ignore_ascii_case("GaussDB"));
    let (rows, total) = if type_matches && store_matches {
        state
            .services
            .gaussdb
            .list_instances(project(&caller), &filter, offset, limit)
            .await?
    } else {
        (Vec::new(), 0)
    };
    let region = state.config.region.clone();
    let instances = rows
        .into_iter()
        .map(|i| ListInstanceResponse {
            private_ips: vec![i.host.clone()],
            public_ips: vec![],
            port: i.port,
            instance_type: "centralization_standard".into(),
            ha: json!({"mode": "centralization_standard", "replication_mode": "sync", "consistency": "strong"}),
            replica_num: 0,
            region: region.clone(),
            datastore: ListDatastore {
                datastore_type: "GaussDB".into(),
                version: i.version.clone(),
            },
            created: time::gaussdb_instance(i.created_at),
            updated: time::gaussdb_instance(i.updated_at),
            db_user_name: i.db_user.clone(),
            vpc_id: String::new(),
            subnet_id: String::new(),
            security_group_id: String::new(),
            flavor_ref: String::new(),
            flavor_info: json!({}),
            volume: json!({}),
            switch_strategy: "reliability".into(),
            backup_strategy: json!({}),
            maintenance_window: "02:00-06:00".into(),
            nodes: vec![json!({
                "id": format!("{}no14", i.id.trim_end_matches("in14")),
                "name": format!("{}_node_1", i.name),
                "status": i.status,
                "role": "master",
                "availability_zone": region,
            })],
            enterprise_project_id: "0".into(),
            instance_mode: String::new(),
            disk_encryption_id: String::new(),
            charge_info: json!({"charge_mode": "postPaid"}),
            time_zone: "UTC".into(),
            tags: vec![],
            backup_used_space: "0".into(),
            id: i.id,
            name: i.name,
            status: i.status,
        })
        .collect();
    ok(&ListInstancesResponse {
        instances,
        total_count: total,
    })
}
