//! DBSS audit statistics handlers: the six trend operations, the session breakdowns, the
//! trend history, ListAuditSummaryInfos and ShowAuditStatistics (docs/dbss-audit.md →
//! Statistics). Each is one service call and a view.

use super::dto_audit::TimeWindowDto;
use super::dto_stats::*;
use super::error::DbssError;
use super::handlers::InstancePath;
use super::handlers_audit::wire_time;
use crate::common::auth::Caller;
use crate::common::error::reply;
use crate::common::extract::{JsonBody, PathParams, QueryParams};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use plugboard_service::dbss::sqls::TimeWindow;
use plugboard_service::dbss::statistics::{
    SessionRequest as Sessions, Trend, TrendKind, TrendRequest as Trends,
};
use plugboard_service::dbss::summary::InstanceSummary;
use plugboard_store::dbss::AuditDatabase;

type Result<T> = std::result::Result<T, DbssError>;

fn project(caller: &Caller) -> &str {
    caller.project_id.as_deref().unwrap_or_default()
}

fn window(t: Option<TimeWindowDto>) -> Option<TimeWindow> {
    t.map(|t| TimeWindow {
        time_range: t.time_range,
        start_time: t.start_time,
        end_time: t.end_time,
    })
}

async fn trend(
    state: &AppState,
    caller: &Caller,
    path: &InstancePath,
    kind: TrendKind,
    req: TrendRequest,
) -> Result<Trend> {
    Ok(state
        .services
        .dbss
        .trend(
            project(caller),
            &path.instance_id,
            kind,
            Trends {
                db_id: req.db_id,
                regenerate: req.regenerate,
                time: window(req.time),
            },
        )
        .await?)
}

/// Every trend is computed on the spot.
const FINISHED: &str = "FINISHED";

/// `POST /v1/{project_id}/audit/{instance_id}/statistics/trend/sql-type` (CountSqlStatistics).
pub async fn count_sql_statistics(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(req): JsonBody<TrendRequest>,
) -> Result<Response> {
    let t = trend(&state, &caller, &path, TrendKind::SqlType, req).await?;
    let body = SqlStatisticsResponse {
        status: FINISHED.into(),
        generate_time: wire_time(t.generate_time),
        sql_statistics: t
            .points
            .iter()
            .map(|p| SqlStatisticsBean {
                period: wire_time(p.period),
                select_num: p.counts.select_num,
                insert_num: p.counts.insert_num,
                update_num: p.counts.update_num,
                delete_num: p.counts.delete_num,
                other_num: p.counts.other_num,
            })
            .collect(),
    };
    reply(StatusCode::OK, &body)
}

/// `POST …/statistics/trend/sql-count` (CountSqlTrendStatistics).
pub async fn count_sql_trend_statistics(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(req): JsonBody<TrendRequest>,
) -> Result<Response> {
    let t = trend(&state, &caller, &path, TrendKind::SqlCount, req).await?;
    let body = CountStatisticsResponse {
        status: FINISHED.into(),
        generate_time: wire_time(t.generate_time),
        count_statistics: t
            .points
            .iter()
            .map(|p| CountStatisticsBean {
                period: wire_time(p.period),
                sql_num: p.counts.sql_num,
            })
            .collect(),
    };
    reply(StatusCode::OK, &body)
}

/// `POST …/statistics/trend/risk-level` (CountRiskTrendStatistics).
pub async fn count_risk_trend_statistics(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(req): JsonBody<TrendRequest>,
) -> Result<Response> {
    let t = trend(&state, &caller, &path, TrendKind::RiskLevel, req).await?;
    let body = RiskStatisticsResponse {
        status: FINISHED.into(),
        generate_time: wire_time(t.generate_time),
        risk_statistics: t
            .points
            .iter()
            .map(|p| RiskStatisticsBean {
                period: wire_time(p.period),
                high_risk_num: p.counts.high_num,
                middle_risk_num: p.counts.medium_num,
                low_risk_num: p.counts.low_num,
                no_risk_num: p.counts.no_risk_num,
            })
            .collect(),
    };
    reply(StatusCode::OK, &body)
}

