//! DBSS audit handlers: ListAuditSqls and ShowSqlDetail, the risk-operation rules (list, show,
//! create), the SQL-injection rule list and the alarm list, old and new paths. Times on the
//! wire are `yyyy-MM-dd HH:mm:ss` UTC.

use super::dto_audit::*;
use super::error::DbssError;
use super::handlers::InstancePath;
use crate::common::auth::Caller;
use crate::common::error::reply;
use crate::common::extract::{JsonBody, PathParams, QueryParams};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use plugboard_core::time::{self, Micros};
use plugboard_service::dbss::alarms::ListAlarms;
use plugboard_service::dbss::audit_rules::{feature, RiskRuleFields, RuleObject};
use plugboard_service::dbss::sqls::{ListSqls, SqlView as Captured, TimeWindow};
use plugboard_store::dbss_audit::Alarm;
use serde::Deserialize;

type Result<T> = std::result::Result<T, DbssError>;

fn project(caller: &Caller) -> &str {
    caller.project_id.as_deref().unwrap_or_default()
}

/// A wire time.
pub fn wire_time(t: Micros) -> String {
    time::to_datetime(t).format("%Y-%m-%d %H:%M:%S").to_string()
}

fn window(t: Option<TimeWindowDto>) -> Option<TimeWindow> {
    t.map(|t| TimeWindow {
        time_range: t.time_range,
        start_time: t.start_time,
        end_time: t.end_time,
    })
}

/// Path of operations on one object (`id`, or the old paths' `risk_id`/`sql_id`).
#[derive(Debug, Deserialize)]
pub struct ObjectPath {
    pub project_id: String,
    pub instance_id: String,
    #[serde(alias = "risk_id", alias = "sql_id")]
    pub id: String,
}

fn objects(c: &Captured) -> Vec<OperatedObject> {
    serde_json::from_str::<Vec<serde_json::Value>>(&c.sql.objects)
        .unwrap_or_default()
        .iter()
        .map(|o| {
            let f = |k: &str| o[k].as_str().unwrap_or("").to_string();
            OperatedObject {
                column_name: String::new(),
                object_type: String::new(),
                schema_name: f("schema_name"),
                sql_type: f("sql_type"),
                sys_name: String::new(),
                table_name: f("table_name"),
            }
        })
        .collect()
}

/// `POST /v1/{project_id}/{instance_id}/audit/sqls` (ListAuditSqls) and
/// `POST /v2/{project_id}/audit/{instance_id}/sqls` (ListAuditSqlsNew).
pub async fn list_audit_sqls(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(req): JsonBody<ListSqlsRequest>,
) -> Result<Response> {
    let (rows, total) = state
        .services
        .dbss
        .list_sqls(
            project(&caller),
            &path.instance_id,
            ListSqls {
                time: window(req.time),
                risk_levels: req.risk_levels,
                client_ip: req.client_ip,
                client_name: req.client_name,
                db_ip: req.db_ip,
                db_user: req.db_user,
                query_type: req.query_type,
                rule_name: req.rule_name,
                sql_statement: req.sql_statement,
                sql_response: req.sql_response,
                page: req.page,
                size: req.size,
                time_order: req.time_order,
                db_id: None,
            },
        )
        .await?;
    let sqls: Vec<SqlItem> = rows
        .iter()
        .map(|c| SqlItem {
            sql: SqlView {
                id: c.sql.id.clone(),
                sql_statement: c.sql.sql_statement.clone(),
                client_ip: c.sql.client_ip.clone(),
                client_name: c.sql.client_name.clone(),
                db_ip: c
                    .database
                    .as_ref()
                    .map(|d| d.ip.clone())
                    .unwrap_or_default(),
                db_user: c.sql.db_user.clone(),
                query_type: c.sql.query_type.clone(),
                operated_obj_info: objects(c),
                rule_name: c.sql.rule_name.clone(),
                risk_level: c.sql.risk_level.clone(),
                start_time: wire_time(c.sql.start_time),
                sql_response: c.sql.sql_response.clone(),
                db_instance: c
                    .database
                    .as_ref()
                    .map(|d| d.name.clone())
                    .unwrap_or_default(),
            },
        })
        .collect();
    reply(
        StatusCode::OK,
        &SqlList {
            total,
            count: sqls.len() as i64,
            sqls,
        },
    )
}

