//! Authentication and authorization for every route, in one layer run before the handler:
//! the family's [`Authenticator`] resolves the caller to a [`Principal`] (the Huawei API
//! gateway's, [`HuaweiGateway`]: `X-Auth-Token` or an `SDK-HMAC-SHA256` signature); where the
//! family's descriptor says the path's `project_id` scopes the request, it (and
//! `X-Project-Id`) must be a project the principal may act in; the operation's IAM action must
//! be allowed, and a family may also require a tenant administrator. Refusals are the
//! gateway's APIG codes (docs/error-codes.md).

use super::error::{CommonError, GatewayError, FAMILY};
use super::extract::check_request_text;
use super::ops::{Access, Operation};
use crate::families::{descriptor, ProjectScope};
use crate::AppState;
use axum::body::Body;
use axum::extract::{FromRequestParts, OriginalUri, RawPathParams, Request, State};
use axum::http::header::{HeaderName, AUTHORIZATION};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use plugboard_auth::identity::{AuthError, Principal};
use plugboard_auth::signing::{self, RequestParts, SigningError};
use plugboard_core::ids::is_hex32;
use std::future::Future;
use std::pin::Pin;

/// What a handler learns from the guard: who calls, and in which project.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    /// The project the request acts in: the path's `project_id`, else the token's scope or
    /// `X-Project-Id`.
    pub project_id: Option<String>,
}

impl Caller {
    /// Whether the caller's policies allow `action` in the request's project.
    pub fn allows(&self, action: &str) -> bool {
        self.principal.allows(action, self.project_id.as_deref())
    }

    /// The caller's domain.
    pub fn domain_id(&self) -> &str {
        &self.principal.subject.domain_id
    }

    /// The caller's user id.
    pub fn user_id(&self) -> &str {
        &self.principal.subject.user_id
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = GatewayError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or(GatewayError::NoCredentials)
    }
}

/// Names the operation a request's body asks for (an RPC endpoint such as ZStack's
/// `POST /zstack/api/`); `None`: no operation of the table.
pub type Resolver = fn(&[u8]) -> Option<&'static Operation>;

/// Why the guard refused an authenticated caller (see `families::Descriptor::render_denied`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No policy allows the operation's action.
    Action,
    /// The operation is for tenant administrators only.
    AdminOnly,
}

/// The Huawei gateway's refusal of an authenticated caller: 403 APIG.0302 whatever the cause.
pub fn gateway_denied(_op: &'static Operation, _why: Denied) -> Response {
    GatewayError::Forbidden.into_response()
}

/// The operation a body-resolved request was resolved to (a request extension).
#[derive(Debug, Clone, Copy)]
pub struct ResolvedOp(pub &'static Operation);

/// State of the per-route guard.
#[derive(Clone)]
pub struct RouteGuard {
    pub state: AppState,
    /// The route's operation (for a body-resolved route: the endpoint, which names the
    /// family until the body is read).
    pub op: &'static Operation,
    /// Set for a route whose operation is named by the request body.
    pub resolve: Option<Resolver>,
}

/// The per-route layer: sets the family (for error envelopes), resolves the operation from
/// the body where the route says so, then authenticates and authorizes unless the operation
/// is public.
pub async fn guard(State(g): State<RouteGuard>, req: Request, next: Next) -> Response {
    let Some(resolve) = g.resolve else {
        return guard_op(g, req, next).await;
    };
    FAMILY
        .scope(g.op.family, async move {
            let (mut parts, body) = req.into_parts();
            let bytes = match axum::body::to_bytes(body, g.state.config.http.max_body_bytes).await {
                Ok(b) => b,
                Err(_) => return GatewayError::TooLarge.into_response(),
            };
            let Some(op) = resolve(&bytes) else {
                return GatewayError::NoSuchApi.into_response();
            };
            parts.extensions.insert(ResolvedOp(op));
            let resolved = RouteGuard {
                state: g.state,
                op,
                resolve: None,
            };
            guard_op(
                resolved,
                Request::from_parts(parts, Body::from(bytes)),
                next,
            )
            .await
        })
        .await
}

/// [`guard`] for a known operation.
async fn guard_op(g: RouteGuard, req: Request, next: Next) -> Response {
    FAMILY
        .scope(g.op.family, async move {
            if g.op.access == Access::Public {
                return match checked_text(req).await {
                    Ok(req) => next.run(req).await,
                    Err(response) => response,
                };
            }
            match authorize(&g, req).await {
                Ok(req) => next.run(req).await,
                Err(response) => response,
            }
        })
        .await
}

/// A public route's request with its query and path text checked (see [`check_request_text`]).
async fn checked_text(req: Request) -> Result<Request, Response> {
    let (mut parts, body) = req.into_parts();
    check_request_text(&mut parts)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok(Request::from_parts(parts, body))
}

// The gateway's headers as constants: looking a header up by a `&str` parses the name again
// on every request.
const X_AUTH_TOKEN: HeaderName = HeaderName::from_static("x-auth-token");
const X_DOMAIN_ID: HeaderName = HeaderName::from_static("x-domain-id");
const X_PROJECT_ID: HeaderName = HeaderName::from_static("x-project-id");

fn header<'a>(parts: &'a Parts, name: &HeaderName) -> Option<&'a str> {
    parts.headers.get(name).and_then(|v| v.to_str().ok())
}

