//! Talking to plugboard: requests signed with the agent's AK/SK (`SDK-HMAC-SHA256`, the CLI's
//! signer), batches LZ4-compressed, answers sorted into acknowledged, refused (the agent is
//! off, deleted, or not this instance's: wait and ask again), rejected (the batch itself is
//! wrong: logged and skipped) and "try again" (plugboard away, 5xx, timeouts).

use super::config::AgentConfig;
use crate::cli::client::authorization;
use plugboard_api::dbss::dto_audit::{HeartbeatRequest, HeartbeatResponse, IngestResponse};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use std::io::Write;
use std::time::Duration;

/// Events per batch plugboard takes until its heartbeat says (docs/dbss-audit.md).
pub const DEFAULT_BATCH_MAX: usize = 1000;

/// Why a request did not succeed.
#[derive(Debug)]
pub enum ShipError {
    /// plugboard refused the agent (403): off, deleted, of another instance, wrong database.
    Refused(String),
    /// plugboard refused the request itself (another 4xx): sending it again cannot help.
    Rejected(String),
    /// plugboard is away, failing or slow: send the same again later.
    Retry(String),
}

impl std::fmt::Display for ShipError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused(m) => write!(f, "refused: {m}"),
            Self::Rejected(m) => write!(f, "rejected: {m}"),
            Self::Retry(m) => write!(f, "{m}"),
        }
    }
}

