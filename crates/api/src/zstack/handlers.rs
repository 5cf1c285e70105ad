//! ZStack REST handlers (`/zstack/v1`): sessions, the plug-in-driver APIs and api-job polling,
//! with the vendor's REST conventions — action bodies keyed by the API's lowerCamelCase name
//! (tags beside it or inside it), query-string fields for GET/DELETE with unknown keys ignored,
//! `X-Job-UUID` and `X-Web-Hook`, 202 + `location` for async calls, JSON on every answer the
//! vendor answers with an object.

use super::error::{rest_error_body, text, texts, ZStackError};
use crate::common::auth::Caller;
use crate::common::error::{json_response, reply};
use crate::common::extract::parse_json;
use crate::common::extract::PathParams;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use plugboard_core::time;
use plugboard_service::zstack::query::{self, Query};
use plugboard_service::zstack::{ApiJobState, AsyncCall, ErrorCode, Session};
use serde::Deserialize;
use serde_json::{json, Value};

type Result<T> = std::result::Result<T, ZStackError>;

/// The query string's pairs, decoded (`+` is a space), in order.
pub fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    raw.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// `X-Job-UUID` and `X-Web-Hook` of a call by `account`.
fn async_call(headers: &HeaderMap, account: &str) -> AsyncCall {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_string())
    };
    AsyncCall {
        account: account.to_string(),
        job_uuid: get("x-job-uuid"),
        web_hook: get("x-web-hook"),
    }
}

/// `X-Job-UUID`, if present, must be a UUID with '-' stripped (32 hexadecimal digits, any
/// case), on every call [vendor].
fn check_job_header(headers: &HeaderMap) -> Result<()> {
    match async_call(headers, "").job_uuid {
        Some(id) if plugboard_service::zstack::job_uuid(&id).is_none() => {
            Err(ZStackError::text(&texts::BAD_JOB_UUID))
        }
        _ => Ok(()),
    }
}

/// A body is JSON: a Content-Type, when given, must say so.
pub fn check_json_type(headers: &HeaderMap) -> std::result::Result<(), ErrorCode> {
    match headers.get("content-type").and_then(|v| v.to_str().ok()) {
        Some(t)
            if !t
                .trim()
                .to_ascii_lowercase()
                .starts_with("application/json") =>
        {
            Err(ErrorCode::invalid_argument(
                "Content-Type must be application/json",
            ))
        }
        _ => Ok(()),
    }
}

/// The action object of a body keyed by `key` (the vendor's plain-text 400 without it).
fn action_of(
    headers: &HeaderMap,
    body: &[u8],
    key: &str,
    url: &str,
) -> Result<serde_json::Map<String, Value>> {
    check_json_type(headers)?;
    let value: Value = parse_json(body)?;
    match value.get(key) {
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(Value::Null) | None => Err(ZStackError::Text(
            &texts::NO_ACTION_MAPPING,
            url.to_string(),
        )),
        Some(_) => Err(ErrorCode::invalid_argument(format!("{key} must be an object")).into()),
    }
}

/// Where an async call's result is polled: built from `--public-url`, else the request's Host.
fn location(state: &AppState, headers: &HeaderMap, job: &str) -> String {
    let path = format!("/zstack/v1/api-jobs/{job}");
    if state.config.public_url.is_some() {
        return state.link(&path);
    }
    match headers.get("host").and_then(|h| h.to_str().ok()) {
        Some(host) if !host.is_empty() => format!("http://{host}{path}"),
        _ => state.link(&path),
    }
}

fn accepted(state: &AppState, headers: &HeaderMap, job: &str) -> Result<Response> {
    reply(
        StatusCode::ACCEPTED,
        &json!({
            "location": location(state, headers, job),
            "apiTimeout": state.services.zstack.api_timeout_ms(),
        }),
    )
}

/// A session's inventory.
pub fn session_inventory(s: &Session) -> Value {
    json!({
        "uuid": s.uuid,
        "accountUuid": s.account_uuid,
        "userUuid": s.user_uuid,
        "userType": s.user_type,
        "expiredDate": time::zstack(s.expires_at),
        "createDate": time::zstack(s.created_at),
    })
}

/// The account type of a login: absent, null, `""` or `"account"` [vendor].
pub fn check_account_type(
    login: &serde_json::Map<String, Value>,
) -> std::result::Result<(), ErrorCode> {
    match login.get("accountType") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(t)) if t.is_empty() || t.eq_ignore_ascii_case("account") => Ok(()),
        Some(other) => Err(ErrorCode::invalid_argument(format!(
            "accountType {other} is not supported: plugboard accounts log in as plain accounts (leave it out)"
        ))),
    }
}

/// A string field of a message (`None` when absent or null; SYS.1007 when not a string).
pub fn field<'a>(
    m: &'a serde_json::Map<String, Value>,
    name: &str,
) -> std::result::Result<Option<&'a str>, ErrorCode> {
    match m.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ErrorCode::invalid_argument(format!(
            "field [{name}] must be a string"
        ))),
    }
}

/// `PUT /zstack/v1/accounts/login` `{"logInByAccount": {"accountName", "password"}}`.
pub async fn log_in_by_account(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    check_job_header(&headers)?;
    let login = action_of(&headers, &body, "logInByAccount", "/v1/accounts/login")?;
    check_account_type(&login)?;
    let name = field(&login, "accountName")?.unwrap_or_default();
    let password = field(&login, "password")?.unwrap_or_default();
    if name.is_empty() || password.is_empty() {
        return Err(ErrorCode::invalid_argument("accountName and password are required").into());
    }
    let session = state.services.zstack.login(name, password).await?;
    reply(
        StatusCode::OK,
        &json!({ "inventory": session_inventory(&session) }),
    )
}

