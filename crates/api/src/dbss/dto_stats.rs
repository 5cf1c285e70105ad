//! DBSS audit statistics wire types (docs/dbss-audit.md → Statistics), as the official SDK
//! names them: the trend operations' `GeneralRequest` and six answers, the session
//! breakdowns (bare arrays), the trend history (a bare array), ListAuditSummaryInfos and
//! ShowAuditStatistics. Every count is an int; `period` and `generate_time` are
//! `yyyy-MM-dd HH:mm:ss` UTC strings; `update_time` is epoch milliseconds.

use super::dto_audit::TimeWindowDto;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The trend operations' body (`GeneralRequest`).
#[derive(Debug, Deserialize, ToSchema, Default)]
pub struct TrendRequest {
    pub db_id: Option<String>,
    pub regenerate: Option<i64>,
    pub time: Option<TimeWindowDto>,
}

/// The session breakdowns' body (`SqlSessionStatisticsRequest`): `db_id` is a list.
#[derive(Debug, Deserialize, ToSchema, Default)]
pub struct SessionRequest {
    pub db_id: Option<Vec<String>>,
    pub time: Option<TimeWindowDto>,
}

/// CountSqlStatistics' bucket.
#[derive(Debug, Serialize, ToSchema)]
pub struct SqlStatisticsBean {
    pub period: String,
    pub select_num: i64,
    pub insert_num: i64,
    pub update_num: i64,
    pub delete_num: i64,
    pub other_num: i64,
}

/// CountSqlStatistics' answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct SqlStatisticsResponse {
    pub status: String,
    pub generate_time: String,
    pub sql_statistics: Vec<SqlStatisticsBean>,
}

/// CountSqlTrendStatistics' bucket.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountStatisticsBean {
    pub period: String,
    pub sql_num: i64,
}

/// CountSqlTrendStatistics' answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountStatisticsResponse {
    pub status: String,
    pub generate_time: String,
    pub count_statistics: Vec<CountStatisticsBean>,
}

/// CountRiskTrendStatistics' bucket (`middle_risk_num`, as the SDK spells it).
#[derive(Debug, Serialize, ToSchema)]
pub struct RiskStatisticsBean {
    pub period: String,
    pub high_risk_num: i64,
    pub middle_risk_num: i64,
    pub low_risk_num: i64,
    pub no_risk_num: i64,
}

/// CountRiskTrendStatistics' answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct RiskStatisticsResponse {
    pub status: String,
    pub generate_time: String,
    pub risk_statistics: Vec<RiskStatisticsBean>,
}

/// CountSessionStatistics' bucket.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionStatisticsBean {
    pub period: String,
    pub new_session_num: i64,
    pub active_session_num: i64,
    pub fail_session_num: i64,
}

/// CountSessionStatistics' answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionStatisticsResponse {
    pub status: String,
    pub generate_time: String,
    pub session_statistics: Vec<SessionStatisticsBean>,
}

/// CountInjectionStatistics' bucket.
#[derive(Debug, Serialize, ToSchema)]
pub struct InjectionStatisticsBean {
    pub period: String,
    pub injection_num: i64,
}

/// CountInjectionStatistics' answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct InjectionStatisticsResponse {
    pub status: String,
    pub generate_time: String,
    pub injection_statistics: Vec<InjectionStatisticsBean>,
}

/// CountOperationStatistics' bucket.
#[derive(Debug, Serialize, ToSchema)]
pub struct OperationStatisticsBean {
    pub period: String,
    pub risk_operation_num: i64,
}

/// CountOperationStatistics' answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct OperationStatisticsResponse {
    pub status: String,
    pub generate_time: String,
    pub operation_statistics: Vec<OperationStatisticsBean>,
}

/// CountDbAccountSession's item (the answer is a bare array of them).
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportAccountSession {
    pub db_id: String,
    pub db_ip: String,
    pub db_name: String,
    pub db_user: String,
    pub session_num: i64,
}

/// CountDbClientSession's item (a bare array): `db_ip` carries the *client's* address, the
/// only address field the SDK's model has.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportClientSession {
    pub db_id: String,
    pub db_ip: String,
    pub db_name: String,
    pub session_num: i64,
}

/// ListAuditTrendHistory's item (a bare array).
#[derive(Debug, Serialize, ToSchema)]
pub struct TrendStatus {
    pub db_id: String,
    pub db_name: String,
    pub generate_time: String,
    pub statistics_type: String,
}

/// `?offset=&limit=` of ListAuditSummaryInfos (strings).
#[derive(Debug, Deserialize, Default, IntoParams)]
pub struct SummaryQuery {
    pub offset: Option<String>,
    pub limit: Option<String>,
}

/// One instance in ListAuditSummaryInfos (`id` and `instance_id` are ints, `status` a
/// string).
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditSummaryData {
    pub id: i64,
    pub status: String,
    pub project_id: String,
    pub instance_id: i64,
    pub instance_name: String,
    pub audit_duration: i64,
    pub total_sql: i64,
    pub total_risk: i64,
    pub today_sql: i64,
    pub today_risk: i64,
    pub today_session: i64,
    pub update_time: i64,
    pub reserve1: String,
    pub reserve2: String,
}

/// ListAuditSummaryInfos' answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditSummaryResponse {
    pub project_id: String,
    pub audit_duration: i64,
    pub total_sql: i64,
    pub total_risk: i64,
    pub today_sql: i64,
    pub today_risk: i64,
    pub today_session: i64,
    pub update_time: i64,
    pub data_list: Vec<AuditSummaryData>,
    pub total: i64,
}

/// A rule's matches on one database.
#[derive(Debug, Serialize, ToSchema)]
pub struct RiskRuleStatistic {
    pub rule_name: String,
    pub rule_name_english: String,
    pub count: i64,
}

/// One database's risks in ShowAuditStatistics.
#[derive(Debug, Serialize, ToSchema)]
pub struct DatabaseRiskStatistics {
    pub db_id: String,
    pub db_ip: String,
    pub db_name: String,
    pub instance_id: String,
    pub instance_name: String,
    pub high_risk: i64,
    pub medium_risk: i64,
    pub low_risk: i64,
    pub total_risk: i64,
    pub risk_rule: Vec<RiskRuleStatistic>,
}

/// One database's matches of a rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstanceRiskCount {
    pub db_id: String,
    pub db_ip: String,
    pub db_name: String,
    pub instance_id: String,
    pub instance_name: String,
    pub count: i64,
}

/// One rule's matches in ShowAuditStatistics.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleRiskStatistics {
    pub rule_name: String,
    pub count: i64,
    pub instance_risk_count: Vec<InstanceRiskCount>,
}

/// A database version that cannot be audited.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnsupportedAuditInfo {
    pub audit_version: String,
    pub server_name: String,
}

/// Databases whose version cannot be audited (none: plugboard audits logs).
#[derive(Debug, Serialize, ToSchema)]
pub struct UnsupportedAuditInfos {
    pub audit_infos: Vec<UnsupportedAuditInfo>,
    pub support_version: String,
}

/// ShowAuditStatistics' answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditStatisticsResponse {
    pub project_id: String,
    pub update_time: i64,
    pub high_risk_total: i64,
    pub medium_risk_total: i64,
    pub low_risk_total: i64,
    pub db_risk_statistics: Vec<DatabaseRiskStatistics>,
    pub rule_risk_statistics: Vec<RuleRiskStatistics>,
    pub unsupported_audit_infos: UnsupportedAuditInfos,
}
