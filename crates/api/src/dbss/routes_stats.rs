//! The DBSS audit statistics operations (docs/dbss-audit.md → Statistics): the six trends, the
//! session breakdowns, the trend history and the two project-wide summaries.

use super::handlers_stats as stats;
use crate::common::openapi::OpDoc;
use crate::common::ops::{op, Access, Operation};
use crate::routing::{op_route, OpRoute};
use axum::http::StatusCode;

op!(
    Dbss,
    COUNT_SQL,
    "CountSqlStatistics",
    POST,
    "/v1/{project_id}/audit/{instance_id}/statistics/trend/sql-type",
    Access::Action("dbss:auditInstance:getStatistics"),
    "Statements per type over time"
);
op!(
    Dbss,
    COUNT_SQL_TREND,
    "CountSqlTrendStatistics",
    POST,
    "/v1/{project_id}/audit/{instance_id}/statistics/trend/sql-count",
    Access::Action("dbss:auditInstance:getStatistics"),
    "Statements over time"
);
op!(
    Dbss,
    COUNT_RISK_TREND,
    "CountRiskTrendStatistics",
    POST,
    "/v1/{project_id}/audit/{instance_id}/statistics/trend/risk-level",
    Access::Action("dbss:auditInstance:getStatistics"),
    "Statements per risk level over time"
);
op!(
    Dbss,
    COUNT_SESSION,
    "CountSessionStatistics",
    POST,
    "/v1/{project_id}/audit/{instance_id}/statistics/trend/session",
    Access::Action("dbss:auditInstance:getStatistics"),
    "New, active and failed sessions over time"
);
op!(
    Dbss,
    COUNT_INJECTION,
    "CountInjectionStatistics",
    POST,
    "/v1/{project_id}/audit/{instance_id}/statistics/trend/sql-injection",
    Access::Action("dbss:auditInstance:getStatistics"),
    "SQL-injection matches over time"
);
op!(
    Dbss,
    COUNT_OPERATION,
    "CountOperationStatistics",
    POST,
    "/v1/{project_id}/audit/{instance_id}/statistics/trend/risk-operation",
    Access::Action("dbss:auditInstance:getStatistics"),
    "Risk-operation matches over time"
);
op!(
    Dbss,
    COUNT_DB_ACCOUNT_SESSION,
    "CountDbAccountSession",
    POST,
    "/v1/{project_id}/audit/{instance_id}/statistics/session/db-account",
    Access::Action("dbss:auditInstance:getStatistics"),
    "Sessions per database account"
);
op!(
    Dbss,
    COUNT_DB_CLIENT_SESSION,
    "CountDbClientSession",
    POST,
    "/v1/{project_id}/audit/{instance_id}/statistics/session/db-client",
    Access::Action("dbss:auditInstance:getStatistics"),
    "Sessions per client address"
);
op!(
    Dbss,
    LIST_TREND_HISTORY,
    "ListAuditTrendHistory",
    GET,
    "/v2/{project_id}/audit/{instance_id}/statistics/trend/history",
    Access::Action("dbss:auditInstance:getStatistics"),
    "When each trend was last generated"
);
op!(
    Dbss,
    LIST_SUMMARY_INFOS,
    "ListAuditSummaryInfos",
    GET,
    "/v2/{project_id}/audit/summary/info",
    Access::Action("dbss:auditInstance:list"),
    "Statements, risks and sessions per audit instance"
);
op!(
    Dbss,
    SHOW_AUDIT_STATISTICS,
    "ShowAuditStatistics",
    GET,
    "/v1/{project_id}/audit/summary/risk/statistics",
    Access::Action("dbss:auditInstance:list"),
    "Risks of the last 7 days per database and rule"
);

/// Every DBSS audit statistics route.
pub fn routes() -> Vec<OpRoute> {
    vec![
        op_route(&COUNT_SQL, stats::count_sql_statistics),
        op_route(&COUNT_SQL_TREND, stats::count_sql_trend_statistics),
        op_route(&COUNT_RISK_TREND, stats::count_risk_trend_statistics),
        op_route(&COUNT_SESSION, stats::count_session_statistics),
        op_route(&COUNT_INJECTION, stats::count_injection_statistics),
        op_route(&COUNT_OPERATION, stats::count_operation_statistics),
        op_route(&COUNT_DB_ACCOUNT_SESSION, stats::count_db_account_session),
        op_route(&COUNT_DB_CLIENT_SESSION, stats::count_db_client_session),
        op_route(&LIST_TREND_HISTORY, stats::list_audit_trend_history),
        op_route(&LIST_SUMMARY_INFOS, stats::list_audit_summary_infos),
        op_route(&SHOW_AUDIT_STATISTICS, stats::show_audit_statistics),
    ]
}

/// What `/openapi.json` says of each statistics operation.
pub fn docs() -> Vec<(&'static Operation, OpDoc)> {
    use super::dto_stats::*;
    use StatusCode as S;
    let nf = [S::NOT_FOUND];
    let trend = || OpDoc::new().body::<TrendRequest>().errors(&nf);
    vec![
        (&COUNT_SQL, trend().json::<SqlStatisticsResponse>(S::OK)),
        (
            &COUNT_SQL_TREND,
            trend().json::<CountStatisticsResponse>(S::OK),
        ),
        (
            &COUNT_RISK_TREND,
            trend().json::<RiskStatisticsResponse>(S::OK),
        ),
        (
            &COUNT_SESSION,
            trend().json::<SessionStatisticsResponse>(S::OK),
        ),
        (
            &COUNT_INJECTION,
            trend().json::<InjectionStatisticsResponse>(S::OK),
        ),
        (
            &COUNT_OPERATION,
            trend().json::<OperationStatisticsResponse>(S::OK),
        ),
        (
            &COUNT_DB_ACCOUNT_SESSION,
            OpDoc::new()
                .body::<SessionRequest>()
                .json_list::<ReportAccountSession>(S::OK)
                .errors(&nf),
        ),
        (
            &COUNT_DB_CLIENT_SESSION,
            OpDoc::new()
                .body::<SessionRequest>()
                .json_list::<ReportClientSession>(S::OK)
                .errors(&nf),
        ),
        (
            &LIST_TREND_HISTORY,
            OpDoc::new().json_list::<TrendStatus>(S::OK).errors(&nf),
        ),
        (
            &LIST_SUMMARY_INFOS,
            OpDoc::new()
                .query::<SummaryQuery>()
                .json::<AuditSummaryResponse>(S::OK),
        ),
        (
            &SHOW_AUDIT_STATISTICS,
            OpDoc::new().json::<AuditStatisticsResponse>(S::OK),
        ),
    ]
}
