//! The Overview: counts per family, the jobs running now, and the failures of the last 24 h
//! with their reasons; and the activity view of failures (`/console/activity`): every failed
//! job of a chosen window, paged, with its reason, and the driver registry's errors.

use crate::jobs::table;
use crate::layout::{self, Section};
use crate::session::Signed;
use crate::Ctx;
use axum::extract::{Query, State};
use axum::response::Response;
use maud::html;
use plugboard_api::{admin, dbss, gaussdb, servicestage};
use plugboard_core::time::now_micros;
use plugboard_store::console::JobsQuery;
use plugboard_store::jobs;
use serde::Deserialize;

/// `GET /console/`.
pub async fn page(State(ctx): State<Ctx>, signed: Signed) -> Response {
    let s = &ctx.app.services;
    let (mut instances, mut audits, mut environments) = (0i64, 0i64, 0i64);
    for p in &signed.projects {
        let pid = Some(p.id.as_str());
        if signed.may(&gaussdb::routes::LIST_INSTANCES, pid) {
            match s
                .gaussdb
                .list_instances(&p.id, &Default::default(), 0, 1)
                .await
            {
                Ok((_, n)) => instances += n,
                Err(e) => return layout::internal(&e),
            }
        }
        if signed.may(&dbss::routes::LIST_INSTANCES, pid) {
            match s.dbss.list_instances(&p.id, 0, 1).await {
                Ok((_, n)) => audits += n,
                Err(e) => return layout::internal(&e),
            }
        }
        if signed.may(&servicestage::routes::SHOW_ENVIRONMENTS, pid) {
            let q = plugboard_service::servicestage::ListEnvironments {
                limit: Some("1".into()),
                ..Default::default()
            };
            match s.servicestage.list_environments(&p.id, &q).await {
                Ok((_, n)) => environments += n,
                Err(e) => return layout::internal(&e),
            }
        }
    }
    let drivers = if signed.may(&admin::routes::LIST_DRIVERS, None) {
        Some(s.servicestage.registry().view().await.drivers.len())
    } else {
        None
    };
    let projects = match signed.job_scope(&ctx).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let running = JobsQuery {
        projects: projects.clone(),
        states: vec![jobs::QUEUED.into(), jobs::RUNNING.into()],
        ..Default::default()
    };
    let failed = JobsQuery {
        projects,
        states: vec![jobs::FAILED.into()],
        ended_from: Some(now_micros() - 24 * 3600 * 1_000_000),
        ..Default::default()
    };
    let (running, running_total) = match ctx.console.jobs(&running, 0, 20).await {
        Ok(r) => r,
        Err(e) => return layout::internal(&e),
    };
    let (failed, failed_total) = match ctx.console.jobs(&failed, 0, 20).await {
        Ok(r) => r,
        Err(e) => return layout::internal(&e),
    };
    let content = html! {
        ul.cards {
            li { strong { (instances) } "GaussDB instances" }
            li { strong { (audits) } "DBSS audit instances" }
            li { strong { (environments) } "ServiceStage environments" }
            @if let Some(n) = drivers {
                li { strong { (n) } "drivers registered" }
            }
            li { strong { (running_total) } "Jobs running now" }
            li { strong { (failed_total) } "Failures in the last 24 h" }
        }
        h2 { "Running now" }
        (table(&running))
        h2 { "Failures of the last 24 hours" }
        (table(&failed))
        p { a href="/console/activity" { "All failures (" (failed_total) " in the last 24 hours)" } }
    };
    layout::page(&signed, Section::Overview, "Overview", content)
}

/// The windows the activity view offers: (query value, words, hours).
const WINDOWS: &[(&str, &str, i64)] = &[
    ("HOUR", "Last hour", 1),
    ("DAY", "Last 24 hours", 24),
    ("WEEK", "Last 7 days", 24 * 7),
    ("MONTH", "Last 30 days", 24 * 30),
];

/// The activity view's query.
#[derive(Debug, Default, Deserialize)]
pub struct ActivityQuery {
    pub window: Option<String>,
    pub page: Option<String>,
}

/// `GET /console/activity`: the failures of a window, newest first.
pub async fn activity(
    State(ctx): State<Ctx>,
    signed: Signed,
    Query(q): Query<ActivityQuery>,
) -> Response {
    let (window, words, hours) = WINDOWS
        .iter()
        .find(|(w, _, _)| Some(*w) == q.window.as_deref())
        .copied()
        .unwrap_or(WINDOWS[1]);
    let page = layout::page_number(q.page.as_deref());
    let projects = match signed.job_scope(&ctx).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let failed = JobsQuery {
        projects,
        states: vec![jobs::FAILED.into()],
        ended_from: Some(now_micros() - hours * 3600 * 1_000_000),
        ..Default::default()
    };
    let (rows, total) = match ctx
        .console
        .jobs(&failed, page * layout::PER_PAGE, layout::PER_PAGE)
        .await
    {
        Ok(r) => r,
        Err(e) => return layout::internal(&e),
    };
    let registry_errors = if signed.may(&admin::routes::LIST_DRIVERS, None) {
        Some(
            ctx.app
                .services
                .servicestage
                .registry()
                .view()
                .await
                .errors
                .clone(),
        )
    } else {
        None
    };
    let content = html! {
        form method="get" action="/console/activity" {
            div.field {
                label for="window" { "Window" }
                select id="window" name="window" {
                    @for (w, words, _) in WINDOWS { option value=(w) selected[*w == window] { (words) } }
                }
            }
            button type="submit" { "Filter" }
        }
        h2 { "Failed jobs — " (words) " (" (total) ")" }
        (table(&rows))
        (layout::pager(&format!("/console/activity?window={window}&"), page, total))
        @if let Some(errors) = &registry_errors {
            h2 { "Driver registry errors" }
            @if errors.is_empty() { p { "None." } }
            @else { ul { @for e in errors { li { code { (e.path.display().to_string()) } ": " (e.reason) } } } }
        }
    };
    layout::page(&signed, Section::Overview, "Failures", content)
}
