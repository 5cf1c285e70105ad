//! The request context every response goes through: a fresh `X-Request-Id` (32 hex) made
//! visible to error rendering and logs, an early 413 for declared oversize bodies, a handler
//! panic turned into a 500 (`APIG.0500`, the panic logged with the request id, never sent), one
//! `info` log line per request (method, matched route or path, status, latency, request id) and
//! the Prometheus request metrics (by route, method, status; latency). Every metric label is
//! drawn from a closed set, whatever the client sends: the route is an operation's path
//! template or `unmatched`, the method one of the nine standard ones or `other`, the status one
//! the server chose.

use super::error::GatewayError;
use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Instant;

tokio::task_local! {
    static REQUEST_ID: Arc<str>;
}

/// The id of the request being served (empty outside a request).
pub fn request_id() -> String {
    REQUEST_ID.try_with(|id| id.to_string()).unwrap_or_default()
}

/// The outermost middleware of every route.
pub async fn request_context(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let id: Arc<str> = plugboard_core::ids::request_id().into();
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let logged_route = if route == "unmatched" {
        req.uri().path().to_string()
    } else {
        route.clone()
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = declared.is_some_and(|n| n > state.config.http.max_body_bytes as u64);
    let mut response = REQUEST_ID
        .scope(id.clone(), async move {
            if too_large {
                GatewayError::TooLarge.into_response()
            } else {
                next.run(req).await
            }
        })
        .await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    let status = response.status().as_u16();
    let elapsed = started.elapsed().as_secs_f64();
    // One line per request (never the query string: it may carry names users consider private).
    tracing::info!(
        method = %method,
        route = %logged_route,
        status,
        latency_ms = (elapsed * 1e6).round() / 1e3,
        request_id = %id,
        "request"
    );
    let status = status.to_string();
    let method = method_label(&method);
    metrics::counter!("plugboard_http_requests_total", "route" => route.clone(), "method" => method, "status" => status).increment(1);
    metrics::histogram!("plugboard_http_request_duration_seconds", "route" => route)
        .record(elapsed);
    response
}

/// The `method` label: a standard method's name, `other` for any extension method (a client
/// may send any token as a method; each must not become a series of its own).
pub fn method_label(method: &Method) -> &'static str {
    const STANDARD: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::HEAD, "HEAD"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::DELETE, "DELETE"),
        (Method::PATCH, "PATCH"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::CONNECT, "CONNECT"),
        (Method::TRACE, "TRACE"),
    ];
    STANDARD
        .iter()
        .find(|(m, _)| m == method)
        .map(|(_, label)| *label)
        .unwrap_or("other")
}

/// A handler panicked: log it with the request id and answer 500 in the gateway's envelope.
/// Runs inside the request's scope, so the id is the one the response header carries; the
/// panic's message goes to the log only.
pub fn panic_response(payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(request_id = %request_id(), panic = detail, "request handler panicked");
    GatewayError::Internal.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_labels_are_a_closed_set() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        let made_up = Method::from_bytes(b"FROBNICATE").expect("a token is a method");
        assert_eq!(method_label(&made_up), "other");
        let lower = Method::from_bytes(b"get").expect("method");
        assert_eq!(method_label(&lower), "other", "methods are case-sensitive");
    }
}
