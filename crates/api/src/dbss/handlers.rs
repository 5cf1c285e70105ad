//! DBSS handlers. Every field is validated before anything is stored, and the message names
//! the field; instances and databases of other projects answer like missing ones.

use super::dto::*;
use super::error::DbssError;
use crate::common::auth::Caller;
use crate::common::error::json_response;
use crate::common::extract::{JsonBody, PathParams, QueryParams};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use plugboard_core::ids::{self, is_hex32};
use plugboard_core::time;
use plugboard_store::dbss::{AddDatabaseError, AuditDatabase, AuditInstance};
use plugboard_store::StoreError;
use serde::Deserialize;

type Result<T> = std::result::Result<T, DbssError>;

const CLASSIFICATIONS: &[&str] = &["ECS", "RDS"];
/// Database types DBSS audits.
pub const TYPES: &[&str] = &[
    "MYSQL",
    "ORACLE",
    "POSTGRESQL",
    "SQLSERVER",
    "DAMENG",
    "TAURUS",
    "DWS",
    "KINGBASE",
    "GAUSSDBOPENGAUSS",
    "GREENPLUM",
    "HIGHGO",
    "SHENTONG",
    "GBASE8A",
    "GBASE8S",
    "GBASEXDM",
    "MONGODB",
    "DDS",
];
const CHARSETS: &[&str] = &["UTF8", "GBK"];
const OSES: &[&str] = &["LINUX64", "WINDOWS64", "UNIX"];
const MAX_TEXT: usize = 255;

fn ok<T: serde::Serialize>(body: &T) -> Response {
    json_response(
        StatusCode::OK,
        &serde_json::to_value(body).unwrap_or_default(),
    )
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

fn one_of(field: &str, value: &str, allowed: &[&str]) -> Result<()> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(DbssError::Invalid(format!(
            "{field} must be one of {} (got `{value}`)",
            allowed.join(", ")
        )))
    }
}

fn text(field: &str, value: &str, required: bool) -> Result<()> {
    if required && value.trim().is_empty() {
        return Err(DbssError::Invalid(format!("{field} must not be empty")));
    }
    if value.chars().count() > MAX_TEXT {
        return Err(DbssError::Invalid(format!(
            "{field} must be at most {MAX_TEXT} characters"
        )));
    }
    Ok(())
}

/// A port on the wire: a string of digits holding 1–65535, written without leading zeros
/// (`"03306"` is refused rather than stored as a second spelling of `"3306"`, which would
/// slip past the duplicate rule).
pub fn parse_port(value: &str) -> Option<u16> {
    if value.is_empty()
        || value.len() > 5
        || value.starts_with('0')
        || !value.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    value.parse::<u16>().ok().filter(|p| *p > 0)
}

/// An IP address on the wire, in the one spelling plugboard stores and lists: IPv4-mapped
/// IPv6 (`::ffff:127.0.0.1`) becomes the IPv4 address, IPv6 is written as RFC 5952 says
/// (`0:0:0:0:0:0:0:1` → `::1`, lower case, zeros compressed). The duplicate rule compares
/// stored values, so every spelling of one address is the same address to it.
pub fn canonical_ip(value: &str) -> Option<String> {
    value
        .parse::<std::net::IpAddr>()
        .ok()
        .map(|ip| ip.to_canonical().to_string())
}

/// Check every field; returns the canonical ip to store.
fn validate(d: &DatabaseInput) -> Result<String> {
    one_of(
        "database.db_classification",
        &d.db_classification,
        CLASSIFICATIONS,
    )?;
    text("database.name", &d.name, true)?;
    one_of("database.type", &d.db_type, TYPES)?;
    text("database.version", &d.version, true)?;
    one_of("database.charset", &d.charset, CHARSETS)?;
    let Some(ip) = canonical_ip(&d.ip) else {
        return Err(DbssError::Invalid(format!(
            "database.ip must be an IPv4 or IPv6 address (got `{}`)",
            d.ip
        )));
    };
    if parse_port(&d.port).is_none() {
        return Err(DbssError::Invalid(format!(
            "database.port must be a string holding a port from 1 to 65535, without leading zeros (got `{}`)",
            d.port
        )));
    }
    one_of("database.os", &d.os, OSES)?;
    text(
        "database.instance_name",
        d.instance_name.as_deref().unwrap_or(""),
        false,
    )?;
    Ok(ip)
}

