//! The page frame (navigation, who is signed in, **Sign out**), the response headers every
//! console answer carries (CSP, nosniff, Referrer-Policy), the embedded assets, and the small
//! helpers pages share: times, pagers, messages, the families' words for a job's state.

use crate::session::Signed;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};
use plugboard_core::time::Micros;

static CSS: &[u8] = include_bytes!("../assets/console.css");
static JS: &[u8] = include_bytes!("../assets/console.js");

/// The Content-Security-Policy of every console response: nothing but this origin, no inline
/// scripts or styles, never framed.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The headers every console response carries.
pub async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    if !h.contains_key(CACHE_CONTROL) {
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
}

fn asset(body: &'static [u8], kind: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, kind),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// `GET /console/assets/console.css`.
pub async fn css() -> Response {
    asset(CSS, "text/css; charset=utf-8")
}

/// `GET /console/assets/console.js`.
pub async fn js() -> Response {
    asset(JS, "text/javascript; charset=utf-8")
}

/// The sections of the navigation (their names are part of the contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Overview,
    GaussDb,
    Dbss,
    ServiceStage,
    Drivers,
    Jobs,
    Iam,
    /// A page of no section (the 404 page).
    Elsewhere,
}

const NAV: &[(Section, &str, &str)] = &[
    (Section::Overview, "Overview", "/console/"),
    (Section::GaussDb, "GaussDB", "/console/gaussdb"),
    (Section::Dbss, "DBSS", "/console/dbss"),
    (
        Section::ServiceStage,
        "ServiceStage",
        "/console/servicestage",
    ),
    (Section::Drivers, "Drivers", "/console/drivers"),
    (Section::Jobs, "Jobs", "/console/jobs"),
    (Section::Iam, "IAM", "/console/iam"),
];

/// A whole page without the navigation (sign-in, messages).
pub fn bare(title: &str, main: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " — plugboard" }
                    link rel="stylesheet" href="/console/assets/console.css";
                    script src="/console/assets/console.js" defer {}
                }
                body { (main) }
            }
        }
        .into_string(),
    )
}

/// A page of a section, for a signed-in user.
pub fn page(signed: &Signed, section: Section, title: &str, content: Markup) -> Response {
    let body = html! {
        a.skip href="#main" { "Skip to content" }
        header.top {
            a.brand href="/console/" { "plugboard" }
            nav aria-label="Sections" {
                ul {
                    @for (s, name, href) in NAV {
                        li {
                            @if *s == section {
                                a href=(href) aria-current="page" { (name) }
                            } @else {
                                a href=(href) { (name) }
                            }
                        }
                    }
                }
            }
            div.who {
                span { (signed.user_name()) " @ " (signed.principal.subject.domain_name) }
                form.inline method="post" action="/console/signout" {
                    input type="hidden" name="csrf" value=(signed.csrf);
                    button.secondary type="submit" { "Sign out" }
                }
            }
        }
        main id="main" {
            h1 { (title) }
            (content)
        }
    };
    bare(title, body).into_response()
}

/// A message page (errors, refusals).
pub fn message(status: StatusCode, title: &str, text: &str) -> Response {
    let body = html! {
        main id="main" {
            h1 { (title) }
            p.alert role="alert" { (text) }
            p { a href="/console/" { "Back to the console" } }
        }
    };
    (status, bare(title, body)).into_response()
}

/// A 400 naming the problem.
pub fn bad_request(text: &str) -> Response {
    message(StatusCode::BAD_REQUEST, "Cannot do that", text)
}

/// A 500 for a failure on plugboard's side (logged; the page says no more).
pub fn internal(e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "console request failed");
    message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "plugboard could not answer this page; the server log says why.",
    )
}

