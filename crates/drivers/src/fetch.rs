//! SSRF-safe package downloads. A package URL must be http(s), carry no credentials, match
//! `[network] allow` (when set) and resolve only to addresses the network policy allows; the
//! same check runs when a job is submitted, on every redirect (followed by hand, at most
//! [`MAX_REDIRECTS`]) and on every DNS answer the HTTP client connects to (a resolver that
//! refuses disallowed addresses; IP-literal hosts are checked directly). The body is streamed to
//! a file and hashed on the way, never held in memory, and cut off past the size limit.
//!
//! A download has an overall deadline (`[network] download_timeout_seconds`) and a minimum
//! rate (`download_min_bytes_per_second`, measured over each `download_rate_window_seconds`
//! of the body): past either it fails with [`FetchError::TooSlow`], which is not transient (a
//! server that trickles would only trickle again), and the partial file is removed.
//!
//! `[network] allow` entries are either URL prefixes (`https://*.obs.example.com/packages/`,
//! `http://127.0.0.1:8000/`: scheme, host, port — the scheme's default when not written — and
//! path prefix must all match) or host patterns (`*.obs.example.com`, `mirror.example.com`:
//! any http(s) URL on that host). A leading `*.` matches one or more labels and not the bare
//! domain. An empty list leaves only the address rules.

use crate::netpolicy::{DownloadLimits, NetworkPolicy, PolicyError};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use sha2::{Digest, Sha256};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use url::{Host, Url};

/// Redirects followed at most.
pub const MAX_REDIRECTS: usize = 5;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A download that receives nothing for this long fails (transiently).
const STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// A finished download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    /// Lower-case hex SHA-256 of the bytes written.
    pub sha256: String,
    pub bytes: u64,
}

/// Why a URL is refused or a download failed; the message is meant for a job's `fail_reason`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// Not a URL plugboard can fetch.
    #[error("{0}")]
    BadUrl(String),
    /// Refused by `[network]`.
    #[error("{0}")]
    NotAllowed(String),
    /// A redirect to a URL that is refused.
    #[error("redirect to {to} refused: {reason}")]
    RedirectRefused { to: String, reason: String },
    #[error("download of {url} failed: more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects { url: String },
    /// The server answered with an error status.
    #[error("download of {url} failed: HTTP {status}")]
    Http {
        url: String,
        status: String,
        code: u16,
    },
    /// More bytes than `[network] max_package_bytes`.
    #[error("package is larger than the limit of {limit} bytes ([network] max_package_bytes)")]
    TooLarge { limit: u64 },
    #[error("download of {url} failed: timed out ({detail})")]
    Timeout { url: String, detail: String },
    #[error("download of {url} failed: cannot connect ({detail})")]
    Connect { url: String, detail: String },
    /// Past `[network] download_timeout_seconds` or below `download_min_bytes_per_second`.
    #[error("download of {url} failed: {detail}")]
    TooSlow { url: String, detail: String },
    /// Writing the package locally failed.
    #[error("cannot write the package to {path}: {detail}")]
    Io { path: String, detail: String },
}

impl FetchError {
    /// Whether trying again later may succeed (connection refused or reset, timeouts, HTTP 5xx
    /// and 429).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Http { code, .. } => *code >= 500 || *code == 429,
            Self::Timeout { .. } | Self::Connect { .. } => true,
            _ => false,
        }
    }
}

/// Whether `url` matches one `[network] allow` entry.
fn matches_entry(url: &Url, entry: &str) -> bool {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    match entry.split_once("://") {
        Some((scheme, rest)) => {
            if !scheme.eq_ignore_ascii_case(url.scheme()) {
                return false;
            }
            let (hostport, path) = match rest.find('/') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, "/"),
            };
            let (pattern, port) = split_port(hostport);
            let want_port = match port {
                Some(p) => p.parse::<u16>().ok(),
                None => default_port(scheme),
            };
            host_matches(&host, pattern)
                && want_port.is_some()
                && url.port_or_known_default() == want_port
                && url.path().starts_with(path)
        }
        None => {
            let (pattern, port) = split_port(entry);
            host_matches(&host, pattern)
                && port.is_none_or(|p| p.parse::<u16>().ok() == url.port_or_known_default())
        }
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme.to_ascii_lowercase().as_str() {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// `host:port` → (host, port); bracketed IPv6 literals keep their brackets' content.
fn split_port(hostport: &str) -> (&str, Option<&str>) {
    if let Some(rest) = hostport.strip_prefix('[') {
        if let Some((v6, tail)) = rest.split_once(']') {
            return (v6, tail.strip_prefix(':'));
        }
    }
    match hostport.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, Some(p)),
        _ => (hostport, None),
    }
}

