//! The request context every response goes through: a fresh `X-Request-Id` (32 hex) made
//! visible to error rendering and logs, an early 413 for declared oversize bodies, and the
//! Prometheus request metrics (by route, method, status; latency).

use super::error::GatewayError;
use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
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
    let id: Arc<str> = plugboard_core::ids::hex32().into();
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
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
    let status = response.status().as_u16().to_string();
    let elapsed = started.elapsed().as_secs_f64();
    metrics::counter!("plugboard_http_requests_total", "route" => route.clone(), "method" => method.to_string(), "status" => status).increment(1);
    metrics::histogram!("plugboard_http_request_duration_seconds", "route" => route)
        .record(elapsed);
    response
}
