//! Server configuration: the `plugboard.toml` file format and the resolution of every setting
//! in the documented precedence — flag, then environment variable, then config file, then
//! default (docs/configuration.md). Clap fills flags and env; this module merges the result
//! with the file and checks every value it can check without touching the network or the disk,
//! so that a configuration error is reported (exit code 2) before anything is written.

mod checks;

use checks::{
    absolute, absolute_sqlite_url, check_database_url, check_listen, check_public_url,
    check_tls_files,
};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Settings given on the command line or in the environment (`None` = not given).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub config: Option<PathBuf>,
    pub region: Option<String>,
    pub public_url: Option<String>,
    pub log_format: Option<String>,
}

/// The config file, as written by operators. Every section and key is optional.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub database_url: Option<String>,
    pub region: Option<String>,
    pub public_url: Option<String>,
    pub log_format: Option<String>,
    pub master_key_file: Option<PathBuf>,
    pub iam: IamConfig,
    pub http: HttpConfig,
    pub gaussdb: GaussDbConfig,
    pub network: NetworkConfig,
    pub jobs: JobsConfig,
    pub dbss: DbssConfig,
    pub zstack: ZStackConfig,
    pub console: ConsoleConfig,
}

/// `[console]`: the web console (docs/console.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// A console session ends after this many minutes without a request.
    pub session_idle_minutes: u64,
}

impl ConsoleConfig {
    /// The idle limit in microseconds (at least a minute).
    pub fn session_idle_micros(&self) -> i64 {
        i64::try_from(self.session_idle_minutes.max(1))
            .unwrap_or(i64::MAX / 120_000_000)
            .saturating_mul(60_000_000)
    }
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            session_idle_minutes: 30,
        }
    }
}

/// `[zstack]`: ZStack sessions.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ZStackConfig {
    /// The IAM domain whose users are the ZStack accounts.
    pub domain: String,
    /// How long a session lives [vendor: 7200 s].
    pub session_timeout_seconds: u64,
    /// Sessions one account may hold at once [vendor: 500].
    pub max_sessions_per_account: u64,
    /// How long an async API's result can be polled after it was submitted [vendor: 3 h].
    pub api_job_expiry_seconds: u64,
    /// Api-jobs (Refresh, Delete) one account may have that have not ended; more are refused
    /// (SYS.1006) until some end.
    pub max_api_jobs_per_account: u64,
}

impl Default for ZStackConfig {
    fn default() -> Self {
        Self {
            domain: "plugboard".into(),
            session_timeout_seconds: 7200,
            max_sessions_per_account: 500,
            api_job_expiry_seconds: 3 * 3600,
            max_api_jobs_per_account: 256,
        }
    }
}

/// `[dbss]`: the audit monitor, the QPS budget, the agent alarm and the storage of captured
/// statements.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DbssConfig {
    /// How often a database with audit ON is probed again.
    pub probe_interval_seconds: u64,
    /// How long one probe may take (connect plus greeting).
    pub probe_timeout_ms: u64,
    /// How many probes run at once in one process.
    pub probe_concurrency: usize,
    /// A cap on every audit instance's QPS budget, in statements per second (0: the
    /// edition's peak throughput alone).
    pub audit_qps_limit: u64,
    /// How long an instance must be over its QPS budget before the `AUDIT_QPS_OVERFLOW`
    /// alarm opens (and within it before the alarm closes).
    pub audit_qps_overflow_seconds: u64,
    /// How long an agent that is on may stay silent (no heartbeat) before it is abnormal
    /// (`datacap_status` 4) and a `RISK_AGENT` alarm opens.
    pub agent_silence_seconds: u64,
    /// How long an agent that is on and heard from may ship no statement before it is
    /// sleeping (`datacap_status` 2).
    pub agent_sleep_seconds: u64,
    /// Captured statements are kept this many whole UTC days besides today, then deleted
    /// (0: kept until the online cap pushes them out).
    pub retention_days: u64,
    /// At most this many statements per instance (0: the edition's online SQL storage; a
    /// smaller number lowers every instance's cap to it).
    pub online_statement_limit: u64,
    /// How often the storage keeper (retention, cap, partitions) runs.
    pub storage_interval_seconds: u64,
}

