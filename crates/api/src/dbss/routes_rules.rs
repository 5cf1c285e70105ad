//! The DBSS audit operations that change rules, scopes and alarms, and the agent download
//! (docs/dbss-audit.md), old and new paths served by one handler.

use super::{handlers_agents as agents, handlers_rules as rules};
use crate::common::openapi::OpDoc;
use crate::common::ops::{op, Access, Operation};
use crate::routing::{op_route, OpRoute};
use axum::http::StatusCode;

op!(
    Dbss,
    SET_RISK_RULE,
    "SetRiskOperationPolicy",
    PUT,
    "/v2/{project_id}/audit/{instance_id}/rule/risk/{id}",
    Access::Action("dbss:auditInstance:updateRiskRule"),
    "Edit a risk-operation rule"
);
op!(
    Dbss,
    DELETE_RISK_RULE,
    "DeleteAuditRuleRisk",
    DELETE,
    "/v1/{project_id}/audit/{instance_id}/rule/risk/{id}",
    Access::Action("dbss:auditInstance:deleteRiskRule"),
    "Delete a custom risk-operation rule"
);
op!(
    Dbss,
    SWITCH_RISK_RULES,
    "SwitchRiskRule",
    POST,
    "/v1/{project_id}/{instance_id}/audit/rule/risk/switch",
    Access::Action("dbss:auditInstance:switchRiskRule"),
    "Switch risk-operation rules (v1)"
);
op!(
    Dbss,
    SWITCH_RISK_RULES_NEW,
    "SwitchRiskRuleNew",
    POST,
    "/v2/{project_id}/audit/{instance_id}/rule/risk/switch",
    Access::Action("dbss:auditInstance:switchRiskRule"),
    "Switch risk-operation rules"
);
op!(
    Dbss,
    RANK_RISK_RULE,
    "SetRiskRuleRank",
    POST,
    "/v2/{project_id}/audit/{instance_id}/rule/risk/rank",
    Access::Action("dbss:auditInstance:orderRiskRule"),
    "Move a risk-operation rule in the ranking"
);
op!(
    Dbss,
    CREATE_SQL_RULE,
    "CreateAuditSqlRule",
    POST,
    "/v1/{project_id}/audit/{instance_id}/rule/sql",
    Access::Action("dbss:auditInstance:addSqlInjectRule"),
    "Create a SQL-injection rule"
);
op!(
    Dbss,
    UPDATE_SQL_RULE,
    "UpdateAuditSqlRule",
    POST,
    "/v1/{project_id}/audit/{instance_id}/rule/sql/{id}",
    Access::Action("dbss:auditInstance:updateSqlInjectRule"),
    "Edit a SQL-injection rule"
);
op!(
    Dbss,
    DELETE_SQL_RULE,
    "DeleteAuditRuleSql",
    DELETE,
    "/v1/{project_id}/audit/{instance_id}/rule/sql/{id}",
    Access::Action("dbss:auditInstance:deleteSqlInjectRule"),
    "Delete a SQL-injection rule"
);
op!(
    Dbss,
    SWITCH_SQL_RULE,
    "SetAuditSqlRuleSwitch",
    POST,
    "/v2/{project_id}/audit/{instance_id}/rule/sql/switch",
    Access::Action("dbss:auditInstance:switchSqlInjectRule"),
    "Switch a SQL-injection rule"
);
op!(
    Dbss,
    RANK_SQL_RULES,
    "SetSqlRuleRank",
    POST,
    "/v2/{project_id}/audit/{instance_id}/rule/sql/rank",
    Access::Action("dbss:auditInstance:orderSqlInjectRule"),
    "Order the SQL-injection rules"
);
op!(
    Dbss,
    MARK_ALARM,
    "SetAuditAlarmLogStatus",
    PUT,
    "/v1/{project_id}/audit/{instance_id}/alarm-log/{id}",
    Access::Action("dbss:auditInstance:markAlarm"),
    "Mark an alarm confirmed"
);
op!(
    Dbss,
    MARK_ALARMS,
    "BatchSetAuditAlarmLogStatus",
    POST,
    "/v1/{project_id}/audit/{instance_id}/alarm-log/mark",
    Access::Action("dbss:auditInstance:markAlarm"),
    "Mark alarms confirmed"
);
op!(
    Dbss,
    DELETE_ALARM,
    "DeleteAuditAlarmLog",
    DELETE,
    "/v1/{project_id}/audit/{instance_id}/alarm-log/{id}",
    Access::Action("dbss:auditInstance:deleteAlarm"),
    "Delete an alarm"
);
op!(
    Dbss,
    ALARM_CONFIG,
    "ListAlarmTopicConfigInfo",
    GET,
    "/v1/{project_id}/{instance_id}/audit/alarm/topic",
    Access::Action("dbss:auditInstance:getAlarmConfig"),
    "Read the alarm config (v1)"
);
op!(
    Dbss,
    ALARM_CONFIG_NEW,
    "ListAlarmTopicConfigInfoNew",
    GET,
    "/v2/{project_id}/audit/{instance_id}/alarm/topic",
    Access::Action("dbss:auditInstance:getAlarmConfig"),
    "Read the alarm config"
);
op!(
    Dbss,
    SET_ALARM_CONFIG,
    "SetAlarmTopicConfigInfo",
    POST,
    "/v1/{project_id}/{instance_id}/audit/alarm/topic",
    Access::Action("dbss:auditInstance:setAlarmConfig"),
    "Write the alarm config (v1)"
);
op!(
    Dbss,
    SET_ALARM_CONFIG_NEW,
    "SetAlarmTopicConfigInfoNew",
    POST,
    "/v2/{project_id}/audit/{instance_id}/alarm/topic",
    Access::Action("dbss:auditInstance:setAlarmConfig"),
    "Write the alarm config"
);
op!(
    Dbss,
    LIST_SCOPES,
    "ListAuditRuleScopes",
    GET,
    "/v1/{project_id}/{instance_id}/dbss/audit/rule/scopes",
    Access::Action("dbss:auditInstance:listScopes"),
    "List audit scope rules (v1)"
);
op!(
    Dbss,
    LIST_SCOPES_NEW,
    "ListAuditRuleScopesNew",
    GET,
    "/v1/{project_id}/audit/{instance_id}/rule/scopes",
    Access::Action("dbss:auditInstance:listScopes"),
    "List audit scope rules"
);
op!(
    Dbss,
    CREATE_SCOPE,
    "CreateAuditScopeRule",
    POST,
    "/v1/{project_id}/audit/{instance_id}/rule/scopes",
    Access::Action("dbss:auditInstance:addScope"),
    "Create an audit scope rule"
);
op!(
    Dbss,
    UPDATE_SCOPE,
    "UpdateAuditScopeRule",
    POST,
    "/v3/{project_id}/audit/{instance_id}/rule/scopes/{id}",
    Access::Action("dbss:auditInstance:updateScope"),
    "Edit an audit scope rule"
);
op!(
    Dbss,
    DELETE_SCOPE,
    "DeleteAuditScope",
    DELETE,
    "/v1/{project_id}/audit/{instance_id}/rule/scopes/{id}",
    Access::Action("dbss:auditInstance:deleteScope"),
    "Delete an audit scope rule"
);
op!(
    Dbss,
    BATCH_DELETE_SCOPES,
    "BatchDeleteAuditScope",
    POST,
    "/v1/{project_id}/audit/{instance_id}/rule/scopes/batch-delete",
    Access::Action("dbss:auditInstance:deleteScope"),
    "Delete audit scope rules"
);
op!(
    Dbss,
    SWITCH_SCOPES,
    "SetAuditScopeRuleSwitch",
    POST,
    "/v2/{project_id}/audit/{instance_id}/rule/scopes/switch",
    Access::Action("dbss:auditInstance:switchScope"),
    "Switch audit scope rules"
);
op!(
    Dbss,
    DOWNLOAD_AGENT,
    "DownloadAuditAgent",
    GET,
    "/v2/{project_id}/{instance_id}/audit/agents/{agent_id}",
    Access::Action("dbss:auditInstance:downloadAgent"),
    "Download an audit agent's bundle (v2)"
);
op!(
    Dbss,
    DOWNLOAD_AGENT_NEW,
    "DownloadAuditAgentNew",
    GET,
    "/v2/{project_id}/audit/{instance_id}/agents/{agent_id}/download",
    Access::Action("dbss:auditInstance:downloadAgent"),
    "Download an audit agent's bundle"
);

