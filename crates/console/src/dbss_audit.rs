//! The DBSS SQL audit log of an audit instance: its captured statements (ListAuditSqls) with
//! the filters of the vendor's console — time window, database, user, client, risk level,
//! query type, result, statement text — newest first and paged, each risk level written in
//! words (HIGH rows also marked), and a statement's own page (ShowSqlDetail, a deep link).
//! Also the instance pages' sub-navigation (databases, audit log, rules, alarms).

use crate::layout::{self, encode, pager, time, Section, PER_PAGE};
use crate::session::{permit, Signed};
use crate::Ctx;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use plugboard_api::dbss::routes::LIST_DATABASES_NEW;
use plugboard_api::dbss::routes_audit::{
    LIST_ALARMS_NEW, LIST_RISK_RULES_NEW, LIST_SQLS_NEW, SHOW_SQL,
};
use plugboard_service::dbss::sqls::{
    ListSqls, SqlView, TimeWindow, LEVELS, MAX_DEPTH, QUERY_TYPES,
};
use plugboard_service::dbss::Error;
use serde::Deserialize;

/// The time windows the filter offers (the API's `time_range` values).
const RANGES: &[(&str, &str)] = &[
    ("HALF_HOUR", "Last 30 minutes"),
    ("HOUR", "Last hour"),
    ("THREE_HOUR", "Last 3 hours"),
    ("TWELVE_HOUR", "Last 12 hours"),
    ("DAY", "Last 24 hours"),
    ("WEEK", "Last 7 days"),
    ("MONTH", "Last 30 days"),
];
/// How much of a statement the list shows (the whole text is on its own page).
const SHOWN_CHARS: usize = 160;

/// What DBSS answered, as a page: refusals of the caller's input are a 4xx naming the problem;
/// an id in the address that names nothing (or cannot) is the console's 404.
pub fn failure(e: Error) -> Response {
    match e {
        Error::Store(e) => layout::internal(&e),
        Error::InstanceNotFound(_)
        | Error::DatabaseNotFound(_)
        | Error::NotFound(_)
        | Error::BadInstanceId(_)
        | Error::BadDatabaseId(_)
        | Error::BadId(..) => layout::message(StatusCode::NOT_FOUND, "Not found", &e.to_string()),
        e => layout::message(StatusCode::BAD_REQUEST, "DBSS refused", &e.to_string()),
    }
}

/// The part of an audit instance a page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Databases,
    AuditLog,
    Rules,
    Alarms,
}

