//! DBSS audit wire types (docs/dbss-audit.md): agents, captured statements, rules, alarms,
//! and the plugboard-only agent endpoints (heartbeat, statements), as the official SDK names
//! them. The agent (`plugboard dbss-agent`) sends the same [`IngestRequest`] it is read with.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// `{"result": "SUCCESS"}` (agents) or `{"result": "request_success"}` (alarms).
#[derive(Debug, Serialize, ToSchema)]
pub struct ResultWord {
    pub result: String,
}

/// AddAuditAgent's body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AddAgentRequest {
    pub db_id: Option<String>,
    pub mode: Option<i64>,
    pub agent_id: Option<String>,
    pub agent_type: Option<String>,
    pub agent_os: Option<String>,
    pub agent_ip: Option<String>,
    pub agent_nic: Option<String>,
    pub cpu_threshold: Option<i64>,
    pub mem_threshold: Option<i64>,
}

/// CreateAuditDbAgent's body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AgentThresholdsRequest {
    pub cpu_threshold: Option<i64>,
    pub mem_threshold: Option<i64>,
}

/// `?db_id=&offset=&limit=` of the agent list and delete.
#[derive(Debug, Deserialize, Default, IntoParams)]
pub struct AgentQuery {
    pub db_id: Option<String>,
    pub offset: Option<String>,
    pub limit: Option<String>,
}

/// A listed agent.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentView {
    pub agent_id: String,
    pub agent_type: String,
    pub agent_os: String,
    pub agent_ip: String,
    pub mem_threshold: i64,
    pub cpu_threshold: i64,
    pub status: i64,
    pub agent_nic: String,
    pub db_name: String,
    pub datacap_status: i64,
    pub agent_url: String,
    pub universal: bool,
    pub sha256: String,
}

/// `{"agents": [...]}` (no total, on either path).
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentList {
    pub agents: Vec<AgentView>,
}

/// SwitchAgent's body: `status` 1 on, 0 off.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AgentSwitchRequest {
    pub agent_id: String,
    pub status: i64,
}

/// The agent's heartbeat body.
#[derive(Debug, Serialize, Deserialize, ToSchema, Default)]
pub struct HeartbeatRequest {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub cpu: f64,
    #[serde(default)]
    pub mem: f64,
    #[serde(default)]
    pub lag_ms: i64,
    #[serde(default)]
    pub last_error: String,
    /// Milliseconds since the agent last had statements acknowledged (since it started when
    /// none were); absent from older agents. Drives `datacap_status` 2 (sleeping).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_ms: Option<i64>,
}

/// A database an agent serves, in the heartbeat's answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HeartbeatDatabase {
    pub id: String,
    #[serde(rename = "type")]
    pub db_type: String,
    pub ip: String,
    pub port: String,
    pub name: String,
}

/// The heartbeat's answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HeartbeatResponse {
    pub status: i64,
    pub databases: Vec<HeartbeatDatabase>,
    pub batch_max: usize,
    pub interval_s: i64,
    /// The agent's thresholds (%): while the CPUs it may run on, or the host's memory, are as
    /// busy as this or more, it pauses reading (docs/dbss-audit.md → The agent). 100 (what an
    /// agent assumes when a server does not say): never.
    #[serde(default = "never_pause")]
    pub cpu_threshold: i64,
    #[serde(default = "never_pause")]
    pub mem_threshold: i64,
}

fn never_pause() -> i64 {
    100
}

/// An object a captured event touched.
#[derive(Debug, Serialize, Deserialize, ToSchema, Clone, Default, PartialEq)]
pub struct IngestObject {
    #[serde(rename = "type", default)]
    pub object_type: String,
    #[serde(default)]
    pub schema: String,
    #[serde(default)]
    pub name: String,
}

/// One captured event. Fields left at their default are not written (the agent sends
/// hundreds of thousands a minute; a missing field reads as its default).
#[derive(Debug, Serialize, Deserialize, ToSchema, Clone, Default, PartialEq)]
pub struct IngestEvent {
    pub seq: i64,
    pub ts: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub session: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub statement_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub database: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client_ip: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub client_port: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub application: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub command: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub class: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<IngestObject>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sql: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub result: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub code: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
}

