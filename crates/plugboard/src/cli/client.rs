//! The signed HTTP client of the CLI: where the credentials come from (flags, environment,
//! the profile written by `plugboard login`), and requests signed with `SDK-HMAC-SHA256` over
//! the exact bytes sent, with the headers `content-type;host;x-project-id;x-sdk-date`. Error
//! answers are read in every envelope plugboard speaks (flat, nested DBSS, Keystone).

use super::{CliError, OutputFormat};
use plugboard_auth::signing::{self, Authorization, RequestParts};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Environment variable naming the profile file.
pub const ENV_PROFILE: &str = "PLUGBOARD_CLI_CONFIG";
/// The headers every request signs, sorted, as they appear in `SignedHeaders`.
pub const SIGNED_HEADERS: [&str; 4] = ["content-type", "host", "x-project-id", "x-sdk-date"];
/// The content type of every request.
const CONTENT_TYPE: &str = "application/json;charset=UTF-8";
/// How long a TCP connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The flags every client command takes, global (before or after any subcommand) and
/// documented once, in `plugboard --help` (they are hidden from each command's own help). Each
/// connection flag falls back to its environment variable, then to the profile (`login`:
/// to `--bootstrap-file`, then to the environment variable).
#[derive(clap::Args, Clone, Default)]
pub struct ConnectionArgs {
    /// Server URL, e.g. http://127.0.0.1:8080 [env: PLUGBOARD_ENDPOINT]
    #[arg(long, global = true, hide = true, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Access key (AK) [env: PLUGBOARD_ACCESS_KEY]
    #[arg(long, global = true, hide = true, value_name = "AK")]
    pub access_key: Option<String>,
    /// Secret key (SK) [env: PLUGBOARD_SECRET_KEY]; the variable keeps it out of the shell history
    #[arg(long, global = true, hide = true, value_name = "SK")]
    pub secret_key: Option<String>,
    /// Project id [env: PLUGBOARD_PROJECT_ID]
    #[arg(long, global = true, hide = true, value_name = "ID")]
    pub project_id: Option<String>,
    /// Output: table (default), or json: the server's JSON body as it came
    #[arg(
        long,
        short = 'o',
        value_enum,
        global = true,
        hide = true,
        value_name = "FORMAT"
    )]
    pub output: Option<OutputFormat>,
}

impl ConnectionArgs {
    /// Whether any of these flags was given (`serve` takes none of them).
    pub fn any_given(&self) -> bool {
        self.endpoint.is_some()
            || self.access_key.is_some()
            || self.secret_key.is_some()
            || self.project_id.is_some()
            || self.output.is_some()
    }

    /// The output format asked for, table by default.
    pub fn output(&self) -> OutputFormat {
        self.output.unwrap_or_default()
    }
}

/// The environment variable each connection flag falls back to.
pub const ENV_ENDPOINT: &str = "PLUGBOARD_ENDPOINT";
/// See [`ENV_ENDPOINT`].
pub const ENV_ACCESS_KEY: &str = "PLUGBOARD_ACCESS_KEY";
/// See [`ENV_ENDPOINT`].
pub const ENV_SECRET_KEY: &str = "PLUGBOARD_SECRET_KEY";
/// See [`ENV_ENDPOINT`].
pub const ENV_PROJECT_ID: &str = "PLUGBOARD_PROJECT_ID";

/// A connection variable of the environment, `None` when unset or not UTF-8.
pub fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Endpoint, AK/SK and project: everything needed to sign a request. Also the profile file's
/// format. `Debug` never shows the secret key.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Credentials {
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
    pub project_id: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("endpoint", &self.endpoint)
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field("project_id", &self.project_id)
            .finish()
    }
}

/// The profile as stored: every field optional, so a hand-edited file can be completed by flags.
#[derive(Default, Deserialize)]
struct StoredProfile {
    endpoint: Option<String>,
    access_key: Option<String>,
    secret_key: Option<String>,
    project_id: Option<String>,
}

