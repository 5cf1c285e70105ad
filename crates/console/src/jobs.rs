//! The Jobs section: every job of every family the user may see (filter by family and state,
//! paged, newest first) and a job's own page, whose state and steps advance in place while
//! the page is open (the `live` fragment, polled by `console.js`) until the job ends.

use crate::layout::{self, family_of, job_state, pager, time, Section, PER_PAGE};
use crate::session::Signed;
use crate::Ctx;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup};
use plugboard_jobs::JobKind;
use plugboard_service::console::Error as ConsoleError;
use plugboard_store::console::JobsQuery;
use plugboard_store::jobs::{self, Job};
use serde::Deserialize;

/// The families a job list can be filtered by, and their job kinds.
fn kinds_of(family: &str) -> Option<Vec<String>> {
    use plugboard_service::gaussdb::install::InstallKernelPlugin;
    use plugboard_service::servicestage::addon_job::AddonJob;
    use plugboard_service::zstack::jobs::{
        DeletePluginDrivers, DeliverWebHook, RefreshPluginDrivers,
    };
    let kinds: &[&str] = match family {
        "GaussDB" => &[InstallKernelPlugin::KIND],
        "ServiceStage" => &[AddonJob::KIND],
        "ZStack" => &[
            RefreshPluginDrivers::KIND,
            DeletePluginDrivers::KIND,
            DeliverWebHook::KIND,
        ],
        _ => return None,
    };
    Some(kinds.iter().map(|k| k.to_string()).collect())
}

const FAMILIES: &[&str] = &["GaussDB", "ServiceStage", "ZStack"];
const STATES: &[&str] = &[jobs::QUEUED, jobs::RUNNING, jobs::COMPLETED, jobs::FAILED];

/// The list's query.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub family: Option<String>,
    pub state: Option<String>,
    pub page: Option<String>,
}

/// A table of jobs.
pub fn table(rows: &[Job]) -> Markup {
    html! {
        table {
            thead { tr {
                th scope="col" { "Job" } th scope="col" { "Kind" } th scope="col" { "Target" }
                th scope="col" { "State" } th scope="col" { "Progress" } th scope="col" { "Created" }
                th scope="col" { "Ended" } th scope="col" { "Failure reason" }
            } }
            tbody {
                @for j in rows {
                    tr {
                        td { a href={ "/console/jobs/" (j.id) } { (j.id) } }
                        td { (family_of(&j.kind)) " · " (j.kind) }
                        td { (j.target_name) }
                        td { span class={ "state-" (job_state(&j.kind, &j.status)) } { (job_state(&j.kind, &j.status)) } }
                        td.num { (j.progress) "%" }
                        td { (time(j.created_at)) }
                        td { (time(j.ended_at)) }
                        td { (j.fail_reason) }
                    }
                }
                @if rows.is_empty() {
                    tr { td colspan="8" { "No jobs." } }
                }
            }
        }
    }
}

/// `GET /console/jobs`.
pub async fn list(State(ctx): State<Ctx>, signed: Signed, Query(q): Query<ListQuery>) -> Response {
    let family = q.family.as_deref().filter(|f| FAMILIES.contains(f));
    let state = q.state.as_deref().filter(|s| STATES.contains(s));
    let page = layout::page_number(q.page.as_deref());
    let scope = match signed.job_scope(&ctx).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let query = JobsQuery {
        projects: scope,
        kinds: family.and_then(kinds_of).unwrap_or_default(),
        states: state.map(|s| vec![s.to_string()]).unwrap_or_default(),
        ended_from: None,
    };
    let (rows, total) = match ctx.console.jobs(&query, page * PER_PAGE, PER_PAGE).await {
        Ok(r) => r,
        Err(e) => return layout::internal(&e),
    };
    let base = format!(
        "/console/jobs?family={}&state={}&",
        family.unwrap_or(""),
        state.unwrap_or("")
    );
    let content = html! {
        form method="get" action="/console/jobs" {
            div.field {
                label for="family" { "Family" }
                select id="family" name="family" {
                    option value="" { "All families" }
                    @for f in FAMILIES {
                        option value=(f) selected[family == Some(*f)] { (f) }
                    }
                }
            }
            div.field {
                label for="state" { "State" }
                select id="state" name="state" {
                    option value="" { "All states" }
                    @for s in STATES {
                        option value=(s) selected[state == Some(*s)] { (s) }
                    }
                }
            }
            button type="submit" { "Filter" }
        }
        (table(&rows))
        (pager(&base, page, total))
    };
    layout::page(&signed, Section::Jobs, "Jobs", content)
}

/// The live part of a job's page: state, progress and steps; polled while the job runs.
fn live_part(j: &Job) -> Markup {
    let state = job_state(&j.kind, &j.status);
    let ended = j.status == jobs::COMPLETED || j.status == jobs::FAILED;
    let url = format!("/console/jobs/{}/live", j.id);
    html! {
        section id="job-live" data-live=[(!ended).then_some(url.as_str())] aria-live="polite" {
            dl {
                dt { "State" }
                dd { span id="job-state" class={ "state-" (state) } { (state) } }
                dt { "Progress" } dd { (j.progress) "%" }
                dt { "Ended" } dd { (time(j.ended_at)) }
                @if !j.fail_reason.is_empty() {
                    dt { "Failure reason" } dd { (j.fail_reason) }
                }
            }
            h2 { "Steps" }
            table {
                thead { tr {
                    th scope="col" { "Step" } th scope="col" { "Status" } th scope="col" { "Started" }
                    th scope="col" { "Ended" } th scope="col" { "Message" }
                } }
                tbody {
                    @for s in &j.steps {
                        tr {
                            td { (s.name) } td { (s.status) } td { (time(s.started_at)) }
                            td { (time(s.ended_at)) } td { (s.message) }
                        }
                    }
                }
            }
        }
    }
}

async fn find(ctx: &Ctx, signed: &Signed, id: &str) -> Result<Job, Response> {
    let scope = signed.job_scope(ctx).await?;
    match ctx.console.job(&scope, id).await {
        Ok(j) => Ok(j),
        Err(ConsoleError::NoSuchJob) => Err(layout::no_such("job")),
        Err(e) => Err(layout::internal(&e)),
    }
}

/// `GET /console/jobs/{id}`: a job's page (a deep link).
pub async fn page(State(ctx): State<Ctx>, signed: Signed, Path(id): Path<String>) -> Response {
    let j = match find(&ctx, &signed, &id).await {
        Ok(j) => j,
        Err(r) => return r,
    };
    let content = html! {
        dl {
            dt { "Job" } dd { (j.id) }
            dt { "Family" } dd { (family_of(&j.kind)) }
            dt { "Kind" } dd { (j.kind) }
            dt { "Target" } dd { (j.target_name) }
            dt { "Project" } dd { (layout::project_name(&signed, &j.project_id)) }
            dt { "Created" } dd { (time(j.created_at)) }
            dt { "Attempts" } dd { (j.attempts) }
        }
        (live_part(&j))
    };
    layout::page(&signed, Section::Jobs, &format!("Job {}", j.kind), content)
}

/// `GET /console/jobs/{id}/live`: the live part alone.
pub async fn live(State(ctx): State<Ctx>, signed: Signed, Path(id): Path<String>) -> Response {
    match find(&ctx, &signed, &id).await {
        Ok(j) => Html(live_part(&j).into_string()).into_response(),
        Err(r) => r,
    }
}