/// A UTC time as `2024-01-31 12:34:56`, or a dash for none.
pub fn time(micros: Micros) -> String {
    if micros <= 0 {
        return "—".into();
    }
    plugboard_core::time::to_datetime(micros)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Rows per page of every list.
pub const PER_PAGE: i64 = 50;

/// The zero-based page a `page` query value asks for.
pub fn page_number(q: Option<&str>) -> i64 {
    q.and_then(|p| p.parse::<i64>().ok())
        .filter(|p| *p >= 1)
        .map_or(0, |p| p - 1)
}

/// Previous/next links for a list of `total` rows shown `PER_PAGE` at a time; `base` is the
/// list's URL with its other query parameters (ending in `?` or `&`).
pub fn pager(base: &str, page: i64, total: i64) -> Markup {
    pager_of(base, "page", "Pages", page, total)
}

/// A pager whose page number travels in the query parameter `param` (for pages with two
/// lists); `label` names the navigation.
pub fn pager_of(base: &str, param: &str, label: &str, page: i64, total: i64) -> Markup {
    let pages = ((total + PER_PAGE - 1) / PER_PAGE).max(1);
    html! {
        nav.pager aria-label=(label) {
            @if page > 0 {
                a href={ (base) (param) "=" (page) } rel="prev" { "Previous page" }
            }
            span { "Page " (page + 1) " of " (pages) " (" (total) " in all)" }
            @if page + 1 < pages {
                a href={ (base) (param) "=" (page + 2) } rel="next" { "Next page" }
            }
        }
    }
}

/// A query value, percent-encoded (everything but unreserved characters).
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The family a job kind belongs to.
pub fn family_of(kind: &str) -> &'static str {
    match kind {
        "InstallKernelPlugin" => "GaussDB",
        "ServiceStageAddon" => "ServiceStage",
        k if k.starts_with("ZStack") => "ZStack",
        _ => "plugboard",
    }
}

/// A job's state as its family's API shows it (GaussDB `Completed`, ServiceStage
/// `SUCCEEDED`, ...).
pub fn job_state(kind: &str, status: &str) -> &'static str {
    use plugboard_store::jobs::{COMPLETED, FAILED, QUEUED, RUNNING};
    match (family_of(kind), status) {
        ("GaussDB", QUEUED | RUNNING) => "Running",
        ("GaussDB", COMPLETED) => "Completed",
        ("GaussDB", FAILED) => "Failed",
        ("ServiceStage", QUEUED) => "SUBMITTED",
        ("ServiceStage", RUNNING) => "RUNNING",
        ("ServiceStage", COMPLETED) => "SUCCEEDED",
        ("ServiceStage", FAILED) => "FAILED",
        (_, QUEUED) => "Queued",
        (_, RUNNING) => "Running",
        (_, COMPLETED) => "Succeeded",
        (_, FAILED) => "Failed",
        _ => "Unknown",
    }
}

/// A project's name among the user's, else its id.
pub fn project_name<'a>(signed: &'a Signed, id: &'a str) -> &'a str {
    signed
        .projects
        .iter()
        .find(|p| p.id == id)
        .map_or(id, |p| p.name.as_str())
}

/// Whether the user may see project `id` at all.
pub fn sees_project(signed: &Signed, id: &str) -> bool {
    signed.projects.iter().any(|p| p.id == id)
}

/// The page for a project the user may not see (the same as a missing object).
pub fn no_such(what: &str) -> Response {
    message(
        StatusCode::NOT_FOUND,
        "Not found",
        &format!("No such {what}."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_states_are_the_families_words() {
        let cases = [
            ("InstallKernelPlugin", "queued", "Running"),
            ("InstallKernelPlugin", "running", "Running"),
            ("InstallKernelPlugin", "completed", "Completed"),
            ("InstallKernelPlugin", "failed", "Failed"),
            ("ServiceStageAddon", "queued", "SUBMITTED"),
            ("ServiceStageAddon", "running", "RUNNING"),
            ("ServiceStageAddon", "completed", "SUCCEEDED"),
            ("ServiceStageAddon", "failed", "FAILED"),
            ("ZStackDeletePluginDrivers", "completed", "Succeeded"),
            ("ZStackRefreshPluginDrivers", "failed", "Failed"),
        ];
        for (kind, status, word) in cases {
            assert_eq!(job_state(kind, status), word, "{kind} {status}");
        }
        assert_eq!(family_of("ZStackWebHook"), "ZStack");
    }

    #[test]
    fn page_numbers_start_at_one_and_bad_ones_mean_the_first() {
        assert_eq!(page_number(None), 0);
        assert_eq!(page_number(Some("1")), 0);
        assert_eq!(page_number(Some("3")), 2);
        for bad in ["0", "-2", "x", ""] {
            assert_eq!(page_number(Some(bad)), 0, "{bad}");
        }
    }

    #[test]
    fn the_policy_forbids_inline_scripts_and_framing() {
        assert!(!CSP.contains("unsafe-inline") && !CSP.contains("unsafe-eval"));
        assert!(CSP.contains("script-src 'self'") && CSP.contains("frame-ancestors 'none'"));
    }
}
