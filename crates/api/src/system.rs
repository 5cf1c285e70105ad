//! System routes: `/healthz` (process up), `/readyz` (store reachable, migrations applied,
//! a write transaction can begin),
//! `/metrics` (Prometheus text; the job-state gauge is read from the store at scrape time,
//! after the process's counters are rendered, so the page never counts a job twice) and
//! `/openapi.json` (generated from the operations tables and each family's `docs()`, so it lists
//! exactly the routes the router serves, with their parameters, bodies, answers and security).

use crate::common::error::{json_response, serialized, CommonError};
use crate::common::error_body::{
    FlatErrorBody, GatewayErrorBody, KeystoneErrorBody, NestedErrorBody, ZStackErrorBody,
};
use crate::common::openapi::{named, Components, OpDoc, JSON};
use crate::common::ops::{op, Access, Family, Operation};
use crate::routing::{all_docs, op_route, operations, OpRoute};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, OnceLock};
use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, Parameter, ParameterBuilder, ParameterIn,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApiBuilder, PathItem, PathsBuilder, RefOr,
    Required, ResponseBuilder, ResponsesBuilder,
};
use utoipa::ToSchema;

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
    "The store is reachable, migrated and takes writes"
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

/// What `/openapi.json` says of the system operations (`common::openapi`).
pub fn docs() -> Vec<(&'static Operation, OpDoc)> {
    use StatusCode as S;
    let any_object = ObjectBuilder::new().schema_type(Type::Object).into();
    vec![
        (&HEALTHZ, OpDoc::new().json::<SystemStatus>(S::OK)),
        (
            &READYZ,
            OpDoc::new()
                .json::<SystemStatus>(S::OK)
                .json_also::<SystemStatus>(S::SERVICE_UNAVAILABLE, "Not ready (see `status`)"),
        ),
        (&METRICS, OpDoc::new().text(S::OK)),
        (&OPENAPI, OpDoc::new().json_schema(S::OK, any_object)),
    ]
}

/// The system routes.
pub fn routes() -> Vec<OpRoute> {
    vec![
        op_route(&HEALTHZ, healthz),
        op_route(&READYZ, readyz),
        op_route(&METRICS, metrics),
        op_route(&OPENAPI, openapi),
    ]
}

/// The body of `/healthz` and `/readyz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SystemStatus {
    /// `ok` (`/healthz`); `ready`, `migrations pending`, `store not writable` or `store unreachable` (`/readyz`).
    pub status: String,
}

fn status(code: StatusCode, status: &str) -> Response {
    let body = SystemStatus {
        status: status.into(),
    };
    serialized(code, &body).unwrap_or_else(|_| json_response(code, &Default::default()))
}

async fn healthz() -> Response {
    status(StatusCode::OK, "ok")
}

/// How long `/readyz` waits for a write transaction before calling the store not writable.
const WRITE_PROBE: std::time::Duration = std::time::Duration::from_secs(2);

async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ready().await {
        Ok(true) => match state.store.write_probe(WRITE_PROBE).await {
            Ok(()) => status(StatusCode::OK, "ready"),
            Err(why) => {
                tracing::warn!(reason = %why, "/readyz: the store cannot take writes");
                status(StatusCode::SERVICE_UNAVAILABLE, "store not writable")
            }
        },
        Ok(false) => status(StatusCode::SERVICE_UNAVAILABLE, "migrations pending"),
        Err(e) => {
            CommonError::Internal(e.to_string()).log_if_internal();
            status(StatusCode::SERVICE_UNAVAILABLE, "store unreachable")
        }
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let text = match state.metrics.as_ref() {
        // The process's own metrics are rendered before the store is read: a job counts in
        // `plugboard_jobs_total` only once its end is committed, so every job this page counts
        // as finished is also finished in the store read after it (never Running and
        // Completed on one page).
        Some(handle) => {
            let mut text = handle.render();
            text.push_str(&job_states(&state).await);
            text
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

/// The (kind, state) pairs the jobs gauge has shown, so a pair whose jobs are all gone shows
/// 0 instead of vanishing.
static JOB_STATES_SEEN: Mutex<BTreeSet<(String, String)>> = Mutex::new(BTreeSet::new());

/// Help text of `plugboard_jobs`.
const JOBS_HELP: &str =
    "Jobs in the store by kind and state (Running, Completed, Failed), read at scrape time";

/// `plugboard_jobs{kind, state}`: the number of jobs in the store by kind and state
/// (`Running`, `Completed`, `Failed`), from one query at scrape time, so every process of a
/// scale-out deployment reports the same, current numbers. Empty when the store cannot be read.
async fn job_states(state: &AppState) -> String {
    let rows = match state.store.count_jobs_by_kind_and_status().await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, "counting jobs for /metrics failed");
            return String::new();
        }
    };
    let mut now: BTreeMap<(String, String), i64> = BTreeMap::new();
    for (kind, status, n) in rows {
        *now.entry((kind, state_label(&status))).or_insert(0) += n;
    }
    if let Ok(mut seen) = JOB_STATES_SEEN.lock() {
        for pair in seen.iter() {
            now.entry(pair.clone()).or_insert(0);
        }
        seen.extend(now.keys().cloned());
    }
    render_job_states(&now)
}