fn host_matches(host: &str, pattern: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match pattern.strip_prefix("*.") {
        Some(domain) => host.len() > domain.len() + 1 && host.ends_with(&format!(".{domain}")),
        None => host == pattern,
    }
}

/// The parts of the check that need no DNS: scheme, credentials, allow list, IP literals.
fn check_static(policy: &NetworkPolicy, raw: &str) -> Result<Url, FetchError> {
    let url = Url::parse(raw)
        .map_err(|e| FetchError::BadUrl(format!("url `{raw}` is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::NotAllowed(format!(
            "url scheme `{}` is not allowed (http or https only)",
            url.scheme()
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(FetchError::NotAllowed(
            "url must not carry a user name or password".into(),
        ));
    }
    if url.host().is_none() {
        return Err(FetchError::BadUrl(format!("url `{raw}` has no host")));
    }
    let allow = policy.allow_patterns();
    if !allow.is_empty() && !allow.iter().any(|e| matches_entry(&url, e)) {
        return Err(FetchError::NotAllowed(format!(
            "url {url} is not under any entry of [network] allow ({})",
            allow.join(", ")
        )));
    }
    if let Some(ip) = literal_ip(&url) {
        policy
            .check_fetch_addr(ip)
            .map_err(|e| FetchError::NotAllowed(format!("url host {e}")))?;
    }
    Ok(url)
}

fn literal_ip(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        Host::Domain(_) => None,
    }
}

/// Resolve `host` and refuse when any answer is an address the policy does not allow.
async fn resolve_checked(
    policy: &NetworkPolicy,
    host: &str,
    port: u16,
) -> Result<Vec<SocketAddr>, String> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("{host} resolves to no address"));
    }
    for a in &addrs {
        policy
            .check_fetch_addr(a.ip())
            .map_err(|e: PolicyError| format!("{host} resolves to {e}"))?;
    }
    Ok(addrs)
}

/// Check a package URL as at submit time: everything but the download.
pub async fn check_package_url(policy: &NetworkPolicy, raw: &str) -> Result<Url, FetchError> {
    let url = check_static(policy, raw)?;
    if let Some(Host::Domain(name)) = url.host() {
        let port = url.port_or_known_default().unwrap_or(80);
        resolve_checked(policy, name, port)
            .await
            .map_err(FetchError::NotAllowed)?;
    }
    Ok(url)
}

/// A resolver refusal, found again in the HTTP client's error chain.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// The HTTP client's resolver: only addresses the policy allows are ever connected to.
struct PolicyResolver(Arc<NetworkPolicy>);

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let addrs = resolve_checked(&policy, name.as_str(), 0)
                .await
                .map_err(|e| Box::new(Refused(e)) as Box<dyn std::error::Error + Send + Sync>)?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

fn refusal_in(e: &reqwest::Error) -> Option<String> {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<Refused>() {
            return Some(r.0.clone());
        }
        source = s.source();
    }
    None
}

fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

fn request_error(url: &Url, e: reqwest::Error) -> FetchError {
    if let Some(reason) = refusal_in(&e) {
        return FetchError::NotAllowed(reason);
    }
    let url = url.to_string();
    if e.is_timeout() {
        FetchError::Timeout {
            url,
            detail: describe(&e),
        }
    } else {
        FetchError::Connect {
            url,
            detail: describe(&e),
        }
    }
}