/// The principal behind a request and its body, or the refusal to answer with.
pub type Authenticated<'a> =
    Pin<Box<dyn Future<Output = Result<(Principal, Body), Response>> + Send + 'a>>;

/// How a family's callers prove who they are.
pub trait Authenticator {
    /// The principal behind the request (the body may be read, and is handed back), or the
    /// refusal to answer with.
    fn authenticate<'a>(
        &'a self,
        state: &'a AppState,
        parts: &'a Parts,
        body: Body,
    ) -> Authenticated<'a>;
}

/// The Huawei API gateway: `X-Auth-Token`, or an `SDK-HMAC-SHA256` signed request.
pub struct HuaweiGateway;

impl Authenticator for HuaweiGateway {
    fn authenticate<'a>(
        &'a self,
        state: &'a AppState,
        parts: &'a Parts,
        body: Body,
    ) -> Authenticated<'a> {
        Box::pin(huawei_gateway(state, parts, body))
    }
}

async fn huawei_gateway(
    state: &AppState,
    parts: &Parts,
    body: Body,
) -> Result<(Principal, Body), Response> {
    let identity = &state.identity;
    if let Some(value) = header(parts, &AUTHORIZATION) {
        let auth = signing::parse_authorization(value)
            .map_err(|_| GatewayError::BadSignature(None).into_response())?;
        // A request without a body (most GETs) is handed on as it came, not collected.
        let (bytes, body) = if axum::body::HttpBody::is_end_stream(&body) {
            (axum::body::Bytes::new(), body)
        } else {
            let bytes = axum::body::to_bytes(body, state.config.http.max_body_bytes)
                .await
                .map_err(|_| GatewayError::TooLarge.into_response())?;
            (bytes.clone(), Body::from(bytes))
        };
        let uri = parts
            .extensions
            .get::<OriginalUri>()
            .map_or(&parts.uri, |u| &u.0);
        let request = RequestParts {
            method: parts.method.as_str(),
            path: uri.path(),
            query: uri.query(),
            headers: &parts.headers,
            body: &bytes,
        };
        let principal = identity
            .authenticate_signature(&request, &auth)
            .await
            .map_err(auth_failure)?;
        Ok((principal, body))
    } else if let Some(token) = header(parts, &X_AUTH_TOKEN) {
        let principal = identity
            .authenticate_token(token.trim())
            .await
            .map_err(auth_failure)?;
        Ok((principal, body))
    } else {
        Err(GatewayError::NoCredentials.into_response())
    }
}

