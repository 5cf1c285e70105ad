//! DBSS handlers changing rules and alarms: risk rules edited, deleted, switched, ranked;
//! SQL-injection rules created, edited, deleted, switched, ranked; alarms marked and deleted;
//! the alarm config read and written; scope rules listed, created, updated, deleted, switched.

use super::dto::StatusResponse;
use super::dto_audit::{ResultWord, RiskRuleRequest};
use super::dto_rules::*;
use super::error::DbssError;
use super::handlers::InstancePath;
use super::handlers_audit::ObjectPath;
use crate::common::auth::Caller;
use crate::common::error::reply;
use crate::common::extract::{JsonBody, PathParams, QueryParams};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use plugboard_service::dbss::alarms::AlarmConfigFields;
use plugboard_service::dbss::audit_rules::{RiskRuleFields, RuleObject};
use plugboard_service::dbss::rule_changes::SqlRuleFields;
use plugboard_service::dbss::scopes::ScopeFields;

type Result<T> = std::result::Result<T, DbssError>;

fn project(caller: &Caller) -> &str {
    caller.project_id.as_deref().unwrap_or_default()
}

fn status_success() -> Result<Response> {
    reply(
        StatusCode::OK,
        &StatusResponse {
            status: "SUCCESS".into(),
        },
    )
}

fn request_success() -> Result<Response> {
    reply(
        StatusCode::OK,
        &ResultWord {
            result: "request_success".into(),
        },
    )
}

/// `PUT /v2/{project_id}/audit/{instance_id}/rule/risk/{id}` (SetRiskOperationPolicy).
pub async fn set_risk_operation_policy(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<ObjectPath>,
    JsonBody(req): JsonBody<RiskRuleRequest>,
) -> Result<Response> {
    let fields = RiskRuleFields {
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
    };
    state
        .services
        .dbss
        .update_risk_rule(project(&caller), &path.instance_id, &path.id, fields)
        .await?;
    status_success()
}

/// `DELETE /v1/{project_id}/audit/{instance_id}/rule/risk/{id}` (DeleteAuditRuleRisk).
pub async fn delete_audit_rule_risk(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<ObjectPath>,
) -> Result<Response> {
    state
        .services
        .dbss
        .delete_risk_rule(project(&caller), &path.instance_id, &path.id)
        .await?;
    status_success()
}