/// `GET /v2/{project_id}/audit/{instance_id}/sqls/{id}` (ShowSqlDetail).
pub async fn show_sql_detail(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<ObjectPath>,
) -> Result<Response> {
    let c = state
        .services
        .dbss
        .show_sql(project(&caller), &path.instance_id, &path.id)
        .await?;
    let s = &c.sql;
    let db = c.database.as_ref();
    let db_port: i64 = db.and_then(|d| d.port.parse().ok()).unwrap_or(0);
    let fields: Vec<String> = objects(&c)
        .into_iter()
        .map(|o| o.column_name)
        .filter(|c| !c.is_empty())
        .collect();
    reply(
        StatusCode::OK,
        &SqlDetailResponse {
            sql: SqlDetail {
                id: s.id.clone(),
                audit_result: "AUDITED".into(),
                client_ip: s.client_ip.clone(),
                client_port: s.client_port,
                client_port_str: s.client_port.to_string(),
                client_mac: String::new(),
                db_mac: String::new(),
                client_name: s.client_name.clone(),
                client_os_name: String::new(),
                client_os_user: String::new(),
                client_tool: s.client_name.clone(),
                db_ip: db.map(|d| d.ip.clone()).unwrap_or_default(),
                db_port,
                db_port_str: db.map(|d| d.port.clone()).unwrap_or_default(),
                db_instance: db.map(|d| d.name.clone()).unwrap_or_default(),
                db_service_name: s.db_service_name.clone(),
                db_session_id: s.db_session_id.clone(),
                db_type: db.map(|d| d.db_type.clone()).unwrap_or_default(),
                db_user: s.db_user.clone(),
                start_time: wire_time(s.start_time),
                end_time: wire_time(
                    s.start_time
                        .saturating_add(s.execute_time.saturating_mul(1000)),
                ),
                execute_time: s.execute_time,
                field: fields.join(","),
                level: s.risk_level.clone(),
                lines: s.lines.clone(),
                log_result: s.log_result.clone(),
                object: s.object_name.clone(),
                object_type: s.object_type.clone(),
                query_id: s.query_id.clone(),
                query_type: s.query_type.clone(),
                response_length: 0,
                response_status: s.response_status.clone(),
                rule_id: s.rule_id.clone(),
                rule_name: s.rule_name.clone(),
                rule_type: s.rule_type.clone(),
                schema: s.schema_name.clone(),
                scope_id: s.scope_id.clone(),
                scope_name: s.scope_name.clone(),
                sql_response: s.sql_response.clone(),
                sql_result: s.sql_result.clone(),
                sql_statement: s.sql_statement.clone(),
                tcp_session_id: s.db_session_id.clone(),
            },
        },
    )
}

async fn risk_list(
    state: &AppState,
    caller: &Caller,
    path: &InstancePath,
    q: &RiskRuleQuery,
    paged: bool,
) -> Result<Response> {
    let window = if paged {
        let offset = super::handlers::number("offset", q.offset.as_deref(), 0, 0, i64::MAX / 2)
            .map_err(DbssError::invalid)?;
        let limit = super::handlers::number("limit", q.limit.as_deref(), 100, 1, 1000)
            .map_err(DbssError::invalid)?;
        Some((offset, limit))
    } else {
        None
    };
    let list = state
        .services
        .dbss
        .list_risk_rules(
            project(caller),
            &path.instance_id,
            q.name.as_deref(),
            q.risk_levels.as_deref(),
            window,
        )
        .await?;
    reply(
        StatusCode::OK,
        &RiskRuleList {
            rules: list
                .rules
                .iter()
                .map(|r| RiskRuleView {
                    id: r.id.clone(),
                    name: r.name.clone(),
                    kind: r.kind.clone(),
                    feature: feature(r),
                    status: r.status.clone(),
                    rank: r.rank,
                    risk_level: r.risk_level.clone(),
                    rule_type: r.rule_type.clone(),
                })
                .collect(),
            total: list.total,
            customize_total: list.customize_total,
        },
    )
}

