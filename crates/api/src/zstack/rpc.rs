//! The ZStack RPC endpoint `POST /zstack/api/` (what `zstack-mcp-server` speaks): one message
//! `{"<fully qualified APIxxxMsg>": {...}}`, HTTP 200 for every outcome, the reply inside a
//! `result` JSON string keyed by its class; async messages answer `{"uuid", "state":
//! "Processing"}` and are polled at `GET /zstack/api/result/{uuid}`.

use super::error::{rpc_done, rpc_failed, rpc_refused, text, texts};
use super::handlers::{
    check_account_type, check_json_type, field, query_answer, session_inventory,
};
use super::routes::rpc_meta;
use crate::common::auth::{Caller, ResolvedOp};
use crate::common::error::json_response;
use crate::common::extract::PathParams;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::Response;
use plugboard_core::time::{self, now_micros};
use plugboard_service::zstack::query::{self, Query};
use plugboard_service::zstack::{ApiJobState, AsyncCall, Error as Domain, ErrorCode};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// A query message's fields as a query.
fn rpc_query(m: &Map<String, Value>) -> Result<Query, ErrorCode> {
    let Some(conditions) = m.get("conditions").and_then(|c| c.as_array()) else {
        return Err(ErrorCode::invalid_argument(
            "field [conditions] is required (an empty list for no condition)",
        ));
    };
    let mut q = Query::default();
    for c in conditions {
        let name = c.get("name").and_then(|v| v.as_str()).unwrap_or_default();
        let op = c.get("op").and_then(|v| v.as_str()).unwrap_or_default();
        let not_a_value = || {
            ErrorCode::invalid_argument(format!(
                "invalid value of condition [{name}]: a condition's value is a string, a number, a boolean or a list of them"
            ))
        };
        let value = match c.get("value") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| match i {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(_) | Value::Bool(_) => Ok(i.to_string()),
                    _ => Err(not_a_value()),
                })
                .collect::<Result<Vec<_>, _>>()?
                .join(","),
            Some(Value::Null) | None => String::new(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => b.to_string(),
            Some(Value::Object(_)) => return Err(not_a_value()),
        };
        q.conditions.push(query::Condition {
            field: name.to_string(),
            op: query::parse_op(op).map_err(ErrorCode::invalid_argument)?,
            value,
        });
    }
    let number = |k: &str| -> Result<Option<usize>, ErrorCode> {
        match m.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_u64().map(|n| Some(n as usize)).ok_or_else(|| {
                ErrorCode::invalid_argument(format!("field [{k}] must be a number"))
            }),
        }
    };
    if let Some(l) = number("limit")? {
        q.limit = l;
    }
    if let Some(s) = number("start")? {
        q.start = s;
    }
    q.count = m.get("count").and_then(|v| v.as_bool()).unwrap_or(false);
    q.reply_with_count = m
        .get("replyWithCount")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    if let Some(by) = m.get("sortBy").and_then(|v| v.as_str()) {
        let ascending = !m
            .get("sortDirection")
            .and_then(|v| v.as_str())
            .is_some_and(|d| d.eq_ignore_ascii_case("desc"));
        q.sort = Some((by.to_string(), ascending));
    }
    if let Some(fields) = m.get("fields").and_then(|v| v.as_array()) {
        q.fields = fields
            .iter()
            .filter_map(|f| f.as_str().map(str::to_string))
            .collect();
    }
    Ok(q)
}