/// A batch of events (`Content-Encoding: gzip` allowed).
#[derive(Debug, Serialize, Deserialize, ToSchema, Clone, Default)]
pub struct IngestRequest {
    pub batch_id: String,
    pub db_id: String,
    pub events: Vec<IngestEvent>,
}

/// What became of a batch.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IngestResponse {
    pub accepted: usize,
    pub duplicates: usize,
    pub throttled: bool,
    /// Over the QPS budget only: how long to wait before the next batch.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retry_after_ms: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// A time window: `time_range`, or `start_time` + `end_time` (`yyyy-MM-dd HH:mm:ss`, UTC).
#[derive(Debug, Deserialize, ToSchema, Default)]
pub struct TimeWindowDto {
    pub time_range: Option<String>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
}

/// ListAuditSqls' body.
#[derive(Debug, Deserialize, ToSchema, Default)]
pub struct ListSqlsRequest {
    pub time: Option<TimeWindowDto>,
    pub risk_levels: Option<String>,
    pub client_ip: Option<String>,
    pub client_name: Option<String>,
    pub db_ip: Option<String>,
    pub db_user: Option<String>,
    pub query_type: Option<String>,
    pub rule_name: Option<String>,
    pub sql_statement: Option<String>,
    pub sql_response: Option<String>,
    pub page: Option<i64>,
    pub size: Option<i64>,
    pub time_order: Option<String>,
}

/// One `operated_obj_info` entry.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OperatedObject {
    pub column_name: String,
    pub object_type: String,
    pub schema_name: String,
    pub sql_type: String,
    pub sys_name: String,
    pub table_name: String,
}

/// A listed statement.
#[derive(Debug, Serialize, ToSchema)]
pub struct SqlView {
    pub id: String,
    pub sql_statement: String,
    pub client_ip: String,
    pub client_name: String,
    pub db_ip: String,
    pub db_user: String,
    pub query_type: String,
    pub operated_obj_info: Vec<OperatedObject>,
    pub rule_name: String,
    pub risk_level: String,
    pub start_time: String,
    pub sql_response: String,
    pub db_instance: String,
}

/// `{"sql": {...}}`, one per listed statement.
#[derive(Debug, Serialize, ToSchema)]
pub struct SqlItem {
    pub sql: SqlView,
}

/// ListAuditSqls' answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct SqlList {
    pub total: i64,
    pub count: i64,
    pub sqls: Vec<SqlItem>,
}

/// ShowSqlDetail's statement: every key, `""`/`0` when unknown.
#[derive(Debug, Serialize, ToSchema)]
pub struct SqlDetail {
    pub id: String,
    pub audit_result: String,
    pub client_ip: String,
    pub client_port: i64,
    pub client_port_str: String,
    pub client_mac: String,
    pub db_mac: String,
    pub client_name: String,
    pub client_os_name: String,
    pub client_os_user: String,
    pub client_tool: String,
    pub db_ip: String,
    pub db_port: i64,
    pub db_port_str: String,
    pub db_instance: String,
    pub db_service_name: String,
    pub db_session_id: String,
    pub db_type: String,
    pub db_user: String,
    pub start_time: String,
    pub end_time: String,
    pub execute_time: i64,
    pub field: String,
    pub level: String,
    pub lines: String,
    pub log_result: String,
    pub object: String,
    pub object_type: String,
    pub query_id: String,
    pub query_type: String,
    pub response_length: i64,
    pub response_status: String,
    pub rule_id: String,
    pub rule_name: String,
    pub rule_type: String,
    pub schema: String,
    pub scope_id: String,
    pub scope_name: String,
    pub sql_response: String,
    pub sql_result: String,
    pub sql_statement: String,
    pub tcp_session_id: String,
}

/// `{"sql": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SqlDetailResponse {
    pub sql: SqlDetail,
}

/// `?name=&risk_levels=&offset=&limit=` of the risk-rule lists.
#[derive(Debug, Deserialize, Default, IntoParams)]
pub struct RiskRuleQuery {
    pub name: Option<String>,
    pub risk_levels: Option<String>,
    pub support_db_classify_rule: Option<String>,
    pub offset: Option<String>,
    pub limit: Option<String>,
}

/// A listed risk-operation rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct RiskRuleView {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub feature: String,
    pub status: String,
    pub rank: i64,
    pub risk_level: String,
    pub rule_type: String,
}