/// `GET /v1/{project_id}/{instance_id}/dbss/audit/rule/risk` (ListAuditRuleRisks): no paging.
pub async fn list_audit_rule_risks(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    QueryParams(q): QueryParams<RiskRuleQuery>,
) -> Result<Response> {
    risk_list(&state, &caller, &path, &q, false).await
}

/// `GET /v1/{project_id}/audit/{instance_id}/rule/risk` (ListAuditRuleRisksNew).
pub async fn list_audit_rule_risks_new(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    QueryParams(q): QueryParams<RiskRuleQuery>,
) -> Result<Response> {
    risk_list(&state, &caller, &path, &q, true).await
}

/// `GET /v1/{project_id}/{instance_id}/dbss/audit/rule/risk/{risk_id}` (ShowAuditRuleRisk) and
/// `GET /v2/{project_id}/audit/{instance_id}/rule/risk/{id}` (ShowAuditRuleRiskNew).
pub async fn show_audit_rule_risk(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<ObjectPath>,
) -> Result<Response> {
    let r = state
        .services
        .dbss
        .show_risk_rule(project(&caller), &path.instance_id, &path.id)
        .await?;
    let schemas = serde_json::from_str::<Vec<RuleObject>>(&r.schemas)
        .unwrap_or_default()
        .into_iter()
        .map(|o| SchemaBean {
            schema: Some(o.schema),
            table: Some(o.table),
            column: Some(o.column),
        })
        .collect();
    reply(
        StatusCode::OK,
        &RiskRuleDetail {
            rule_id: r.id,
            rule_name: r.name,
            status: r.status,
            action: if r.action.is_empty() {
                "ALL".into()
            } else {
                r.action
            },
            schemas,
            rank: r.rank,
            ignore_case: r.ignore_case,
            risk_level: r.risk_level,
            db_ids: r.db_ids,
            execution_symbol: r.execution_symbol,
            execution_time: r.execution_time,
            affect_symbol: r.affect_symbol,
            affect_rows: r.affect_rows,
            client_ips: r.client_ips,
        },
    )
}

/// `POST /v1/{project_id}/audit/{instance_id}/rule/risk` (CreateAuditRiskRule).
pub async fn create_audit_risk_rule(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(req): JsonBody<RiskRuleRequest>,
) -> Result<Response> {
    state
        .services
        .dbss
        .create_risk_rule(
            project(&caller),
            &path.instance_id,
            RiskRuleFields {
                rule_name: req.rule_name,
                risk_level: req.risk_level,
                status: req.status,
                action: req.action,
                affect_symbol: req.affect_symbol,
                affect_rows: req.affect_rows,
                execution_symbol: req.execution_symbol,
                execution_time: req.execution_time,
                client_ips: req.client_ips,
                exception_ips: req.exception_ips,
                db_ids: req.db_ids,
                schemas: req.schemas.map(|s| {
                    s.into_iter()
                        .map(|o| RuleObject {
                            schema: o.schema.unwrap_or_default(),
                            table: o.table.unwrap_or_default(),
                            column: o.column.unwrap_or_default(),
                        })
                        .collect()
                }),
                ignore_case: req.ignore_case,
            },
        )
        .await?;
    reply(
        StatusCode::OK,
        &super::dto::StatusResponse {
            status: "SUCCESS".into(),
        },
    )
}

