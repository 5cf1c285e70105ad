//! An audit instance's risk rules and alarms: the risk-operation and SQL-injection rules by
//! rank (ListAuditRuleRisks, ListSqlInjectionRules), each switched ON or OFF (SwitchRiskRule,
//! SetAuditSqlRuleSwitch); the alarms, newest first, filtered by window, risk and status
//! (ListAuditAlarmLog), each marked confirmed (SetAuditAlarmLogStatus). Every action is
//! CSRF-checked and authorized by the APIs' rules, like the rest of the console.

use crate::dbss_audit::{failure, risk, subnav, Tab};
use crate::layout::{self, encode, pager, pager_of, time, Section, PER_PAGE};
use crate::session::{form, permit, Signed};
use crate::Ctx;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use bytes::Bytes;
use maud::html;
use plugboard_api::dbss::routes_audit::{LIST_ALARMS_NEW, LIST_RISK_RULES_NEW, LIST_SQL_RULES_NEW};
use plugboard_api::dbss::routes_rules::{MARK_ALARM, SWITCH_RISK_RULES_NEW, SWITCH_SQL_RULE};
use plugboard_service::dbss::alarms::ListAlarms;
use plugboard_service::dbss::audit_rules::feature;
use plugboard_service::dbss::sqls::TimeWindow;
use serde::Deserialize;

/// The rules page's query: one page number per list.
#[derive(Debug, Default, Deserialize)]
pub struct RulesQuery {
    pub page: Option<String>,
    pub spage: Option<String>,
}

fn switch_button(signed: &Signed, action: &str, name: &str, status: &str) -> maud::Markup {
    let to = if status == "ON" { "off" } else { "on" };
    html! {
        form.inline method="post" action={ (action) "/" (to) } {
            input type="hidden" name="csrf" value=(signed.csrf);
            button type="submit" aria-label={ "Switch " (name) " " (to) } { "Switch " (to) }
        }
    }
}

/// `GET /console/dbss/{project}/{instance}/rules`.
pub async fn rules(
    State(ctx): State<Ctx>,
    signed: Signed,
    Path((project, id)): Path<(String, String)>,
    Query(q): Query<RulesQuery>,
) -> Response {
    if !layout::sees_project(&signed, &project) {
        return layout::no_such("audit instance");
    }
    if let Err(r) = permit(&signed, &LIST_RISK_RULES_NEW, Some(&project)).await {
        return r;
    }
    let svc = &ctx.app.services.dbss;
    let inst = match svc.instance(&project, &id).await {
        Ok(i) => i,
        Err(e) => return failure(e),
    };
    let page = layout::page_number(q.page.as_deref());
    let spage = layout::page_number(q.spage.as_deref());
    let risks = match svc
        .list_risk_rules(&project, &id, None, None, Some((page * PER_PAGE, PER_PAGE)))
        .await
    {
        Ok(r) => r,
        Err(e) => return failure(e),
    };
    let sqls = if signed.may(&LIST_SQL_RULES_NEW, Some(&project)) {
        match svc
            .list_sql_rules(&project, &id, None, Some((spage + 1, PER_PAGE)))
            .await
        {
            Ok(r) => Some(r),
            Err(e) => return failure(e),
        }
    } else {
        None
    };
    let may_risk = signed.may(&SWITCH_RISK_RULES_NEW, Some(&project));
    let may_sql = signed.may(&SWITCH_SQL_RULE, Some(&project));
    let base = format!("/console/dbss/{project}/{id}/rules");
    let content = html! {
        (subnav(&signed, &project, &id, Tab::Rules))
        h2 id="risk-rules" { "Risk-operation rules" }
        p { "The first enabled rule (by rank) that matches a statement gives it its risk level; "
            "a statement's level is the higher of its risk-operation and SQL-injection matches." }
        table aria-labelledby="risk-rules" {
            thead { tr {
                th scope="col" { "Rank" } th scope="col" { "Name" } th scope="col" { "Kind" }
                th scope="col" { "Condition" } th scope="col" { "Risk level" } th scope="col" { "Origin" }
                th scope="col" { "Status" } th scope="col" { "Actions" }
            } }
            tbody {
                @for r in &risks.rules {
                    tr id={ "rule-" (r.id) } {
                        td.num { (r.rank) }
                        td { (r.name) @if !r.name_english.is_empty() { br; small { (r.name_english) } } }
                        td { (r.kind) } td { (feature(r)) } td { (risk(&r.risk_level)) }
                        td { (r.rule_type) } td { (r.status) }
                        td { @if may_risk { (switch_button(&signed, &format!("{base}/risk/{}", r.id), &r.name, &r.status)) } }
                    }
                }
                @if risks.rules.is_empty() { tr { td colspan="8" { "No risk rules." } } }
            }
        }
        (pager_of(&format!("{base}?spage={}&", spage + 1), "page", "Pages of risk-operation rules", page, risks.total))
        @if let Some((rules, total)) = &sqls {
            h2 id="sql-rules" { "SQL-injection rules" }
            table aria-labelledby="sql-rules" {
                thead { tr {
                    th scope="col" { "Rank" } th scope="col" { "Name" } th scope="col" { "Feature" }
                    th scope="col" { "Pattern" } th scope="col" { "Risk level" } th scope="col" { "Origin" }
                    th scope="col" { "Status" } th scope="col" { "Actions" }
                } }
                tbody {
                    @for r in rules {
                        tr id={ "rule-" (r.id) } {
                            td.num { (r.rank) } td { (r.name) } td { (r.feature) }
                            td.sql { code { (r.regex) } } td { (risk(&r.risk_level)) }
                            td { (r.rule_type) } td { (r.status) }
                            td { @if may_sql { (switch_button(&signed, &format!("{base}/sql/{}", r.id), &r.name, &r.status)) } }
                        }
                    }
                    @if rules.is_empty() { tr { td colspan="8" { "No SQL-injection rules." } } }
                }
            }
            (pager_of(&format!("{base}?page={}&", page + 1), "spage", "Pages of SQL-injection rules", spage, *total))
        }
    };
    layout::page(
        &signed,
        Section::Dbss,
        &format!("Risk rules of {}", inst.name),
        content,
    )
}

