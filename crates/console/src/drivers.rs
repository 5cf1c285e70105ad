//! The Drivers section: the driver registry (name, type, version, source, the add-ons each
//! serves, the deleted mark) and its errors; refresh; delete a driver Permissive (refused
//! while add-ons use it) or Enforcing (their jobs fail until it is back) — a ZStack job; and a
//! driver's own page (a deep link) with its manifest and add-on versions.

use crate::layout::{self, Section};
use crate::session::{form, permit, Signed};
use crate::Ctx;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use bytes::Bytes;
use maud::html;
use plugboard_api::admin::routes::{DELETE_DRIVER, LIST_DRIVERS, REFRESH_DRIVERS};
use plugboard_service::drivers::{Driver, DriverSource};
use serde::Deserialize;

/// The list's query.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub refreshed: Option<String>,
}

/// `GET /console/drivers`.
pub async fn list(State(ctx): State<Ctx>, signed: Signed, Query(q): Query<ListQuery>) -> Response {
    if let Err(r) = permit(&signed, &LIST_DRIVERS, None).await {
        return r;
    }
    let view = ctx.app.services.servicestage.registry().view().await;
    let may_refresh = signed.may(&REFRESH_DRIVERS, None);
    let may_delete = signed.may(&DELETE_DRIVER, None);
    let content = html! {
        @if q.refreshed.is_some() { p.note role="status" { "The registry was refreshed." } }
        @if may_refresh {
            form method="post" action="/console/drivers/refresh" {
                input type="hidden" name="csrf" value=(signed.csrf);
                button type="submit" { "Refresh" }
            }
        }
        p {
            "Delete " strong { "Permissive" } " is refused (its job fails saying why) while something uses the driver: "
            "add-ons it runs and their running jobs, and for the built-in ones the GaussDB instances or audited databases they serve; "
            strong { "Enforcing" } " deletes it anyway, and the jobs of its add-ons fail until it is back."
        }
        table {
            thead { tr {
                th scope="col" { "Name" } th scope="col" { "Type" } th scope="col" { "Version" }
                th scope="col" { "Source" } th scope="col" { "Add-ons served" } th scope="col" { "Deleted" }
                th scope="col" { "Actions" }
            } }
            tbody {
                @for d in &view.drivers {
                    tr id={ "driver-" (d.manifest.uuid) } {
                        td { a href={ "/console/drivers/" (d.manifest.uuid) } { (d.manifest.name) } br; small { (d.manifest.uuid) } }
                        td { (d.manifest.kind) } td { (d.manifest.version) }
                        td { @match &d.source { DriverSource::Builtin => "built-in", DriverSource::External(p) => (p.display().to_string()) } }
                        td { @for (n, a) in d.manifest.addons.iter().enumerate() { @if n > 0 { ", " } (a.name) } }
                        td { @if d.deleted { "deleted" } @else { "—" } }
                        td {
                            @if may_delete && !d.deleted { (delete_form(&signed, d)) }
                        }
                    }
                }
            }
        }
        h2 { "Registry errors" }
        @if view.errors.is_empty() {
            p { "None." }
        } @else {
            ul { @for e in &view.errors { li { code { (e.path.display().to_string()) } ": " (e.reason) } } }
        }
    };
    layout::page(&signed, Section::Drivers, "Drivers", content)
}

/// `POST /console/drivers/refresh`: rescan the plug-in folder.
pub async fn refresh(State(ctx): State<Ctx>, signed: Signed, body: Bytes) -> Response {
    #[derive(Deserialize)]
    struct Empty {}
    if let Err(r) = form::<Empty>(&signed, &body) {
        return r;
    }
    if let Err(r) = permit(&signed, &REFRESH_DRIVERS, None).await {
        return r;
    }
    match ctx.app.services.servicestage.registry().refresh().await {
        Ok(_) => Redirect::to("/console/drivers?refreshed=1").into_response(),
        Err(e) => layout::internal(&e),
    }
}

/// The delete form.
#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    pub mode: String,
}

/// `POST /console/drivers/{uuid}/delete`: `DeletePluginDrivers`, then its job's page.
pub async fn delete(
    State(ctx): State<Ctx>,
    signed: Signed,
    Path(uuid): Path<String>,
    body: Bytes,
) -> Response {
    let f: DeleteForm = match form(&signed, &body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    if let Err(r) = permit(&signed, &DELETE_DRIVER, None).await {
        return r;
    }
    match ctx
        .app
        .services
        .zstack
        .delete_plugin_drivers(
            &uuid,
            Some(&f.mode),
            &plugboard_service::zstack::AsyncCall {
                account: signed.principal.subject.user_id.clone(),
                ..Default::default()
            },
        )
        .await
    {
        Ok(job) => Redirect::to(&format!("/console/jobs/{job}")).into_response(),
        Err(plugboard_service::zstack::Error::Store(e)) => layout::internal(&e),
        Err(e) => layout::message(StatusCode::BAD_REQUEST, "Delete refused", &e.to_string()),
    }
}

/// A driver's delete form: the mode, then **Delete**.
fn delete_form(signed: &Signed, d: &Driver) -> maud::Markup {
    html! {
        form.inline method="post" action={ "/console/drivers/" (d.manifest.uuid) "/delete" } {
            input type="hidden" name="csrf" value=(signed.csrf);
            label for={ "mode-" (d.manifest.uuid) } { "Delete mode for " (d.manifest.name) }
            " "
            select id={ "mode-" (d.manifest.uuid) } name="mode" {
                option value="Permissive" { "Permissive" }
                option value="Enforcing" { "Enforcing" }
            }
            " "
            button.danger type="submit" aria-label={ "Delete " (d.manifest.name) } { "Delete" }
        }
    }
}

/// `GET /console/drivers/{uuid}`: one driver (a deep link).
pub async fn driver(State(ctx): State<Ctx>, signed: Signed, Path(uuid): Path<String>) -> Response {
    if let Err(r) = permit(&signed, &LIST_DRIVERS, None).await {
        return r;
    }
    let view = ctx.app.services.servicestage.registry().view().await;
    let Some(d) = view.driver(&uuid) else {
        return layout::no_such("driver");
    };
    let m = &d.manifest;
    let content = html! {
        p { a href="/console/drivers" { "All drivers" } }
        dl {
            dt { "UUID" } dd { (m.uuid) }
            dt { "Type" } dd { (m.kind) }
            dt { "Version" } dd { (m.version) }
            dt { "Vendor" } dd { (m.vendor) }
            dt { "Description" } dd { (m.description) }
            dt { "Source" } dd { @match &d.source { DriverSource::Builtin => "built-in", DriverSource::External(p) => (p.display().to_string()) } }
            dt { "Deleted" } dd { @if d.deleted { "deleted" } @else { "no" } }
        }
        h2 { "Add-ons served" }
        table {
            thead { tr { th scope="col" { "Add-on" } th scope="col" { "Versions" } th scope="col" { "Latest" } } }
            tbody {
                @for a in &m.addons {
                    tr { td { (a.name) } td { (a.versions.join(", ")) } td { (a.latest_version().unwrap_or("—")) } }
                }
                @if m.addons.is_empty() { tr { td colspan="3" { "None." } } }
            }
        }
        @if signed.may(&DELETE_DRIVER, None) && !d.deleted {
            h2 { "Delete" }
            (delete_form(&signed, d))
        }
    };
    layout::page(
        &signed,
        Section::Drivers,
        &format!("Driver {}", m.name),
        content,
    )
}
