//! Admin handlers: DBSS audit instances, GaussDB instances, lockouts and the driver registry.

use super::dto::*;
use super::error::AdminError;
use crate::common::auth::Caller;
use crate::common::error::reply;
use crate::common::extract::{JsonBody, PathParams, QueryParams};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use plugboard_core::time;
use plugboard_service::dbss::NewAuditInstance;
use plugboard_service::gaussdb::Registration;
use plugboard_store::dbss::AuditInstance;
use plugboard_store::gaussdb::{GaussDbInstance, InstanceFilter};
use plugboard_store::lockout::LockKind;
use plugboard_store::StoreError;
use serde::Deserialize;

type Result<T> = std::result::Result<T, AdminError>;

fn json<T: serde::Serialize>(status: StatusCode, body: &T) -> Result<Response> {
    reply(status, body)
}

fn view(i: AuditInstance) -> AuditInstanceView {
    AuditInstanceView {
        created: time::iam(i.created_at),
        id: i.id,
        project_id: i.project_id,
        name: i.name,
        edition: i.edition,
        database_limit: i.database_limit,
        database_count: i.database_count,
        status: i.status,
    }
}

/// Path of one audit instance.
#[derive(Debug, Deserialize)]
pub struct InstancePath {
    pub project_id: String,
    pub instance_id: String,
}

fn project(caller: &Caller) -> &str {
    caller.project_id.as_deref().unwrap_or_default()
}

/// `POST /plugboard/v1/projects/{project_id}/dbss/instances`.
pub async fn create_audit_instance(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<CreateAuditInstanceRequest>,
) -> Result<Response> {
    let new = NewAuditInstance {
        name: req.name,
        edition: req.edition,
        database_limit: req.database_limit,
    };
    let instance = state
        .services
        .dbss
        .create_instance(project(&caller), &new)
        .await?;
    json(StatusCode::CREATED, &view(instance))
}

