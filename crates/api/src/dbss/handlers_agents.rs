//! DBSS agent handlers: AddAuditAgent, ListAuditAgent, DeleteAuditAgent, SwitchAgent,
//! CreateAuditDbAgent (old and new paths), and the plugboard-only agent endpoints the agent
//! calls (heartbeat, statements). A batch is JSON events or a pgaudit source's lines
//! ([`super::capture::lines`], parsed here), may be gzip- or LZ4-compressed, and is read whole,
//! at most [`MAX_BATCH_BYTES`] once decompressed, before anything is stored.

use super::capture::lines;
use super::dto_audit::*;
use super::error::DbssError;
use super::handlers::InstancePath;
use crate::common::auth::Caller;
use crate::common::error::{reply, CommonError};
use crate::common::extract::{parse_json, JsonBody, PathParams, QueryParams};
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use plugboard_service::dbss::agents::{AddAgent, Heartbeat};
use plugboard_service::dbss::ingest::{Batch, CapturedEvent, EventObject};
use serde::Deserialize;
use std::io::Read;

type Result<T> = std::result::Result<T, DbssError>;

/// The most bytes a batch may hold once decompressed.
pub const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;

fn project(caller: &Caller) -> &str {
    caller.project_id.as_deref().unwrap_or_default()
}

fn success() -> Result<Response> {
    reply(
        StatusCode::OK,
        &ResultWord {
            result: "SUCCESS".into(),
        },
    )
}

/// Path of the agent operations (`agent_id`).
#[derive(Debug, Deserialize)]
pub struct AgentPath {
    pub project_id: String,
    pub instance_id: String,
    pub agent_id: String,
}

/// `POST /v2/{project_id}/{instance_id}/audit/agents` (AddAuditAgent) and
/// `POST /v3/{project_id}/audit/{instance_id}/agents` (AddAuditAgentNew).
pub async fn add_audit_agent(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(req): JsonBody<AddAgentRequest>,
) -> Result<Response> {
    state
        .services
        .dbss
        .add_agent(
            project(&caller),
            &path.instance_id,
            AddAgent {
                db_id: req.db_id.unwrap_or_default(),
                mode: req.mode.unwrap_or(0),
                agent_id: req.agent_id,
                agent_type: req.agent_type,
                agent_os: req.agent_os,
                agent_ip: req.agent_ip,
                agent_nic: req.agent_nic,
                cpu_threshold: req.cpu_threshold,
                mem_threshold: req.mem_threshold,
            },
        )
        .await?;
    success()
}

/// `GET /v2/{project_id}/{instance_id}/audit/agents` (ListAuditAgent) and
/// `GET /v3/{project_id}/audit/{instance_id}/agents` (ListAuditAgentNew).
pub async fn list_audit_agent(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    QueryParams(q): QueryParams<AgentQuery>,
) -> Result<Response> {
    let offset = super::handlers::number("offset", q.offset.as_deref(), 0, 0, i64::MAX / 2)
        .map_err(DbssError::invalid)?;
    let limit = super::handlers::number("limit", q.limit.as_deref(), 10_000, 1, 10_000)
        .map_err(DbssError::invalid)?;
    let project_id = project(&caller).to_string();
    let views = state
        .services
        .dbss
        .list_agents(&project_id, &path.instance_id, q.db_id.as_deref())
        .await?;
    let mut agents = Vec::new();
    for v in views.into_iter().skip(offset as usize).take(limit as usize) {
        let sha256 = state
            .services
            .dbss
            .agent_bundle_sha256(&project_id, &v.agent, &state.public_url)
            .await;
        agents.push(AgentView {
            agent_url: format!(
                "/v2/{project_id}/audit/{}/agents/{}/download",
                v.agent.instance_id, v.agent.id
            ),
            agent_id: v.agent.id,
            agent_type: v.agent.agent_type,
            agent_os: v.agent.agent_os,
            agent_ip: v.agent.agent_ip,
            mem_threshold: v.agent.mem_threshold,
            cpu_threshold: v.agent.cpu_threshold,
            status: v.agent.status,
            agent_nic: v.agent.agent_nic,
            db_name: v.db_name,
            datacap_status: v.datacap_status,
            universal: false,
            sha256,
        });
    }
    reply(StatusCode::OK, &AgentList { agents })
}

