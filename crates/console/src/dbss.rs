//! The DBSS section: audit instances of every project the user may see, an instance's audited
//! databases with their audit status and probe result; add a database, switch one ON or OFF,
//! or delete it; an audited database's own page with its agents. The SQL audit log, risk rules
//! and alarms of an instance are in `dbss_audit.rs` and `dbss_rules.rs`.

use crate::gaussdb::PageQuery;
use crate::layout::{self, pager, Section, PER_PAGE};
use crate::session::{form, permit, Signed};
use crate::Ctx;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use bytes::Bytes;
use maud::html;
use plugboard_api::dbss::routes::{
    ADD_DATABASE_NEW, DELETE_DATABASE_NEW, LIST_DATABASES_NEW, LIST_INSTANCES, SWITCH_DATABASE_NEW,
};
use plugboard_api::dbss::routes_audit::{LIST_AGENTS_NEW, LIST_SQLS_NEW};
use plugboard_service::dbss::rules::{DatabaseFields, TYPES};
use plugboard_service::dbss::Error;
use serde::Deserialize;

fn failure(e: Error) -> Response {
    match e {
        Error::Store(e) => layout::internal(&e),
        e => layout::message(StatusCode::BAD_REQUEST, "DBSS refused", &e.to_string()),
    }
}

/// `GET /console/dbss`: each project's audit instances.
pub async fn list(State(ctx): State<Ctx>, signed: Signed, Query(q): Query<PageQuery>) -> Response {
    let page = layout::page_number(q.page.as_deref());
    let mut sections = vec![];
    let mut most = 0;
    for p in &signed.projects {
        if !signed.may(&LIST_INSTANCES, Some(&p.id)) {
            continue;
        }
        match ctx
            .app
            .services
            .dbss
            .list_instances(&p.id, page * PER_PAGE, PER_PAGE)
            .await
        {
            Ok((rows, total)) => {
                most = most.max(total);
                sections.push((p, rows, total));
            }
            Err(e) => return failure(e),
        }
    }
    let content = html! {
        @for (p, rows, total) in &sections {
            h2 { "Project " (p.name) " (" (total) " audit instances)" }
            table {
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "ID" } th scope="col" { "Edition" }
                    th scope="col" { "Databases" } th scope="col" { "Audit ON" } th scope="col" { "Status" }
                } }
                tbody {
                    @for i in rows {
                        tr {
                            td { a href={ "/console/dbss/" (p.id) "/" (i.id) } { (i.name) } }
                            td { (i.id) } td { (i.edition) }
                            td.num { (i.database_count) " / " (i.database_limit) } td.num { (i.on_count) }
                            td { (i.status) }
                        }
                    }
                    @if rows.is_empty() { tr { td colspan="6" { "No audit instances." } } }
                }
            }
        }
        @if sections.is_empty() { p { "You may not list audit instances in any project." } }
        (pager("/console/dbss?", page, most))
        p.note { "An audit instance's page leads to its SQL audit log, its risk rules and its alarms." }
    };
    layout::page(&signed, Section::Dbss, "DBSS audit instances", content)
}