/// `GET /plugboard/v1/projects/{project_id}/dbss/instances`.
pub async fn list_audit_instances(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Response> {
    let offset = q.offset.unwrap_or(0);
    let limit = q.limit.unwrap_or(100);
    // One message per parameter, so it names the one that is wrong.
    if offset < 0 {
        return Err(AdminError::Invalid(format!(
            "offset must be ≥ 0 (got {offset})"
        )));
    }
    if !(1..=1000).contains(&limit) {
        return Err(AdminError::Invalid(format!(
            "limit must be from 1 to 1000 (got {limit})"
        )));
    }
    let (rows, total) = state
        .services
        .dbss
        .list_instances(project(&caller), offset, limit)
        .await?;
    json(
        StatusCode::OK,
        &AuditInstanceList {
            instances: rows.into_iter().map(view).collect(),
            total,
        },
    )
}

/// `GET /plugboard/v1/projects/{project_id}/dbss/instances/{instance_id}`.
pub async fn show_audit_instance(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
) -> Result<Response> {
    let i = state
        .services
        .dbss
        .instance(project(&caller), &path.instance_id)
        .await?;
    json(StatusCode::OK, &view(i))
}

/// `DELETE /plugboard/v1/projects/{project_id}/dbss/instances/{instance_id}`: with the
/// databases it audits.
pub async fn delete_audit_instance(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
) -> Result<StatusCode> {
    state
        .services
        .dbss
        .delete_instance(project(&caller), &path.instance_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// -- GaussDB instances ---------------------------------------------------------------------------

fn gaussdb_view(i: GaussDbInstance) -> GaussDbInstanceView {
    let shown = plugboard_service::gaussdb::shows_layout(&i);
    let some = |s: String| (shown && !s.is_empty()).then_some(s);
    GaussDbInstanceView {
        created: time::iam(i.created_at),
        updated: time::iam(i.updated_at),
        install: InstallSpec {
            mode: i.install_mode,
            pg_config: some(i.pg_config),
            sharedir: some(i.sharedir),
            pkglibdir: some(i.pkglibdir),
        },
        id: i.id,
        project_id: i.project_id,
        name: i.name,
        host: i.host,
        port: i.port,
        user: i.db_user,
        database: i.database_name,
        version: i.version,
        status: i.status,
    }
}

/// `POST /plugboard/v1/projects/{project_id}/gaussdb/instances`: register a server after a
/// connection test (`local`), or without touching any server (`simulated`).
pub async fn register_gaussdb_instance(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<RegisterGaussDbInstanceRequest>,
) -> Result<Response> {
    let registration = Registration {
        name: req.name,
        host: req.host,
        port: req.port,
        user: req.user,
        password: req.password,
        database: req.database,
        mode: req.install.mode,
        pg_config: req.install.pg_config,
        sharedir: req.install.sharedir,
        pkglibdir: req.install.pkglibdir,
    };
    let instance = state
        .services
        .gaussdb
        .register(project(&caller), registration)
        .await?;
    json(StatusCode::CREATED, &gaussdb_view(instance))
}

/// `GET /plugboard/v1/projects/{project_id}/gaussdb/instances`.
pub async fn list_gaussdb_instances_admin(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Response> {
    let offset = q.offset.unwrap_or(0);
    let limit = q.limit.unwrap_or(100);
    if offset < 0 || !(1..=1000).contains(&limit) {
        return Err(AdminError::Invalid(
            "offset must be ≥ 0 and limit from 1 to 1000".into(),
        ));
    }
    let (rows, total) = state
        .services
        .gaussdb
        .list_instances(project(&caller), &InstanceFilter::default(), offset, limit)
        .await?;
    json(
        StatusCode::OK,
        &GaussDbInstanceList {
            instances: rows.into_iter().map(gaussdb_view).collect(),
            total,
        },
    )
}

/// `GET /plugboard/v1/projects/{project_id}/gaussdb/instances/{instance_id}`.
pub async fn show_gaussdb_instance(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
) -> Result<Response> {
    let i = state
        .services
        .gaussdb
        .instance(project(&caller), &path.instance_id)
        .await?;
    json(StatusCode::OK, &gaussdb_view(i))
}

/// `DELETE /plugboard/v1/projects/{project_id}/gaussdb/instances/{instance_id}`: forgets the
/// instance and what plugboard recorded about it (files installed stay on the server). Refused
/// while a job runs on it.
pub async fn delete_gaussdb_instance(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
) -> Result<StatusCode> {
    state
        .services
        .gaussdb
        .delete_instance(project(&caller), &path.instance_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// -- Lockouts ------------------------------------------------------------------------------------

/// `GET /plugboard/v1/lockouts`: the caller's domain only.
pub async fn list_lockouts(State(state): State<AppState>, caller: Caller) -> Result<Response> {
    let now = time::now_micros();
    let lockouts = state
        .services
        .identity
        .lockouts(caller.domain_id(), now)
        .await?
        .into_iter()
        .map(|e| {
            let locked = e.state.locked_at(now);
            let access_key = (e.kind == LockKind::AccessKey).then(|| e.subject.clone());
            LockoutView {
                kind: e.kind.as_str(),
                user_id: e.user_id,
                user_name: e.user_name,
                access_key,
                failures: e.state.failures,
                locked,
                locked_until: e.state.locked_until.filter(|_| locked).map(time::iam),
                last_failure: time::iam(e.state.last_failure_at),
            }
        })
        .collect();
    json(StatusCode::OK, &LockoutList { lockouts })
}

/// `DELETE /plugboard/v1/lockouts/users/{user_id}`.
pub async fn unlock_user(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<UnlockUserPath>,
) -> Result<StatusCode> {
    match state
        .services
        .identity
        .unlock_user(caller.domain_id(), &path.user_id)
        .await
    {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(StoreError::NotFound) => Err(AdminError::NotFound(format!(
            "user `{}` has no failed logins or lock in this domain",
            path.user_id
        ))),
        Err(e) => Err(e.into()),
    }
}

/// `DELETE /plugboard/v1/lockouts/access-keys/{access_key}`.
pub async fn unlock_access_key(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<UnlockAccessKeyPath>,
) -> Result<StatusCode> {
    match state
        .services
        .identity
        .unlock_access_key(caller.domain_id(), &path.access_key)
        .await
    {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(StoreError::NotFound) => Err(AdminError::NotFound(format!(
            "access key `{}` has no failed attempts or lock in this domain",
            path.access_key
        ))),
        Err(e) => Err(e.into()),
    }
}

fn driver_list(view: &plugboard_service::drivers::View) -> DriverList {
    use plugboard_service::drivers::{DriverSource, ADDON_ACTIONS};
    DriverList {
        drivers: view
            .drivers
            .iter()
            .map(|d| {
                let m = &d.manifest;
                let (source, folder) = match &d.source {
                    DriverSource::Builtin => ("builtin", String::new()),
                    DriverSource::External(f) => ("external", f.display().to_string()),
                };
                DriverView {
                    uuid: m.uuid.clone(),
                    name: m.name.clone(),
                    kind: m.kind.clone(),
                    vendor: m.vendor.clone(),
                    version: m.version.clone(),
                    description: m.description.clone(),
                    license: m.license.clone(),
                    source: source.into(),
                    folder,
                    features: m.features.clone(),
                    timeout_seconds: m.timeout_seconds,
                    deleted: d.deleted,
                    addons: m
                        .addons
                        .iter()
                        .map(|a| DriverAddonView {
                            name: a.name.clone(),
                            versions: a.versions.clone(),
                            latest_version: a.latest_version().unwrap_or_default().to_string(),
                        })
                        .collect(),
                    steps: if d.runs_addons() {
                        ADDON_ACTIONS
                            .iter()
                            .map(|a| (a.to_string(), m.steps_of(a)))
                            .collect()
                    } else {
                        Default::default()
                    },
                }
            })
            .collect(),
        errors: view
            .errors
            .iter()
            .map(|e| DriverErrorView {
                path: e.path.display().to_string(),
                reason: e.reason.clone(),
            })
            .collect(),
    }
}

/// `GET /plugboard/v1/drivers`: the registry as this process has it.
pub async fn list_drivers(State(state): State<AppState>, _caller: Caller) -> Result<Response> {
    let view = state.services.servicestage.registry().view().await;
    json(StatusCode::OK, &driver_list(&view))
}

/// `POST /plugboard/v1/drivers/refresh`: rescan the plug-in folder and record the result.
pub async fn refresh_drivers(State(state): State<AppState>, _caller: Caller) -> Result<Response> {
    let view = state
        .services
        .servicestage
        .registry()
        .refresh()
        .await
        .map_err(|e| match e {
            plugboard_service::drivers::RefreshError::Store(e) => AdminError::from(e),
        })?;
    json(StatusCode::OK, &driver_list(&view))
}

/// Path of one driver.
#[derive(Debug, Deserialize)]
pub struct DriverPath {
    pub uuid: String,
}

/// `DELETE /plugboard/v1/drivers/{uuid}?mode=permissive|enforcing`: the ZStack delete's api-job.
pub async fn delete_driver(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<DriverPath>,
    QueryParams(q): QueryParams<DeleteDriverQuery>,
) -> Result<Response> {
    let mode = match q.mode.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("") | Some("permissive") => "Permissive",
        Some("enforcing") => "Enforcing",
        Some(other) => {
            return Err(AdminError::Invalid(format!(
                "mode `{other}` is not one of permissive, enforcing"
            )))
        }
    };
    let job_id = state
        .services
        .zstack
        .delete_plugin_drivers(
            &path.uuid,
            Some(mode),
            &plugboard_service::zstack::AsyncCall {
                account: caller.user_id().to_string(),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| match e {
            plugboard_service::zstack::Error::Store(e) => AdminError::from(e),
            plugboard_service::zstack::Error::Api(code) if code.code == "SYS.1006" => {
                AdminError::Conflict(code.details)
            }
            plugboard_service::zstack::Error::Api(code) => AdminError::Invalid(code.details),
            other => AdminError::Invalid(other.to_string()),
        })?;
    json(
        StatusCode::ACCEPTED,
        &DeleteDriverAccepted {
            location: state.link(&format!("/zstack/v1/api-jobs/{job_id}")),
            job_id,
        },
    )
}
