//! The ServiceStage section: environments of every project the user may see, with their
//! resources and add-ons (status, version, driver, last job); install an add-on, **Restart**,
//! **Redeploy** or uninstall one — each leads to the job page.

use crate::gaussdb::PageQuery;
use crate::layout::{self, Section};
use crate::session::{form, permit, Signed};
use crate::Ctx;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use bytes::Bytes;
use maud::{html, Markup};
use plugboard_api::servicestage::routes::{
    CREATE_ADDON, DELETE_ADDON, DELIVER_ADDON_JOB, LIST_ADDONS, SHOW_ENVIRONMENTS,
    SHOW_ENVIRONMENT_INFO,
};
use plugboard_service::servicestage::addon_job::AddonAction;
use plugboard_service::servicestage::{Error, InstallAddon, ListEnvironments};
use plugboard_store::servicestage::{Addon, Environment};
use serde::Deserialize;

fn failure(e: Error) -> Response {
    match e {
        Error::Store(e) => layout::internal(&e),
        e @ (Error::EnvironmentNotFound(_) | Error::AddonNotFound(_)) => {
            layout::message(StatusCode::NOT_FOUND, "Not found", &e.to_string())
        }
        e => layout::message(
            StatusCode::BAD_REQUEST,
            "ServiceStage refused",
            &e.to_string(),
        ),
    }
}

/// `GET /console/servicestage`: each project's environments.
pub async fn list(State(ctx): State<Ctx>, signed: Signed, Query(q): Query<PageQuery>) -> Response {
    let page = layout::page_number(q.page.as_deref());
    let svc = &ctx.app.services.servicestage;
    let mut sections = vec![];
    let mut most = 0;
    for p in &signed.projects {
        if !signed.may(&SHOW_ENVIRONMENTS, Some(&p.id)) {
            continue;
        }
        let q = ListEnvironments {
            limit: Some(layout::PER_PAGE.to_string()),
            offset: Some((page * layout::PER_PAGE).to_string()),
            order_by: Some("name".into()),
            order: Some("asc".into()),
            ..Default::default()
        };
        match svc.list_environments(&p.id, &q).await {
            Ok((rows, total)) => {
                most = most.max(total);
                sections.push((p, rows, total));
            }
            Err(e) => return failure(e),
        }
    }
    let content = html! {
        @for (p, rows, total) in &sections {
            h2 { "Project " (p.name) " (" (total) " environments)" }
            table {
                thead { tr {
                    th scope="col" { "Environment" } th scope="col" { "ID" }
                    th scope="col" { "Resources" } th scope="col" { "Created by" }
                } }
                tbody {
                    @for e in rows {
                        tr {
                            td { a href={ "/console/servicestage/" (p.id) "/" (e.id) } { (e.name) } }
                            td { (e.id) } td { (e.resources.len()) } td { (e.creator) }
                        }
                    }
                    @if rows.is_empty() { tr { td colspan="4" { "No environments." } } }
                }
            }
        }
        @if sections.is_empty() { p { "You may not list environments in any project." } }
        (layout::pager("/console/servicestage?", page, most))
    };
    layout::page(
        &signed,
        Section::ServiceStage,
        "ServiceStage environments",
        content,
    )
}

/// The buttons of one add-on (absent when the user may not act).
fn actions(signed: &Signed, project: &str, a: &Addon) -> Markup {
    let base = format!(
        "/console/servicestage/{project}/{}/addons/{}",
        a.environment_id, a.id
    );
    let may_act = signed.may(&DELIVER_ADDON_JOB, Some(project));
    let may_delete = signed.may(&DELETE_ADDON, Some(project));
    html! {
        @if may_act {
            form.inline method="post" action={ (base) "/restart" } {
                input type="hidden" name="csrf" value=(signed.csrf);
                button type="submit" { "Restart" }
            }
            " "
            form.inline method="post" action={ (base) "/redeploy" } {
                input type="hidden" name="csrf" value=(signed.csrf);
                button type="submit" { "Redeploy" }
            }
            " "
        }
        @if may_delete {
            form.inline method="post" action={ (base) "/uninstall" } {
                input type="hidden" name="csrf" value=(signed.csrf);
                button.danger type="submit" aria-label={ "Uninstall " (a.name) } { "Uninstall" }
            }
        }
        @if !may_act && !may_delete { "—" }
    }
}

fn addon_table(signed: &Signed, project: &str, addons: &[Addon]) -> Markup {
    html! {
        table {
            thead { tr {
                th scope="col" { "Add-on" } th scope="col" { "Status" } th scope="col" { "Version" }
                th scope="col" { "Driver" } th scope="col" { "Last job" } th scope="col" { "Actions" }
            } }
            tbody {
                @for a in addons {
                    tr {
                        td { a href={ "/console/servicestage/" (project) "/" (a.environment_id) "/addons/" (a.id) } { (a.name) } }
                        td { span class={ "state-" (a.status) } { (a.status) } }
                        td { (a.version) } td { (a.driver_uuid) }
                        td { @if !a.job_id.is_empty() { a href={ "/console/jobs/" (a.job_id) } { "job" } } }
                        td { (actions(signed, project, a)) }
                    }
                }
                @if addons.is_empty() { tr { td colspan="6" { "No add-ons." } } }
            }
        }
    }
}

async fn load(
    ctx: &Ctx,
    signed: &Signed,
    project: &str,
    env: &str,
) -> Result<Environment, Response> {
    if !layout::sees_project(signed, project) {
        return Err(layout::no_such("environment"));
    }
    permit(signed, &SHOW_ENVIRONMENT_INFO, Some(project)).await?;
    ctx.app
        .services
        .servicestage
        .environment(project, env)
        .await
        .map_err(failure)
}

