//! GaussDB handlers: kernel plug-ins (install as a durable job, catalog, installed list,
//! licenses, extensions on/off in real databases), jobs and tasks, instances. Path ids are
//! validated before any lookup; another project's instance or job answers like a missing one.

use super::dto::*;
use super::error::GaussDbError;
use super::{gaussdb_target, INSTALL_KERNEL_PLUGIN, INSTALL_STEPS};
use crate::common::auth::Caller;
use crate::common::error::json_response;
use crate::common::extract::{JsonBody, PathParams, QueryParams};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use plugboard_core::ids;
use plugboard_core::time::{self, Micros};
use plugboard_drivers::fetch::check_package_url;
use plugboard_drivers::pg::PgTarget;
use plugboard_store::gaussdb::{GaussDbInstance, InstanceFilter};
use plugboard_store::jobs::{DeleteJobError, InsertJobError, Job, JobFilter, NewJob};
use plugboard_store::StoreError;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;

type Result<T> = std::result::Result<T, GaussDbError>;

/// At most this many databases per config-plugin-extensions call [vendor].
pub const MAX_DBS_PER_CALL: usize = 10;
/// At most this many databases per instance with extensions on [vendor].
pub const MAX_DBS_PER_INSTANCE: i64 = 200;

fn ok<T: serde::Serialize>(body: &T) -> Response {
    json_response(
        StatusCode::OK,
        &serde_json::to_value(body).unwrap_or_default(),
    )
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

async fn instance(state: &AppState, caller: &Caller, id: &str) -> Result<GaussDbInstance> {
    if !ids::is_gaussdb_instance_id(id) {
        return Err(GaussDbError::Invalid(format!(
            "instance_id `{id}` is not a GaussDB instance id (32 hex characters and `in14`)."
        )));
    }
    match state.store.get_gaussdb_instance(project(caller), id).await {
        Ok(i) => Ok(i),
        Err(StoreError::NotFound) => Err(GaussDbError::InstanceNotFound),
        Err(e) => Err(e.into()),
    }
}

/// The connection to an instance's server, with its opened password.
fn pg_target(state: &AppState, i: &GaussDbInstance, database: &str) -> Result<PgTarget> {
    let password = state.identity.key().open(&i.password_sealed).map_err(|e| {
        GaussDbError::Common(crate::common::error::CommonError::Internal(e.to_string()))
    })?;
    Ok(PgTarget {
        host: i.host.clone(),
        port: u16::try_from(i.port).unwrap_or(5432),
        user: i.db_user.clone(),
        password: String::from_utf8_lossy(&password).into_owned(),
        database: database.to_string(),
    })
}

fn parse_page(
    offset: Option<&str>,
    limit: Option<&str>,
    max: i64,
    default: i64,
) -> Result<(i64, i64)> {
    let offset = match offset {
        None | Some("") => 0,
        Some(o) => o.parse::<i64>().ok().filter(|o| *o >= 0).ok_or_else(|| {
            GaussDbError::Invalid(format!("offset must be an integer ≥ 0 (got `{o}`)."))
        })?,
    };
    let limit = match limit {
        None | Some("") => default,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=max).contains(l))
            .ok_or_else(|| {
                GaussDbError::Invalid(format!(
                    "limit must be an integer from 1 to {max} (got `{l}`)."
                ))
            })?,
    };
    Ok((offset, limit))
}

// -- kernel plug-ins ------------------------------------------------------------------------------

