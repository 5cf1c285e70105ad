//! The GaussDB section: instances (name, id, version, status, install mode) of every project
//! the user may see; an instance's page with its plug-ins (each installed one links to its
//! extensions, `extensions.rs`), its licence state (stored or not; the text is never shown)
//! and the form to set it, and the kernel plug-in install form
//! (**Plug-in name**, **Package URL**, **SHA-256**, **Install**), which leads to the job page.

use crate::layout::{self, pager, Section, PER_PAGE};
use crate::session::{form, permit, Signed};
use crate::Ctx;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use bytes::Bytes;
use maud::html;
use plugboard_api::gaussdb::routes::{
    INSTALL_KERNEL_PLUGIN, LIST_INSTANCES, LIST_PLUGIN_EXTENSIONS, LIST_PLUGIN_INFO_LIST,
    SET_KERNEL_PLUGIN_LICENSE,
};
use plugboard_service::gaussdb::{Error, InstallRequest};
use serde::Deserialize;

/// A list's query.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    pub page: Option<String>,
}

/// `GET /console/gaussdb`: each project's instances.
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
            .gaussdb
            .list_instances(&p.id, &Default::default(), page * PER_PAGE, PER_PAGE)
            .await
        {
            Ok((rows, total)) => {
                most = most.max(total);
                sections.push((p, rows, total));
            }
            Err(e) => return layout::internal(&e),
        }
    }
    let content = html! {
        @for (p, rows, total) in &sections {
            h2 { "Project " (p.name) " (" (total) " instances)" }
            table {
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "ID" } th scope="col" { "Version" }
                    th scope="col" { "Status" } th scope="col" { "Install mode" }
                } }
                tbody {
                    @for i in rows {
                        tr {
                            td { a href={ "/console/gaussdb/" (p.id) "/" (i.id) } { (i.name) } }
                            td { (i.id) } td { (i.version) } td { (i.status) } td { (i.install_mode) }
                        }
                    }
                    @if rows.is_empty() { tr { td colspan="5" { "No instances." } } }
                }
            }
        }
        @if sections.is_empty() {
            p { "You may not list GaussDB instances in any project." }
        }
        (pager("/console/gaussdb?", page, most))
    };
    layout::page(&signed, Section::GaussDb, "GaussDB instances", content)
}

fn failure(e: Error) -> Response {
    match e {
        Error::Store(e) => layout::internal(&e),
        e => layout::message(StatusCode::BAD_REQUEST, "GaussDB refused", &e.to_string()),
    }
}

/// An instance page's query (`licensed`: after a licence was stored).
#[derive(Debug, Default, Deserialize)]
pub struct InstanceQuery {
    pub licensed: Option<String>,
}

