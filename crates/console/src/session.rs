//! Signing in and out, the session cookie, the signed-in user as an extractor ([`Signed`]),
//! CSRF-checked forms ([`form`]) and authorization of actions by the APIs' rules ([`permit`]).

use crate::layout;
use crate::Ctx;
use axum::extract::{FromRequestParts, State};
use axum::http::header::{COOKIE, LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::uri::Scheme;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use maud::html;
use plugboard_api::common::ops::Operation;
use plugboard_auth::identity::Principal;
use plugboard_service::console::Error as ConsoleError;
use plugboard_store::identity::Project;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::HashMap;

/// The session cookie: an opaque id, never a token the APIs accept.
pub const COOKIE_NAME: &str = "plugboard_console";
/// The sign-in form's double-submit cookie (the form's CSRF token before a session exists).
const PRE_COOKIE: &str = "plugboard_console_pre";

/// The signed-in user of a request.
pub struct Signed {
    pub principal: Principal,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
    /// The projects the user may act in, by name.
    pub projects: Vec<Project>,
}

impl Signed {
    /// The user's name.
    pub fn user_name(&self) -> &str {
        &self.principal.subject.user_name
    }

    /// Whether the APIs would let the user run `op` in `project`.
    pub fn may(&self, op: &'static Operation, project: Option<&str>) -> bool {
        plugboard_api::common::auth::refusal(&self.principal, op, project).is_none()
    }

    /// What the user's job lists hold (jobs are stored under a project, or — ZStack's
    /// api-jobs — under the calling account): the user's projects and the user's own
    /// api-jobs; for a tenant administrator also every account's of the domain and the
    /// project-less ones.
    pub async fn job_scope(&self, ctx: &Ctx) -> Result<Vec<String>, Response> {
        let s = &self.principal.subject;
        let mut ids: Vec<String> = self.projects.iter().map(|p| p.id.clone()).collect();
        ids.push(s.user_id.clone());
        if self.principal.is_tenant_admin(None) {
            ids.push(String::new());
            let users = ctx
                .app
                .services
                .identity
                .list_users(&s.domain_id, None)
                .await
                .map_err(|e| layout::internal(&e))?;
            ids.extend(
                users
                    .into_iter()
                    .map(|u| u.id)
                    .filter(|id| *id != s.user_id),
            );
        }
        Ok(ids)
    }
}

/// A cookie's value from the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// How the request reached plugboard: `https` when over TLS (the front door marks such
/// requests with `Scheme::HTTPS` in their extensions) — cookies are then `Secure`, as they are
/// when the public URL is https (TLS ended by a proxy in front).
#[derive(Debug, Clone, Copy)]
pub struct Transport {
    https: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for Transport {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::of(parts))
    }
}

impl Transport {
    fn of(parts: &Parts) -> Self {
        Self {
            https: parts.extensions.get::<Scheme>() == Some(&Scheme::HTTPS),
        }
    }
}

/// A `Set-Cookie` value for a console cookie (`max_age` 0: remove it).
fn set_cookie(ctx: &Ctx, via: Transport, name: &str, value: &str, max_age: Option<u32>) -> String {
    let mut c = format!("{name}={value}; Path=/console; HttpOnly; SameSite=Strict");
    if via.https || ctx.app.public_url.starts_with("https://") {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    c
}

/// A 303 to `to`, with cookies.
fn see_other(to: &str, cookies: &[String]) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(LOCATION, v);
    }
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            r.headers_mut().append(SET_COOKIE, v);
        }
    }
    r
}

impl FromRequestParts<Ctx> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> Result<Self, Response> {
        let Some(id) = cookie(&parts.headers, COOKIE_NAME) else {
            return Err(see_other("/console/signin", &[]));
        };
        let live = match ctx.console.session(&id).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                let gone = set_cookie(ctx, Transport::of(parts), COOKIE_NAME, "", Some(0));
                return Err(see_other("/console/signin", &[gone]));
            }
            Err(e) => return Err(layout::internal(&e)),
        };
        let projects = ctx
            .console
            .visible_projects(&live.principal)
            .await
            .map_err(|e| layout::internal(&e))?;
        Ok(Signed {
            principal: live.principal,
            csrf: live.csrf,
            projects,
        })
    }
}

/// A form body whose CSRF token matches the session's: its fields as `T`. Otherwise 403 (or
/// 400 for a body that does not parse), and the caller changes nothing.
// A refusal is the page to answer with, as everywhere in axum handlers.
#[allow(clippy::result_large_err)]
pub fn form<T: DeserializeOwned>(signed: &Signed, body: &Bytes) -> Result<T, Response> {
    let fields: HashMap<String, String> =
        serde_urlencoded::from_bytes(body).map_err(|e| layout::bad_request(&e.to_string()))?;
    match fields.get("csrf") {
        Some(t) if *t == signed.csrf => {}
        _ => return Err(csrf_refused()),
    }
    serde_urlencoded::from_bytes(body).map_err(|e| layout::bad_request(&e.to_string()))
}