/// `GET /console/servicestage/{project}/{env}`: an environment, its resources and add-ons.
pub async fn environment(
    State(ctx): State<Ctx>,
    signed: Signed,
    Path((project, env)): Path<(String, String)>,
) -> Response {
    let e = match load(&ctx, &signed, &project, &env).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    let svc = &ctx.app.services.servicestage;
    let addons = if signed.may(&LIST_ADDONS, Some(&project)) {
        match svc.list_addons(&project, &e.id).await {
            Ok(a) => a,
            Err(e) => return failure(e),
        }
    } else {
        vec![]
    };
    let catalog = match svc.catalog(&project, &e.id).await {
        Ok(c) => c,
        Err(e) => return failure(e),
    };
    let content = html! {
        dl {
            dt { "ID" } dd { (e.id) }
            dt { "Project" } dd { (layout::project_name(&signed, &project)) }
            dt { "Description" } dd { (e.description) }
            dt { "Deploy mode" } dd { (e.deploy_mode) }
            dt { "Created by" } dd { (e.creator) }
        }
        h2 { "Resources" }
        table {
            thead { tr { th scope="col" { "Name" } th scope="col" { "Type" } th scope="col" { "ID" } } }
            tbody {
                @for r in &e.resources { tr { td { (r.name) } td { (r.kind) } td { (r.id) } } }
                @if e.resources.is_empty() { tr { td colspan="3" { "No resources." } } }
            }
        }
        h2 { "Add-ons" }
        (addon_table(&signed, &project, &addons))
        @if signed.may(&CREATE_ADDON, Some(&project)) {
            h2 { "Install an add-on" }
            form method="post" action={ "/console/servicestage/" (project) "/" (e.id) "/install" } {
                input type="hidden" name="csrf" value=(signed.csrf);
                div.field {
                    label for="addon" { "Add-on" }
                    select id="addon" name="name" {
                        @for c in &catalog { option value=(c.addon.name) { (c.addon.name) " (" (c.driver.manifest.name) ")" } }
                    }
                }
                button type="submit" { "Install add-on" }
            }
        }
    };
    layout::page(
        &signed,
        Section::ServiceStage,
        &format!("Environment {}", e.name),
        content,
    )
}

/// `GET /console/servicestage/{project}/{env}/addons/{addon}`: one add-on (a deep link).
pub async fn addon(
    State(ctx): State<Ctx>,
    signed: Signed,
    Path((project, env, id)): Path<(String, String, String)>,
) -> Response {
    let e = match load(&ctx, &signed, &project, &env).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    let a = match ctx
        .app
        .services
        .servicestage
        .addon(&project, &e.id, &id)
        .await
    {
        Ok(a) => a,
        Err(e) => return failure(e),
    };
    let content = html! {
        p { "In environment " a href={ "/console/servicestage/" (project) "/" (e.id) } { (e.name) } "." }
        (addon_table(&signed, &project, std::slice::from_ref(&a)))
    };
    layout::page(
        &signed,
        Section::ServiceStage,
        &format!("Add-on {}", a.name),
        content,
    )
}

/// The install form.
#[derive(Debug, Deserialize)]
pub struct InstallForm {
    #[serde(default)]
    pub name: String,
}

/// `POST .../install`: `CreateAddon`, then the job page.
pub async fn install(
    State(ctx): State<Ctx>,
    signed: Signed,
    Path((project, env)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let f: InstallForm = match form(&signed, &body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    if !layout::sees_project(&signed, &project) {
        return layout::no_such("environment");
    }
    if let Err(r) = permit(&signed, &CREATE_ADDON, Some(&project)).await {
        return r;
    }
    let req = InstallAddon {
        name: Some(f.name),
        ..Default::default()
    };
    match ctx
        .app
        .services
        .servicestage
        .install_addon(&project, signed.user_name(), &env, req)
        .await
    {
        Ok(a) => Redirect::to(&format!("/console/jobs/{}", a.job_id)).into_response(),
        Err(e) => failure(e),
    }
}

/// `POST .../addons/{addon}/{restart|redeploy|uninstall}`: the add-on job, then its page.
pub async fn action(
    State(ctx): State<Ctx>,
    signed: Signed,
    Path((project, env, id, action)): Path<(String, String, String, String)>,
    body: Bytes,
) -> Response {
    #[derive(Deserialize)]
    struct Empty {}
    if let Err(r) = form::<Empty>(&signed, &body) {
        return r;
    }
    let (action, op) = match action.as_str() {
        "restart" => (AddonAction::Restart, &DELIVER_ADDON_JOB),
        "redeploy" => (AddonAction::Redeploy, &DELIVER_ADDON_JOB),
        "uninstall" => (AddonAction::Uninstall, &DELETE_ADDON),
        other => {
            return layout::bad_request(&format!("`{other}` is not restart, redeploy or uninstall"))
        }
    };
    if !layout::sees_project(&signed, &project) {
        return layout::no_such("add-on");
    }
    if let Err(r) = permit(&signed, op, Some(&project)).await {
        return r;
    }
    match ctx
        .app
        .services
        .servicestage
        .addon_job(&project, signed.user_name(), &env, &id, action)
        .await
    {
        Ok(job) => Redirect::to(&format!("/console/jobs/{job}")).into_response(),
        Err(e) => failure(e),
    }
}