/// `DELETE /v2/{project_id}/{instance_id}/audit/agents/{agent_id}` (DeleteAuditAgent) and
/// `DELETE /v3/{project_id}/audit/{instance_id}/agents/{agent_id}` (DeleteAuditAgentNew).
pub async fn delete_audit_agent(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<AgentPath>,
    QueryParams(q): QueryParams<AgentQuery>,
) -> Result<Response> {
    state
        .services
        .dbss
        .delete_agent(
            project(&caller),
            &path.instance_id,
            &path.agent_id,
            q.db_id.as_deref(),
        )
        .await?;
    success()
}

/// `POST /v1/{project_id}/{instance_id}/audit/agent/switch` (SwitchAgent) and
/// `POST /v2/{project_id}/audit/{instance_id}/agent/switch` (SwitchAgentNew).
pub async fn switch_agent(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InstancePath>,
    JsonBody(req): JsonBody<AgentSwitchRequest>,
) -> Result<Response> {
    state
        .services
        .dbss
        .switch_agent(
            project(&caller),
            &path.instance_id,
            &req.agent_id,
            req.status,
        )
        .await?;
    success()
}

/// `POST /v2/{project_id}/audit/{instance_id}/agents/{agent_id}` (CreateAuditDbAgent).
pub async fn create_audit_db_agent(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<AgentPath>,
    JsonBody(req): JsonBody<AgentThresholdsRequest>,
) -> Result<Response> {
    state
        .services
        .dbss
        .set_agent_thresholds(
            project(&caller),
            &path.instance_id,
            &path.agent_id,
            req.cpu_threshold,
            req.mem_threshold,
        )
        .await?;
    success()
}

/// `POST /v1/{project_id}/audit/{instance_id}/agents/{agent_id}/heartbeat` (plugboard).
pub async fn agent_heartbeat(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<AgentPath>,
    JsonBody(req): JsonBody<HeartbeatRequest>,
) -> Result<Response> {
    let answer = state
        .services
        .dbss
        .heartbeat(
            project(&caller),
            &path.instance_id,
            &path.agent_id,
            Heartbeat {
                last_error: req.last_error,
                idle_ms: req.idle_ms,
            },
        )
        .await?;
    reply(
        StatusCode::OK,
        &HeartbeatResponse {
            status: answer.status,
            databases: answer
                .databases
                .into_iter()
                .map(|d| HeartbeatDatabase {
                    id: d.id,
                    db_type: d.db_type,
                    ip: d.ip,
                    port: d.port,
                    name: d.name,
                })
                .collect(),
            batch_max: answer.batch_max,
            interval_s: answer.interval_s,
            cpu_threshold: answer.cpu_threshold,
            mem_threshold: answer.mem_threshold,
        },
    )
}

/// At most [`MAX_BATCH_BYTES`] of `decoder`'s output (a compression bomb stops there).
fn inflate(decoder: impl Read, codec: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    decoder
        .take(MAX_BATCH_BYTES as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| DbssError::invalid(format!("the body is not valid {codec}: {e}")))?;
    if out.len() > MAX_BATCH_BYTES {
        return Err(DbssError::invalid(format!(
            "the batch is larger than {} MiB decompressed",
            MAX_BATCH_BYTES >> 20
        )));
    }
    Ok(out)
}

