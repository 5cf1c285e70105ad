//! Admin handlers: DBSS audit instances, GaussDB instances and lockouts.

use super::dto::*;
use super::error::AdminError;
use crate::common::auth::Caller;
use crate::common::error::json_response;
use crate::common::extract::{JsonBody, PathParams, QueryParams};
use crate::gaussdb::gaussdb_target;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use plugboard_core::ids::{self, is_hex32};
use plugboard_core::time;
use plugboard_drivers::pg::PgTarget;
use plugboard_drivers::pginstall::{layout_from_pg_config, PgLayout};
use plugboard_store::dbss::AuditInstance;
use plugboard_store::gaussdb::{GaussDbInstance, InstanceFilter};
use plugboard_store::lockout::LockKind;
use plugboard_store::StoreError;
use serde::Deserialize;

type Result<T> = std::result::Result<T, AdminError>;

/// Editions and how many databases each audits [vendor, partly unconfirmed].
pub const EDITIONS: &[(&str, i64)] = &[
    ("entry", 1),
    ("basic", 3),
    ("professional", 6),
    ("advanced", 30),
];
/// The largest explicit `database_limit`.
pub const MAX_DATABASE_LIMIT: i64 = 1_000_000;

fn json<T: serde::Serialize>(status: StatusCode, body: &T) -> Response {
    json_response(status, &serde_json::to_value(body).unwrap_or_default())
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
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(AdminError::Invalid(
            "name must be 1 to 64 characters".into(),
        ));
    }
    let (edition, limit) = match (req.edition.as_deref(), req.database_limit) {
        (Some(_), Some(_)) => {
            return Err(AdminError::Invalid(
                "give either edition or database_limit, not both".into(),
            ))
        }
        (Some(e), None) => match EDITIONS.iter().find(|(n, _)| *n == e) {
            Some((n, l)) => (n.to_string(), *l),
            None => {
                return Err(AdminError::Invalid(format!(
                    "edition must be one of entry, basic, professional, advanced (got `{e}`)"
                )))
            }
        },
        (None, Some(l)) if (1..=MAX_DATABASE_LIMIT).contains(&l) => ("custom".to_string(), l),
        (None, Some(l)) => {
            return Err(AdminError::Invalid(format!(
                "database_limit must be from 1 to {MAX_DATABASE_LIMIT} (got {l})"
            )))
        }
        (None, None) => {
            return Err(AdminError::Invalid(
                "edition or database_limit is required".into(),
            ))
        }
    };
    let instance = AuditInstance {
        id: ids::hex32(),
        project_id: project(&caller).to_string(),
        name: name.to_string(),
        edition,
        database_limit: limit,
        database_count: 0,
        on_count: 0,
        status: "ACTIVE".into(),
        created_at: time::now_micros(),
    };
    state.store.create_audit_instance(&instance).await?;
    Ok(json(StatusCode::CREATED, &view(instance)))
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
        .store
        .list_audit_instances(project(&caller), offset, limit)
        .await?;
    Ok(json(
        StatusCode::OK,
        &AuditInstanceList {
            instances: rows.into_iter().map(view).collect(),
            total,
        },
    ))
}