fn csrf_refused() -> Response {
    layout::message(
        StatusCode::FORBIDDEN,
        "Refused",
        "The form's CSRF token is missing or wrong: nothing was changed. Reload the page and try again.",
    )
}

/// `Ok` when the APIs would let the user run `op` in `project`; otherwise a 403 page with
/// the API's own refusal.
pub async fn permit(
    signed: &Signed,
    op: &'static Operation,
    project: Option<&str>,
) -> Result<(), Response> {
    let Some(refusal) = plugboard_api::common::auth::refusal(&signed.principal, op, project) else {
        return Ok(());
    };
    let text = axum::body::to_bytes(refusal.into_body(), 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    Err(layout::message(
        StatusCode::FORBIDDEN,
        "Not allowed",
        &format!("The API refuses {}: {text}", op.name),
    ))
}

/// The sign-in form's fields.
#[derive(Debug, Default, Deserialize)]
pub struct SignIn {
    #[serde(default)]
    pub account: String,
    #[serde(default)]
    pub user_name: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub csrf: String,
}

/// `GET /console/signin`.
pub async fn signin_page(State(ctx): State<Ctx>, via: Transport) -> Response {
    signin_form(&ctx, via, &SignIn::default(), None, StatusCode::OK)
}

fn signin_form(
    ctx: &Ctx,
    via: Transport,
    f: &SignIn,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let pre = plugboard_core::ids::hex32();
    let body = html! {
        main.signin id="main" {
            h1 { "Sign in to plugboard" }
            @if let Some(e) = error {
                p.alert role="alert" { (e) }
            }
            form method="post" action="/console/signin" {
                input type="hidden" name="csrf" value=(pre);
                div.field {
                    label for="account" { "Account" }
                    input id="account" name="account" type="text" autocomplete="organization" required value=(f.account);
                }
                div.field {
                    label for="user_name" { "User name" }
                    input id="user_name" name="user_name" type="text" autocomplete="username" required value=(f.user_name);
                }
                div.field {
                    label for="password" { "Password" }
                    input id="password" name="password" type="password" autocomplete="current-password" required;
                }
                button type="submit" { "Sign in" }
            }
            p { "The account is the IAM domain name (the bootstrap admin's is in " code { "bootstrap.json" } ")." }
        }
    };
    let mut r = (status, layout::bare("Sign in", body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&set_cookie(ctx, via, PRE_COOKIE, &pre, None)) {
        r.headers_mut().append(SET_COOKIE, v);
    }
    r
}

/// `POST /console/signin`: the same password check, lockout and timing as
/// `POST /v3/auth/tokens`; the same words for every failure.
pub async fn signin(
    State(ctx): State<Ctx>,
    via: Transport,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f: SignIn = match serde_urlencoded::from_bytes(&body) {
        Ok(f) => f,
        Err(e) => return layout::bad_request(&e.to_string()),
    };
    match cookie(&headers, PRE_COOKIE) {
        Some(pre) if !f.csrf.is_empty() && pre == f.csrf => {}
        _ => return csrf_refused(),
    }
    match ctx
        .console
        .sign_in(&f.account, &f.user_name, &f.password)
        .await
    {
        Ok(s) => see_other(
            "/console/",
            &[
                set_cookie(&ctx, via, COOKIE_NAME, &s.id, None),
                set_cookie(&ctx, via, PRE_COOKIE, "", Some(0)),
            ],
        ),
        Err(ConsoleError::Store(e)) => layout::internal(&e),
        Err(e) => signin_form(
            &ctx,
            via,
            &f,
            Some(&e.to_string()),
            StatusCode::UNAUTHORIZED,
        ),
    }
}

/// `POST /console/signout`: ends the session (CSRF-checked like every form).
pub async fn signout(
    State(ctx): State<Ctx>,
    via: Transport,
    signed: Signed,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    #[derive(Deserialize)]
    struct Empty {}
    if let Err(r) = form::<Empty>(&signed, &body) {
        return r;
    }
    if let Some(id) = cookie(&headers, COOKIE_NAME) {
        if let Err(e) = ctx.console.sign_out(&id).await {
            return layout::internal(&e);
        }
    }
    see_other(
        "/console/signin",
        &[set_cookie(&ctx, via, COOKIE_NAME, "", Some(0))],
    )
}