/// The signed client of one agent.
pub struct Shipper {
    http: reqwest::Client,
    cfg: AgentConfig,
    started: std::time::Instant,
    /// Milliseconds after `started` of the last acknowledged batch of statements (0: none).
    shipped_ms: std::sync::atomic::AtomicU64,
    /// Events per batch plugboard takes.
    batch_max: std::sync::atomic::AtomicUsize,
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

impl Shipper {
    /// A client for `cfg`: over HTTPS it verifies plugboard's certificate against the CA file
    /// alone when there is one, else against the system's roots (the platform's store, or
    /// `SSL_CERT_FILE` / `SSL_CERT_DIR` when set); an HTTPS endpoint with neither is an error.
    pub fn new(cfg: &AgentConfig) -> Result<Self, String> {
        let mut b = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("plugboard-dbss-agent/", env!("CARGO_PKG_VERSION")));
        if let Some(ca) = &cfg.ca_file {
            let pem = std::fs::read(ca)
                .map_err(|e| format!("cannot read ca_file {}: {e}", ca.display()))?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .map_err(|e| format!("ca_file {} is not a PEM certificate: {e}", ca.display()))?;
            // Only this CA: an agent pinned to a private CA takes no certificate a public
            // CA issued for the same name.
            b = b.tls_built_in_root_certs(false).add_root_certificate(cert);
        } else {
            // The system's roots only, not the web PKI list compiled into the binary: the
            // host's trust is the operator's to manage (a private CA installed there counts).
            b = b.tls_built_in_webpki_certs(false);
            if cfg.endpoint.starts_with("https://") {
                let found = rustls_native_certs::load_native_certs();
                if found.certs.is_empty() {
                    let why: Vec<String> = found.errors.iter().map(|e| e.to_string()).collect();
                    return Err(format!(
                        "no trusted root certificates on this host to verify {} ({}): install the \
                         system's CA certificates, point SSL_CERT_FILE at a PEM bundle, or set ca_file",
                        cfg.endpoint,
                        if why.is_empty() { "the store is empty".to_string() } else { why.join("; ") }
                    ));
                }
            }
        }
        let http = b
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            http,
            cfg: cfg.clone(),
            started: std::time::Instant::now(),
            shipped_ms: std::sync::atomic::AtomicU64::new(0),
            batch_max: std::sync::atomic::AtomicUsize::new(DEFAULT_BATCH_MAX),
        })
    }

    /// Record that plugboard acknowledged a batch of statements.
    pub fn note_shipped(&self) {
        let ms = self.started.elapsed().as_millis().max(1) as u64;
        self.shipped_ms
            .fetch_max(ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// Milliseconds since statements were last acknowledged (since the start when none were):
    /// the heartbeat's `idle_ms`, from which plugboard tells a sleeping agent.
    pub fn idle_ms(&self) -> i64 {
        let now = self.started.elapsed().as_millis() as u64;
        let last = self.shipped_ms.load(std::sync::atomic::Ordering::Relaxed);
        now.saturating_sub(last) as i64
    }

    fn agent_path(&self, what: &str) -> String {
        format!(
            "{}/v1/{}/audit/{}/agents/{}/{what}",
            self.cfg.endpoint, self.cfg.project_id, self.cfg.instance_id, self.cfg.agent_id
        )
    }

    /// POST `body` (`content_type`; LZ4-compressed when `lz4`) to `target`, signed.
    async fn send(
        &self,
        target: &str,
        content_type: &'static str,
        body: Vec<u8>,
        lz4: bool,
    ) -> Result<String, ShipError> {
        let url = Url::parse(target)
            .map_err(|e| ShipError::Rejected(format!("bad URL {target}: {e}")))?;
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => return Err(ShipError::Rejected(format!("{target} has no host"))),
        };
        let sdk_date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        let value = |v: &str| {
            HeaderValue::from_str(v)
                .map_err(|_| ShipError::Rejected(format!("`{v}` cannot be a header value")))
        };
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static(content_type),
        );
        headers.insert(reqwest::header::HOST, value(&host)?);
        headers.insert(
            HeaderName::from_static("x-project-id"),
            value(&self.cfg.project_id)?,
        );
        headers.insert(HeaderName::from_static("x-sdk-date"), value(&sdk_date)?);
        let authz = authorization(
            &Method::POST,
            &url,
            &headers,
            &body,
            &self.cfg.access_key,
            &self.cfg.secret_key,
            &sdk_date,
        )
        .map_err(|e| ShipError::Rejected(e.to_string()))?;
        headers.insert(reqwest::header::AUTHORIZATION, value(&authz)?);
        if lz4 {
            headers.insert(
                reqwest::header::CONTENT_ENCODING,
                HeaderValue::from_static("lz4"),
            );
        }
        let response = self
            .http
            .post(url)
            .headers(headers)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                let cause = root_cause(&e);
                let hint = if cause.contains("certificate") {
                    if self.cfg.ca_file.is_some() {
                        " (its certificate is not signed by ca_file's CA)"
                    } else {
                        " (its certificate is not signed by a CA this host trusts: the system's \
                         roots, or SSL_CERT_FILE / SSL_CERT_DIR; set ca_file for a private CA)"
                    }
                } else {
                    ""
                };
                ShipError::Retry(format!(
                    "plugboard at {} does not answer: {cause}{hint}",
                    self.cfg.endpoint,
                ))
            })?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| {
            ShipError::Retry(format!("reading plugboard's answer: {}", root_cause(&e)))
        })?;
        match status {
            200..=299 => Ok(text),
            401 | 403 => Err(ShipError::Refused(format!(
                "HTTP {status}: {}",
                text.chars().take(300).collect::<String>()
            ))),
            408 | 429 => Err(ShipError::Retry(format!("HTTP {status}"))),
            400..=499 => Err(ShipError::Rejected(format!(
                "HTTP {status}: {}",
                text.chars().take(300).collect::<String>()
            ))),
            _ => Err(ShipError::Retry(format!(
                "HTTP {status}: {}",
                text.chars().take(200).collect::<String>()
            ))),
        }
    }

    /// Report in; the answer says whether to ship.
    pub async fn heartbeat(&self, hb: &HeartbeatRequest) -> Result<HeartbeatResponse, ShipError> {
        let body = serde_json::to_vec(hb).map_err(|e| ShipError::Rejected(e.to_string()))?;
        let text = self
            .send(
                &self.agent_path("heartbeat"),
                "application/json;charset=UTF-8",
                body,
                false,
            )
            .await?;
        serde_json::from_str(&text)
            .map_err(|e| ShipError::Retry(format!("unreadable heartbeat answer: {e}")))
    }

    /// Ship one batch already serialised (as `content_type`) and compressed with [`compress`].
    pub async fn ship_compressed(
        &self,
        content_type: &'static str,
        body: Vec<u8>,
    ) -> Result<IngestResponse, ShipError> {
        let text = self
            .send(&self.agent_path("statements"), content_type, body, true)
            .await?;
        serde_json::from_str(&text)
            .map_err(|e| ShipError::Retry(format!("unreadable ingest answer: {e}")))
    }

    /// Events per batch plugboard takes (its heartbeat's `batch_max`; 1000 until it said).
    pub fn batch_max(&self) -> usize {
        self.batch_max.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Remember plugboard's `batch_max` (from a heartbeat).
    pub fn set_batch_max(&self, n: usize) {
        if n > 0 {
            self.batch_max
                .store(n, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// A batch compressed as shipped: one LZ4 frame (`Content-Encoding: lz4`). LZ4 rather than
/// gzip: it takes about a third of gzip's CPU on the database host for a batch of pgaudit
/// lines (docs/benchmarks.md → "Lines instead of events").
pub fn compress(raw: &[u8]) -> Result<Vec<u8>, ShipError> {
    let mut enc = lz4_flex::frame::FrameEncoder::new(Vec::with_capacity(raw.len() / 4 + 64));
    enc.write_all(raw)
        .map_err(|e| ShipError::Rejected(e.to_string()))?;
    enc.finish().map_err(|e| ShipError::Rejected(e.to_string()))
}