/// `GET /console/dbss/{project}/{instance}`: an instance's audited databases.
pub async fn instance(
    State(ctx): State<Ctx>,
    signed: Signed,
    Path((project, id)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
) -> Response {
    if !layout::sees_project(&signed, &project) {
        return layout::no_such("audit instance");
    }
    if let Err(r) = permit(&signed, &LIST_DATABASES_NEW, Some(&project)).await {
        return r;
    }
    let svc = &ctx.app.services.dbss;
    let inst = match svc.instance(&project, &id).await {
        Ok(i) => i,
        Err(e) => return failure(e),
    };
    let page = layout::page_number(q.page.as_deref());
    let (dbs, total) = match svc
        .list_databases(&project, &id, None, Ok((page * PER_PAGE, PER_PAGE)))
        .await
    {
        Ok(r) => r,
        Err(e) => return failure(e),
    };
    let may_switch = signed.may(&SWITCH_DATABASE_NEW, Some(&project));
    let may_delete = signed.may(&DELETE_DATABASE_NEW, Some(&project));
    let base = format!("/console/dbss/{project}/{id}");
    let content = html! {
        (crate::dbss_audit::subnav(&signed, &project, &id, crate::dbss_audit::Tab::Databases))
        dl {
            dt { "ID" } dd { (inst.id) }
            dt { "Edition" } dd { (inst.edition) }
            dt { "Databases" } dd { (inst.database_count) " of " (inst.database_limit) }
        }
        h2 { "Audited databases" }
        table {
            thead { tr {
                th scope="col" { "Name" } th scope="col" { "Type" } th scope="col" { "Address" }
                th scope="col" { "Audit" } th scope="col" { "Audit status" } th scope="col" { "Probe" }
                th scope="col" { "Actions" }
            } }
            tbody {
                @for d in &dbs {
                    tr id={ "db-" (d.id) } {
                        td { a href={ (base) "/databases/" (d.id) } { (d.name) } }
                        td { (d.db_type) " " (d.version) } td { (d.ip) ":" (d.port) }
                        td { (d.status) } td { (d.audit_status) }
                        td { (layout::time(d.probed_at)) @if !d.audit_reason.is_empty() { br; (d.audit_reason) } }
                        td {
                            @if may_switch {
                                @let to = if d.status == "ON" { "off" } else { "on" };
                                form.inline method="post" action={ (base) "/databases/" (d.id) "/" (to) } {
                                    input type="hidden" name="csrf" value=(signed.csrf);
                                    button type="submit" aria-label={ "Switch audit " (to) " for " (d.name) } { "Switch " (to) }
                                }
                                " "
                            }
                            @if may_delete {
                                form.inline method="post" action={ (base) "/databases/" (d.id) "/delete" } {
                                    input type="hidden" name="csrf" value=(signed.csrf);
                                    button.danger type="submit" aria-label={ "Delete " (d.name) } { "Delete" }
                                }
                            }
                        }
                    }
                }
                @if dbs.is_empty() { tr { td colspan="7" { "No databases." } } }
            }
        }
        (pager(&format!("{base}?"), page, total))
        @if signed.may(&ADD_DATABASE_NEW, Some(&project)) {
            h2 { "Add a database" }
            form method="post" action={ (base) "/databases" } {
                input type="hidden" name="csrf" value=(signed.csrf);
                (choice("db_classification", "Classification", &["ECS", "RDS"]))
                (field("name", "Database name", "text"))
                (choice("db_type", "Database type", TYPES))
                (field("version", "Version", "text"))
                (choice("charset", "Character set", &["UTF8", "GBK"]))
                (field("ip", "IP address", "text"))
                (field("port", "Port", "text"))
                (choice("os", "Operating system", &["LINUX64", "WINDOWS64", "UNIX"]))
                button type="submit" { "Add database" }
            }
        }
    };
    layout::page(
        &signed,
        Section::Dbss,
        &format!("Audit instance {}", inst.name),
        content,
    )
}

/// `POST .../databases/{db}/{on|off|delete}`.
pub async fn database_action(
    State(ctx): State<Ctx>,
    signed: Signed,
    Path((project, id, db, action)): Path<(String, String, String, String)>,
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
    let svc = &ctx.app.services.dbss;
    let done = match action.as_str() {
        "on" | "off" => {
            if let Err(r) = permit(&signed, &SWITCH_DATABASE_NEW, Some(&project)).await {
                return r;
            }
            svc.switch(&project, &id, &db, &action.to_ascii_uppercase())
                .await
        }
        "delete" => {
            if let Err(r) = permit(&signed, &DELETE_DATABASE_NEW, Some(&project)).await {
                return r;
            }
            svc.delete_database(&project, &id, &db).await
        }
        other => return layout::bad_request(&format!("`{other}` is not on, off or delete")),
    };
    match done {
        Ok(()) => Redirect::to(&format!("/console/dbss/{project}/{id}")).into_response(),
        Err(e) => failure(e),
    }
}

fn field(name: &str, label: &str, kind: &str) -> maud::Markup {
    html! {
        div.field {
            label for=(name) { (label) }
            input id=(name) name=(name) type=(kind) required;
        }
    }
}

fn choice(name: &str, label: &str, options: &[&str]) -> maud::Markup {
    html! {
        div.field {
            label for=(name) { (label) }
            select id=(name) name=(name) { @for o in options { option value=(o) { (o) } } }
        }
    }
}

/// The add-database form.
#[derive(Debug, Deserialize)]
pub struct AddForm {
    #[serde(default)]
    pub db_classification: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub db_type: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub charset: String,
    #[serde(default)]
    pub ip: String,
    #[serde(default)]
    pub port: String,
    #[serde(default)]
    pub os: String,
}

/// `POST /console/dbss/{project}/{instance}/databases`: `AddAuditDatabaseNew`.
pub async fn add_database(
    State(ctx): State<Ctx>,
    signed: Signed,
    Path((project, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let f: AddForm = match form(&signed, &body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    if !layout::sees_project(&signed, &project) {
        return layout::no_such("audit instance");
    }
    if let Err(r) = permit(&signed, &ADD_DATABASE_NEW, Some(&project)).await {
        return r;
    }
    let fields = DatabaseFields {
        db_classification: f.db_classification,
        name: f.name.trim().to_string(),
        db_type: f.db_type,
        version: f.version.trim().to_string(),
        charset: f.charset,
        ip: f.ip.trim().to_string(),
        port: f.port.trim().to_string(),
        os: f.os,
        instance_name: None,
    };
    match ctx
        .app
        .services
        .dbss
        .add_database(&project, &id, fields)
        .await
    {
        Ok(_) => Redirect::to(&format!("/console/dbss/{project}/{id}")).into_response(),
        Err(e) => failure(e),
    }
}

/// `GET /console/dbss/{project}/{instance}/databases/{db}`: an audited database (a deep link):
/// its fields, audit status, probe result and agents, and its statements in the audit log.
pub async fn database(
    State(ctx): State<Ctx>,
    signed: Signed,
    Path((project, id, db)): Path<(String, String, String)>,
) -> Response {
    if !layout::sees_project(&signed, &project) {
        return layout::no_such("audit instance");
    }
    if let Err(r) = permit(&signed, &LIST_DATABASES_NEW, Some(&project)).await {
        return r;
    }
    let svc = &ctx.app.services.dbss;
    let d = match svc.database(&project, &id, &db).await {
        Ok(d) => d,
        Err(e) => return crate::dbss_audit::failure(e),
    };
    let agents = if signed.may(&LIST_AGENTS_NEW, Some(&project)) {
        match svc.list_agents(&project, &id, Some(&d.id)).await {
            Ok(a) => Some(a),
            Err(e) => return crate::dbss_audit::failure(e),
        }
    } else {
        None
    };
    let base = format!("/console/dbss/{project}/{id}");
    let content = html! {
        (crate::dbss_audit::subnav(&signed, &project, &id, crate::dbss_audit::Tab::Databases))
        dl {
            dt { "ID" } dd { (d.id) }
            dt { "Type" } dd { (d.db_type) " " (d.version) " (" (d.db_classification) ", " (d.os) ")" }
            dt { "Address" } dd { (d.ip) ":" (d.port) }
            dt { "Character set" } dd { (d.charset) }
            dt { "Audit" } dd { (d.status) }
            dt { "Audit status" } dd { (d.audit_status) }
            dt { "Last probe" } dd { (layout::time(d.probed_at)) @if !d.audit_reason.is_empty() { ": " (d.audit_reason) } }
            dt { "Added" } dd { (layout::time(d.created_at)) }
        }
        @if signed.may(&LIST_SQLS_NEW, Some(&project)) {
            p { a href={ (base) "/audit?db=" (layout::encode(&d.id)) } { "Statements captured on " (d.name) } }
        }
        @if let Some(agents) = &agents {
            h2 { "Agents" }
            table {
                thead { tr {
                    th scope="col" { "Agent" } th scope="col" { "Type" } th scope="col" { "Host" }
                    th scope="col" { "Switch" } th scope="col" { "Capture" } th scope="col" { "Last heartbeat" }
                    th scope="col" { "Last error" }
                } }
                tbody {
                    @for a in agents {
                        tr {
                            td { (a.agent.id) } td { (a.agent.agent_type) " " (a.agent.agent_os) }
                            td { (a.agent.agent_ip) }
                            td { @if a.agent.status == 1 { "ON" } @else { "OFF" } }
                            td { (match a.datacap_status { 1 => "running", 2 => "sleeping", 3 => "stopped", _ => "abnormal" }) }
                            td { (layout::time(a.agent.heartbeat_at)) }
                            td { (a.agent.last_error) }
                        }
                    }
                    @if agents.is_empty() { tr { td colspan="7" { "No agents: nothing is captured yet." } } }
                }
            }
        }
    };
    layout::page(
        &signed,
        Section::Dbss,
        &format!("Audited database {}", d.name),
        content,
    )
}