/// The batch's bytes: decompressed when the body says so (gzip, or one LZ4 frame), never more
/// than [`MAX_BATCH_BYTES`].
fn batch_bytes(encoding: Option<&str>, body: &[u8]) -> Result<Vec<u8>> {
    match encoding.map(|e| e.trim().to_ascii_lowercase()) {
        None => Ok(body.to_vec()),
        Some(e) if e.is_empty() || e == "identity" => Ok(body.to_vec()),
        Some(e) if e == "gzip" => inflate(flate2::read::GzDecoder::new(body), "gzip"),
        Some(e) if e == "lz4" => inflate(lz4_flex::frame::FrameDecoder::new(body), "an LZ4 frame"),
        Some(e) => Err(DbssError::invalid(format!(
            "Content-Encoding must be gzip, lz4 or identity (got `{e}`)"
        ))),
    }
}

/// `POST /v1/{project_id}/audit/{instance_id}/agents/{agent_id}/statements` (plugboard).
pub async fn ingest_statements(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<AgentPath>,
    req: Request,
) -> Result<Response> {
    let media = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    let as_lines = match media.as_deref() {
        None => false,
        Some(m) if m.starts_with("application/json") => false,
        Some(m) if m.starts_with(lines::CONTENT_TYPE) => true,
        Some(_) => {
            return Err(DbssError::Common(CommonError::BadRequest(format!(
                "Content-Type must be application/json or {}",
                lines::CONTENT_TYPE
            ))))
        }
    };
    let encoding = req
        .headers()
        .get(axum::http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = axum::body::to_bytes(req.into_body(), state.config.http.max_body_bytes)
        .await
        .map_err(|_| DbssError::Common(CommonError::TooLarge))?;
    let bytes = batch_bytes(encoding.as_deref(), &body)?;
    let batch: IngestRequest = if as_lines {
        lines::read_batch(&bytes).map_err(DbssError::invalid)?
    } else {
        parse_json(&bytes)?
    };
    let outcome = state
        .services
        .dbss
        .ingest(
            project(&caller),
            &path.instance_id,
            &path.agent_id,
            Batch {
                batch_id: batch.batch_id,
                db_id: batch.db_id,
                events: batch
                    .events
                    .into_iter()
                    .map(|e| CapturedEvent {
                        seq: e.seq,
                        ts: e.ts,
                        kind: e.kind,
                        session: e.session,
                        statement_id: e.statement_id,
                        user: e.user,
                        database: e.database,
                        client_ip: e.client_ip,
                        client_port: e.client_port,
                        application: e.application,
                        command: e.command,
                        objects: e
                            .objects
                            .into_iter()
                            .map(|o| EventObject {
                                object_type: o.object_type,
                                schema: o.schema,
                                name: o.name,
                            })
                            .collect(),
                        sql: e.sql,
                        rows: e.rows,
                        duration_ms: e.duration_ms,
                        result: e.result,
                        code: e.code,
                        error: e.error,
                    })
                    .collect(),
            },
        )
        .await?;
    reply(
        StatusCode::OK,
        &IngestResponse {
            accepted: outcome.accepted,
            duplicates: outcome.duplicates,
            throttled: outcome.throttled,
            retry_after_ms: outcome.retry_after_ms,
        },
    )
}

/// `GET /v2/{project_id}/{instance_id}/audit/agents/{agent_id}` (DownloadAuditAgent) and
/// `GET /v2/{project_id}/audit/{instance_id}/agents/{agent_id}/download` (DownloadAuditAgentNew):
/// the bundle, `application/gzip`.
pub async fn download_audit_agent(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<AgentPath>,
) -> Result<Response> {
    let bytes = state
        .services
        .dbss
        .agent_bundle(
            project(&caller),
            &path.instance_id,
            &path.agent_id,
            &state.public_url,
        )
        .await?;
    let name = format!("plugboard-dbss-agent-{}.tar.gz", path.agent_id);
    Response::builder()
        .status(StatusCode::OK)
        .header(axum::http::header::CONTENT_TYPE, "application/gzip")
        .header(
            axum::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        )
        .body(axum::body::Body::from(bytes))
        .map_err(|e| DbssError::Common(CommonError::Internal(e.to_string())))
}