/// These routes.
pub fn routes() -> Vec<OpRoute> {
    vec![
        op_route(&SET_RISK_RULE, rules::set_risk_operation_policy),
        op_route(&DELETE_RISK_RULE, rules::delete_audit_rule_risk),
        op_route(&SWITCH_RISK_RULES, rules::switch_risk_rule),
        op_route(&SWITCH_RISK_RULES_NEW, rules::switch_risk_rule),
        op_route(&RANK_RISK_RULE, rules::set_risk_rule_rank),
        op_route(&CREATE_SQL_RULE, rules::create_audit_sql_rule),
        op_route(&UPDATE_SQL_RULE, rules::update_audit_sql_rule),
        op_route(&DELETE_SQL_RULE, rules::delete_audit_rule_sql),
        op_route(&SWITCH_SQL_RULE, rules::set_audit_sql_rule_switch),
        op_route(&RANK_SQL_RULES, rules::set_sql_rule_rank),
        op_route(&MARK_ALARM, rules::set_audit_alarm_log_status),
        op_route(&MARK_ALARMS, rules::batch_set_audit_alarm_log_status),
        op_route(&DELETE_ALARM, rules::delete_audit_alarm_log),
        op_route(&ALARM_CONFIG, rules::list_alarm_topic_config_info),
        op_route(&ALARM_CONFIG_NEW, rules::list_alarm_topic_config_info),
        op_route(&SET_ALARM_CONFIG, rules::set_alarm_topic_config_info),
        op_route(&SET_ALARM_CONFIG_NEW, rules::set_alarm_topic_config_info),
        op_route(&LIST_SCOPES, rules::list_audit_rule_scopes),
        op_route(&LIST_SCOPES_NEW, rules::list_audit_rule_scopes_new),
        op_route(&CREATE_SCOPE, rules::create_audit_scope_rule),
        op_route(&UPDATE_SCOPE, rules::update_audit_scope_rule),
        op_route(&DELETE_SCOPE, rules::delete_audit_scope),
        op_route(&BATCH_DELETE_SCOPES, rules::batch_delete_audit_scope),
        op_route(&SWITCH_SCOPES, rules::set_audit_scope_rule_switch),
        op_route(&DOWNLOAD_AGENT, agents::download_audit_agent),
        op_route(&DOWNLOAD_AGENT_NEW, agents::download_audit_agent),
    ]
}