/// `GET /v3/{project_id}/instances/kernel-plugins` (ListSupportKernelPlugins): a bare JSON
/// array of the plug-in names the catalog accepts.
pub async fn list_support_kernel_plugins(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Response> {
    Ok(ok(&state.config.gaussdb.supported_plugins))
}

/// `POST /v3/{project_id}/instances/{instance_id}/kernel-plugin` (InstallKernelPlugin): checks
/// everything that can be checked now, then commits the install job and answers its id.
pub async fn install_kernel_plugin(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(body): JsonBody<InstallKernelPluginRequestBody>,
) -> Result<Response> {
    let i = instance(&state, &caller, &path.instance_id).await?;
    let plugin = body.plugin_name.trim();
    if plugin.is_empty() {
        return Err(GaussDbError::Invalid(
            "plugin_name must not be empty.".into(),
        ));
    }
    if !state
        .config
        .gaussdb
        .supported_plugins
        .iter()
        .any(|p| p == plugin)
    {
        return Err(GaussDbError::UnsupportedPlugin(format!(
            "`{plugin}` (supported: {})",
            state.config.gaussdb.supported_plugins.join(", ")
        )));
    }
    let sha = body.sha_256.trim();
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(GaussDbError::Invalid(
            "sha_256 must be 64 hexadecimal characters.".into(),
        ));
    }
    let url = check_package_url(&state.network, body.url.trim())
        .await
        .map_err(|e| GaussDbError::UrlNotAllowed(e.to_string()))?;
    if i.status != "ACTIVE" {
        return Err(GaussDbError::Busy(format!("The instance is {}.", i.status)));
    }
    if state
        .config
        .gaussdb
        .license_required
        .iter()
        .any(|p| p == plugin)
        && !state.store.has_plugin_license(&i.id, "*").await?
    {
        return Err(GaussDbError::LicenseRequired(plugin.to_string()));
    }
    let job = NewJob {
        id: ids::uuid(),
        project_id: i.project_id.clone(),
        kind: INSTALL_KERNEL_PLUGIN.into(),
        target: gaussdb_target(&i.id),
        target_name: i.name.clone(),
        steps: INSTALL_STEPS.iter().map(|s| s.to_string()).collect(),
        input: json!({
            "instance_id": i.id,
            "plugin_name": plugin,
            "url": url.as_str(),
            "sha_256": sha.to_ascii_lowercase(),
            "simulated": i.install_mode == "simulated",
        }),
        created_at: time::now_micros(),
    };
    match state.store.submit_job(&job).await {
        Ok(()) => {}
        Err(InsertJobError::TargetBusy) => {
            return Err(GaussDbError::Busy(
                "A kernel plug-in job is already running on it.".into(),
            ))
        }
        Err(InsertJobError::Store(e)) => return Err(e.into()),
    }
    state.job_waker.notify_one();
    Ok(ok(&InstallKernelPluginResponse { job_id: job.id }))
}

/// `GET /v3/{project_id}/instances/{instance_id}/kernel-plugins` (ListKernelPlugins): a bare
/// array of the installed plug-in names.
pub async fn list_kernel_plugins(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
) -> Result<Response> {
    let i = instance(&state, &caller, &path.instance_id).await?;
    let names: Vec<String> = state
        .store
        .list_installed_plugins(&i.id)
        .await?
        .into_iter()
        .map(|p| p.plugin_name)
        .collect();
    Ok(ok(&names))
}

/// `GET /v3/{project_id}/instances/{instance_id}/plugins` (ListPluginInfoList): the catalog,
/// each plug-in with whether and in which version the instance has it.
pub async fn list_plugin_info_list(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    QueryParams(q): QueryParams<PluginInfoQuery>,
) -> Result<Response> {
    let i = instance(&state, &caller, &path.instance_id).await?;
    let (offset, limit) = parse_page(q.offset.as_deref(), q.limit.as_deref(), 100, 100)?;
    let installed: HashMap<String, String> = state
        .store
        .list_installed_plugins(&i.id)
        .await?
        .into_iter()
        .map(|p| (p.plugin_name, p.version))
        .collect();
    let mut names: Vec<&String> = state.config.gaussdb.supported_plugins.iter().collect();
    for name in installed.keys() {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let wanted = q.plugin_name.as_deref().filter(|n| !n.is_empty());
    let matching: Vec<&String> = names
        .into_iter()
        .filter(|n| wanted.is_none_or(|w| n.as_str() == w))
        .collect();
    let plugins = matching
        .iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(0))
        .map(|name| CustomerPluginInfoResult {
            plugin_name: name.to_string(),
            installed: installed.contains_key(name.as_str()),
            port: i.port.to_string(),
            plugin_version: installed.get(name.as_str()).cloned().unwrap_or_default(),
        })
        .collect();
    Ok(ok(&ListPluginInfoListResponse {
        total_count: matching.len() as i64,
        plugins,
    }))
}

/// `PUT /v3/{project_id}/instances/{instance_id}/kernel-plugin-license`
/// (SetKernelPluginLicense): stores the license (sealed) for the instance; a bare `"SUCCESS"`.
pub async fn set_kernel_plugin_license(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(body): JsonBody<SetKernelPluginLicenseRequestBody>,
) -> Result<Response> {
    let i = instance(&state, &caller, &path.instance_id).await?;
    let license = body.license_str.trim();
    if license.is_empty() || license.len() > 8192 {
        return Err(GaussDbError::Invalid(
            "license_str must be 1 to 8192 characters.".into(),
        ));
    }
    let sealed = state.identity.key().seal(license.as_bytes());
    state
        .store
        .set_plugin_license(&i.id, "*", &sealed, time::now_micros())
        .await?;
    Ok(ok(&Success::Success))
}

