//! DBSS wire types of rule and alarm changes (docs/dbss-audit.md): switches, ranks,
//! SQL-injection rules, alarm marks and the alarm config, as the official SDK names them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// SwitchRiskRule (old): `ids` a comma string.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RiskSwitchRequest {
    pub ids: String,
    pub status: String,
}

/// SwitchRiskRuleNew: `ids` a comma string too (the SDK's `BatchSwitchesRequest`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct RiskSwitchRequestNew {
    pub ids: String,
    pub status: String,
}

/// SetRiskRuleRank's body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RiskRankRequest {
    pub id: String,
    pub new_rank: i64,
}

/// `{"result": "success"}` (risk rank, lower-case).
#[derive(Debug, Serialize, ToSchema)]
pub struct RankResult {
    pub result: String,
}

/// CreateAuditSqlRule / UpdateAuditSqlRule's body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SqlRuleRequest {
    pub rule_name: Option<String>,
    pub risk_level: Option<String>,
    pub sql_regex: Option<String>,
    pub status: Option<String>,
}

/// SetAuditSqlRuleSwitch's body: one rule.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SqlRuleSwitchRequest {
    pub id: String,
    pub status: String,
}

/// SetSqlRuleRank's body: the new order.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SqlRuleRankRequest {
    pub ids: Vec<String>,
}

/// BatchSetAuditAlarmLogStatus's body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AlarmMarkRequest {
    pub ids: Vec<String>,
}

/// The alarm config as read: numbers as strings, risks lower-case.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlarmConfigView {
    pub alarm_cpu: String,
    pub alarm_disk: String,
    pub alarm_memory: String,
    pub alarm_num: String,
    pub alarm_risk: Vec<String>,
    pub alarm_switch: String,
    pub alarm_topic_urn: String,
    pub smn_effective: bool,
}

/// The alarm config as written (numbers).
#[derive(Debug, Deserialize, ToSchema)]
pub struct AlarmConfigRequest {
    pub alarm_cpu: Option<i64>,
    pub alarm_disk: Option<i64>,
    pub alarm_memory: Option<i64>,
    pub alarm_num: Option<i64>,
    pub alarm_risk: Option<Vec<String>>,
    pub alarm_switch: Option<String>,
    pub alarm_topic_urn: Option<String>,
}

/// `?offset=&limit=` of the scope lists (strings).
#[derive(Debug, Deserialize, Default, utoipa::IntoParams)]
pub struct ScopeQuery {
    pub offset: Option<String>,
    pub limit: Option<String>,
}

/// A listed scope (every value a string but `all_audit`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ScopeView {
    pub id: String,
    pub name: String,
    pub action: String,
    pub status: String,
    pub exception_ips: String,
    pub source_ips: String,
    pub source_ports: String,
    pub db_ids: String,
    pub db_names: String,
    pub db_users: String,
    pub all_audit: bool,
}

/// The scope list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScopeList {
    pub scopes: Vec<ScopeView>,
    pub total: i64,
}

/// CreateAuditScopeRule / UpdateAuditScopeRule's body (comma lists).
#[derive(Debug, Deserialize, ToSchema)]
pub struct ScopeRequest {
    pub rule_name: Option<String>,
    pub action: Option<String>,
    pub db_ids: Option<String>,
    pub db_names: Option<String>,
    pub db_users: Option<String>,
    pub exception_ips: Option<String>,
    pub source_ips: Option<String>,
    pub source_ports: Option<String>,
}

/// BatchDeleteAuditScope's body: a JSON list.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ScopeIdsRequest {
    pub ids: Vec<String>,
}

/// SetAuditScopeRuleSwitch's body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ScopeSwitchRequest {
    pub ids: Vec<String>,
    pub status: String,
}