/// What `/openapi.json` says of each of these operations.
pub fn docs() -> Vec<(&'static Operation, OpDoc)> {
    use super::dto::StatusResponse;
    use super::dto_audit::{ResultWord, RiskRuleRequest};
    use super::dto_rules::*;
    use StatusCode as S;
    let nf = [S::NOT_FOUND];
    let status = || OpDoc::new().json::<StatusResponse>(S::OK).errors(&nf);
    let result = || OpDoc::new().json::<ResultWord>(S::OK).errors(&nf);
    let config = || OpDoc::new().json::<AlarmConfigView>(S::OK).errors(&nf);
    let set_config = || status().body::<AlarmConfigRequest>();
    let scopes = || {
        OpDoc::new()
            .query::<ScopeQuery>()
            .json::<ScopeList>(S::OK)
            .errors(&nf)
    };
    vec![
        (&SET_RISK_RULE, status().body::<RiskRuleRequest>()),
        (&DELETE_RISK_RULE, status()),
        (&SWITCH_RISK_RULES, status().body::<RiskSwitchRequest>()),
        (
            &SWITCH_RISK_RULES_NEW,
            status().body::<RiskSwitchRequestNew>(),
        ),
        (
            &RANK_RISK_RULE,
            OpDoc::new()
                .body::<RiskRankRequest>()
                .json::<RankResult>(S::OK)
                .errors(&nf),
        ),
        (&CREATE_SQL_RULE, status().body::<SqlRuleRequest>()),
        (&UPDATE_SQL_RULE, status().body::<SqlRuleRequest>()),
        (&DELETE_SQL_RULE, status()),
        (&SWITCH_SQL_RULE, status().body::<SqlRuleSwitchRequest>()),
        (&RANK_SQL_RULES, status().body::<SqlRuleRankRequest>()),
        (&MARK_ALARM, result()),
        (&MARK_ALARMS, result().body::<AlarmMarkRequest>()),
        (&DELETE_ALARM, result()),
        (&ALARM_CONFIG, config()),
        (&ALARM_CONFIG_NEW, config()),
        (&SET_ALARM_CONFIG, set_config()),
        (&SET_ALARM_CONFIG_NEW, set_config()),
        (&LIST_SCOPES, scopes()),
        (&LIST_SCOPES_NEW, scopes()),
        (&CREATE_SCOPE, status().body::<ScopeRequest>()),
        (&UPDATE_SCOPE, status().body::<ScopeRequest>()),
        (&DELETE_SCOPE, status()),
        (&BATCH_DELETE_SCOPES, status().body::<ScopeIdsRequest>()),
        (&SWITCH_SCOPES, status().body::<ScopeSwitchRequest>()),
        (&DOWNLOAD_AGENT, OpDoc::new().gzip(S::OK).errors(&nf)),
        (&DOWNLOAD_AGENT_NEW, OpDoc::new().gzip(S::OK).errors(&nf)),
    ]
}