impl Default for DbssConfig {
    fn default() -> Self {
        Self {
            probe_interval_seconds: 30,
            probe_timeout_ms: 3000,
            probe_concurrency: 256,
            audit_qps_limit: 0,
            audit_qps_overflow_seconds: 60,
            agent_silence_seconds: 300,
            agent_sleep_seconds: 600,
            retention_days: 180,
            online_statement_limit: 0,
            storage_interval_seconds: 300,
        }
    }
}

/// `[iam]`: token lifetime and lockouts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IamConfig {
    /// Token lifetime (vendor: 24 h).
    pub token_ttl_seconds: u64,
    /// Consecutive signature failures that lock an access key (vendor: 5).
    pub ak_lockout_threshold: u32,
    /// How long an access key stays locked (vendor: 300 s).
    pub ak_lockout_seconds: u64,
    /// Consecutive password failures that lock a user.
    pub user_lockout_threshold: u32,
    /// How long a user stays locked.
    pub user_lockout_seconds: u64,
    /// Allowed distance between `X-Sdk-Date` and the server clock (vendor: 15 min).
    pub signature_max_skew_seconds: u64,
    /// How long a process may answer from its authentication cache before asking the store
    /// again (changes made through this process take effect at once).
    pub auth_cache_seconds: u64,
}

impl Default for IamConfig {
    fn default() -> Self {
        Self {
            token_ttl_seconds: 24 * 3600,
            ak_lockout_threshold: 5,
            ak_lockout_seconds: 300,
            user_lockout_threshold: 5,
            user_lockout_seconds: 300,
            signature_max_skew_seconds: 900,
            auth_cache_seconds: 2,
        }
    }
}

/// `[http]`: request limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Largest accepted request body (413 beyond it).
    pub max_body_bytes: usize,
    /// On SIGTERM / Ctrl-C, how long in-flight requests may take to finish before the process
    /// exits anyway.
    pub shutdown_timeout_seconds: u64,
    /// Connections served at once; at the limit the server stops accepting and new
    /// connections wait in the listen backlog until one closes.
    pub max_connections: usize,
    /// Once a request head has started to arrive, how long it may take to arrive completely
    /// (408 past it).
    pub header_read_timeout_seconds: u64,
    /// How long a connection may go without delivering a complete request head: before its
    /// first request and between requests (keep-alive). Closed past it.
    pub idle_timeout_seconds: u64,
    /// Longest request target (path and query) accepted (414 beyond it; at most 65534).
    pub max_uri_bytes: usize,
    /// Largest request head (request line and every header field) accepted (431 beyond it).
    pub max_header_bytes: usize,
    /// Most header fields one request may carry (431 beyond it).
    pub max_headers: usize,
    /// How long a request body may take to arrive (408 past it), extended by a second for
    /// every `min_body_bytes_per_second` bytes received.
    pub body_read_timeout_seconds: u64,
    /// The body rate that keeps extending the deadline above (0: no extension).
    pub min_body_bytes_per_second: u64,
    /// Request bodies without credentials (`X-Auth-Token` / `Authorization`) arriving at once
    /// from one client address (an IPv6 /64), 429 beyond it.
    pub max_unauthenticated_bodies_per_address: usize,
    /// Request bodies without credentials arriving at once from all addresses (429 beyond).
    pub max_unauthenticated_bodies: usize,
    /// PEM certificate chain (the server's certificate first) to serve HTTPS with; together
    /// with `tls_key_file`. Read again on SIGHUP.
    pub tls_certificate_file: Option<PathBuf>,
    /// PEM private key of the certificate (PKCS#8, PKCS#1 or SEC1).
    pub tls_key_file: Option<PathBuf>,
}

impl HttpConfig {
    /// Whether HTTPS is served (both TLS files are set).
    pub fn tls(&self) -> Option<(&Path, &Path)> {
        match (&self.tls_certificate_file, &self.tls_key_file) {
            (Some(cert), Some(key)) => Some((cert, key)),
            _ => None,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            shutdown_timeout_seconds: 30,
            max_connections: 1024,
            header_read_timeout_seconds: 10,
            idle_timeout_seconds: 15,
            max_uri_bytes: 8192,
            max_header_bytes: 64 * 1024,
            max_headers: 100,
            body_read_timeout_seconds: 20,
            min_body_bytes_per_second: 500,
            max_unauthenticated_bodies_per_address: 16,
            max_unauthenticated_bodies: 256,
            tls_certificate_file: None,
            tls_key_file: None,
        }
    }
}

/// `[gaussdb]`: the kernel plug-in catalog.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GaussDbConfig {
    pub supported_plugins: Vec<String>,
    pub license_required: Vec<String>,
}