/// Path of the session calls.
#[derive(Debug, Deserialize)]
pub struct SessionPath {
    pub session_uuid: String,
}

/// `DELETE /zstack/v1/accounts/sessions/{session_uuid}`: `{}`, for an unknown session too.
pub async fn log_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(path): PathParams<SessionPath>,
) -> Result<Response> {
    check_job_header(&headers)?;
    state.services.zstack.logout(&path.session_uuid).await?;
    reply(StatusCode::OK, &json!({}))
}

/// `GET /zstack/v1/accounts/sessions/{session_uuid}/valid`.
pub async fn validate_session(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(path): PathParams<SessionPath>,
) -> Result<Response> {
    check_job_header(&headers)?;
    let valid = state.services.zstack.valid(&path.session_uuid).await?;
    reply(StatusCode::OK, &json!({ "valid": valid }))
}

fn flag(v: &str) -> bool {
    v.eq_ignore_ascii_case("true")
}

/// A REST query: `q` (repeatable), `limit`, `start`, `count`, `replyWithCount`, `sort`,
/// `fields`; other keys are ignored.
fn rest_query(raw: Option<&str>) -> std::result::Result<Query, ErrorCode> {
    let mut q = Query::default();
    for (k, v) in query_pairs(raw) {
        let number = |v: &str| {
            v.trim().parse::<usize>().map_err(|_| {
                ErrorCode::invalid_argument(format!("invalid value[{v}] of field [{k}]"))
            })
        };
        match k.as_str() {
            "q" => q
                .conditions
                .push(query::parse_q(&v).map_err(ErrorCode::invalid_argument)?),
            "limit" => q.limit = number(&v)?,
            "start" => q.start = number(&v)?,
            "count" => q.count = flag(&v),
            "replyWithCount" => q.reply_with_count = flag(&v),
            "sort" if !v.is_empty() => q.sort = Some(query::parse_sort(&v)),
            "fields" => {
                q.fields = v
                    .split(',')
                    .map(|f| f.trim().to_string())
                    .filter(|f| !f.is_empty())
                    .collect()
            }
            _ => {}
        }
    }
    Ok(q)
}

/// The answer of a query: `inventories` (and `total` when asked).
pub fn query_answer(r: query::QueryResult) -> Value {
    let mut m = serde_json::Map::new();
    if let Some(inv) = r.inventories {
        m.insert(
            "inventories".into(),
            Value::Array(inv.into_iter().map(Value::Object).collect()),
        );
    }
    if let Some(total) = r.total {
        m.insert("total".into(), json!(total));
    }
    Value::Object(m)
}

/// `GET /zstack/v1/external/plugins?q=...`.
pub async fn query_plugin_drivers(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    check_job_header(&headers)?;
    let q = rest_query(raw.as_deref())?;
    let result = state.services.zstack.query_plugin_drivers(&q).await?;
    reply(StatusCode::OK, &query_answer(result))
}

/// `PUT /zstack/v1/external/plugins` `{"refreshPluginDrivers": {"name"?}}`: 202.
pub async fn refresh_plugin_drivers(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    check_job_header(&headers)?;
    let action = action_of(
        &headers,
        &body,
        "refreshPluginDrivers",
        "/v1/external/plugins",
    )?;
    let name = field(&action, "name")?.map(str::to_string);
    let job = state
        .services
        .zstack
        .refresh_plugin_drivers(name, &async_call(&headers, caller.user_id()))
        .await?;
    accepted(&state, &headers, &job)
}

/// Path of `DELETE /zstack/v1/external/plugins/{uuid}`.
#[derive(Debug, Deserialize)]
pub struct DriverPath {
    pub uuid: String,
}

/// `DELETE /zstack/v1/external/plugins/{uuid}?deleteMode=Permissive|Enforcing`: 202.
pub async fn delete_plugin_drivers(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    PathParams(path): PathParams<DriverPath>,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    // The Go SDK's Delete sends the template itself: the vendor has no API at that path.
    if path.uuid == "{uuid}" {
        return Err(ZStackError::Text(
            &texts::NO_API_MAPPING,
            "/v1/external/plugins/{uuid}".into(),
        ));
    }
    check_job_header(&headers)?;
    let mode = query_pairs(raw.as_deref())
        .into_iter()
        .find(|(k, _)| k == "deleteMode")
        .map(|(_, v)| v);
    let job = state
        .services
        .zstack
        .delete_plugin_drivers(
            &path.uuid,
            mode.as_deref(),
            &async_call(&headers, caller.user_id()),
        )
        .await?;
    accepted(&state, &headers, &job)
}

/// Path of the api-job poll.
#[derive(Debug, Deserialize)]
pub struct ApiJobPath {
    pub job_uuid: String,
}

/// `GET /zstack/v1/api-jobs/{job_uuid}`: 202 `{}` running, 200 the event, 503 the error, 404
/// (text) unknown or expired.
pub async fn query_api_job(
    State(state): State<AppState>,
    PathParams(path): PathParams<ApiJobPath>,
) -> Result<Response> {
    let Some(job) = state.services.zstack.api_job(&path.job_uuid).await? else {
        return Ok(text(&texts::JOB_EXPIRED, ""));
    };
    Ok(match job.state {
        ApiJobState::Running => json_response(StatusCode::ACCEPTED, &json!({})),
        ApiJobState::Done(event) => json_response(StatusCode::OK, &Value::Object(event)),
        ApiJobState::Failed(e) => {
            json_response(StatusCode::SERVICE_UNAVAILABLE, &rest_error_body(&e))
        }
    })
}
