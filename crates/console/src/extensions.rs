//! GaussDB per-plug-in pages: the extensions an installed plug-in ships and whether each is on
//! in a database (switch on/off), and the instance's plug-in licence.

use crate::layout::{self, Section};
use crate::session::{form, permit, Signed};
use crate::Ctx;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use bytes::Bytes;
use maud::html;
use plugboard_api::gaussdb::routes::{
    LIST_PLUGIN_EXTENSIONS, RESUME_PLUGIN_EXTENSIONS, SET_KERNEL_PLUGIN_LICENSE,
};
use plugboard_service::gaussdb::{Error, ExtensionSwitch};
use serde::Deserialize;

fn failure(e: Error) -> Response {
    match e {
        Error::Store(e) => layout::internal(&e),
        e => layout::message(StatusCode::BAD_REQUEST, "GaussDB refused", &e.to_string()),
    }
}

/// The page's query: the database to look in.
#[derive(Debug, Default, Deserialize)]
pub struct DbQuery {
    pub db: Option<String>,
}

/// `GET /console/gaussdb/{project}/{instance}/plugins/{plugin}?db=`: the plug-in's
/// extensions in a database.
pub async fn page(
    State(ctx): State<Ctx>,
    signed: Signed,
    Path((project, id, plugin)): Path<(String, String, String)>,
    Query(q): Query<DbQuery>,
) -> Response {
    if !layout::sees_project(&signed, &project) {
        return layout::no_such("instance");
    }
    if let Err(r) = permit(&signed, &LIST_PLUGIN_EXTENSIONS, Some(&project)).await {
        return r;
    }
    let svc = &ctx.app.services.gaussdb;
    let instance = match svc.instance(&project, &id).await {
        Ok(i) => i,
        Err(e) => return failure(e),
    };
    let db =
        q.db.filter(|d| !d.trim().is_empty())
            .unwrap_or_else(|| instance.database_name.clone());
    let extensions = match svc
        .plugin_extensions(&project, &id, Some(&db), Some(&plugin))
        .await
    {
        Ok(e) => e,
        Err(e) => return failure(e),
    };
    let may_switch = signed.may(&RESUME_PLUGIN_EXTENSIONS, Some(&project));
    let base = format!("/console/gaussdb/{project}/{id}/plugins/{plugin}");
    let content = html! {
        p { "Instance " a href={ "/console/gaussdb/" (project) "/" (id) } { (instance.name) } "." }
        form method="get" action=(base) {
            div.field {
                label for="db" { "Database" }
                input id="db" name="db" type="text" required value=(db);
            }
            button type="submit" { "Show" }
        }
        table {
            thead { tr { th scope="col" { "Extension" } th scope="col" { "In " (db) } th scope="col" { "Actions" } } }
            tbody {
                @for (name, on) in &extensions {
                    tr {
                        td { (name) }
                        td { @if *on { "on" } @else { "off" } }
                        td {
                            @if may_switch {
                                form.inline method="post" action={ (base) "/extensions" } {
                                    input type="hidden" name="csrf" value=(signed.csrf);
                                    input type="hidden" name="db" value=(db);
                                    input type="hidden" name="extension" value=(name);
                                    input type="hidden" name="action" value=(if *on { "off" } else { "on" });
                                    button type="submit" aria-label={ "Switch " (name) (if *on { " off" } else { " on" }) } {
                                        "Switch " (if *on { "off" } else { "on" })
                                    }
                                }
                            }
                        }
                    }
                }
                @if extensions.is_empty() { tr { td colspan="3" { "No extensions." } } }
            }
        }
    };
    layout::page(
        &signed,
        Section::GaussDb,
        &format!("Plug-in {plugin}"),
        content,
    )
}

/// The switch form.
#[derive(Debug, Deserialize)]
pub struct SwitchForm {
    #[serde(default)]
    pub db: String,
    #[serde(default)]
    pub extension: String,
    #[serde(default)]
    pub action: String,
}

/// `POST .../plugins/{plugin}/extensions`: `ResumePluginExtensions` for one database.
pub async fn switch(
    State(ctx): State<Ctx>,
    signed: Signed,
    Path((project, id, plugin)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let f: SwitchForm = match form(&signed, &body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    if !layout::sees_project(&signed, &project) {
        return layout::no_such("instance");
    }
    if let Err(r) = permit(&signed, &RESUME_PLUGIN_EXTENSIONS, Some(&project)).await {
        return r;
    }
    let req = ExtensionSwitch {
        plugin_name: plugin.clone(),
        extension_name: f.extension,
        db_list: vec![f.db.clone()],
        action: f.action,
    };
    match ctx
        .app
        .services
        .gaussdb
        .switch_extension(&project, &id, &req)
        .await
    {
        Ok(()) => {
            let back = format!(
                "/console/gaussdb/{project}/{id}/plugins/{plugin}?db={}",
                percent_encode(&f.db)
            );
            Redirect::to(&back).into_response()
        }
        Err(e) => failure(e),
    }
}

/// A query value, percent-encoded (the few characters a database name may carry).
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The licence form.
#[derive(Debug, Deserialize)]
pub struct LicenceForm {
    #[serde(default)]
    pub license: String,
}

/// `POST /console/gaussdb/{project}/{instance}/license`: `SetKernelPluginLicense`.
pub async fn license(
    State(ctx): State<Ctx>,
    signed: Signed,
    Path((project, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let f: LicenceForm = match form(&signed, &body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    if !layout::sees_project(&signed, &project) {
        return layout::no_such("instance");
    }
    if let Err(r) = permit(&signed, &SET_KERNEL_PLUGIN_LICENSE, Some(&project)).await {
        return r;
    }
    match ctx
        .app
        .services
        .gaussdb
        .set_license(&project, &id, &f.license)
        .await
    {
        Ok(()) => {
            Redirect::to(&format!("/console/gaussdb/{project}/{id}?licensed=1")).into_response()
        }
        Err(e) => failure(e),
    }
}