/// The Prometheus text of the jobs gauge.
fn render_job_states(counts: &BTreeMap<(String, String), i64>) -> String {
    let mut out = format!("# HELP plugboard_jobs {JOBS_HELP}\n# TYPE plugboard_jobs gauge\n");
    for ((kind, state), n) in counts {
        out.push_str(&format!(
            "plugboard_jobs{{kind=\"{}\",state=\"{}\"}} {n}\n",
            label_value(kind),
            label_value(state)
        ));
    }
    out.push('\n');
    out
}

/// A label value escaped as the Prometheus text format asks (`\\`, `\"`, `\n`).
fn label_value(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The document, built once (the operations tables are static).
static DOCUMENT: OnceLock<serde_json::Value> = OnceLock::new();

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
    let doc = DOCUMENT.get_or_init(|| serde_json::to_value(openapi_document()).unwrap_or_default());
    json_response(StatusCode::OK, doc)
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

/// The security scheme of `X-Auth-Token`.
pub const TOKEN_SCHEME: &str = "XAuthToken";
/// The security scheme of AK/SK signatures.
pub const SIGNATURE_SCHEME: &str = "SdkHmacSha256";

const TOKEN_DESCRIPTION: &str = "A token from `POST /v3/auth/tokens` (its `X-Subject-Token` \
    answer header), sent as `X-Auth-Token`. Project-scoped tokens act in their project; \
    `X-Project-Id` may name another project of the domain.";
const SIGNATURE_DESCRIPTION: &str = "An access key's signature, as the official SDKs sign: \
    `Authorization: SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<names>, Signature=<hex>`, where \
    the signature is HMAC-SHA256 with the secret key over `SDK-HMAC-SHA256\\n<X-Sdk-Date>\\n\
    <hex SHA-256 of the canonical request>`, the canonical request being the method, the \
    URI-encoded path with a trailing `/`, the sorted query, the signed headers (lower-case \
    `name:value` lines), their names joined by `;` and the hex SHA-256 of the body. \
    `X-Sdk-Date` (`YYYYMMDDTHHMMSSZ`, within 15 minutes) must be signed, and `X-Project-Id` \
    names the project.";

/// The schemas every document has: the error envelopes and the system bodies.
struct Envelopes {
    gateway: RefOr<Schema>,
    flat: RefOr<Schema>,
    nested: RefOr<Schema>,
    keystone: RefOr<Schema>,
    zstack: RefOr<Schema>,
}

impl Envelopes {
    fn new(components: &mut Components) -> Self {
        Self {
            gateway: named::<GatewayErrorBody>(components),
            flat: named::<FlatErrorBody>(components),
            nested: named::<NestedErrorBody>(components),
            keystone: named::<KeystoneErrorBody>(components),
            zstack: named::<ZStackErrorBody>(components),
        }
    }

    /// The envelope a family's own errors come in.
    fn family(&self, family: Family) -> &RefOr<Schema> {
        match family {
            Family::Iam => &self.keystone,
            Family::Dbss => &self.nested,
            Family::GaussDb | Family::ServiceStage | Family::Admin | Family::System => &self.flat,
            Family::ZStack | Family::ZStackRpc => &self.zstack,
        }
    }
}

/// The path parameters of an axum path (`{name}` segments).
pub fn path_parameters(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

fn request_id_header() -> Header {
    HeaderBuilder::new()
        .schema(ObjectBuilder::new().schema_type(Type::String))
        .description(Some("The request's id (32 hexadecimal characters)"))
        .build()
}

/// The error answers of an operation: status → the envelopes it may come in.
fn error_schemas(
    op: &Operation,
    doc: &OpDoc,
    env: &Envelopes,
) -> BTreeMap<u16, Vec<RefOr<Schema>>> {
    let mut errors: BTreeMap<u16, Vec<RefOr<Schema>>> = BTreeMap::new();
    let mut add = |status: StatusCode, schema: &RefOr<Schema>| {
        let list = errors.entry(status.as_u16()).or_default();
        if !list.contains(schema) {
            list.push(schema.clone());
        }
    };
    let family = env.family(op.family);
    let zstack = matches!(op.family, Family::ZStack | Family::ZStackRpc);
    if op.family == Family::ZStack {
        // Every API failure, malformed input and internal errors included [vendor].
        add(StatusCode::SERVICE_UNAVAILABLE, family);
    }
    if op.family != Family::System && !zstack {
        // Malformed input (and, outside IAM, a path `project_id` that is not one); failures
        // inside plugboard (a panic is the gateway's APIG.0500).
        add(StatusCode::BAD_REQUEST, family);
        add(StatusCode::INTERNAL_SERVER_ERROR, family);
        add(StatusCode::INTERNAL_SERVER_ERROR, &env.gateway);
    }
    if op.access != Access::Public && !zstack {
        add(StatusCode::UNAUTHORIZED, &env.gateway);
        add(StatusCode::FORBIDDEN, &env.gateway);
        // A signed request's body is read (and bounded) before it is verified.
        add(StatusCode::PAYLOAD_TOO_LARGE, &env.gateway);
    }
    if doc.request_body.is_some() {
        add(StatusCode::PAYLOAD_TOO_LARGE, &env.gateway);
    }
    if !path_parameters(op.path).is_empty() {
        // A parameter that makes the path another (or no) route: APIG.0101.
        add(StatusCode::NOT_FOUND, &env.gateway);
    }
    for status in &doc.errors {
        add(*status, family);
    }
    errors
}

fn one_or_any_of(mut schemas: Vec<RefOr<Schema>>) -> RefOr<Schema> {
    if schemas.len() == 1 {
        return schemas.remove(0);
    }
    let mut any = AnyOfBuilder::new();
    for s in schemas {
        any = any.item(s);
    }
    any.into()
}

fn operation(op: &Operation, doc: &OpDoc, env: &Envelopes) -> utoipa::openapi::path::Operation {
    let access = match op.access {
        Access::Public => "No authentication.".to_string(),
        Access::Authenticated => "Any authenticated caller (token or AK/SK).".to_string(),
        Access::Action(a) => format!("IAM action `{a}`."),
        Access::Admin(a) => format!("Tenant administrators only (`{a}`)."),
    };
    // A write that takes no body says so (`x-request-body: none`): OpenAPI's only way is to
    // leave `requestBody` out, which reads like a forgotten one.
    let bodyless = doc.request_body.is_none()
        && [
            axum::http::Method::POST,
            axum::http::Method::PUT,
            axum::http::Method::PATCH,
        ]
        .contains(&op.method);
    let access = if bodyless {
        format!("{access} Takes no request body (a body sent is ignored).")
    } else {
        access
    };
    let mut parameters: Vec<Parameter> = path_parameters(op.path)
        .into_iter()
        .map(|name| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build()
        })
        .collect();
    parameters.extend(doc.parameters.iter().cloned());
    let mut responses = ResponsesBuilder::new();
    for (i, answer) in doc.answers.iter().enumerate() {
        let mut response = ResponseBuilder::new()
            .description(answer.description)
            .header("X-Request-Id", request_id_header());
        if i == 0 {
            for (name, description) in &doc.response_headers {
                response = response.header(
                    *name,
                    HeaderBuilder::new()
                        .schema(ObjectBuilder::new().schema_type(Type::String))
                        .description(Some(*description))
                        .build(),
                );
            }
        }
        if let Some(body) = &answer.body {
            response = response.content(
                body.content_type,
                ContentBuilder::new()
                    .schema(Some(body.schema.clone()))
                    .build(),
            );
        }
        responses = responses.response(answer.status.as_u16().to_string(), response.build());
    }
    let mut errors: BTreeMap<u16, Vec<RefOr<Schema>>> = error_schemas(op, doc, env);
    for status in &doc.text_errors {
        errors.entry(status.as_u16()).or_default();
    }
    for (status, schemas) in errors {
        let reason = StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error");
        let mut response = ResponseBuilder::new()
            .description(reason)
            .header("X-Request-Id", request_id_header());
        if !schemas.is_empty() {
            response = response.content(
                JSON,
                ContentBuilder::new()
                    .schema(Some(one_or_any_of(schemas)))
                    .build(),
            );
        }
        if doc.text_errors.iter().any(|s| s.as_u16() == status) {
            // The vendor's own plain-text refusals (ZStack's REST layer).
            response = response.content(
                "text/plain",
                ContentBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .build(),
            );
        }
        responses = responses.response(status.to_string(), response.build());
    }
    let security = match op.access {
        Access::Public => Vec::new(),
        _ => vec![
            SecurityRequirement::new(TOKEN_SCHEME, Vec::<String>::new()),
            SecurityRequirement::new(SIGNATURE_SCHEME, Vec::<String>::new()),
        ],
    };
    OperationBuilder::new()
        .operation_id(Some(op.name))
        .summary(Some(op.summary))
        .description(Some(access))
        .tag(op.family.tag())
        .parameters((!parameters.is_empty()).then_some(parameters))
        .request_body(doc.request_body.as_ref().map(|schema| {
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content(
                    JSON,
                    ContentBuilder::new().schema(Some(schema.clone())).build(),
                )
                .build()
        }))
        .responses(responses.build())
        .securities(Some(security))
        .extensions(bodyless.then(|| {
            utoipa::openapi::extensions::ExtensionsBuilder::new()
                .add("x-request-body", "none")
                .build()
        }))
        .build()
}

/// Named schemas of every operation; a name given to two different schemas is a conflict.
fn collect_components(
    docs: &[(&'static Operation, OpDoc)],
    mut common: Components,
) -> (BTreeMap<String, RefOr<Schema>>, Vec<String>) {
    let mut all = BTreeMap::new();
    let mut conflicts = Vec::new();
    common.extend(docs.iter().flat_map(|(_, d)| d.components.iter().cloned()));
    for (name, schema) in common {
        match all.get(&name) {
            Some(existing) if *existing != schema => conflicts.push(name),
            Some(_) => {}
            None => {
                all.insert(name, schema);
            }
        }
    }
    (all, conflicts)
}

/// Schema names two different types claim (they would overwrite each other in the document).
pub fn schema_name_conflicts() -> Vec<String> {
    let mut common = Components::new();
    Envelopes::new(&mut common);
    collect_components(&all_docs(), common).1
}

/// The OpenAPI document of every operation the server serves.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let docs = all_docs();
    let mut common = Components::new();
    let envelopes = Envelopes::new(&mut common);
    let undocumented = OpDoc::new();
    let mut paths = PathsBuilder::new();
    for op in operations() {
        let doc = docs
            .iter()
            .find(|(o, _)| std::ptr::eq(*o, op))
            .map_or(&undocumented, |(_, d)| d);
        paths = paths.path(
            op.path,
            PathItem::new(http_method(&op.method), operation(op, doc, &envelopes)),
        );
    }
    let (schemas, _) = collect_components(&docs, common);
    let components = ComponentsBuilder::new()
        .schemas_from_iter(schemas)
        .security_scheme(
            TOKEN_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Auth-Token",
                TOKEN_DESCRIPTION,
            ))),
        )
        .security_scheme(
            SIGNATURE_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                SIGNATURE_DESCRIPTION,
            ))),
        )
        .build();
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
        .components(Some(components))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_two_types_claim_one_schema_name() {
        assert_eq!(schema_name_conflicts(), Vec::<String>::new());
    }
}

#[cfg(test)]
mod job_state_tests {
    use super::*;

    #[test]
    fn the_jobs_gauge_is_prometheus_text_with_escaped_labels() {
        let counts = BTreeMap::from([
            (("Install\"x\\".to_string(), "Running".to_string()), 2),
            (
                ("InstallKernelPlugin".to_string(), "Completed".to_string()),
                0,
            ),
        ]);
        assert_eq!(
            render_job_states(&counts),
            format!(
                "# HELP plugboard_jobs {JOBS_HELP}\n# TYPE plugboard_jobs gauge\n\
                 plugboard_jobs{{kind=\"Install\\\"x\\\\\",state=\"Running\"}} 2\n\
                 plugboard_jobs{{kind=\"InstallKernelPlugin\",state=\"Completed\"}} 0\n\n"
            )
        );
    }
}