/// The installed plug-in `name` of an instance, with the extensions it ships.
async fn installed_plugin(
    state: &AppState,
    i: &GaussDbInstance,
    name: &str,
) -> Result<Vec<String>> {
    state
        .store
        .list_installed_plugins(&i.id)
        .await?
        .into_iter()
        .find(|p| p.plugin_name == name)
        .map(|p| p.extensions)
        .ok_or_else(|| GaussDbError::PluginNotInstalled(name.to_string()))
}

/// The extensions on in one database: asked of the server (`local`), or as recorded
/// (`simulated`).
async fn extensions_on(state: &AppState, i: &GaussDbInstance, db: &str) -> Result<Vec<String>> {
    if i.install_mode == "simulated" {
        return Ok(state.store.list_extensions_on(&i.id, db).await?);
    }
    let target = pg_target(state, i, &i.database_name)?;
    let databases = target
        .list_databases()
        .await
        .map_err(|e| GaussDbError::Busy(e.to_string()))?;
    if !databases.iter().any(|d| d == db) {
        return Err(GaussDbError::DatabaseNotFound(format!(
            "Database `{db}` does not exist on the DB instance."
        )));
    }
    target
        .installed_extensions(db)
        .await
        .map_err(|e| GaussDbError::Busy(e.to_string()))
}

/// `GET /v3/{project_id}/instances/{instance_id}/plugin-extensions` (ListPluginExtensions): a
/// bare array of the plug-in's extensions and whether each is on in `db_name`.
pub async fn list_plugin_extensions(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    QueryParams(q): QueryParams<PluginExtensionsQuery>,
) -> Result<Response> {
    let i = instance(&state, &caller, &path.instance_id).await?;
    let db = q
        .db_name
        .filter(|d| !d.is_empty())
        .ok_or_else(|| GaussDbError::Invalid("db_name is required.".into()))?;
    let plugin = q
        .plugin_name
        .filter(|p| !p.is_empty())
        .ok_or_else(|| GaussDbError::Invalid("plugin_name is required.".into()))?;
    let extensions = installed_plugin(&state, &i, &plugin).await?;
    let on = extensions_on(&state, &i, &db).await?;
    let items: Vec<PluginExtensions> = extensions
        .into_iter()
        .map(|e| PluginExtensions {
            status: if on.contains(&e) { "on" } else { "off" }.into(),
            extension_name: e,
        })
        .collect();
    Ok(ok(&items))
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
    let i = instance(&state, &caller, &path.instance_id).await?;
    let on = match body.extension_action.as_str() {
        "on" => true,
        "off" => false,
        other => {
            return Err(GaussDbError::Invalid(format!(
                "extension_action must be `on` or `off` (got `{other}`)."
            )))
        }
    };
    if body.db_list.is_empty() {
        return Err(GaussDbError::Invalid(
            "db_list must name at least one database.".into(),
        ));
    }
    if body.db_list.len() > MAX_DBS_PER_CALL {
        return Err(GaussDbError::TooManyDatabases(format!(
            "db_list names {} databases; at most {MAX_DBS_PER_CALL} per call.",
            body.db_list.len()
        )));
    }
    let mut dbs: Vec<String> = Vec::new();
    for db in &body.db_list {
        if db.is_empty() || db.len() > 63 {
            return Err(GaussDbError::Invalid(format!(
                "db_list: `{db}` is not a database name (1 to 63 characters)."
            )));
        }
        if !dbs.contains(db) {
            dbs.push(db.clone());
        }
    }
    let extensions = installed_plugin(&state, &i, &body.plugin_name).await?;
    if !extensions.contains(&body.extension_name) {
        return Err(GaussDbError::UnknownExtension(format!(
            "extension_name `{}` is not an extension of plug-in {} (it ships: {}).",
            body.extension_name,
            body.plugin_name,
            extensions.join(", ")
        )));
    }
    if on {
        let mut known = Vec::new();
        for db in &dbs {
            if state.store.list_extensions_on(&i.id, db).await?.is_empty() {
                known.push(db);
            }
        }
        let count = state.store.count_extension_databases(&i.id).await?;
        if count + known.len() as i64 > MAX_DBS_PER_INSTANCE {
            return Err(GaussDbError::TooManyDatabases(format!(
                "at most {MAX_DBS_PER_INSTANCE} databases per DB instance may have plug-in extensions on ({count} have)."
            )));
        }
    }
    if i.install_mode == "local" {
        let admin = pg_target(&state, &i, &i.database_name)?;
        let existing = admin
            .list_databases()
            .await
            .map_err(|e| GaussDbError::Busy(e.to_string()))?;
        if let Some(missing) = dbs.iter().find(|d| !existing.contains(d)) {
            return Err(GaussDbError::DatabaseNotFound(format!(
                "Database `{missing}` does not exist on the DB instance."
            )));
        }
        for db in &dbs {
            let done = if on {
                admin.create_extension(db, &body.extension_name).await
            } else {
                admin.drop_extension(db, &body.extension_name).await
            };
            done.map_err(|e| {
                GaussDbError::ExtensionFailed(format!(
                    "{} EXTENSION {} failed in database `{db}`: {e}",
                    if on { "CREATE" } else { "DROP" },
                    body.extension_name
                ))
            })?;
        }
    }
    state
        .store
        .set_extensions(
            &i.id,
            &body.plugin_name,
            &body.extension_name,
            &dbs,
            on,
            time::now_micros(),
        )
        .await?;
    Ok(ok(&Success::Success))
}

