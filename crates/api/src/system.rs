//! System routes: `/healthz` (process up), `/readyz` (store reachable, migrations applied),
//! `/metrics` (Prometheus text; the job-state gauge is read from the store at scrape time) and
//! `/openapi.json` (generated from the operations tables, so it lists exactly the routes the
//! router serves).

use crate::common::error::{json_response, CommonError};
use crate::common::ops::{op, Access};
use crate::routing::{op_route, operations, OpRoute};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{
    InfoBuilder, OpenApiBuilder, PathItem, PathsBuilder, Required, ResponseBuilder,
};

op!(
    System,
    HEALTHZ,
    "Healthz",
    GET,
    "/healthz",
    Access::Public,
    "The process is up"
);
op!(
    System,
    READYZ,
    "Readyz",
    GET,
    "/readyz",
    Access::Public,
    "The store is reachable and migrated"
);
op!(
    System,
    METRICS,
    "Metrics",
    GET,
    "/metrics",
    Access::Public,
    "Prometheus metrics"
);
op!(
    System,
    OPENAPI,
    "OpenApi",
    GET,
    "/openapi.json",
    Access::Public,
    "This document"
);

/// The system routes.
pub fn routes() -> Vec<OpRoute> {
    vec![
        op_route(&HEALTHZ, healthz),
        op_route(&READYZ, readyz),
        op_route(&METRICS, metrics),
        op_route(&OPENAPI, openapi),
    ]
}

async fn healthz() -> Response {
    json_response(StatusCode::OK, &json!({"status": "ok"}))
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ready().await {
        Ok(true) => json_response(StatusCode::OK, &json!({"status": "ready"})),
        Ok(false) => json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"status": "migrations pending"}),
        ),
        Err(e) => {
            CommonError::Internal(e.to_string()).log_if_internal();
            json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                &json!({"status": "store unreachable"}),
            )
        }
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let text = match state.metrics.as_ref() {
        Some(handle) => {
            record_job_states(&state).await;
            handle.render()
        }
        None => String::new(),
    };
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// The (kind, state) pairs the jobs gauge was last set for, so a pair whose jobs are all gone
/// drops to 0 instead of keeping its old value.
static JOB_STATES_SEEN: Mutex<BTreeSet<(String, String)>> = Mutex::new(BTreeSet::new());

/// Set `plugboard_jobs{kind, state}` to the number of jobs in the store by kind and state
/// (`Running`, `Completed`, `Failed`), read at scrape time so every process of a scale-out
/// deployment reports the same, current numbers.
async fn record_job_states(state: &AppState) {
    let now: BTreeMap<(String, String), i64> =
        match state.store.count_jobs_by_kind_and_status().await {
            Ok(rows) => {
                let mut by_label = BTreeMap::new();
                for (kind, status, n) in rows {
                    *by_label.entry((kind, state_label(&status))).or_insert(0) += n;
                }
                by_label
            }
            Err(e) => {
                tracing::warn!(error = %e, "counting jobs for /metrics failed");
                return;
            }
        };
    let Ok(mut seen) = JOB_STATES_SEEN.lock() else {
        return;
    };
    for (kind, status) in seen.iter() {
        if !now.contains_key(&(kind.clone(), status.clone())) {
            metrics::gauge!("plugboard_jobs", "kind" => kind.clone(), "state" => status.clone())
                .set(0.0);
        }
    }
    for ((kind, status), n) in &now {
        metrics::gauge!("plugboard_jobs", "kind" => kind.clone(), "state" => status.clone())
            .set(*n as f64);
        seen.insert((kind.clone(), status.clone()));
    }
}

/// The `state` label of a stored job state: the words the metric has always used.
fn state_label(status: &str) -> String {
    use plugboard_store::jobs;
    match status {
        jobs::QUEUED | jobs::RUNNING => "Running",
        jobs::COMPLETED => "Completed",
        jobs::FAILED => "Failed",
        other => other,
    }
    .to_string()
}

async fn openapi() -> Response {
    json_response(
        StatusCode::OK,
        &serde_json::to_value(openapi_document()).unwrap_or_default(),
    )
}

fn http_method(m: &Method) -> HttpMethod {
    match *m {
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::DELETE => HttpMethod::Delete,
        Method::PATCH => HttpMethod::Patch,
        Method::HEAD => HttpMethod::Head,
        _ => HttpMethod::Get,
    }
}

/// The OpenAPI document of every operation the server serves.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut paths = PathsBuilder::new();
    for op in operations() {
        let parameters = op
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| {
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .build()
            })
            .collect::<Vec<_>>();
        let access = match op.access {
            Access::Public => "No authentication.".to_string(),
            Access::Authenticated => "Any authenticated caller (token or AK/SK).".to_string(),
            Access::Action(a) => format!("IAM action `{a}`."),
        };
        let operation = OperationBuilder::new()
            .operation_id(Some(op.name))
            .summary(Some(op.summary))
            .description(Some(access))
            .tag(op.family.tag())
            .parameters((!parameters.is_empty()).then_some(parameters))
            .response("default", ResponseBuilder::new().description("See docs/"))
            .build();
        paths = paths.path(op.path, PathItem::new(http_method(&op.method), operation));
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("plugboard")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Huawei Cloud IAM, GaussDB, DBSS, ServiceStage and ZStack APIs, self-hosted.",
                )),
        )
        .paths(paths)
        .build()
}
