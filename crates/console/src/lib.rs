//! The web console (docs/console.md): server-rendered pages under `/console/`, served by the
//! same listener as the APIs. Signing in, sessions and CSRF are in [`session`]; the page frame,
//! headers and assets in [`layout`]; one module per section. Every page calls the service
//! layer as the API handlers do, and every action is authorized by the APIs' own rules
//! ([`plugboard_api::common::auth::refusal`]) before it is shown and again before it runs.

mod dbss;
mod dbss_audit;
mod dbss_rules;
mod drivers;
mod extensions;
mod gaussdb;
mod iam;
mod jobs;
mod layout;
mod overview;
mod servicestage;
mod session;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get, post};
use axum::Router;
use plugboard_api::AppState;
use plugboard_service::console::Console;

/// What every console handler reads.
#[derive(Clone)]
pub struct Ctx {
    pub app: AppState,
    pub console: Console,
}

/// Any other address under `/console/`: the console's own 404 page (in the frame with the
/// navigation when signed in), never the API's JSON.
async fn not_found(signed: Result<session::Signed, Response>) -> Response {
    const TEXT: &str = "There is no console page at this address.";
    let mut r = match signed {
        Ok(signed) => layout::page(
            &signed,
            layout::Section::Elsewhere,
            "Page not found",
            maud::html! {
                p.alert role="alert" { (TEXT) }
                p { a href="/console/" { "Back to the Overview" } }
            },
        ),
        Err(_) => {
            let body = maud::html! {
                main id="main" {
                    h1 { "Page not found" }
                    p.alert role="alert" { (TEXT) }
                    p { a href="/console/signin" { "Sign in" } }
                }
            };
            layout::bare("Page not found", body).into_response()
        }
    };
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

/// A console address asked with a method it does not take (a GET of a form's target).
async fn method_not_allowed() -> Response {
    layout::message(
        StatusCode::METHOD_NOT_ALLOWED,
        "Not here",
        "This console address does not answer that kind of request; use the page's own links and buttons.",
    )
}

/// The console's routes, to be merged into the API router.
pub fn router(app: AppState) -> Router {
    let console = app.console_service();
    let ctx = Ctx { app, console };
    Router::new()
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route("/console/", get(overview::page))
        .route("/console/activity", get(overview::activity))
        .route("/console/assets/console.css", get(layout::css))
        .route("/console/assets/console.js", get(layout::js))
        .route(
            "/console/signin",
            get(session::signin_page).post(session::signin),
        )
        .route("/console/signout", post(session::signout))
        .route("/console/gaussdb", get(gaussdb::list))
        .route(
            "/console/gaussdb/{project}/{instance}",
            get(gaussdb::instance),
        )
        .route(
            "/console/gaussdb/{project}/{instance}/install",
            post(gaussdb::install),
        )
        .route(
            "/console/gaussdb/{project}/{instance}/license",
            post(extensions::license),
        )
        .route(
            "/console/gaussdb/{project}/{instance}/plugins/{plugin}",
            get(extensions::page),
        )
        .route(
            "/console/gaussdb/{project}/{instance}/plugins/{plugin}/extensions",
            post(extensions::switch),
        )
        .route("/console/jobs", get(jobs::list))
        .route("/console/jobs/{id}", get(jobs::page))
        .route("/console/jobs/{id}/live", get(jobs::live))
        .route("/console/servicestage", get(servicestage::list))
        .route(
            "/console/servicestage/{project}/{env}",
            get(servicestage::environment),
        )
        .route(
            "/console/servicestage/{project}/{env}/install",
            post(servicestage::install),
        )
        .route(
            "/console/servicestage/{project}/{env}/addons/{addon}",
            get(servicestage::addon),
        )
        .route(
            "/console/servicestage/{project}/{env}/addons/{addon}/{action}",
            post(servicestage::action),
        )
        .route("/console/drivers", get(drivers::list))
        .route("/console/drivers/refresh", post(drivers::refresh))
        .route("/console/drivers/{uuid}", get(drivers::driver))
        .route("/console/drivers/{uuid}/delete", post(drivers::delete))
        .route("/console/iam", get(iam::page))
        .route("/console/iam/keys", post(iam::create_key))
        .route("/console/iam/lockouts/{user}/unlock", post(iam::unlock))
        .route("/console/dbss", get(dbss::list))
        .route("/console/dbss/{project}/{instance}", get(dbss::instance))
        .route(
            "/console/dbss/{project}/{instance}/databases",
            post(dbss::add_database),
        )
        .route(
            "/console/dbss/{project}/{instance}/databases/{db}",
            get(dbss::database),
        )
        .route(
            "/console/dbss/{project}/{instance}/databases/{db}/{action}",
            post(dbss::database_action),
        )
        .route(
            "/console/dbss/{project}/{instance}/audit",
            get(dbss_audit::log),
        )
        .route(
            "/console/dbss/{project}/{instance}/audit/{sql}",
            get(dbss_audit::statement),
        )
        .route(
            "/console/dbss/{project}/{instance}/rules",
            get(dbss_rules::rules),
        )
        .route(
            "/console/dbss/{project}/{instance}/rules/{kind}/{rule}/{to}",
            post(dbss_rules::switch_rule),
        )
        .route(
            "/console/dbss/{project}/{instance}/alarms",
            get(dbss_rules::alarms),
        )
        .route(
            "/console/dbss/{project}/{instance}/alarms/{alarm}/mark",
            post(dbss_rules::mark_alarm),
        )
        .route("/console/{*rest}", any(not_found))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::map_response(layout::security_headers))
        .with_state(ctx)
}