/// `GET /console/gaussdb/{project}/{instance}`: an instance, its plug-ins, the install form.
pub async fn instance(
    State(ctx): State<Ctx>,
    signed: Signed,
    Path((project, id)): Path<(String, String)>,
    Query(q): Query<InstanceQuery>,
) -> Response {
    let licensed = q.licensed.is_some();
    if !layout::sees_project(&signed, &project) {
        return layout::no_such("instance");
    }
    if let Err(r) = permit(&signed, &LIST_PLUGIN_INFO_LIST, Some(&project)).await {
        return r;
    }
    let svc = &ctx.app.services.gaussdb;
    let plugins = match svc.plugin_info(&project, &id, None, Ok((0, 500))).await {
        Ok(p) => p,
        Err(e) => return failure(e),
    };
    let i = &plugins.instance;
    let (licence_stored, licence_required) = match svc.license_state(&project, &id).await {
        Ok(l) => l,
        Err(e) => return failure(e),
    };
    let may_install = signed.may(&INSTALL_KERNEL_PLUGIN, Some(&project));
    let may_extensions = signed.may(&LIST_PLUGIN_EXTENSIONS, Some(&project));
    let may_license = signed.may(&SET_KERNEL_PLUGIN_LICENSE, Some(&project));
    let content = html! {
        dl {
            dt { "ID" } dd { (i.id) }
            dt { "Project" } dd { (layout::project_name(&signed, &project)) }
            dt { "Version" } dd { (i.version) }
            dt { "Status" } dd { (i.status) }
            dt { "Install mode" } dd { (i.install_mode) }
            dt { "Address" } dd { (i.host) ":" (i.port) " / " (i.database_name) }
        }
        h2 { "Plug-ins" }
        table {
            thead { tr { th scope="col" { "Plug-in" } th scope="col" { "State" } th scope="col" { "Version" } } }
            tbody {
                @for p in &plugins.plugins {
                    tr {
                        td {
                            @if p.installed && may_extensions {
                                a href={ "/console/gaussdb/" (project) "/" (i.id) "/plugins/" (p.name) } { (p.name) }
                            } @else { (p.name) }
                        }
                        td { @if p.installed { "installed" } @else { "available" } }
                        td { (p.version) }
                    }
                }
            }
        }
        h2 { "Licence" }
        p id="licence-state" {
            @if licence_stored { "A plug-in licence is stored for this instance." }
            @else { "No plug-in licence is stored for this instance." }
            @if !licence_required.is_empty() {
                " Plug-ins that need one to install: " (licence_required.join(", ")) "."
            }
        }
        @if may_license {
            @if licensed { p.note role="status" { "The licence was stored." } }
            form method="post" action={ "/console/gaussdb/" (project) "/" (i.id) "/license" } {
                input type="hidden" name="csrf" value=(signed.csrf);
                div.field {
                    label for="license" { "Licence text" }
                    input id="license" name="license" type="password" autocomplete="off" required;
                }
                button type="submit" { "Set licence" }
            }
        }
        h2 { "Install a kernel plug-in" }
        @if may_install {
            form method="post" action={ "/console/gaussdb/" (project) "/" (i.id) "/install" } {
                input type="hidden" name="csrf" value=(signed.csrf);
                div.field {
                    label for="plugin_name" { "Plug-in name" }
                    input id="plugin_name" name="plugin_name" type="text" required list="catalog";
                    datalist id="catalog" {
                        @for p in svc.supported_plugins() { option value=(p) {} }
                    }
                }
                div.field {
                    label for="url" { "Package URL" }
                    input id="url" name="url" type="url" required;
                }
                div.field {
                    label for="sha_256" { "SHA-256" }
                    input id="sha_256" name="sha_256" type="text" required pattern="[0-9a-fA-F]{64}";
                }
                button type="submit" { "Install" }
            }
        } @else {
            p.note { "Your roles do not allow installing plug-ins in this project." }
        }
    };
    layout::page(
        &signed,
        Section::GaussDb,
        &format!("Instance {}", i.name),
        content,
    )
}

/// The install form.
#[derive(Debug, Deserialize)]
pub struct InstallForm {
    #[serde(default)]
    pub plugin_name: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub sha_256: String,
}

/// `POST /console/gaussdb/{project}/{instance}/install`: `InstallKernelPlugin`, then the job.
pub async fn install(
    State(ctx): State<Ctx>,
    signed: Signed,
    Path((project, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let f: InstallForm = match form(&signed, &body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    if !layout::sees_project(&signed, &project) {
        return layout::no_such("instance");
    }
    if let Err(r) = permit(&signed, &INSTALL_KERNEL_PLUGIN, Some(&project)).await {
        return r;
    }
    let req = InstallRequest {
        plugin_name: f.plugin_name,
        url: f.url.trim().to_string(),
        sha_256: f.sha_256.trim().to_string(),
    };
    match ctx.app.services.gaussdb.install(&project, &id, &req).await {
        Ok(job) => Redirect::to(&format!("/console/jobs/{job}")).into_response(),
        Err(e) => failure(e),
    }
}