fn env_nonempty(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

fn nonempty(v: Option<&str>) -> Option<String> {
    v.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Where the profile lives: `$PLUGBOARD_CLI_CONFIG`, else
/// `$XDG_CONFIG_HOME/plugboard/credentials.json`, else `~/.config/plugboard/credentials.json`.
pub fn profile_path() -> Result<PathBuf, CliError> {
    if let Some(p) = env_nonempty(ENV_PROFILE) {
        return Ok(PathBuf::from(p));
    }
    if let Some(x) = env_nonempty("XDG_CONFIG_HOME").map(PathBuf::from) {
        if x.is_absolute() {
            return Ok(x.join("plugboard").join("credentials.json"));
        }
    }
    if let Some(home) = env_nonempty("HOME") {
        return Ok(PathBuf::from(home)
            .join(".config")
            .join("plugboard")
            .join("credentials.json"));
    }
    Err(CliError::Other(format!(
        "cannot tell where the profile lives: set {ENV_PROFILE} or HOME"
    )))
}

/// Read the profile; `None` when there is no file.
fn load_profile(path: &Path) -> Result<Option<StoredProfile>, CliError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(CliError::Other(format!(
                "cannot read the profile {}: {e}",
                path.display()
            )))
        }
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        CliError::Other(format!(
            "the profile {} is not valid JSON: {e}; run `plugboard login` again",
            path.display()
        ))
    })
}

/// Write the profile readable by its owner only (mode 0600), atomically.
pub fn save_profile(path: &Path, creds: &Credentials) -> Result<(), CliError> {
    let fail = |what: &str, e: std::io::Error| {
        CliError::Other(format!("cannot {what} {}: {e}", path.display()))
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                builder.mode(0o700);
            }
            builder
                .create(dir)
                .map_err(|e| fail("create the directory of", e))?;
        }
    }
    let mut text = serde_json::to_string_pretty(creds)
        .map_err(|e| CliError::Other(format!("cannot encode the profile: {e}")))?;
    text.push('\n');
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let written = opts.open(&tmp).and_then(|mut f| {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        f.write_all(text.as_bytes())?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        std::fs::remove_file(&tmp).ok();
        return Err(fail("write the profile", e));
    }
    Ok(())
}

