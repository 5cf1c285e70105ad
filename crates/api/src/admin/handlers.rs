//! Admin handlers: DBSS audit instances and GaussDB instances.

use super::dto::*;
use super::error::AdminError;
use crate::common::auth::Caller;
use crate::common::error::reply;
use crate::common::extract::{JsonBody, PathParams, QueryParams};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use plugboard_core::ids::{self, is_hex32};
use plugboard_core::time;
use plugboard_service::gaussdb::Registration;
use plugboard_store::dbss::AuditInstance;
use plugboard_store::gaussdb::{GaussDbInstance, InstanceFilter};
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
        .store
        .list_audit_instances(project(&caller), offset, limit)
        .await?;
    json(
        StatusCode::OK,
        &AuditInstanceList {
            instances: rows.into_iter().map(view).collect(),
            total,
        },
    )
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
    json(StatusCode::OK, &view(i))
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