impl Default for GaussDbConfig {
    fn default() -> Self {
        Self {
            supported_plugins: vec!["postgis".into()],
            license_required: vec![],
        }
    }
}

/// `[network]`: where packages, probes and web hooks may go.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    /// URL prefixes / host patterns packages may come from.
    pub allow: Vec<String>,
    /// Whether package URLs may resolve to loopback, private, link-local or ULA addresses.
    pub allow_private: bool,
    pub max_package_bytes: u64,
    /// Networks (CIDR, e.g. `10.0.0.0/8`, `127.0.0.1/32`) that audit probes may reach even
    /// though they are loopback, private, link-local or ULA. Public addresses are always
    /// allowed for probes; metadata addresses never.
    pub probe_allow: Vec<String>,
    /// The longest one package download may take, from the request to the last byte.
    pub download_timeout_seconds: u64,
    /// The slowest a download may be: fewer bytes than this per second, averaged over each
    /// `download_rate_window_seconds`, fails it (0 turns the check off).
    pub download_min_bytes_per_second: u64,
    /// The window the minimum rate is measured over.
    pub download_rate_window_seconds: u64,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            allow: vec![],
            allow_private: false,
            max_package_bytes: 2 * 1024 * 1024 * 1024,
            probe_allow: vec![],
            download_timeout_seconds: 3600,
            download_min_bytes_per_second: 1024,
            download_rate_window_seconds: 30,
        }
    }
}

/// `[jobs]`: the job engine.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobsConfig {
    /// Finished jobs are kept this long, then pruned.
    pub retention_days: u32,
    /// How long a process holds a job without renewing its lease; a process that dies has its
    /// jobs taken over this long after its last heartbeat.
    pub lease_seconds: u64,
    /// How many jobs one process runs at once (the `Work` class: installs, add-on actions,
    /// api-jobs).
    pub max_concurrent: usize,
    /// How many deliveries (web hooks) one process runs at once, in slots of their own.
    pub delivery_max_concurrent: usize,
    /// A delivery step running longer is stopped and retried with back-off.
    pub delivery_timeout_seconds: u64,
    /// How often a process looks for jobs submitted through other processes (jobs submitted
    /// through this one start at once).
    pub poll_interval_ms: u64,
    /// How many times a step failing with a transient error (connection refused, 5xx,
    /// timeout) is tried before the job fails.
    pub max_attempts: u32,
    /// The name of this process's host. A `local-process` add-on belongs to the host that
    /// installed it: its jobs are run only by processes whose host has its name. Empty (the
    /// default): the system's host name.
    pub host: String,
}

impl JobsConfig {
    /// [`Self::host`], or the system's host name when it is empty.
    pub fn host_name(&self) -> String {
        if !self.host.is_empty() {
            return self.host.clone();
        }
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into())
    }
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            retention_days: 30,
            lease_seconds: 30,
            max_concurrent: 16,
            delivery_max_concurrent: 4,
            delivery_timeout_seconds: 300,
            poll_interval_ms: 1000,
            max_attempts: 5,
            host: String::new(),
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

/// The resolved configuration the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: String,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub region: String,
    /// `None` = derive from the address actually bound.
    pub public_url: Option<String>,
    pub log_format: LogFormat,
    pub master_key_file: PathBuf,
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
    pub iam: IamConfig,
    pub http: HttpConfig,
    pub gaussdb: GaussDbConfig,
    pub network: NetworkConfig,
    pub jobs: JobsConfig,
    pub dbss: DbssConfig,
    pub zstack: ZStackConfig,
    pub console: ConsoleConfig,
}