/// `POST …/statistics/trend/session` (CountSessionStatistics).
pub async fn count_session_statistics(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(req): JsonBody<TrendRequest>,
) -> Result<Response> {
    let t = trend(&state, &caller, &path, TrendKind::Session, req).await?;
    let body = SessionStatisticsResponse {
        status: FINISHED.into(),
        generate_time: wire_time(t.generate_time),
        session_statistics: t
            .points
            .iter()
            .map(|p| SessionStatisticsBean {
                period: wire_time(p.period),
                new_session_num: p.counts.new_session_num,
                active_session_num: p.active_sessions,
                fail_session_num: p.counts.fail_session_num,
            })
            .collect(),
    };
    reply(StatusCode::OK, &body)
}

/// `POST …/statistics/trend/sql-injection` (CountInjectionStatistics).
pub async fn count_injection_statistics(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(req): JsonBody<TrendRequest>,
) -> Result<Response> {
    let t = trend(&state, &caller, &path, TrendKind::Injection, req).await?;
    let body = InjectionStatisticsResponse {
        status: FINISHED.into(),
        generate_time: wire_time(t.generate_time),
        injection_statistics: t
            .points
            .iter()
            .map(|p| InjectionStatisticsBean {
                period: wire_time(p.period),
                injection_num: p.counts.injection_num,
            })
            .collect(),
    };
    reply(StatusCode::OK, &body)
}

/// `POST …/statistics/trend/risk-operation` (CountOperationStatistics).
pub async fn count_operation_statistics(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(req): JsonBody<TrendRequest>,
) -> Result<Response> {
    let t = trend(&state, &caller, &path, TrendKind::Operation, req).await?;
    let body = OperationStatisticsResponse {
        status: FINISHED.into(),
        generate_time: wire_time(t.generate_time),
        operation_statistics: t
            .points
            .iter()
            .map(|p| OperationStatisticsBean {
                period: wire_time(p.period),
                risk_operation_num: p.counts.risk_operation_num,
            })
            .collect(),
    };
    reply(StatusCode::OK, &body)
}

fn db_ip(d: &Option<AuditDatabase>) -> String {
    d.as_ref().map(|d| d.ip.clone()).unwrap_or_default()
}

fn db_name(d: &Option<AuditDatabase>) -> String {
    d.as_ref().map(|d| d.name.clone()).unwrap_or_default()
}

/// `POST /v1/{project_id}/audit/{instance_id}/statistics/session/db-account`
/// (CountDbAccountSession): a bare array.
pub async fn count_db_account_session(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(req): JsonBody<SessionRequest>,
) -> Result<Response> {
    let rows = state
        .services
        .dbss
        .session_breakdown(
            project(&caller),
            &path.instance_id,
            Sessions {
                db_id: req.db_id,
                time: window(req.time),
            },
            true,
        )
        .await?;
    let body: Vec<ReportAccountSession> = rows
        .into_iter()
        .map(|r| ReportAccountSession {
            db_ip: db_ip(&r.database),
            db_name: db_name(&r.database),
            db_id: r.db_id,
            db_user: r.key,
            session_num: r.sessions,
        })
        .collect();
    reply(StatusCode::OK, &body)
}

/// `POST /v1/{project_id}/audit/{instance_id}/statistics/session/db-client`
/// (CountDbClientSession): a bare array, one item per database and client address (in
/// `db_ip`).
pub async fn count_db_client_session(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(req): JsonBody<SessionRequest>,
) -> Result<Response> {
    let rows = state
        .services
        .dbss
        .session_breakdown(
            project(&caller),
            &path.instance_id,
            Sessions {
                db_id: req.db_id,
                time: window(req.time),
            },
            false,
        )
        .await?;
    let body: Vec<ReportClientSession> = rows
        .into_iter()
        .map(|r| ReportClientSession {
            db_name: db_name(&r.database),
            db_id: r.db_id,
            db_ip: r.key,
            session_num: r.sessions,
        })
        .collect();
    reply(StatusCode::OK, &body)
}

/// `GET /v2/{project_id}/audit/{instance_id}/statistics/trend/history`
/// (ListAuditTrendHistory): a bare array.
pub async fn list_audit_trend_history(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
) -> Result<Response> {
    let runs = state
        .services
        .dbss
        .trend_history(project(&caller), &path.instance_id)
        .await?;
    let body: Vec<TrendStatus> = runs
        .into_iter()
        .map(|r| TrendStatus {
            db_id: r.db_id,
            db_name: r.db_name,
            generate_time: wire_time(r.generate_time),
            statistics_type: r.statistics_type,
        })
        .collect();
    reply(StatusCode::OK, &body)
}