/// `POST /console/dbss/{project}/{instance}/rules/{risk|sql}/{rule}/{on|off}`.
pub async fn switch_rule(
    State(ctx): State<Ctx>,
    signed: Signed,
    Path((project, id, kind, rule, to)): Path<(String, String, String, String, String)>,
    body: Bytes,
) -> Response {
    #[derive(Deserialize)]
    struct Empty {}
    if let Err(r) = form::<Empty>(&signed, &body) {
        return r;
    }
    if !layout::sees_project(&signed, &project) {
        return layout::no_such("audit instance");
    }
    let status = match to.as_str() {
        "on" => "ON",
        "off" => "OFF",
        other => return layout::bad_request(&format!("`{other}` is not on or off")),
    };
    let svc = &ctx.app.services.dbss;
    let done = match kind.as_str() {
        "risk" => {
            if let Err(r) = permit(&signed, &SWITCH_RISK_RULES_NEW, Some(&project)).await {
                return r;
            }
            svc.switch_risk_rules(&project, &id, std::slice::from_ref(&rule), status)
                .await
        }
        "sql" => {
            if let Err(r) = permit(&signed, &SWITCH_SQL_RULE, Some(&project)).await {
                return r;
            }
            svc.switch_sql_rule(&project, &id, &rule, status).await
        }
        other => return layout::bad_request(&format!("`{other}` is not risk or sql")),
    };
    match done {
        Ok(()) => {
            Redirect::to(&format!("/console/dbss/{project}/{id}/rules#rule-{rule}")).into_response()
        }
        Err(e) => failure(e),
    }
}

/// The alarms page's filters.
#[derive(Debug, Default, Deserialize)]
pub struct AlarmsQuery {
    #[serde(default)]
    pub range: String,
    #[serde(default)]
    pub risk: String,
    #[serde(default)]
    pub status: String,
    pub page: Option<String>,
}

const ALARM_RANGES: &[(&str, &str)] = &[
    ("HOUR", "Last hour"),
    ("DAY", "Last 24 hours"),
    ("WEEK", "Last 7 days"),
    ("MONTH", "Last 30 days"),
];