/// A configuration problem, reported before the server starts.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// Resolve the configuration from flags/env (`overrides`) and the config file.
    pub fn resolve(overrides: Overrides) -> Result<Self, ConfigError> {
        // Every path is made absolute here, once: the server hands them to drivers and child
        // processes that run in other directories (docs/configuration.md → Data directory).
        let data_dir = absolute(
            &overrides
                .data_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("plugboard-data")),
        )?;
        let (file, config_file) = match &overrides.config {
            Some(path) => (Self::read_file(path)?, Some(absolute(path)?)),
            None => {
                let default = data_dir.join("plugboard.toml");
                if default.exists() {
                    (Self::read_file(&default)?, Some(default))
                } else {
                    (FileConfig::default(), None)
                }
            }
        };
        let pick = |flag: Option<String>, file: Option<String>, default: &str| {
            flag.or(file).unwrap_or_else(|| default.to_string())
        };
        let database_url = match overrides.database_url.or(file.database_url) {
            Some(url) => absolute_sqlite_url(url)?,
            None => format!("sqlite://{}/plugboard.db", data_dir.display()),
        };
        let log_format = match pick(overrides.log_format, file.log_format, "human").as_str() {
            "human" | "text" => LogFormat::Human,
            "json" => LogFormat::Json,
            other => {
                return Err(ConfigError::Invalid(format!(
                    "log format must be `human` or `json`, not `{other}`"
                )))
            }
        };
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(ConfigError::Invalid(format!(
                "database URL must start with sqlite:// or postgres:// (got `{}`)",
                database_url.split(':').next().unwrap_or_default()
            )));
        }
        check_database_url(&database_url)?;
        let region = pick(overrides.region, file.region, "local");
        if region.is_empty()
            || !region
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ConfigError::Invalid(format!(
                "region must be letters, digits, `-` or `_` (got `{region}`)"
            )));
        }
        let listen = pick(overrides.listen, file.listen, "127.0.0.1:8080");
        check_listen(&listen)?;
        let public_url = overrides
            .public_url
            .or(file.public_url)
            .map(|u| u.trim_end_matches('/').to_string());
        if let Some(u) = &public_url {
            check_public_url(u)?;
        }
        let mut http = file.http;
        check_tls_files(&mut http)?;
        Ok(Self {
            listen,
            master_key_file: match &file.master_key_file {
                Some(path) => absolute(path)?,
                None => data_dir.join("master.key"),
            },
            data_dir,
            database_url,
            region,
            public_url,
            log_format,
            config_file,
            iam: file.iam,
            http,
            gaussdb: file.gaussdb,
            network: file.network,
            jobs: file.jobs,
            dbss: file.dbss,
            zstack: file.zstack,
            console: file.console,
        })
    }

    fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_precedence() {
        let dir = std::env::temp_dir().join(format!("pb-cfg-{}", crate::ids::hex32()));
        std::fs::create_dir_all(&dir).expect("dir");
        let cfg = Config::resolve(Overrides {
            data_dir: Some(dir.clone()),
            ..Default::default()
        })
        .expect("defaults");
        assert_eq!(cfg.listen, "127.0.0.1:8080");
        assert_eq!(cfg.region, "local");
        assert_eq!(
            cfg.database_url,
            format!("sqlite://{}/plugboard.db", dir.display())
        );
        assert_eq!(cfg.iam.token_ttl_seconds, 86400);
        assert!(cfg.config_file.is_none());

        std::fs::write(
            dir.join("plugboard.toml"),
            "listen = \"127.0.0.1:9000\"\nregion = \"eu-1\"\n[iam]\ntoken_ttl_seconds = 2\n",
        )
        .expect("write");
        let cfg = Config::resolve(Overrides {
            data_dir: Some(dir.clone()),
            region: Some("flag-region".into()),
            ..Default::default()
        })
        .expect("file");
        assert_eq!(cfg.listen, "127.0.0.1:9000", "file beats default");
        assert_eq!(cfg.region, "flag-region", "flag beats file");
        assert_eq!(cfg.iam.token_ttl_seconds, 2);

        std::fs::write(dir.join("plugboard.toml"), "[iam]\nbogus = 1\n").expect("write");
        let err = Config::resolve(Overrides {
            data_dir: Some(dir.clone()),
            ..Default::default()
        })
        .expect_err("unknown key");
        assert!(err.to_string().contains("bogus"), "{err}");
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn relative_paths_are_made_absolute_once() {
        let cwd = std::env::current_dir().expect("cwd");
        let dir = format!("pb-rel-{}", crate::ids::hex32());
        let cfg = Config::resolve(Overrides {
            data_dir: Some(PathBuf::from(&dir)),
            ..Default::default()
        })
        .expect("relative");
        assert_eq!(cfg.data_dir, cwd.join(&dir));
        assert_eq!(cfg.master_key_file, cwd.join(&dir).join("master.key"));
        assert_eq!(
            cfg.database_url,
            format!("sqlite://{}/plugboard.db", cwd.join(&dir).display())
        );
        let cfg = Config::resolve(Overrides::default()).expect("default");
        assert_eq!(cfg.data_dir, cwd.join("plugboard-data"));
    }
}