// -- jobs and tasks -------------------------------------------------------------------------------

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
            .ok_or_else(|| GaussDbError::Invalid("id is required.".into()))?;
    if !ids::is_uuid(&id) {
        return Err(GaussDbError::Invalid(format!("id `{id}` is not a job id.")));
    }
    let job = match state.store.get_job(project(&caller), &id).await {
        Ok(j) => j,
        Err(StoreError::NotFound) => return Err(GaussDbError::JobNotFound(id)),
        Err(e) => return Err(e.into()),
    };
    let instance_id = job
        .target
        .strip_prefix("gaussdb:")
        .unwrap_or_default()
        .to_string();
    Ok(ok(&ShowJobDetailResponse {
        job: JobDetail {
            id: job.id.clone(),
            name: job.kind.clone(),
            status: job.status.clone(),
            created: time::gaussdb_job(job.created_at),
            ended: ended(&job),
            progress: progress(&job),
            instance: JobInstanceInfo {
                id: instance_id,
                name: job.target_name.clone(),
            },
            fail_reason: job.fail_reason.clone(),
        },
    }))
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
            GaussDbError::Invalid(format!(
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
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s @ ("Running" | "Completed" | "Failed")) => Some(s.to_string()),
        Some(other) => {
            return Err(GaussDbError::Invalid(format!(
                "status must be Running, Completed or Failed (got `{other}`)."
            )))
        }
    };
    let filter = JobFilter {
        status,
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
        .store
        .list_jobs(project(&caller), &filter, offset, limit)
        .await?;
    let (instances, _) = state
        .store
        .list_gaussdb_instances(project(&caller), &InstanceFilter::default(), 0, 10_000)
        .await?;
    let status_of: HashMap<String, String> =
        instances.into_iter().map(|i| (i.id, i.status)).collect();
    let tasks = jobs
        .iter()
        .map(|job| {
            let instance_id = job.target.strip_prefix("gaussdb:").unwrap_or_default();
            TaskDetailResult {
                instance_info: InstanceInfoResult {
                    instance_id: instance_id.to_string(),
                    instance_name: job.target_name.clone(),
                    instance_status: status_of.get(instance_id).cloned().unwrap_or_default(),
                },
                job_id: job.id.clone(),
                name: job.kind.clone(),
                status: job.status.clone(),
                process: progress(job),
                created_at: time::gaussdb_job(job.created_at),
                ended_at: ended(job),
                fail_reason: job.fail_reason.clone(),
            }
        })
        .collect();
    Ok(ok(&ListTasksResponse {
        tasks,
        total_count: total,
    }))
}

/// `DELETE /v3/{project_id}/jobs/{job_id}` (DeleteJob): removes a finished job's record;
/// 200 with an empty body.
pub async fn delete_job(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<JobPath>,
) -> Result<Response> {
    if !ids::is_uuid(&path.job_id) {
        return Err(GaussDbError::Invalid(format!(
            "job_id `{}` is not a job id.",
            path.job_id
        )));
    }
    match state.store.delete_job(project(&caller), &path.job_id).await {
        Ok(()) => Ok(StatusCode::OK.into_response()),
        Err(DeleteJobError::NotFound) => Err(GaussDbError::JobNotFound(path.job_id)),
        Err(DeleteJobError::Running) => Err(GaussDbError::JobRunning(path.job_id)),
        Err(DeleteJobError::Store(e)) => Err(e.into()),
    }
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
            .store
            .list_gaussdb_instances(project(&caller), &filter, offset, limit)
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
    Ok(ok(&ListInstancesResponse {
        instances,
        total_count: total,
    }))
}