/// Path of the project-wide operations.
#[derive(Debug, serde::Deserialize)]
pub struct ProjectPath {
    pub project_id: String,
}

/// `GET /v2/{project_id}/audit/summary/info` (ListAuditSummaryInfos).
pub async fn list_audit_summary_infos(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(_path): PathParams<ProjectPath>,
    QueryParams(q): QueryParams<SummaryQuery>,
) -> Result<Response> {
    let project_id = project(&caller).to_string();
    let s = state
        .services
        .dbss
        .audit_summary(&project_id, q.offset.as_deref(), q.limit.as_deref())
        .await?;
    let update_time = s.update_time / 1000;
    // The service checked `offset`; `id` is the position in the whole list, from 1.
    let first = q
        .offset
        .as_deref()
        .and_then(|o| o.trim().parse::<i64>().ok())
        .unwrap_or(0);
    let item = |i: usize, x: &InstanceSummary| AuditSummaryData {
        id: first + i as i64 + 1,
        status: "1".into(),
        project_id: project_id.clone(),
        instance_id: x.number,
        instance_name: x
            .instance
            .as_ref()
            .map(|i| i.name.clone())
            .unwrap_or_default(),
        audit_duration: x.audit_duration,
        total_sql: x.total_sql,
        total_risk: x.total_risk,
        today_sql: x.today_sql,
        today_risk: x.today_risk,
        today_session: x.today_session,
        update_time,
        reserve1: String::new(),
        reserve2: String::new(),
    };
    let data_list = s.page.iter().enumerate().map(|(i, x)| item(i, x)).collect();
    let body = AuditSummaryResponse {
        project_id: project_id.clone(),
        audit_duration: s.totals.audit_duration,
        total_sql: s.totals.total_sql,
        total_risk: s.totals.total_risk,
        today_sql: s.totals.today_sql,
        today_risk: s.totals.today_risk,
        today_session: s.totals.today_session,
        update_time,
        data_list,
        total: s.total,
    };
    reply(StatusCode::OK, &body)
}

/// `GET /v1/{project_id}/audit/summary/risk/statistics` (ShowAuditStatistics).
pub async fn show_audit_statistics(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(_path): PathParams<ProjectPath>,
) -> Result<Response> {
    let project_id = project(&caller).to_string();
    let s = state.services.dbss.risk_statistics(&project_id).await?;
    let body = AuditStatisticsResponse {
        project_id,
        update_time: s.update_time / 1000,
        high_risk_total: s.high,
        medium_risk_total: s.medium,
        low_risk_total: s.low,
        db_risk_statistics: s
            .databases
            .iter()
            .map(|d| DatabaseRiskStatistics {
                db_id: d.db_id.clone(),
                db_ip: db_ip(&d.database),
                db_name: db_name(&d.database),
                instance_id: d.instance.id.clone(),
                instance_name: d.instance.name.clone(),
                high_risk: d.counts.high_num,
                medium_risk: d.counts.medium_num,
                low_risk: d.counts.low_num,
                total_risk: d.counts.risk_num(),
                risk_rule: d
                    .rules
                    .iter()
                    .map(|(name, en, count)| RiskRuleStatistic {
                        rule_name: name.clone(),
                        rule_name_english: en.clone(),
                        count: *count,
                    })
                    .collect(),
            })
            .collect(),
        rule_risk_statistics: s
            .rules
            .iter()
            .map(|r| RuleRiskStatistics {
                rule_name: r.rule_name.clone(),
                count: r.count,
                instance_risk_count: r
                    .databases
                    .iter()
                    .filter_map(|(i, n)| {
                        let d = s.databases.get(*i)?;
                        Some(InstanceRiskCount {
                            db_id: d.db_id.clone(),
                            db_ip: db_ip(&d.database),
                            db_name: db_name(&d.database),
                            instance_id: d.instance.id.clone(),
                            instance_name: d.instance.name.clone(),
                            count: *n,
                        })
                    })
                    .collect(),
            })
            .collect(),
        unsupported_audit_infos: UnsupportedAuditInfos {
            audit_infos: Vec::new(),
            support_version: String::new(),
        },
    };
    reply(StatusCode::OK, &body)
}