/// Download `raw` into `dest`, hashing as it streams; `progress(done, total)` is called as
/// bytes arrive (`total` when the server sent a length). Bounded by the policy's
/// [`DownloadLimits`]: the whole download by its deadline, the body by its minimum rate.
pub async fn download(
    policy: &NetworkPolicy,
    raw: &str,
    dest: &Path,
    max_bytes: u64,
    progress: &mut (dyn FnMut(u64, Option<u64>) + Send),
) -> Result<Downloaded, FetchError> {
    let limits = policy.download_limits();
    let result = match tokio::time::timeout(
        limits.timeout,
        download_within(policy, raw, dest, max_bytes, limits, progress),
    )
    .await
    {
        Ok(result) => result,
        Err(_) => Err(FetchError::TooSlow {
            url: raw.to_string(),
            detail: format!(
                "not finished within {} s ([network] download_timeout_seconds): the package \
                 server is too slow or stalled; use a faster mirror or raise the limit",
                limits.timeout.as_secs()
            ),
        }),
    };
    if matches!(result, Err(FetchError::TooSlow { .. })) {
        tokio::fs::remove_file(dest).await.ok();
    }
    result
}

async fn download_within(
    policy: &NetworkPolicy,
    raw: &str,
    dest: &Path,
    max_bytes: u64,
    limits: DownloadLimits,
    progress: &mut (dyn FnMut(u64, Option<u64>) + Send),
) -> Result<Downloaded, FetchError> {
    let shared = Arc::new(policy.clone());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(PolicyResolver(shared)))
        .no_proxy()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(STALL_TIMEOUT)
        .user_agent(concat!("plugboard/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| FetchError::Connect {
            url: raw.to_string(),
            detail: e.to_string(),
        })?;
    let mut url = check_static(policy, raw)?;
    let mut hops = 0;
    let mut response = loop {
        let response = client
            .get(url.clone())
            .send()
            .await
            .map_err(|e| request_error(&url, e))?;
        if !response.status().is_redirection() {
            break response;
        }
        let Some(location) = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
        else {
            break response;
        };
        if hops == MAX_REDIRECTS {
            return Err(FetchError::TooManyRedirects {
                url: raw.to_string(),
            });
        }
        hops += 1;
        let next = url
            .join(location)
            .map_err(|e| FetchError::RedirectRefused {
                to: location.to_string(),
                reason: format!("not a URL: {e}"),
            })?;
        url = check_package_url(policy, next.as_str())
            .await
            .map_err(|e| FetchError::RedirectRefused {
                to: next.to_string(),
                reason: e.to_string(),
            })?;
    };
    let status = response.status();
    if !status.is_success() {
        return Err(FetchError::Http {
            url: url.to_string(),
            status: status.to_string(),
            code: status.as_u16(),
        });
    }
    let total = response.content_length();
    if total.is_some_and(|t| t > max_bytes) {
        return Err(FetchError::TooLarge { limit: max_bytes });
    }
    let io = |e: std::io::Error| FetchError::Io {
        path: dest.display().to_string(),
        detail: e.to_string(),
    };
    let mut file = tokio::fs::File::create(dest).await.map_err(io)?;
    let mut hasher = Sha256::new();
    let mut done: u64 = 0;
    // The minimum rate, checked at the end of every window (also when nothing arrives).
    let mut window =
        tokio::time::interval_at(tokio::time::Instant::now() + limits.window, limits.window);
    let mut at_window_start: u64 = 0;
    let wanted = limits
        .min_bytes_per_second
        .saturating_mul(limits.window.as_secs().max(1));
    loop {
        let next = tokio::select! {
            next = response.chunk() => next,
            _ = window.tick(), if limits.min_bytes_per_second > 0 => {
                let got = done - at_window_start;
                if got < wanted {
                    return Err(FetchError::TooSlow {
                        url: url.to_string(),
                        detail: format!(
                            "{got} bytes in the last {} s, below the minimum of {} bytes/s \
                             ([network] download_min_bytes_per_second); use a faster mirror \
                             or lower the minimum",
                            limits.window.as_secs(),
                            limits.min_bytes_per_second
                        ),
                    });
                }
                at_window_start = done;
                continue;
            }
        };
        let chunk = match next {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => return Err(request_error(&url, e)),
        };
        done += chunk.len() as u64;
        if done > max_bytes {
            drop(file);
            tokio::fs::remove_file(dest).await.ok();
            return Err(FetchError::TooLarge { limit: max_bytes });
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(io)?;
        metrics::counter!("plugboard_download_bytes_total").increment(chunk.len() as u64);
        progress(done, total);
    }
    file.flush().await.map_err(io)?;
    Ok(Downloaded {
        sha256: hex::encode(hasher.finalize()),
        bytes: done,
    })
}