/// Check that an endpoint is an http(s) URL without query or fragment; returns it without a
/// trailing `/`.
pub fn normalize_endpoint(endpoint: &str) -> Result<String, CliError> {
    let trimmed = endpoint.trim().trim_end_matches('/');
    let bad = |why: &str| CliError::Other(format!("endpoint `{endpoint}` {why}"));
    let url = Url::parse(trimmed).map_err(|e| bad(&format!("is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("must start with http:// or https://"));
    }
    if url.host_str().is_none() {
        return Err(bad("has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not have a query or a fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry a user name or password"));
    }
    Ok(trimmed.to_string())
}

/// The credentials of a command: flags (or their environment variables) first, then the
/// profile. Says exactly what is missing.
pub fn resolve(args: &ConnectionArgs) -> Result<Credentials, CliError> {
    let path = profile_path();
    let stored = match &path {
        Ok(p) => load_profile(p)?,
        Err(_) => None,
    };
    let have_profile = stored.is_some();
    let stored = stored.unwrap_or_default();
    let pick = |flag: &Option<String>, env: &str, kept: &Option<String>| {
        nonempty(flag.as_deref())
            .or_else(|| nonempty(env_var(env).as_deref()))
            .or_else(|| nonempty(kept.as_deref()))
    };
    let endpoint = pick(&args.endpoint, ENV_ENDPOINT, &stored.endpoint);
    let access_key = pick(&args.access_key, ENV_ACCESS_KEY, &stored.access_key);
    let secret_key = pick(&args.secret_key, ENV_SECRET_KEY, &stored.secret_key);
    let project_id = pick(&args.project_id, ENV_PROJECT_ID, &stored.project_id);
    match (endpoint, access_key, secret_key, project_id) {
        (Some(endpoint), Some(access_key), Some(secret_key), Some(project_id)) => Ok(Credentials {
            endpoint: normalize_endpoint(&endpoint)?,
            access_key,
            secret_key,
            project_id,
        }),
        (e, a, s, p) => {
            let missing: Vec<String> = [
                (e.is_none(), "endpoint", "PLUGBOARD_ENDPOINT"),
                (a.is_none(), "access-key", "PLUGBOARD_ACCESS_KEY"),
                (s.is_none(), "secret-key", "PLUGBOARD_SECRET_KEY"),
                (p.is_none(), "project-id", "PLUGBOARD_PROJECT_ID"),
            ]
            .iter()
            .filter(|(m, _, _)| *m)
            .map(|(_, flag, env)| format!("--{flag} (or {env})"))
            .collect();
            let profile = match (&path, have_profile) {
                (Ok(p), true) => format!("the profile {} lacks them", p.display()),
                (Ok(p), false) => format!("there is no profile at {}", p.display()),
                (Err(_), _) => format!("no profile location ({ENV_PROFILE} and HOME are unset)"),
            };
            Err(CliError::Other(format!(
                "no credentials: missing {}; {profile}. Run `plugboard login` first, or pass the flags",
                missing.join(", ")
            )))
        }
    }
}

/// Percent-encode a path segment or query part: RFC 3986 unreserved characters stay.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An id typed by a person, as one path segment: encoded, so it cannot change the shape of
/// the path; empty, `.` and `..` (which URL parsing would resolve away) are refused.
pub fn path_id(what: &str, value: &str) -> Result<String, CliError> {
    match value {
        "" | "." | ".." => Err(CliError::Other(format!("`{value}` is not a valid {what}"))),
        _ => Ok(encode(value)),
    }
}

/// A successful answer.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The body exactly as received.
    pub text: String,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> Result<Value, CliError> {
        serde_json::from_str(&self.text).map_err(|e| {
            CliError::Other(format!(
                "the server answered {} with a body that is not JSON ({e}): {}",
                self.status,
                clip(&self.text)
            ))
        })
    }
}

fn clip(text: &str) -> String {
    let t: String = text.chars().take(200).collect();
    if t.len() < text.len() {
        format!("{t}...")
    } else {
        t
    }
}

/// Turn an error answer into [`CliError::Api`], reading whichever envelope it is in:
/// flat `{"error_code", "error_msg"}`, nested `{"error": {"error_code", "error_msg"}}`, or
/// Keystone `{"error": {"code", "title", "message"}}`.
pub fn api_error(status: u16, text: &str) -> CliError {
    let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let s = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let (code, message) = if let Some(code) = s(&body["error_code"]) {
        (code, s(&body["error_msg"]).unwrap_or_default())
    } else if let Some(code) = s(&body["error"]["error_code"]) {
        (code, s(&body["error"]["error_msg"]).unwrap_or_default())
    } else if let Some(code) = s(&body["error"]["code"]) {
        // Keystone's `message`/`title`, or ZStack's `details`/`description`.
        let message = s(&body["error"]["message"])
            .or_else(|| s(&body["error"]["details"]).filter(|d| !d.is_empty()))
            .or_else(|| s(&body["error"]["title"]))
            .or_else(|| s(&body["error"]["description"]))
            .unwrap_or_default();
        (code, message)
    } else {
        let reason = reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|c| c.canonical_reason())
            .unwrap_or("error");
        let message = if text.trim().is_empty() {
            reason.to_string()
        } else {
            format!("{reason}: {}", clip(text.trim()))
        };
        (format!("HTTP {status}"), message)
    };
    CliError::Api { code, message }
}

/// The innermost cause of an error (e.g. `Connection refused (os error 111)`).
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// The `Authorization` header value for a request: `SDK-HMAC-SHA256 Access=..,
/// SignedHeaders=.., Signature=..`, computed over `url`'s path and query as they will be sent,
/// `headers` (which must hold every [`SIGNED_HEADERS`]) and `body`.
pub fn authorization(
    method: &Method,
    url: &Url,
    headers: &HeaderMap,
    body: &[u8],
    access_key: &str,
    secret_key: &str,
    sdk_date: &str,
) -> Result<String, CliError> {
    let signed_raw = SIGNED_HEADERS.join(";");
    let auth = Authorization {
        access: access_key.into(),
        signed_headers_raw: (&signed_raw).into(),
        signature: "".into(),
    };
    let parts = RequestParts {
        method: method.as_str(),
        path: url.path(),
        query: url.query(),
        headers,
        body,
    };
    let canonical = signing::canonical_request(&parts, &auth)
        .map_err(|e| CliError::Other(format!("cannot sign the request: {e}")))?;
    let to_sign = signing::string_to_sign(sdk_date, &canonical);
    let signature = signing::compute_signature(secret_key.as_bytes(), &to_sign);
    Ok(format!(
        "{} Access={access_key}, SignedHeaders={signed_raw}, Signature={signature}",
        signing::ALGORITHM
    ))
}