/// The risk-rule list.
#[derive(Debug, Serialize, ToSchema)]
pub struct RiskRuleList {
    pub rules: Vec<RiskRuleView>,
    pub total: i64,
    pub customize_total: i64,
}

/// One `schemas` entry.
#[derive(Debug, Serialize, Deserialize, ToSchema, Default)]
pub struct SchemaBean {
    #[serde(default)]
    pub schema: Option<String>,
    #[serde(default)]
    pub table: Option<String>,
    #[serde(default)]
    pub column: Option<String>,
}

/// ShowAuditRuleRisk's answer (flat).
#[derive(Debug, Serialize, ToSchema)]
pub struct RiskRuleDetail {
    pub rule_id: String,
    pub rule_name: String,
    pub status: String,
    pub action: String,
    pub schemas: Vec<SchemaBean>,
    pub rank: i64,
    pub ignore_case: bool,
    pub risk_level: String,
    pub db_ids: String,
    pub execution_symbol: String,
    pub execution_time: i64,
    pub affect_symbol: String,
    pub affect_rows: i64,
    pub client_ips: String,
}

/// CreateAuditRiskRule's body.
#[derive(Debug, Deserialize, ToSchema, Default)]
pub struct RiskRuleRequest {
    pub rule_name: Option<String>,
    pub risk_level: Option<String>,
    pub status: Option<String>,
    pub action: Option<String>,
    pub affect_symbol: Option<String>,
    pub affect_rows: Option<i64>,
    pub execution_symbol: Option<String>,
    pub execution_time: Option<i64>,
    pub client_ips: Option<String>,
    pub exception_ips: Option<String>,
    pub db_ids: Option<String>,
    pub schemas: Option<Vec<SchemaBean>>,
    pub ignore_case: Option<bool>,
}

/// ListSqlInjectionRules' body.
#[derive(Debug, Deserialize, ToSchema, Default)]
pub struct SqlRuleListRequest {
    pub page: Option<i64>,
    pub size: Option<i64>,
    pub risk_levels: Option<String>,
}

/// A listed SQL-injection rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct SqlRuleView {
    pub id: String,
    pub name: String,
    pub status: String,
    pub risk_level: String,
    #[serde(rename = "type")]
    pub rule_type: String,
    pub rank: i64,
    pub feature: String,
    pub regex: String,
}

/// The SQL-injection rule list.
#[derive(Debug, Serialize, ToSchema)]
pub struct SqlRuleList {
    pub rules: Vec<SqlRuleView>,
    pub total: i64,
}

/// ListAuditAlarmLog's body.
#[derive(Debug, Deserialize, ToSchema, Default)]
pub struct AlarmListRequest {
    pub time: Option<TimeWindowDto>,
    pub risk: Option<Vec<String>>,
    #[serde(rename = "type")]
    pub alarm_type: Option<String>,
    pub status: Option<String>,
    pub page: Option<i64>,
    pub size: Option<i64>,
}

/// A listed alarm on the new path (`alarm_life`, `send_email`).
#[derive(Debug, Serialize, ToSchema)]
pub struct AlarmView {
    pub id: String,
    pub alarm_life: String,
    pub send_email: bool,
    pub alarm_time: String,
    pub alarm_type: String,
    pub alarm_fix_time: String,
    pub alarm_status: String,
    pub alarm_risk: String,
    pub alarm_description: String,
}

/// A listed alarm on the old path (`alarmLife`, `sendEmail`).
#[derive(Debug, Serialize, ToSchema)]
pub struct AlarmViewOld {
    pub id: String,
    #[serde(rename = "alarmLife")]
    pub alarm_life: String,
    #[serde(rename = "sendEmail")]
    pub send_email: bool,
    pub alarm_time: String,
    pub alarm_type: String,
    pub alarm_fix_time: String,
    pub alarm_status: String,
    pub alarm_risk: String,
    pub alarm_description: String,
}

/// The alarm list (new path).
#[derive(Debug, Serialize, ToSchema)]
pub struct AlarmList {
    pub total_num: i64,
    pub alarm_log: Vec<AlarmView>,
}

/// The alarm list (old path).
#[derive(Debug, Serialize, ToSchema)]
pub struct AlarmListOld {
    pub total_num: i64,
    pub alarm_log: Vec<AlarmViewOld>,
}