async fn instance(state: &AppState, caller: &Caller, path_instance: &str) -> Result<AuditInstance> {
    if !is_hex32(path_instance) {
        return Err(DbssError::InvalidId(format!(
            "instance_id `{path_instance}` is not an audit instance id"
        )));
    }
    let project = caller.project_id.as_deref().unwrap_or_default();
    match state.store.get_audit_instance(project, path_instance).await {
        Ok(i) => Ok(i),
        Err(StoreError::NotFound) => Err(DbssError::NotFound(format!(
            "The audit instance {path_instance} does not exist."
        ))),
        Err(e) => Err(e.into()),
    }
}

fn check_database_id(id: &str) -> Result<()> {
    let ok = id.len() == 20
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(DbssError::InvalidId(format!("`{id}` is not a database id")))
    }
}

fn not_found_database(id: &str) -> DbssError {
    DbssError::NotFound(format!("The database {id} does not exist."))
}

/// `POST /v1/{project_id}/{instance_id}/audit/databases` (AddAuditDatabase) and
/// `POST /v2/{project_id}/audit/{instance_id}/databases` (AddAuditDatabaseNew).
pub async fn add_audit_database(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(req): JsonBody<AddDatabaseRequest>,
) -> Result<Response> {
    let inst = instance(&state, &caller, &path.instance_id).await?;
    let d = req.database;
    let ip = validate(&d)?;
    let now = time::now_micros();
    let row = AuditDatabase {
        id: ids::dbss_database_id(),
        instance_id: inst.id.clone(),
        db_classification: d.db_classification,
        name: d.name,
        db_type: d.db_type,
        version: d.version,
        charset: d.charset,
        ip,
        port: d.port,
        os: d.os,
        instance_name: d.instance_name.unwrap_or_default(),
        status: "OFF".into(),
        audit_status: "SHUTOFF".into(),
        audit_reason: String::new(),
        probed_at: 0,
        created_at: now,
    };
    match state.store.add_audit_database(&inst.project_id, &row).await {
        Ok(()) => Ok(ok(&IdResponse { id: row.id })),
        Err(AddDatabaseError::LimitReached) => Err(DbssError::LimitReached),
        Err(AddDatabaseError::Duplicate) => Err(DbssError::Invalid(format!(
            "database: {}:{} `{}` is already audited by this instance",
            row.ip, row.port, row.name
        ))),
        Err(AddDatabaseError::InstanceNotFound) => Err(DbssError::NotFound(format!(
            "The audit instance {} does not exist.",
            inst.id
        ))),
        Err(AddDatabaseError::Store(e)) => Err(e.into()),
    }
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

fn number(field: &str, value: Option<&str>, default: i64, min: i64, max: i64) -> Result<i64> {
    let Some(v) = value else {
        return Ok(default);
    };
    v.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            DbssError::Invalid(format!(
                "{field} must be a number from {min} to {max} (got `{v}`)"
            ))
        })
}

