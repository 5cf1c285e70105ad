//! The DBSS audit operations (docs/dbss-audit.md): agents, the agent endpoints, captured
//! statements, rules and alarms, old ("to be retired") and new paths served by one handler.

use super::{handlers_agents as agents, handlers_audit as audit};
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
    ]
    .into_iter()
    .chain(super::routes_rules::routes())
    .chain(super::routes_stats::routes())
    .collect()
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
    docs.extend(super::routes_rules::docs());
    docs.extend(super::routes_stats::docs());
    docs
}