fn comma_ids(ids: &str) -> Vec<String> {
    ids.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// `POST /v1/{project_id}/{instance_id}/audit/rule/risk/switch` (SwitchRiskRule) and
/// `POST /v2/{project_id}/audit/{instance_id}/rule/risk/switch` (SwitchRiskRuleNew).
pub async fn switch_risk_rule(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(req): JsonBody<RiskSwitchRequest>,
) -> Result<Response> {
    state
        .services
        .dbss
        .switch_risk_rules(
            project(&caller),
            &path.instance_id,
            &comma_ids(&req.ids),
            &req.status,
        )
        .await?;
    status_success()
}

/// `POST /v2/{project_id}/audit/{instance_id}/rule/risk/rank` (SetRiskRuleRank).
pub async fn set_risk_rule_rank(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(req): JsonBody<RiskRankRequest>,
) -> Result<Response> {
    state
        .services
        .dbss
        .rank_risk_rule(project(&caller), &path.instance_id, &req.id, req.new_rank)
        .await?;
    reply(
        StatusCode::OK,
        &RankResult {
            result: "success".into(),
        },
    )
}

fn sql_fields(req: SqlRuleRequest) -> SqlRuleFields {
    SqlRuleFields {
        rule_name: req.rule_name,
        risk_level: req.risk_level,
        sql_regex: req.sql_regex,
        status: req.status,
    }
}

/// `POST /v1/{project_id}/audit/{instance_id}/rule/sql` (CreateAuditSqlRule).
pub async fn create_audit_sql_rule(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(req): JsonBody<SqlRuleRequest>,
) -> Result<Response> {
    state
        .services
        .dbss
        .create_sql_rule(project(&caller), &path.instance_id, sql_fields(req))
        .await?;
    status_success()
}

/// `POST /v1/{project_id}/audit/{instance_id}/rule/sql/{id}` (UpdateAuditSqlRule).
pub async fn update_audit_sql_rule(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<ObjectPath>,
    JsonBody(req): JsonBody<SqlRuleRequest>,
) -> Result<Response> {
    state
        .services
        .dbss
        .update_sql_rule(
            project(&caller),
            &path.instance_id,
            &path.id,
            sql_fields(req),
        )
        .await?;
    status_success()
}

/// `DELETE /v1/{project_id}/audit/{instance_id}/rule/sql/{id}` (DeleteAuditRuleSql).
pub async fn delete_audit_rule_sql(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<ObjectPath>,
) -> Result<Response> {
    state
        .services
        .dbss
        .delete_sql_rule(project(&caller), &path.instance_id, &path.id)
        .await?;
    status_success()
}

/// `POST /v2/{project_id}/audit/{instance_id}/rule/sql/switch` (SetAuditSqlRuleSwitch).
pub async fn set_audit_sql_rule_switch(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(req): JsonBody<SqlRuleSwitchRequest>,
) -> Result<Response> {
    state
        .services
        .dbss
        .switch_sql_rule(project(&caller), &path.instance_id, &req.id, &req.status)
        .await?;
    status_success()
}

/// `POST /v2/{project_id}/audit/{instance_id}/rule/sql/rank` (SetSqlRuleRank).
pub async fn set_sql_rule_rank(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(req): JsonBody<SqlRuleRankRequest>,
) -> Result<Response> {
    state
        .services
        .dbss
        .rank_sql_rules(project(&caller), &path.instance_id, &req.ids)
        .await?;
    status_success()
}

/// `PUT /v1/{project_id}/audit/{instance_id}/alarm-log/{id}` (SetAuditAlarmLogStatus): no body.
pub async fn set_audit_alarm_log_status(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<ObjectPath>,
) -> Result<Response> {
    state
        .services
        .dbss
        .mark_alarms(project(&caller), &path.instance_id, &[path.id])
        .await?;
    request_success()
}

/// `POST /v1/{project_id}/audit/{instance_id}/alarm-log/mark` (BatchSetAuditAlarmLogStatus).
pub async fn batch_set_audit_alarm_log_status(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(req): JsonBody<AlarmMarkRequest>,
) -> Result<Response> {
    state
        .services
        .dbss
        .mark_alarms(project(&caller), &path.instance_id, &req.ids)
        .await?;
    request_success()
}

/// `DELETE /v1/{project_id}/audit/{instance_id}/alarm-log/{id}` (DeleteAuditAlarmLog).
pub async fn delete_audit_alarm_log(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<ObjectPath>,
) -> Result<Response> {
    state
        .services
        .dbss
        .delete_alarm(project(&caller), &path.instance_id, &path.id)
        .await?;
    request_success()
}

/// `GET /v1/{project_id}/{instance_id}/audit/alarm/topic` and `GET /v2/{project_id}/audit/{instance_id}/alarm/topic`.
pub async fn list_alarm_topic_config_info(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
) -> Result<Response> {
    let c = state
        .services
        .dbss
        .alarm_config(project(&caller), &path.instance_id)
        .await?;
    reply(
        StatusCode::OK,
        &AlarmConfigView {
            alarm_cpu: c.alarm_cpu.to_string(),
            alarm_disk: c.alarm_disk.to_string(),
            alarm_memory: c.alarm_memory.to_string(),
            alarm_num: c.alarm_num.to_string(),
            alarm_risk: c.alarm_risk,
            alarm_switch: c.alarm_switch,
            alarm_topic_urn: c.alarm_topic_urn,
            smn_effective: false,
        },
    )
}

/// `POST /v1/{project_id}/{instance_id}/audit/alarm/topic` and `POST /v2/{project_id}/audit/{instance_id}/alarm/topic`.
pub async fn set_alarm_topic_config_info(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(req): JsonBody<AlarmConfigRequest>,
) -> Result<Response> {
    state
        .services
        .dbss
        .set_alarm_config(
            project(&caller),
            &path.instance_id,
            AlarmConfigFields {
                alarm_cpu: req.alarm_cpu,
                alarm_disk: req.alarm_disk,
                alarm_memory: req.alarm_memory,
                alarm_num: req.alarm_num,
                alarm_risk: req.alarm_risk,
                alarm_switch: req.alarm_switch,
                alarm_topic_urn: req.alarm_topic_urn,
            },
        )
        .await?;
    reply(
        StatusCode::OK,
        &StatusResponse {
            status: "success".into(),
        },
    )
}

async fn scope_list(
    state: &AppState,
    caller: &Caller,
    path: &InstancePath,
    q: &ScopeQuery,
    max: i64,
) -> Result<Response> {
    let offset = super::handlers::number("offset", q.offset.as_deref(), 0, 0, i64::MAX / 2)
        .map_err(DbssError::invalid)?;
    let limit = super::handlers::number("limit", q.limit.as_deref(), 100, 1, max)
        .map_err(DbssError::invalid)?;
    let (scopes, total) = state
        .services
        .dbss
        .list_scopes(project(caller), &path.instance_id, offset, limit)
        .await?;
    reply(
        StatusCode::OK,
        &ScopeList {
            scopes: scopes
                .into_iter()
                .map(|s| ScopeView {
                    id: s.id,
                    name: s.name,
                    action: s.action,
                    status: s.status,
                    exception_ips: s.exception_ips,
                    source_ips: s.source_ips,
                    source_ports: s.source_ports,
                    db_ids: s.db_ids,
                    db_names: s.db_names,
                    db_users: s.db_users,
                    all_audit: s.all_audit,
                })
                .collect(),
            total,
        },
    )
}

/// `GET /v1/{project_id}/{instance_id}/dbss/audit/rule/scopes` (ListAuditRuleScopes, limit ≤ 10000).
pub async fn list_audit_rule_scopes(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    QueryParams(q): QueryParams<ScopeQuery>,
) -> Result<Response> {
    scope_list(&state, &caller, &path, &q, 10_000).await
}

/// `GET /v1/{project_id}/audit/{instance_id}/rule/scopes` (ListAuditRuleScopesNew, limit ≤ 1000).
pub async fn list_audit_rule_scopes_new(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    QueryParams(q): QueryParams<ScopeQuery>,
) -> Result<Response> {
    scope_list(&state, &caller, &path, &q, 1000).await
}

fn scope_fields(r: ScopeRequest) -> ScopeFields {
    ScopeFields {
        rule_name: r.rule_name,
        action: r.action,
        db_ids: r.db_ids,
        db_names: r.db_names,
        db_users: r.db_users,
        exception_ips: r.exception_ips,
        source_ips: r.source_ips,
        source_ports: r.source_ports,
    }
}

/// `POST /v1/{project_id}/audit/{instance_id}/rule/scopes` (CreateAuditScopeRule).
pub async fn create_audit_scope_rule(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(req): JsonBody<ScopeRequest>,
) -> Result<Response> {
    state
        .services
        .dbss
        .create_scope(project(&caller), &path.instance_id, scope_fields(req))
        .await?;
    status_success()
}

/// `POST /v3/{project_id}/audit/{instance_id}/rule/scopes/{id}` (UpdateAuditScopeRule).
pub async fn update_audit_scope_rule(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<ObjectPath>,
    JsonBody(req): JsonBody<ScopeRequest>,
) -> Result<Response> {
    state
        .services
        .dbss
        .update_scope(
            project(&caller),
            &path.instance_id,
            &path.id,
            scope_fields(req),
        )
        .await?;
    status_success()
}

/// `DELETE /v1/{project_id}/audit/{instance_id}/rule/scopes/{id}` (DeleteAuditScope).
pub async fn delete_audit_scope(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<ObjectPath>,
) -> Result<Response> {
    state
        .services
        .dbss
        .delete_scopes(project(&caller), &path.instance_id, &[path.id])
        .await?;
    status_success()
}

/// `POST /v1/{project_id}/audit/{instance_id}/rule/scopes/batch-delete` (BatchDeleteAuditScope).
pub async fn batch_delete_audit_scope(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(req): JsonBody<ScopeIdsRequest>,
) -> Result<Response> {
    state
        .services
        .dbss
        .delete_scopes(project(&caller), &path.instance_id, &req.ids)
        .await?;
    status_success()
}

/// `POST /v2/{project_id}/audit/{instance_id}/rule/scopes/switch` (SetAuditScopeRuleSwitch).
pub async fn set_audit_scope_rule_switch(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(req): JsonBody<ScopeSwitchRequest>,
) -> Result<Response> {
    state
        .services
        .dbss
        .switch_scopes(project(&caller), &path.instance_id, &req.ids, &req.status)
        .await?;
    status_success()
}