async fn authorize(g: &RouteGuard, req: Request) -> Result<Request, Response> {
    let state = &g.state;
    let family = descriptor(g.op.family);
    let (mut parts, body) = req.into_parts();
    let (principal, body) = family
        .authenticator
        .authenticate(state, &parts, body)
        .await?;

    // Query and path text a store cannot keep (NUL, bytes that are not UTF-8) is refused
    // here for every route, before any of it reaches the project check or a handler.
    check_request_text(&mut parts)
        .await
        .map_err(IntoResponse::into_response)?;
    let subject = principal.subject.clone();
    if let Some(domain) = header(&parts, &X_DOMAIN_ID) {
        if domain != subject.domain_id {
            return Err(GatewayError::Forbidden.into_response());
        }
    }
    let header_project = header(&parts, &X_PROJECT_ID).map(str::to_string);
    let path_project = RawPathParams::from_request_parts(&mut parts, &())
        .await
        .ok()
        .and_then(|p| {
            p.iter()
                .find(|(k, _)| *k == "project_id")
                .map(|(_, v)| v.to_string())
        });

    // Some families' paths name projects as resources, not as the scope of the request.
    let scoped_by_path = family.project_scope == ProjectScope::Path;
    let project_id = match (scoped_by_path, path_project) {
        (true, Some(pid)) => {
            if !is_hex32(&pid) {
                return Err(CommonError::BadRequest(format!(
                    "project_id `{pid}` is not a valid project id"
                ))
                .into_response());
            }
            if header_project.as_deref().is_some_and(|h| h != pid) {
                return Err(GatewayError::Forbidden.into_response());
            }
            Some(pid)
        }
        _ => header_project.or_else(|| principal.token_project.clone()),
    };
    if let Some(pid) = &project_id {
        let domain = state
            .project_domain(pid)
            .await
            .map_err(|e| CommonError::from(e).into_response())?;
        match domain {
            Some(d) if principal.may_use_project(pid, &d) => {}
            _ => return Err(GatewayError::Forbidden.into_response()),
        }
    }
    if let Some(refusal) = refusal(&principal, g.op, project_id.as_deref()) {
        return Err(refusal);
    }
    parts.extensions.insert(Caller {
        principal,
        project_id,
    });
    Ok(Request::from_parts(parts, body))
}

/// Whether `principal` may run `op` in `project` (after the project itself was checked): the
/// operation's IAM action must be allowed, an admin operation needs a tenant administrator,
/// and so does every operation of a tenant-admin-only family. `None`: it may; otherwise the
/// refusal the API answers with. The web console asks the same question before it shows an
/// action and again before it runs one.
pub fn refusal(
    principal: &Principal,
    op: &'static Operation,
    project: Option<&str>,
) -> Option<Response> {
    let family = descriptor(op.family);
    match op.access {
        Access::Action(action) if !principal.allows(action, project) => {
            return Some((family.render_denied)(op, Denied::Action));
        }
        Access::Admin(_) if !principal.is_tenant_admin(project) => {
            return Some((family.render_denied)(op, Denied::AdminOnly));
        }
        _ => {}
    }
    // e.g. plugboard's admin API: the domain owner or a `te_admin` holder (on the domain or
    // the path's project) only, whatever else the caller's policies match.
    if family.tenant_admin_only && !principal.is_tenant_admin(project) {
        return Some(GatewayError::Forbidden.into_response());
    }
    None
}

fn auth_failure(e: AuthError) -> Response {
    match e {
        AuthError::BadToken => GatewayError::BadToken.into_response(),
        AuthError::TokenExpired => GatewayError::TokenExpired.into_response(),
        AuthError::UnknownAccessKey => GatewayError::UnknownAccessKey.into_response(),
        AuthError::BadSignature(SigningError::SignatureMismatch { canonical_request }) => {
            GatewayError::BadSignature(Some(canonical_request)).into_response()
        }
        AuthError::BadSignature(_) => GatewayError::BadSignature(None).into_response(),
        AuthError::Store(e) => CommonError::from(e).into_response(),
    }
}