/// `POST /v1/{project_id}/{instance_id}/dbss/audit/rule/sql-injections`
/// (ListSqlInjectionRules) and `POST /v1/{project_id}/audit/{instance_id}/rule/sqls` (New).
pub async fn list_sql_injection_rules(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(req): JsonBody<SqlRuleListRequest>,
) -> Result<Response> {
    let page = match (req.page, req.size) {
        (None, None) => None,
        (p, s) => {
            let (p, s) = (p.unwrap_or(1), s.unwrap_or(10));
            if p < 1 {
                return Err(DbssError::invalid(format!(
                    "page must be 1 or more (got {p})"
                )));
            }
            if !(1..=100).contains(&s) {
                return Err(DbssError::invalid(format!(
                    "size must be from 1 to 100 (got {s})"
                )));
            }
            Some((p, s))
        }
    };
    let (rules, total) = state
        .services
        .dbss
        .list_sql_rules(
            project(&caller),
            &path.instance_id,
            req.risk_levels.as_deref(),
            page,
        )
        .await?;
    reply(
        StatusCode::OK,
        &SqlRuleList {
            rules: rules
                .into_iter()
                .map(|r| SqlRuleView {
                    id: r.id,
                    name: r.name,
                    status: r.status,
                    risk_level: r.risk_level,
                    rule_type: r.rule_type,
                    rank: r.rank,
                    feature: r.feature,
                    regex: r.regex,
                })
                .collect(),
            total,
        },
    )
}

async fn alarms(
    state: &AppState,
    caller: &Caller,
    path: &InstancePath,
    req: AlarmListRequest,
) -> Result<(Vec<Alarm>, i64)> {
    Ok(state
        .services
        .dbss
        .list_alarms(
            project(caller),
            &path.instance_id,
            ListAlarms {
                time: window(req.time),
                risk: req.risk,
                alarm_type: req.alarm_type,
                status: req.status,
                page: req.page,
                size: req.size,
            },
        )
        .await?)
}

fn fix_time(a: &Alarm) -> String {
    if a.life == "OFF" && a.fix_time > 0 {
        wire_time(a.fix_time)
    } else {
        String::new()
    }
}

fn description(a: &Alarm) -> String {
    let n = a.match_count;
    match a.alarm_type.as_str() {
        "RISK_AGENT" => {
            return format!(
                "agent {} ({}) is on but sent no heartbeat",
                a.rule_id, a.db_label
            )
        }
        "AUDIT_QPS_OVERFLOW" => {
            return format!(
                "statements arrive above the instance's budget of {}: ingest is delayed ({n} throttled batch{})",
                a.rule_name,
                if n == 1 { "" } else { "es" }
            )
        }
        _ => {}
    }
    format!(
        "{} matched {n} statement{} on {}",
        a.rule_name,
        if n == 1 { "" } else { "s" },
        a.db_label
    )
}

/// `POST /v1/{project_id}/{instance_id}/audit/alarm-log` (ListAuditAlarmLog): camelCase
/// `alarmLife`, `sendEmail`.
pub async fn list_audit_alarm_log(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(req): JsonBody<AlarmListRequest>,
) -> Result<Response> {
    let (rows, total_num) = alarms(&state, &caller, &path, req).await?;
    reply(
        StatusCode::OK,
        &AlarmListOld {
            total_num,
            alarm_log: rows
                .iter()
                .map(|a| AlarmViewOld {
                    id: a.id.clone(),
                    alarm_life: a.life.clone(),
                    send_email: false,
                    alarm_time: wire_time(a.alarm_time),
                    alarm_type: a.alarm_type.clone(),
                    alarm_fix_time: fix_time(a),
                    alarm_status: a.status.clone(),
                    alarm_risk: a.risk.clone(),
                    alarm_description: description(a),
                })
                .collect(),
        },
    )
}

/// `POST /v2/{project_id}/audit/{instance_id}/alarm-log` (ListAuditAlarmLogNew).
pub async fn list_audit_alarm_log_new(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(req): JsonBody<AlarmListRequest>,
) -> Result<Response> {
    let (rows, total_num) = alarms(&state, &caller, &path, req).await?;
    reply(
        StatusCode::OK,
        &AlarmList {
            total_num,
            alarm_log: rows
                .iter()
                .map(|a| AlarmView {
                    id: a.id.clone(),
                    alarm_life: a.life.clone(),
                    send_email: false,
                    alarm_time: wire_time(a.alarm_time),
                    alarm_type: a.alarm_type.clone(),
                    alarm_fix_time: fix_time(a),
                    alarm_status: a.status.clone(),
                    alarm_risk: a.risk.clone(),
                    alarm_description: description(a),
                })
                .collect(),
        },
    )
}
