//! The DBSS audit operations (docs/dbss-audit.md): agents, the agent endpoints, captured
//! statements, rules and alarms, old ("to be retired") and new paths served by one handler.

use super::{handlers_agents as agents, handlers_audit as audit, handlers_rules as rules};
use crate::common::openapi::OpDoc;
use crate::common::ops::{op, Access, Operation};
use crate::routing::{op_route, OpRoute};
use axum::http::StatusCode;

op!(
    Dbss,
    ADD_AGENT,
    "AddAuditAgent",
    POST,
    "/v2/{project_id}/{instance_id}/audit/agents",
    Access::Action("dbss:auditInstance:addAgent"),
    "Add an audit agent to a database (v2)"
);
op!(
    Dbss,
    ADD_AGENT_NEW,
    "AddAuditAgentNew",
    POST,
    "/v3/{project_id}/audit/{instance_id}/agents",
    Access::Action("dbss:auditInstance:addAgent"),
    "Add an audit agent to a database"
);
op!(
    Dbss,
    LIST_AGENTS,
    "ListAuditAgent",
    GET,
    "/v2/{project_id}/{instance_id}/audit/agents",
    Access::Action("dbss:auditInstance:listAgents"),
    "List a database's audit agents (v2)"
);
op!(
    Dbss,
    LIST_AGENTS_NEW,
    "ListAuditAgentNew",
    GET,
    "/v3/{project_id}/audit/{instance_id}/agents",
    Access::Action("dbss:auditInstance:listAgents"),
    "List a database's audit agents"
);
op!(
    Dbss,
    DELETE_AGENT,
    "DeleteAuditAgent",
    DELETE,
    "/v2/{project_id}/{instance_id}/audit/agents/{agent_id}",
    Access::Action("dbss:auditInstance:deleteAgent"),
    "Detach an audit agent from a database (v2)"
);
op!(
    Dbss,
    DELETE_AGENT_NEW,
    "DeleteAuditAgentNew",
    DELETE,
    "/v3/{project_id}/audit/{instance_id}/agents/{agent_id}",
    Access::Action("dbss:auditInstance:deleteAgent"),
    "Detach an audit agent from a database"
);
op!(
    Dbss,
    SWITCH_AGENT,
    "SwitchAgent",
    POST,
    "/v1/{project_id}/{instance_id}/audit/agent/switch",
    Access::Action("dbss:auditInstance:switchAgent"),
    "Switch an audit agent on or off (v1)"
);
op!(
    Dbss,
    SWITCH_AGENT_NEW,
    "SwitchAgentNew",
    POST,
    "/v2/{project_id}/audit/{instance_id}/agent/switch",
    Access::Action("dbss:auditInstance:switchAgent"),
    "Switch an audit agent on or off"
);
op!(
    Dbss,
    CREATE_DB_AGENT,
    "CreateAuditDbAgent",
    POST,
    "/v2/{project_id}/audit/{instance_id}/agents/{agent_id}",
    Access::Action("dbss:auditInstance:addAgent"),
    "Set a known audit agent's thresholds"
);
op!(
    Dbss,
    AGENT_HEARTBEAT,
    "AgentHeartbeat",
    POST,
    "/v1/{project_id}/audit/{instance_id}/agents/{agent_id}/heartbeat",
    Access::Action("dbss:auditInstance:ingest"),
    "An audit agent's heartbeat (plugboard)"
);
op!(
    Dbss,
    AGENT_STATEMENTS,
    "IngestAuditStatements",
    POST,
    "/v1/{project_id}/audit/{instance_id}/agents/{agent_id}/statements",
    Access::Action("dbss:auditInstance:ingest"),
    "A batch of captured statements from an audit agent (plugboard)"
);
op!(
    Dbss,
    LIST_SQLS,
    "ListAuditSqls",
    POST,
    "/v1/{project_id}/{instance_id}/audit/sqls",
    Access::Action("dbss:auditInstance:listSqls"),
    "List captured statements (v1)"
);
op!(
    Dbss,
    LIST_SQLS_NEW,
    "ListAuditSqlsNew",
    POST,
    "/v2/{project_id}/audit/{instance_id}/sqls",
    Access::Action("dbss:auditInstance:listSqls"),
    "List captured statements"
);
op!(
    Dbss,
    SHOW_SQL,
    "ShowSqlDetail",
    GET,
    "/v2/{project_id}/audit/{instance_id}/sqls/{id}",
    Access::Action("dbss:auditInstance:listSqls"),
    "Show one captured statement"
);
op!(
    Dbss,
    LIST_RISK_RULES,
    "ListAuditRuleRisks",
    GET,
    "/v1/{project_id}/{instance_id}/dbss/audit/rule/risk",
    Access::Action("dbss:auditInstance:listRiskRules"),
    "List risk-operation rules (v1)"
);
op!(
    Dbss,
    LIST_RISK_RULES_NEW,
    "ListAuditRuleRisksNew",
    GET,
    "/v1/{project_id}/audit/{instance_id}/rule/risk",
    Access::Action("dbss:auditInstance:listRiskRules"),
    "List risk-operation rules"
);
op!(
    Dbss,
    SHOW_RISK_RULE,
    "ShowAuditRuleRisk",
    GET,
    "/v1/{project_id}/{instance_id}/dbss/audit/rule/risk/{risk_id}",
    Access::Action("dbss:auditInstance:getRiskRule"),
    "Show a risk-operation rule (v1)"
);
op!(
    Dbss,
    SHOW_RISK_RULE_NEW,
    "ShowAuditRuleRiskNew",
    GET,
    "/v2/{project_id}/audit/{instance_id}/rule/risk/{id}",
    Access::Action("dbss:auditInstance:getRiskRule"),
    "Show a risk-operation rule"
);
op!(
    Dbss,
    CREATE_RISK_RULE,
    "CreateAuditRiskRule",
    POST,
    "/v1/{project_id}/audit/{instance_id}/rule/risk",
    Access::Action("dbss:auditInstance:addRiskRule"),
    "Create a risk-operation rule"
);
op!(
    Dbss,
    LIST_SQL_RULES,
    "ListSqlInjectionRules",
    POST,
    "/v1/{project_id}/{instance_id}/dbss/audit/rule/sql-injections",
    Access::Action("dbss:auditInstance:listSqlInjectRules"),
    "List SQL-injection rules (v1)"
);
op!(
    Dbss,
    LIST_SQL_RULES_NEW,
    "ListSqlInjectionRulesNew",
    POST,
    "/v1/{project_id}/audit/{instance_id}/rule/sqls",
    Access::Action("dbss:auditInstance:listSqlInjectRules"),
    "List SQL-injection rules"
);
op!(
    Dbss,
    LIST_ALARMS,
    "ListAuditAlarmLog",
    POST,
    "/v1/{project_id}/{instance_id}/audit/alarm-log",
    Access::Action("dbss:auditInstance:listAlarms"),
    "List alarms (v1)"
);
op!(
    Dbss,
    LIST_ALARMS_NEW,
    "ListAuditAlarmLogNew",
    POST,
    "/v2/{project_id}/audit/{instance_id}/alarm-log",
    Access::Action("dbss:auditInstance:listAlarms"),
    "List alarms"
);

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