/// POST `body` (JSON) to `raw` under the network policy (every resolved address checked, no
/// redirects followed, no proxy), with `headers`; the status code of the answer. For web hooks.
pub async fn post_json(
    policy: &NetworkPolicy,
    raw: &str,
    headers: &[(&str, String)],
    body: &serde_json::Value,
    timeout: Duration,
) -> Result<u16, FetchError> {
    let url = check_static(policy, raw)?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(PolicyResolver(Arc::new(policy.clone()))))
        .no_proxy()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(timeout)
        .user_agent(concat!("plugboard/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| FetchError::Connect {
            url: raw.to_string(),
            detail: e.to_string(),
        })?;
    let mut request = client.post(url.clone()).json(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.map_err(|e| request_error(&url, e))?;
    Ok(response.status().as_u16())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn allow_entries() {
        let e = "https://*.obs.example.com/packages/";
        assert!(matches_entry(
            &u("https://b1.obs.example.com/packages/x.tar.gz"),
            e
        ));
        assert!(matches_entry(
            &u("https://a.b1.obs.example.com/packages/x"),
            e
        ));
        assert!(
            !matches_entry(&u("https://obs.example.com/packages/x"), e),
            "bare domain"
        );
        assert!(
            !matches_entry(&u("http://b1.obs.example.com/packages/x"), e),
            "scheme"
        );
        assert!(
            !matches_entry(&u("https://b1.obs.example.com/other/x"), e),
            "path"
        );
        assert!(
            !matches_entry(&u("https://b1.obs.example.com:8443/packages/x"), e),
            "port"
        );
        assert!(!matches_entry(
            &u("https://evil.com/b1.obs.example.com/packages/"),
            e
        ));
        assert!(!matches_entry(
            &u("https://b1.obs.example.com.evil.com/packages/"),
            e
        ));
        let e = "http://127.0.0.1:8000/";
        assert!(matches_entry(&u("http://127.0.0.1:8000/pkg/a.tar.gz"), e));
        assert!(!matches_entry(&u("http://127.0.0.1:8001/pkg/a.tar.gz"), e));
        assert!(!matches_entry(&u("http://127.0.0.2:8000/pkg/a.tar.gz"), e));
        assert!(matches_entry(
            &u("https://mirror.example.com:444/x"),
            "mirror.example.com"
        ));
        assert!(matches_entry(&u("http://a.example.com/x"), "*.example.com"));
        assert!(!matches_entry(&u("http://example.com/x"), "*.example.com"));
        assert!(matches_entry(
            &u("http://[::1]:9000/x"),
            "http://[::1]:9000/"
        ));
        assert!(!matches_entry(&u("http://[::1]:9001/x"), "[::1]:9000"));
    }

    #[test]
    fn static_checks() {
        let open = NetworkPolicy::default();
        assert!(matches!(
            check_static(&open, "ftp://x/y"),
            Err(FetchError::NotAllowed(_))
        ));
        assert!(matches!(
            check_static(&open, "http://u:p@x.example.com/y"),
            Err(FetchError::NotAllowed(_))
        ));
        assert!(matches!(
            check_static(&open, "not a url"),
            Err(FetchError::BadUrl(_))
        ));
        let err = check_static(&open, "http://169.254.169.254/latest").unwrap_err();
        assert!(err.to_string().contains("metadata"), "{err}");
        let err = check_static(&open, "http://127.0.0.1:1/x").unwrap_err();
        assert!(err.to_string().contains("allow_private"), "{err}");
        assert!(check_static(&open, "https://8.8.8.8/x.tar.gz").is_ok());
    }

    #[test]
    fn transient_errors() {
        let http = |code: u16| FetchError::Http {
            url: "u".into(),
            status: code.to_string(),
            code,
        };
        assert!(http(503).is_transient());
        assert!(http(429).is_transient());
        assert!(!http(404).is_transient());
        assert!(!FetchError::TooLarge { limit: 1 }.is_transient());
        assert!(!FetchError::NotAllowed("x".into()).is_transient());
        let slow = FetchError::TooSlow {
            url: "u".into(),
            detail: "d".into(),
        };
        assert!(!slow.is_transient(), "a trickling server fails the job");
    }
}