/// The one RPC call: dispatched on the message the guard resolved.
pub async fn call(
    State(state): State<AppState>,
    Extension(ResolvedOp(op)): Extension<ResolvedOp>,
    caller: Option<Extension<Caller>>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    let created = now_micros();
    // Async messages are authenticated (the guard put the caller there); login is not.
    let call = AsyncCall {
        account: caller.map(|c| c.user_id().to_string()).unwrap_or_default(),
        ..AsyncCall::default()
    };
    if let Err(e) = check_json_type(&headers) {
        return rpc_refused(Some(op), &e);
    }
    let value: Value = serde_json::from_slice(&body).unwrap_or_default();
    let Some(meta) = rpc_meta(op.name) else {
        let name = value
            .as_object()
            .and_then(|m| m.keys().next().cloned())
            .unwrap_or_default();
        return rpc_refused(
            None,
            &ErrorCode::invalid_argument(format!(
                "no API named [{name}]: plugboard serves APILogInByAccountMsg, APILogOutMsg, APIQueryPluginDriversMsg, APIRefreshPluginDriversMsg and APIDeletePluginDriversMsg"
            )),
        );
    };
    let msg = value
        .as_object()
        .and_then(|m| m.values().next())
        .and_then(|m| m.as_object())
        .cloned()
        .unwrap_or_default();
    let zs = &state.services.zstack;
    let failed =
        |e: ErrorCode| json_response(StatusCode::OK, &rpc_failed(meta.answer_class, &e, created));
    if meta.is_async {
        let submitted = match op.name {
            "APIRefreshPluginDriversMsg" => {
                let name = match field(&msg, "name") {
                    Ok(n) => n.map(str::to_string),
                    Err(e) => return failed(e),
                };
                zs.refresh_plugin_drivers(name, &call).await
            }
            _ => {
                let uuid = match field(&msg, "uuid") {
                    Ok(u) => u.unwrap_or_default().to_string(),
                    Err(e) => return failed(e),
                };
                let mode = match field(&msg, "deleteMode") {
                    Ok(m) => m.map(str::to_string),
                    Err(e) => return failed(e),
                };
                zs.delete_plugin_drivers(&uuid, mode.as_deref(), &call)
                    .await
            }
        };
        return match submitted {
            Ok(uuid) => json_response(
                StatusCode::OK,
                &json!({"uuid": uuid, "state": "Processing", "createdDate": time::zstack(created)}),
            ),
            Err(e) => failed(domain_failure(e)),
        };
    }
    match sync_call(&state, op.name, &msg).await {
        Ok(fields) => json_response(
            StatusCode::OK,
            &rpc_done(meta.answer_class, fields, created),
        ),
        Err(e) => failed(e),
    }
}

fn domain_failure(e: Domain) -> ErrorCode {
    match e {
        Domain::Api(code) => code,
        other => ErrorCode::internal(other.to_string()),
    }
}

/// A sync message's reply fields.
async fn sync_call(
    state: &AppState,
    name: &str,
    msg: &Map<String, Value>,
) -> Result<Map<String, Value>, ErrorCode> {
    let zs = &state.services.zstack;
    match name {
        "APILogInByAccountMsg" => {
            check_account_type(msg)?;
            let account = field(msg, "accountName")?.unwrap_or_default();
            let password = field(msg, "password")?.unwrap_or_default();
            let s = zs.login(account, password).await.map_err(domain_failure)?;
            Ok(json!({ "inventory": session_inventory(&s) })
                .as_object()
                .cloned()
                .unwrap_or_default())
        }
        "APILogOutMsg" => {
            let uuid = field(msg, "sessionUuid")?
                .or_else(|| {
                    msg.get("session")
                        .and_then(|s| s.get("uuid"))
                        .and_then(|u| u.as_str())
                })
                .unwrap_or_default()
                .to_string();
            zs.logout(&uuid).await.map_err(domain_failure)?;
            Ok(Map::new())
        }
        "APIQueryPluginDriversMsg" => {
            let q = rpc_query(msg)?;
            let r = zs.query_plugin_drivers(&q).await.map_err(domain_failure)?;
            Ok(query_answer(r).as_object().cloned().unwrap_or_default())
        }
        other => Err(ErrorCode::internal(format!(
            "{other} is not a sync message"
        ))),
    }
}

/// Path of the result poll.
#[derive(Debug, Deserialize)]
pub struct ResultPath {
    pub uuid: String,
}

/// `GET /zstack/api/result/{uuid}`: `Processing` while it runs, then `Done` with the event
/// (its failure inside); 404 unknown or expired.
pub async fn result(
    State(state): State<AppState>,
    PathParams(path): PathParams<ResultPath>,
) -> Response {
    let job = match state.services.zstack.api_job(&path.uuid).await {
        Ok(Some(job)) => job,
        Ok(None) => return text(&texts::JOB_EXPIRED, ""),
        Err(e) => return rpc_refused(None, &ErrorCode::internal(e.to_string())),
    };
    let class = match job.api {
        plugboard_service::zstack::AsyncApi::RefreshPluginDrivers => {
            "org.zstack.header.core.external.plugin.APIRefreshPluginDriversEvent"
        }
        plugboard_service::zstack::AsyncApi::DeletePluginDrivers => {
            "org.zstack.header.core.external.plugin.APIDeletePluginDriversEvent"
        }
    };
    let mut answer = match job.state {
        ApiJobState::Running => json!({
            "state": "Processing",
            "createdDate": time::zstack(job.created_at),
        }),
        ApiJobState::Done(event) => rpc_done(class, event, job.created_at),
        ApiJobState::Failed(e) => rpc_failed(class, &e, job.created_at),
    };
    if let Some(m) = answer.as_object_mut() {
        m.insert("uuid".into(), json!(job.uuid));
        if job.ended_at > 0 && m.contains_key("finishedDate") {
            m.insert("finishedDate".into(), json!(time::zstack(job.ended_at)));
        }
    }
    json_response(StatusCode::OK, &answer)
}