/// The instance pages' own navigation; a tab the user may not read is left out.
pub fn subnav(signed: &Signed, project: &str, id: &str, current: Tab) -> Markup {
    let base = format!("/console/dbss/{project}/{id}");
    let tabs = [
        (
            Tab::Databases,
            "Audited databases",
            base.clone(),
            &LIST_DATABASES_NEW,
        ),
        (
            Tab::AuditLog,
            "SQL audit log",
            format!("{base}/audit"),
            &LIST_SQLS_NEW,
        ),
        (
            Tab::Rules,
            "Risk rules",
            format!("{base}/rules"),
            &LIST_RISK_RULES_NEW,
        ),
        (
            Tab::Alarms,
            "Alarms",
            format!("{base}/alarms"),
            &LIST_ALARMS_NEW,
        ),
    ];
    html! {
        nav.tabs aria-label="Audit instance" {
            ul {
                @for (tab, name, href, op) in &tabs {
                    @if signed.may(op, Some(project)) {
                        li {
                            @if *tab == current {
                                a href=(href) aria-current="page" { (name) }
                            } @else {
                                a href=(href) { (name) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A risk level in words, marked for the stylesheet (`risk-HIGH` ...).
pub fn risk(level: &str) -> Markup {
    let words = match level {
        "HIGH" => "HIGH",
        "MEDIUM" => "MEDIUM",
        "LOW" => "LOW",
        "NO_RISK" => "NO_RISK",
        _ => "—",
    };
    html! { span class={ "risk risk-" (level) } { (words) } }
}

/// The audit log's filters (the query of `GET .../audit`); empty = no filter.
#[derive(Debug, Default, Deserialize)]
pub struct LogQuery {
    #[serde(default)]
    pub range: String,
    #[serde(default)]
    pub start: String,
    #[serde(default)]
    pub end: String,
    #[serde(default)]
    pub db: String,
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub client: String,
    #[serde(default)]
    pub risk: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub result: String,
    #[serde(default)]
    pub text: String,
    pub page: Option<String>,
}

impl LogQuery {
    /// The filters as a query string ending in `&`, for the pager's links.
    fn base(&self, path: &str) -> String {
        let mut q = format!("{path}?");
        for (k, v) in [
            ("range", &self.range),
            ("start", &self.start),
            ("end", &self.end),
            ("db", &self.db),
            ("user", &self.user),
            ("client", &self.client),
            ("risk", &self.risk),
            ("kind", &self.kind),
            ("result", &self.result),
            ("text", &self.text),
        ] {
            if !v.is_empty() {
                q.push_str(&format!("{k}={}&", encode(v)));
            }
        }
        q
    }

    /// The window the form shows as chosen: none given is the last day.
    fn shown_range(&self) -> &str {
        if self.range.is_empty() && self.start.trim().is_empty() && self.end.trim().is_empty() {
            "DAY"
        } else {
            &self.range
        }
    }

    /// The service's request for page `page` (zero-based).
    fn request(&self, page: i64) -> ListSqls {
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let range = opt(&self.range).or_else(|| {
            (self.start.trim().is_empty() && self.end.trim().is_empty()).then(|| "DAY".into())
        });
        ListSqls {
            time: Some(TimeWindow {
                time_range: range,
                start_time: opt(&self.start),
                end_time: opt(&self.end),
            }),
            risk_levels: opt(&self.risk),
            client_ip: opt(&self.client),
            db_user: opt(&self.user),
            query_type: opt(&self.kind),
            sql_statement: opt(&self.text),
            sql_response: opt(&self.result),
            db_id: opt(&self.db),
            page: Some(page + 1),
            size: Some(PER_PAGE),
            time_order: Some("DESC".into()),
            ..Default::default()
        }
    }
}

fn select(name: &str, label: &str, current: &str, all: &str, options: &[(&str, &str)]) -> Markup {
    html! {
        div.field {
            label for=(name) { (label) }
            select id=(name) name=(name) {
                option value="" { (all) }
                @for (value, words) in options {
                    option value=(value) selected[current == *value] { (words) }
                }
            }
        }
    }
}

fn text(name: &str, label: &str, value: &str, hint: Option<&str>) -> Markup {
    html! {
        div.field {
            label for=(name) { (label) }
            input id=(name) name=(name) type="text" value=(value) placeholder=[hint];
        }
    }
}

fn shortened(sql: &str) -> String {
    let mut chars = sql.chars();
    let head: String = chars.by_ref().take(SHOWN_CHARS).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

fn log_table(base: &str, rows: &[SqlView]) -> Markup {
    html! {
        table.audit {
            caption.visually-hidden { "Captured statements, newest first" }
            thead { tr {
                th scope="col" { "Time" } th scope="col" { "Database" } th scope="col" { "Client" }
                th scope="col" { "User" } th scope="col" { "Type" } th scope="col" { "Statement" }
                th scope="col" { "Risk level" } th scope="col" { "Rule" } th scope="col" { "Result" }
            } }
            tbody {
                @for c in rows {
                    @let s = &c.sql;
                    tr id={ "sql-" (s.id) } class={ "risk-row-" (s.risk_level) } {
                        td { (time(s.start_time)) }
                        td { @if let Some(d) = &c.database { (d.name) } @else { (s.db_id) } }
                        td { (s.client_ip) @if !s.client_name.is_empty() { br; small { (s.client_name) } } }
                        td { (s.db_user) }
                        td { (s.query_type) }
                        td.sql { a href={ (base) "/audit/" (s.id) } { code { (shortened(&s.sql_statement)) } } }
                        td { (risk(&s.risk_level)) }
                        td { (s.rule_name) }
                        td { (s.sql_response) }
                    }
                }
                @if rows.is_empty() { tr { td colspan="9" { "No statements match." } } }
            }
        }
    }
}

/// `GET /console/dbss/{project}/{instance}/audit`: the SQL audit log.
pub async fn log(
    State(ctx): State<Ctx>,
    signed: Signed,
    Path((project, id)): Path<(String, String)>,
    Query(q): Query<LogQuery>,
) -> Response {
    if !layout::sees_project(&signed, &project) {
        return layout::no_such("audit instance");
    }
    if let Err(r) = permit(&signed, &LIST_SQLS_NEW, Some(&project)).await {
        return r;
    }
    let svc = &ctx.app.services.dbss;
    let inst = match svc.instance(&project, &id).await {
        Ok(i) => i,
        Err(e) => return failure(e),
    };
    let databases = if signed.may(&LIST_DATABASES_NEW, Some(&project)) {
        match svc.list_databases(&project, &id, None, Ok((0, 1000))).await {
            Ok((dbs, _)) => dbs,
            Err(e) => return failure(e),
        }
    } else {
        vec![]
    };
    let page = layout::page_number(q.page.as_deref()).min(MAX_DEPTH / PER_PAGE - 1);
    let base = format!("/console/dbss/{project}/{id}");
    let (status, listing) = match svc.list_sqls(&project, &id, q.request(page)).await {
        Ok((rows, total)) => (
            StatusCode::OK,
            html! {
                (log_table(&base, &rows))
                (pager(&q.base(&format!("{base}/audit")), page, total.min(MAX_DEPTH)))
                @if total > MAX_DEPTH {
                    p.note { (total) " statements match; the list reaches the newest "
                        (MAX_DEPTH) ": narrow the filters to see older ones." }
                }
            },
        ),
        Err(Error::Store(e)) => return layout::internal(&e),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            html! { p.alert role="alert" { "The filters cannot be used: " (e) } },
        ),
    };
    let db_options: Vec<(String, String)> = databases
        .iter()
        .map(|d| (d.id.clone(), format!("{} ({}:{})", d.name, d.ip, d.port)))
        .collect();
    let db_refs: Vec<(&str, &str)> = db_options
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let levels: Vec<(&str, &str)> = LEVELS.iter().map(|l| (*l, *l)).collect();
    let kinds: Vec<(&str, &str)> = QUERY_TYPES
        .iter()
        .filter(|k| **k != "ALL")
        .map(|k| (*k, *k))
        .collect();
    let content = html! {
        (subnav(&signed, &project, &id, Tab::AuditLog))
        form.filters method="get" action={ (base) "/audit" } aria-label="Filter the audit log" {
            (select("range", "Time window", q.shown_range(), "Custom (start and end)", RANGES))
            (text("start", "From (UTC)", &q.start, Some("yyyy-MM-dd HH:mm:ss")))
            (text("end", "To (UTC)", &q.end, Some("yyyy-MM-dd HH:mm:ss")))
            (select("db", "Database", &q.db, "All databases", &db_refs))
            (text("user", "Database user", &q.user, None))
            (text("client", "Client IP", &q.client, None))
            (select("risk", "Risk level", &q.risk, "All levels", &levels))
            (select("kind", "Query type", &q.kind, "All types", &kinds))
            (select("result", "Result", &q.result, "Any result", &[("SUCCESS", "SUCCESS"), ("FAILED", "FAILED")]))
            (text("text", "Statement contains", &q.text, None))
            button type="submit" { "Filter" }
        }
        (listing)
    };
    let mut r = layout::page(
        &signed,
        Section::Dbss,
        &format!("SQL audit log of {}", inst.name),
        content,
    );
    *r.status_mut() = status;
    r
}

/// `GET /console/dbss/{project}/{instance}/audit/{sql}`: one statement (a deep link).
pub async fn statement(
    State(ctx): State<Ctx>,
    signed: Signed,
    Path((project, id, sql)): Path<(String, String, String)>,
) -> Response {
    if !layout::sees_project(&signed, &project) {
        return layout::no_such("audit instance");
    }
    if let Err(r) = permit(&signed, &SHOW_SQL, Some(&project)).await {
        return r;
    }
    let c = match ctx.app.services.dbss.show_sql(&project, &id, &sql).await {
        Ok(c) => c,
        Err(e) => return failure(e),
    };
    let s = &c.sql;
    let base = format!("/console/dbss/{project}/{id}");
    let content = html! {
        (subnav(&signed, &project, &id, Tab::AuditLog))
        p { a href={ (base) "/audit" } { "Back to the SQL audit log" } }
        dl.detail class={ "risk-row-" (s.risk_level) } {
            dt { "Risk level" } dd { (risk(&s.risk_level)) }
            dt { "Rule" } dd { @if s.rule_name.is_empty() { "—" } @else { (s.rule_name) " (" (s.rule_type) ")" } }
            dt { "Time (UTC)" } dd { (time(s.start_time)) }
            dt { "Duration" } dd { (s.execute_time) " ms" }
            dt { "Database" } dd {
                @if let Some(d) = &c.database {
                    a href={ (base) "/databases/" (d.id) } { (d.name) } " — " (d.db_type) " " (d.ip) ":" (d.port)
                } @else { (s.db_id) }
            }
            dt { "Session database" } dd { (s.db_service_name) }
            dt { "User" } dd { (s.db_user) }
            dt { "Client" } dd { (s.client_ip) ":" (s.client_port) @if !s.client_name.is_empty() { " (" (s.client_name) ")" } }
            dt { "Session" } dd { (s.db_session_id) }
            dt { "Query type" } dd { (s.query_type) }
            dt { "Object" } dd { @if s.object_name.is_empty() { "—" } @else { (s.object_name) " " (s.object_type) } }
            dt { "Rows" } dd { @if s.lines.is_empty() { "—" } @else { (s.lines) } }
            dt { "Result" } dd { (s.sql_response) " " (s.response_status) @if !s.sql_result.is_empty() { ": " (s.sql_result) } }
            dt { "Scope" } dd { (s.scope_name) }
            dt { "Statement ID" } dd { (s.id) }
        }
        h2 { "Statement" }
        pre.sql { code { (s.sql_statement) } }
    };
    layout::page(
        &signed,
        Section::Dbss,
        &format!("Statement {}", s.id),
        content,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pager_keeps_every_filter_encoded() {
        let q = LogQuery {
            range: "HOUR".into(),
            user: "app".into(),
            text: "a b&c=d".into(),
            ..Default::default()
        };
        assert_eq!(q.base("/x"), "/x?range=HOUR&user=app&text=a%20b%26c%3Dd&");
    }

    #[test]
    fn no_window_means_the_last_day_and_a_custom_one_has_no_range() {
        let r = LogQuery::default().request(2);
        assert_eq!(r.time.unwrap().time_range.as_deref(), Some("DAY"));
        assert_eq!((r.page, r.size), (Some(3), Some(PER_PAGE)));
        let r = LogQuery {
            start: "2026-01-01 00:00:00".into(),
            end: "2026-01-02 00:00:00".into(),
            ..Default::default()
        }
        .request(0);
        let t = r.time.unwrap();
        assert_eq!(t.time_range, None);
        assert_eq!(t.start_time.as_deref(), Some("2026-01-01 00:00:00"));
    }

    #[test]
    fn long_statements_are_shortened_in_the_list() {
        assert_eq!(shortened("select 1"), "select 1");
        let long = "x".repeat(SHOWN_CHARS + 5);
        assert_eq!(shortened(&long).chars().count(), SHOWN_CHARS + 1);
    }
}