/// A client for one endpoint and one set of credentials.
pub struct Client {
    http: reqwest::Client,
    creds: Credentials,
}

impl Client {
    /// A client for `creds` (the endpoint already normalized).
    pub fn new(creds: Credentials) -> Result<Self, CliError> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("plugboard-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CliError::Other(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self { http, creds })
    }

    /// The project every request is scoped to.
    pub fn project_id(&self) -> &str {
        &self.creds.project_id
    }

    /// `GET path?query`.
    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Reply, CliError> {
        self.send(Method::GET, path, query, Vec::new()).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Reply, CliError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| CliError::Other(format!("cannot encode the request: {e}")))?;
        self.send(Method::POST, path, &[], bytes).await
    }

    /// `POST path` with no body (an operation that takes none, e.g. `drivers/refresh`).
    pub async fn post_empty(&self, path: &str) -> Result<Reply, CliError> {
        self.send(Method::POST, path, &[], Vec::new()).await
    }

    /// `PUT path` with a JSON body.
    pub async fn put(&self, path: &str, body: &Value) -> Result<Reply, CliError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| CliError::Other(format!("cannot encode the request: {e}")))?;
        self.send(Method::PUT, path, &[], bytes).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> Result<Reply, CliError> {
        self.send(Method::DELETE, path, &[], Vec::new()).await
    }

    /// `DELETE path?query`.
    pub async fn delete_with(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Reply, CliError> {
        self.send(Method::DELETE, path, query, Vec::new()).await
    }

    /// Sign and send; a non-2xx answer becomes [`CliError::Api`].
    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<Reply, CliError> {
        let mut target = format!("{}{path}", self.creds.endpoint);
        for (i, (k, v)) in query.iter().enumerate() {
            target.push(if i == 0 { '?' } else { '&' });
            target.push_str(&encode(k));
            target.push('=');
            target.push_str(&encode(v));
        }
        let url = Url::parse(&target)
            .map_err(|e| CliError::Other(format!("cannot build the URL `{target}`: {e}")))?;
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => return Err(CliError::Other(format!("`{target}` has no host"))),
        };
        let sdk_date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        let mut headers = HeaderMap::new();
        let value = |what: &str, v: &str| {
            HeaderValue::from_str(v).map_err(|_| {
                CliError::Other(format!(
                    "the {what} contains characters a header cannot carry"
                ))
            })
        };
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static(CONTENT_TYPE),
        );
        headers.insert(reqwest::header::HOST, value("endpoint host", &host)?);
        headers.insert(
            HeaderName::from_static("x-project-id"),
            value("project id", &self.creds.project_id)?,
        );
        headers.insert(
            HeaderName::from_static(signing::HEADER_SDK_DATE),
            value("date", &sdk_date)?,
        );
        let authz = authorization(
            &method,
            &url,
            &headers,
            &body,
            &self.creds.access_key,
            &self.creds.secret_key,
            &sdk_date,
        )?;
        headers.insert(reqwest::header::AUTHORIZATION, value("access key", &authz)?);
        let response = self
            .http
            .request(method, url)
            .headers(headers)
            .body(body)
            .send()
            .await
            .map_err(|e| self.transport_error(&e))?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| {
            CliError::Other(format!(
                "reading the answer from {}: {}",
                self.creds.endpoint,
                root_cause(&e)
            ))
        })?;
        if (200..300).contains(&status) {
            Ok(Reply { status, text })
        } else {
            Err(api_error(status, &text))
        }
    }

    fn transport_error(&self, e: &reqwest::Error) -> CliError {
        let detail = if e.is_timeout() {
            format!("no answer within {} s", REQUEST_TIMEOUT.as_secs())
        } else {
            root_cause(e)
        };
        CliError::Unreachable {
            endpoint: self.creds.endpoint.clone(),
            detail,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