async fn existing(state: &AppState, caller: &Caller, id: &str) -> Result<AuditInstance> {
    if !is_hex32(id) {
        return Err(AdminError::Invalid(format!(
            "instance_id `{id}` is not an audit instance id"
        )));
    }
    match state.store.get_audit_instance(project(caller), id).await {
        Ok(i) => Ok(i),
        Err(StoreError::NotFound) => Err(AdminError::NotFound(format!(
            "audit instance {id} does not exist"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// `GET /plugboard/v1/projects/{project_id}/dbss/instances/{instance_id}`.
pub async fn show_audit_instance(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
) -> Result<Response> {
    let i = existing(&state, &caller, &path.instance_id).await?;
    Ok(json(StatusCode::OK, &view(i)))
}

/// `DELETE /plugboard/v1/projects/{project_id}/dbss/instances/{instance_id}`: with the
/// databases it audits.
pub async fn delete_audit_instance(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
) -> Result<StatusCode> {
    let i = existing(&state, &caller, &path.instance_id).await?;
    match state
        .store
        .delete_audit_instance(&i.project_id, &i.id)
        .await
    {
        Ok(()) | Err(StoreError::NotFound) => Ok(StatusCode::NO_CONTENT),
        Err(e) => Err(e.into()),
    }
}

// -- GaussDB instances ---------------------------------------------------------------------------

/// Install modes an instance may use (`agent` is planned).
const INSTALL_MODES: &[&str] = &["local", "simulated"];

fn gaussdb_view(i: GaussDbInstance) -> GaussDbInstanceView {
    let local = i.install_mode == "local";
    let some = |s: String| (local && !s.is_empty()).then_some(s);
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

fn text_field(name: &str, value: &str, max: usize) -> Result<()> {
    if value.trim().is_empty() || value.chars().count() > max {
        return Err(AdminError::Invalid(format!(
            "{name} must be 1 to {max} characters"
        )));
    }
    Ok(())
}

/// `POST /plugboard/v1/projects/{project_id}/gaussdb/instances`: register a server after a
/// connection test (`local`), or without touching any server (`simulated`).
pub async fn register_gaussdb_instance(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<RegisterGaussDbInstanceRequest>,
) -> Result<Response> {
    text_field("name", &req.name, 64)?;
    text_field("host", &req.host, 255)?;
    text_field("user", &req.user, 63)?;
    text_field("database", &req.database, 63)?;
    if req.port == 0 {
        return Err(AdminError::Invalid("port must be from 1 to 65535".into()));
    }
    if !INSTALL_MODES.contains(&req.install.mode.as_str()) {
        return Err(AdminError::Invalid(format!(
            "install.mode must be `local` or `simulated` (got `{}`)",
            req.install.mode
        )));
    }
    let target = PgTarget {
        host: req.host.trim().to_string(),
        port: req.port,
        user: req.user.clone(),
        password: req.password.clone(),
        database: req.database.clone(),
    };
    let (version, major, layout) = if req.install.mode == "local" {
        let layout = resolve_layout(&req.install).await?;
        let (version, major) = target
            .server_version()
            .await
            .map_err(|e| AdminError::Invalid(format!("connection test failed: {e}")))?;
        (version, major, Some(layout))
    } else {
        if req.install.pg_config.is_some()
            || req.install.sharedir.is_some()
            || req.install.pkglibdir.is_some()
        {
            return Err(AdminError::Invalid(
                "install.pg_config, install.sharedir and install.pkglibdir apply to mode `local` only"
                    .into(),
            ));
        }
        ("15.0".to_string(), 15, None)
    };
    let now = time::now_micros();
    let instance = GaussDbInstance {
        id: format!("{}in14", ids::hex32()),
        project_id: project(&caller).to_string(),
        name: req.name.trim().to_string(),
        host: target.host,
        port: i64::from(req.port),
        db_user: req.user,
        password_sealed: state.identity.key().seal(req.password.as_bytes()),
        database_name: req.database,
        install_mode: req.install.mode,
        pg_config: req.install.pg_config.unwrap_or_default(),
        sharedir: layout
            .as_ref()
            .map(|l| l.sharedir.display().to_string())
            .unwrap_or_default(),
        pkglibdir: layout
            .as_ref()
            .map(|l| l.pkglibdir.display().to_string())
            .unwrap_or_default(),
        version,
        pg_major: i64::from(major),
        status: "ACTIVE".into(),
        created_at: now,
        updated_at: now,
    };
    match state.store.create_gaussdb_instance(&instance).await {
        Ok(()) => Ok(json(StatusCode::CREATED, &gaussdb_view(instance))),
        Err(StoreError::Conflict(_)) => Err(AdminError::Conflict(format!(
            "an instance named `{}` already exists in this project",
            instance.name
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Where a `local` instance's files go: from `pg_config`, or given explicitly.
async fn resolve_layout(install: &InstallSpec) -> Result<PgLayout> {
    let layout =
        match (&install.pg_config, &install.sharedir, &install.pkglibdir) {
            (Some(pg_config), None, None) => layout_from_pg_config(std::path::Path::new(pg_config))
                .await
                .map_err(|e| AdminError::Invalid(format!("install.pg_config: {e}")))?,
            (None, Some(share), Some(lib)) => PgLayout {
                sharedir: share.into(),
                pkglibdir: lib.into(),
            },
            _ => return Err(AdminError::Invalid(
                "mode `local` needs install.pg_config, or install.sharedir and install.pkglibdir"
                    .into(),
            )),
        };
    for (name, dir) in [
        ("sharedir", &layout.sharedir),
        ("pkglibdir", &layout.pkglibdir),
    ] {
        if !dir.is_absolute() || !dir.is_dir() {
            return Err(AdminError::Invalid(format!(
                "install.{name} {} is not an existing absolute directory",
                dir.display()
            )));
        }
    }
    Ok(layout)
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
        .store
        .list_gaussdb_instances(project(&caller), &InstanceFilter::default(), offset, limit)
        .await?;
    Ok(json(
        StatusCode::OK,
        &GaussDbInstanceList {
            instances: rows.into_iter().map(gaussdb_view).collect(),
            total,
        },
    ))
}

async fn existing_gaussdb(state: &AppState, caller: &Caller, id: &str) -> Result<GaussDbInstance> {
    if !ids::is_gaussdb_instance_id(id) {
        return Err(AdminError::Invalid(format!(
            "instance_id `{id}` is not a GaussDB instance id (32 hex characters and `in14`)"
        )));
    }
    match state.store.get_gaussdb_instance(project(caller), id).await {
        Ok(i) => Ok(i),
        Err(StoreError::NotFound) => Err(AdminError::NotFound(format!(
            "GaussDB instance {id} does not exist"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// `GET /plugboard/v1/projects/{project_id}/gaussdb/instances/{instance_id}`.
pub async fn show_gaussdb_instance(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
) -> Result<Response> {
    let i = existing_gaussdb(&state, &caller, &path.instance_id).await?;
    Ok(json(StatusCode::OK, &gaussdb_view(i)))
}

/// `DELETE /plugboard/v1/projects/{project_id}/gaussdb/instances/{instance_id}`: forgets the
/// instance and what plugboard recorded about it (files installed stay on the server). Refused
/// while a job runs on it.
pub async fn delete_gaussdb_instance(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
) -> Result<StatusCode> {
    let i = existing_gaussdb(&state, &caller, &path.instance_id).await?;
    if state
        .store
        .target_has_running_job(&gaussdb_target(&i.id))
        .await?
    {
        return Err(AdminError::Conflict(format!(
            "a job is running on instance {}; delete it when the job has ended",
            i.id
        )));
    }
    match state
        .store
        .delete_gaussdb_instance(&i.project_id, &i.id)
        .await
    {
        Ok(()) | Err(StoreError::NotFound) => Ok(StatusCode::NO_CONTENT),
        Err(e) => Err(e.into()),
    }
}

// -- Lockouts ------------------------------------------------------------------------------------

/// `GET /plugboard/v1/lockouts`: the caller's domain only.
pub async fn list_lockouts(State(state): State<AppState>, caller: Caller) -> Result<Response> {
    let now = time::now_micros();
    let lockouts = state
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
    Ok(json(StatusCode::OK, &LockoutList { lockouts }))
}

/// `DELETE /plugboard/v1/lockouts/users/{user_id}`.
pub async fn unlock_user(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<UnlockUserPath>,
) -> Result<StatusCode> {
    match state
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