/// `GET /console/dbss/{project}/{instance}/alarms`.
pub async fn alarms(
    State(ctx): State<Ctx>,
    signed: Signed,
    Path((project, id)): Path<(String, String)>,
    Query(q): Query<AlarmsQuery>,
) -> Response {
    if !layout::sees_project(&signed, &project) {
        return layout::no_such("audit instance");
    }
    if let Err(r) = permit(&signed, &LIST_ALARMS_NEW, Some(&project)).await {
        return r;
    }
    let svc = &ctx.app.services.dbss;
    let inst = match svc.instance(&project, &id).await {
        Ok(i) => i,
        Err(e) => return failure(e),
    };
    let page = layout::page_number(q.page.as_deref());
    let range = if q.range.is_empty() { "WEEK" } else { &q.range };
    let req = ListAlarms {
        time: Some(TimeWindow {
            time_range: Some(range.to_string()),
            ..Default::default()
        }),
        risk: (!q.risk.is_empty()).then(|| vec![q.risk.clone()]),
        status: (!q.status.is_empty()).then(|| q.status.clone()),
        page: Some(page + 1),
        size: Some(PER_PAGE),
        ..Default::default()
    };
    let (rows, total) = match svc.list_alarms(&project, &id, req).await {
        Ok(r) => r,
        Err(e) => return failure(e),
    };
    let may_mark = signed.may(&MARK_ALARM, Some(&project));
    let base = format!("/console/dbss/{project}/{id}/alarms");
    let pager_base = format!(
        "{base}?range={}&risk={}&status={}&",
        encode(range),
        encode(&q.risk),
        encode(&q.status)
    );
    let content = html! {
        (subnav(&signed, &project, &id, Tab::Alarms))
        form.filters method="get" action=(base) aria-label="Filter the alarms" {
            div.field {
                label for="range" { "Time window" }
                select id="range" name="range" {
                    @for (v, words) in ALARM_RANGES { option value=(v) selected[range == *v] { (words) } }
                }
            }
            div.field {
                label for="risk" { "Risk level" }
                select id="risk" name="risk" {
                    option value="" { "All levels" }
                    @for v in ["HIGH", "MEDIUM", "LOW"] { option value=(v) selected[q.risk == v] { (v) } }
                }
            }
            div.field {
                label for="status" { "Status" }
                select id="status" name="status" {
                    option value="" { "Any status" }
                    option value="UNDO" selected[q.status == "UNDO"] { "Not confirmed (UNDO)" }
                    option value="DONE" selected[q.status == "DONE"] { "Confirmed (DONE)" }
                }
            }
            button type="submit" { "Filter" }
        }
        table {
            thead { tr {
                th scope="col" { "Raised" } th scope="col" { "Type" } th scope="col" { "Risk level" }
                th scope="col" { "Rule" } th scope="col" { "Database" } th scope="col" { "Matches" }
                th scope="col" { "Ongoing" } th scope="col" { "Status" } th scope="col" { "Actions" }
            } }
            tbody {
                @for a in &rows {
                    tr id={ "alarm-" (a.id) } class={ "risk-row-" (a.risk) } {
                        td { (time(a.alarm_time)) } td { (a.alarm_type) } td { (risk(&a.risk)) }
                        td { (a.rule_name) } td { (a.db_label) } td.num { (a.match_count) }
                        td { @if a.life == "ON" { "ongoing" } @else { "closed " (time(a.fix_time)) } }
                        td { (a.status) }
                        td {
                            @if may_mark && a.status == "UNDO" {
                                form.inline method="post" action={ (base) "/" (a.id) "/mark" } {
                                    input type="hidden" name="csrf" value=(signed.csrf);
                                    button type="submit" aria-label={ "Mark alarm " (a.rule_name) " on " (a.db_label) " confirmed" } { "Mark confirmed" }
                                }
                            }
                        }
                    }
                }
                @if rows.is_empty() { tr { td colspan="9" { "No alarms." } } }
            }
        }
        (pager(&pager_base, page, total))
    };
    layout::page(
        &signed,
        Section::Dbss,
        &format!("Alarms of {}", inst.name),
        content,
    )
}

/// `POST /console/dbss/{project}/{instance}/alarms/{alarm}/mark`: confirmed (`DONE`).
pub async fn mark_alarm(
    State(ctx): State<Ctx>,
    signed: Signed,
    Path((project, id, alarm)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    #[derive(Deserialize)]
    struct Empty {}
    if let Err(r) = form::<Empty>(&signed, &body) {
        return r;
    }
    if !layout::sees_project(&signed, &project) {
        return layout::no_such("audit instance");
    }
    if let Err(r) = permit(&signed, &MARK_ALARM, Some(&project)).await {
        return r;
    }
    match ctx
        .app
        .services
        .dbss
        .mark_alarms(&project, &id, std::slice::from_ref(&alarm))
        .await
    {
        Ok(()) => Redirect::to(&format!("/console/dbss/{project}/{id}/alarms")).into_response(),
        Err(e) => failure(e),
    }
}