/// Every DBSS audit route.
pub fn routes() -> Vec<OpRoute> {
    vec![
        op_route(&ADD_AGENT, agents::add_audit_agent),
        op_route(&ADD_AGENT_NEW, agents::add_audit_agent),
        op_route(&LIST_AGENTS, agents::list_audit_agent),
        op_route(&LIST_AGENTS_NEW, agents::list_audit_agent),
        op_route(&DELETE_AGENT, agents::delete_audit_agent),
        op_route(&DELETE_AGENT_NEW, agents::delete_audit_agent),
        op_route(&SWITCH_AGENT, agents::switch_agent),
        op_route(&SWITCH_AGENT_NEW, agents::switch_agent),
        op_route(&CREATE_DB_AGENT, agents::create_audit_db_agent),
        op_route(&AGENT_HEARTBEAT, agents::agent_heartbeat),
        op_route(&AGENT_STATEMENTS, agents::ingest_statements),
        op_route(&LIST_SQLS, audit::list_audit_sqls),
        op_route(&LIST_SQLS_NEW, audit::list_audit_sqls),
        op_route(&SHOW_SQL, audit::show_sql_detail),
        op_route(&LIST_RISK_RULES, audit::list_audit_rule_risks),
        op_route(&LIST_RISK_RULES_NEW, audit::list_audit_rule_risks_new),
        op_route(&SHOW_RISK_RULE, audit::show_audit_rule_risk),
        op_route(&SHOW_RISK_RULE_NEW, audit::show_audit_rule_risk),
        op_route(&CREATE_RISK_RULE, audit::create_audit_risk_rule),
        op_route(&LIST_SQL_RULES, audit::list_sql_injection_rules),
        op_route(&LIST_SQL_RULES_NEW, audit::list_sql_injection_rules),
        op_route(&LIST_ALARMS, audit::list_audit_alarm_log),
        op_route(&LIST_ALARMS_NEW, audit::list_audit_alarm_log_new),
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

/// What `/openapi.json` says of each DBSS audit operation.
pub fn docs() -> Vec<(&'static Operation, OpDoc)> {
    use super::dto::StatusResponse;
    use super::dto_audit::*;
    use StatusCode as S;
    let nf = [S::NOT_FOUND];
    let success = || OpDoc::new().json::<ResultWord>(S::OK).errors(&nf);
    let add = || success().body::<AddAgentRequest>();
    let list = || {
        OpDoc::new()
            .query::<AgentQuery>()
            .json::<AgentList>(S::OK)
            .errors(&nf)
    };
    let del = || success().query::<AgentQuery>();
    let switch = || success().body::<AgentSwitchRequest>();
    let sqls = || {
        OpDoc::new()
            .body::<ListSqlsRequest>()
            .json::<SqlList>(S::OK)
            .errors(&nf)
    };
    let risks = || {
        OpDoc::new()
            .query::<RiskRuleQuery>()
            .json::<RiskRuleList>(S::OK)
            .errors(&nf)
    };
    let risk = || OpDoc::new().json::<RiskRuleDetail>(S::OK).errors(&nf);
    let sql_rules = || {
        OpDoc::new()
            .body::<SqlRuleListRequest>()
            .json::<SqlRuleList>(S::OK)
            .errors(&nf)
    };
    let mut docs = vec![
        (&ADD_AGENT, add()),
        (&ADD_AGENT_NEW, add()),
        (&LIST_AGENTS, list()),
        (&LIST_AGENTS_NEW, list()),
        (&DELETE_AGENT, del()),
        (&DELETE_AGENT_NEW, del()),
        (&SWITCH_AGENT, switch()),
        (&SWITCH_AGENT_NEW, switch()),
        (&CREATE_DB_AGENT, success().body::<AgentThresholdsRequest>()),
        (
            &AGENT_HEARTBEAT,
            OpDoc::new()
                .body::<HeartbeatRequest>()
                .json::<HeartbeatResponse>(S::OK)
                .errors(&[S::FORBIDDEN, S::NOT_FOUND]),
        ),
        (
            &AGENT_STATEMENTS,
            OpDoc::new()
                .body::<IngestRequest>()
                .json::<IngestResponse>(S::OK)
                .errors(&[S::FORBIDDEN, S::NOT_FOUND]),
        ),
        (&LIST_SQLS, sqls()),
        (&LIST_SQLS_NEW, sqls()),
        (
            &SHOW_SQL,
            OpDoc::new().json::<SqlDetailResponse>(S::OK).errors(&nf),
        ),
        (&LIST_RISK_RULES, risks()),
        (&LIST_RISK_RULES_NEW, risks()),
        (&SHOW_RISK_RULE, risk()),
        (&SHOW_RISK_RULE_NEW, risk()),
        (
            &CREATE_RISK_RULE,
            OpDoc::new()
                .body::<RiskRuleRequest>()
                .json::<StatusResponse>(S::OK)
                .errors(&nf),
        ),
        (&LIST_SQL_RULES, sql_rules()),
        (&LIST_SQL_RULES_NEW, sql_rules()),
        (
            &LIST_ALARMS,
            OpDoc::new()
                .body::<AlarmListRequest>()
                .json::<AlarmListOld>(S::OK)
                .errors(&nf),
        ),
        (
            &LIST_ALARMS_NEW,
            OpDoc::new()
                .body::<AlarmListRequest>()
                .json::<AlarmList>(S::OK)
                .errors(&nf),
        ),
    ];
    docs.extend(rule_docs());
    docs
}

fn rule_docs() -> Vec<(&'static Operation, OpDoc)> {
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