/// `GET /v1/{project_id}/{instance_id}/dbss/audit/databases` (ListAuditDatabases) and
/// `GET /v2/{project_id}/audit/{instance_id}/databases` (ListAuditDatabasesNew).
pub async fn list_audit_databases(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<Response> {
    let inst = instance(&state, &caller, &path.instance_id).await?;
    let status = q.status.as_deref().filter(|s| !s.is_empty());
    if let Some(s) = status {
        one_of("status", s, &["ON", "OFF"])?;
    }
    let offset = number("offset", q.offset.as_deref(), 0, 0, i64::MAX / 2)?;
    let limit = number("limit", q.limit.as_deref(), 100, 1, 10_000)?;
    let (rows, total) = state
        .store
        .list_audit_databases(&inst, status, offset, limit)
        .await?;
    Ok(ok(&DatabaseList {
        databases: rows.into_iter().map(view).collect(),
        total,
    }))
}

async fn delete(state: &AppState, caller: &Caller, path: &DatabasePath) -> Result<()> {
    let inst = instance(state, caller, &path.instance_id).await?;
    check_database_id(&path.id)?;
    match state.store.delete_audit_database(&inst.id, &path.id).await {
        Ok(()) => Ok(()),
        Err(StoreError::NotFound) => Err(not_found_database(&path.id)),
        Err(e) => Err(e.into()),
    }
}

/// `DELETE /v2/{project_id}/{instance_id}/audit/databases/{db_id}` (DeleteAuditDatabase).
pub async fn delete_audit_database(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<DatabasePath>,
) -> Result<Response> {
    delete(&state, &caller, &path).await?;
    Ok(ok(&ResultResponse {
        result: "SUCCESS".into(),
    }))
}

/// `DELETE /v3/{project_id}/audit/{instance_id}/databases/{id}` (DeleteAuditDatabaseNew).
pub async fn delete_audit_database_new(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<DatabasePath>,
) -> Result<Response> {
    delete(&state, &caller, &path).await?;
    Ok(ok(&StatusResponse {
        status: "SUCCESS".into(),
    }))
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
    let inst = instance(&state, &caller, &path.instance_id).await?;
    one_of("status", &req.status, &["ON", "OFF"])?;
    check_database_id(&req.id)?;
    let on = req.status == "ON";
    match state
        .store
        .switch_audit_database(&inst.id, &req.id, on)
        .await
    {
        Ok(_) => {}
        Err(StoreError::NotFound) => return Err(not_found_database(&req.id)),
        Err(e) => return Err(e.into()),
    }
    if on {
        state.audit_wakeup.notify_one();
    }
    Ok(ok(&StatusResponse {
        status: "SUCCESS".into(),
    }))
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
    let offset = number("offset", q.offset.as_deref(), 0, 0, i64::MAX / 2)?;
    let limit = number("limit", q.limit.as_deref(), 100, 1, 10_000)?;
    let project = caller.project_id.as_deref().unwrap_or_default();
    let (rows, total) = state
        .store
        .list_audit_instances(project, offset, limit)
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
    Ok(ok(&ServerList { servers, total }))
}

#[cfg(test)]
mod tests {
    use super::{canonical_ip, parse_port};

    #[test]
    fn ips_are_stored_in_one_spelling() {
        for (sent, stored) in [
            ("127.0.0.1", "127.0.0.1"),
            ("::ffff:127.0.0.1", "127.0.0.1"),
            ("::FFFF:7f00:1", "127.0.0.1"),
            ("0:0:0:0:0:0:0:1", "::1"),
            ("::1", "::1"),
            (
                "2001:0DB8:0000:0000:0000:ff00:0042:8329",
                "2001:db8::ff00:42:8329",
            ),
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
            ("fe80::1", "fe80::1"),
        ] {
            assert_eq!(canonical_ip(sent).as_deref(), Some(stored), "{sent}");
        }
        for bad in [
            "",
            "localhost",
            "127.0.0.1:3306",
            "[::1]",
            "10.0.0",
            "fe80::1%eth0",
        ] {
            assert_eq!(canonical_ip(bad), None, "{bad}");
        }
    }

    #[test]
    fn ports_have_one_spelling() {
        assert_eq!(parse_port("3306"), Some(3306));
        assert_eq!(parse_port("1"), Some(1));
        assert_eq!(parse_port("65535"), Some(65535));
        for bad in [
            "", "0", "00", "03306", "00001", "65536", "+3306", " 3306", "3306 ", "-1", "3e3",
        ] {
            assert_eq!(parse_port(bad), None, "{bad:?}");
        }
    }
}
