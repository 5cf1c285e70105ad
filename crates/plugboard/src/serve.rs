//! `plugboard serve`: resolve the configuration, open and migrate the store, bootstrap, listen,
//! and shut down gracefully on SIGTERM or Ctrl-C.

use crate::{bootstrap, ServeArgs};
use anyhow::Context;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use plugboard_api::AppState;
use plugboard_auth::identity::Identity;
use plugboard_core::config::{Config, LogFormat, Overrides};
use plugboard_core::secrets::MasterKey;
use plugboard_drivers::netpolicy::NetworkPolicy;
use plugboard_jobs::{Engine, EngineConfig};
use plugboard_store::Store;
use std::io::IsTerminal;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Run the server; the exit code says how it ended.
pub fn run(args: ServeArgs) -> ExitCode {
    let config = match Config::resolve(Overrides {
        listen: args.listen,
        data_dir: args.data_dir,
        database_url: args.database_url,
        config: args.config,
        region: args.region,
        public_url: args.public_url,
        log_format: args.log_format,
    }) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("plugboard: {e}");
            return ExitCode::from(2);
        }
    };
    // The rest of the configuration that other crates parse, checked before anything is
    // written: a configuration error exits 2 with one message.
    if let Err(e) = NetworkPolicy::from_config(&config.network) {
        eprintln!("plugboard: {e}");
        return ExitCode::from(2);
    }
    // The TLS pair is read (and checked to belong together) before anything is written.
    let tls = match config.http.tls() {
        Some((cert, key)) => match plugboard_frontdoor::Tls::load(cert, key) {
            Ok(tls) => Some(tls),
            Err(e) => {
                eprintln!("plugboard: [http] TLS: {e}");
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    init_logging(config.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the runtime");
            return ExitCode::FAILURE;
        }
    };
    // PostgreSQL is reached before anything is written (data directory, master key); the
    // SQLite file lives in a directory that has to exist (and be locked) first.
    let early = if config.database_url.starts_with("sqlite:") {
        None
    } else {
        match runtime.block_on(connect(&config)) {
            Ok(store) => Some(store),
            Err(e) => {
                tracing::error!(error = error_chain(&e), "plugboard stopped");
                return ExitCode::FAILURE;
            }
        }
    };
    // Before anything in the data directory is read or written; held until the process ends.
    let _data_dir_lock = match crate::datadir::lock(&config.data_dir) {
        Ok(lock) => lock,
        Err(e) => {
            eprintln!("plugboard: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(serve(config, early, tls)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = error_chain(&e), "plugboard stopped");
            ExitCode::FAILURE
        }
    }
}

/// An error and its causes on one line, `a: b: c`, leaving out a cause whose text the line
/// already carries (a wrapper that prints its source would otherwise say it twice).
fn error_chain(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// The filter when `PLUGBOARD_LOG` is unset or does not parse.
const DEFAULT_LOG_FILTER: &str = "info,sqlx=warn";

/// The log filter `PLUGBOARD_LOG` asks for: comma-separated directives, each a level
/// (`warn`), a target (`plugboard_jobs`: everything it logs) or `target=level`; a target
/// matches its submodules. Unset or malformed: [`DEFAULT_LOG_FILTER`]; empty: errors only.
/// (A `Targets` filter, not an `EnvFilter`: the same directives without span and field
/// filters, and without a regex engine in the build.)
pub(crate) fn log_filter(value: Option<&str>) -> Targets {
    let default = || {
        DEFAULT_LOG_FILTER
            .parse()
            .unwrap_or_else(|_| Targets::new().with_default(LevelFilter::INFO))
    };
    let Some(value) = value else {
        return default();
    };
    let directives: Vec<&str> = value.split(',').filter(|d| !d.is_empty()).collect();
    if directives.is_empty() {
        return Targets::new().with_default(LevelFilter::ERROR);
    }
    directives.join(",").parse().unwrap_or_else(|_| default())
}

fn init_logging(format: LogFormat) {
    let filter = log_filter(std::env::var("PLUGBOARD_LOG").ok().as_deref());
    // Colour only for a person at a terminal, never in a file or a pipe.
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Json => registry.with(layer.json()).init(),
        LogFormat::Human => registry.with(layer).init(),
    }
}

/// Redact the password of a database URL for logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{}@{}", &url[..scheme + 3], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// Open the store named by the configuration.
async fn connect(config: &Config) -> anyhow::Result<Store> {
    Store::connect(&config.database_url)
        .await
        .with_context(|| format!("connecting to {}", redact(&config.database_url)))
}

/// Serve until a signal; `early` is the store when it was opened before the data directory
/// was locked (PostgreSQL); `tls`: serve HTTPS.
async fn serve(
    config: Config,
    early: Option<Store>,
    tls: Option<plugboard_frontdoor::Tls>,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let key = MasterKey::load_or_create(&config.master_key_file)?;
    let store = match early {
        Some(store) => store,
        None => connect(&config).await?,
    };
    store.migrate().await.context("applying migrations")?;
    bootstrap::seed_roles(&store).await?;

    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let local = listener.local_addr()?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| derived_public_url(local, tls.is_some()));
    bootstrap::bootstrap(&store, &key, &config, &public_url).await?;
    bootstrap::check_master_key(&store, &key, &config.master_key_file).await?;

    let metrics = PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| tracing::warn!(error = %e, "metrics disabled"))
        .ok();
    if metrics.is_some() {
        describe_metrics();
    }
    let metrics_handle = metrics.clone();
    let policy =
        Arc::new(NetworkPolicy::from_config(&config.network).context("[network] configuration")?);
    let identity = Arc::new(Identity::new(
        store.clone(),
        key.clone(),
        config.iam.clone(),
    ));
    let mut engine = job_engine(&config, &store)?;
    let services = plugboard_service::Services::new(&plugboard_service::Deps {
        config: config.clone(),
        store: store.clone(),
        key: key.clone(),
        network: policy.clone(),
        job_waker: engine.waker(),
        identity: identity.clone(),
        driver_program: std::env::current_exe().context("finding the plugboard binary")?,
    });
    // The driver registry, scanned and recorded before the engine runs an add-on job.
    match services.servicestage.registry().refresh().await {
        Ok(view) if !view.errors.is_empty() => {
            tracing::warn!(
                errors = view.errors.len(),
                "some drivers were not loaded (see above)"
            )
        }
        Ok(_) => {}
        Err(e) => return Err(anyhow::Error::new(e).context("recording the driver registry")),
    }
    let background =
        plugboard_service::register(&mut engine, &services, config.data_dir.join("staging"));
    let state = AppState::new(
        config.clone(),
        services,
        store.clone(),
        identity,
        public_url.clone(),
        metrics,
    );
    let app = plugboard_api::router(state.clone()).merge(plugboard_console::router(state));

    let shutdown = shutdown_signal();
    crate::datadir::publish_listen_addr(&config.data_dir, &local.to_string())
        .context("writing listen-addr")?;
    tracing::info!(
        addr = %local,
        public_url = %public_url,
        database = %redact(&config.database_url),
        config_file = ?config.config_file,
        "plugboard listening"
    );

    let pruner = tokio::spawn(prune_loop(
        store.clone(),
        config.console.session_idle_micros(),
    ));
    let upkeep = metrics_handle.map(|h| tokio::spawn(metrics_upkeep(h)));
    let stop_jobs = CancellationToken::new();
    // `[jobs] max_concurrent = 0`: a process that serves the API and runs no jobs (others
    // sharing the PostgreSQL database run them).
    let runs_jobs = config.jobs.max_concurrent > 0;
    let stop_engine = stop_jobs.clone();
    let jobs = tokio::spawn(async move {
        if runs_jobs {
            engine.run(stop_engine).await;
        } else {
            // still hears the other processes' signals (the driver registry's changes)
            engine.listen_only(stop_engine).await;
        }
    });
    // In-flight requests get `shutdown_timeout_seconds` to finish; then the process exits anyway.
    plugboard_frontdoor::serve(
        listener,
        app,
        plugboard_frontdoor::Limits::from_config(&config.http),
        tls,
        shutdown,
    )
    .await;
    // Running steps stop where they are and their leases are released: the next process to
    // claim a job resumes it at the step that did not finish (steps are idempotent).
    stop_jobs.cancel();
    jobs.await.ok();
    pruner.abort();
    background.stop();
    if let Some(upkeep) = upkeep {
        upkeep.abort();
    }
    store.close().await;
    tracing::info!("plugboard stopped cleanly");
    Ok(())
}

/// The job engine, its job kinds not yet registered (`plugboard_service::register`). Staging
/// left by an earlier run of this process is removed first: every step that needs staged
/// files makes them again.
fn job_engine(config: &Config, store: &Store) -> anyhow::Result<Engine> {
    let staging_root = config.data_dir.join("staging");
    if staging_root.exists() {
        std::fs::remove_dir_all(&staging_root)
            .with_context(|| format!("clearing {}", staging_root.display()))?;
    }
    std::fs::create_dir_all(&staging_root)
        .with_context(|| format!("creating {}", staging_root.display()))?;
    let jobs = &config.jobs;
    let engine = Engine::new(
        store.clone(),
        format!("{}-{}", std::process::id(), plugboard_core::ids::hex32()),
        EngineConfig {
            lease_seconds: jobs.lease_seconds.max(1),
            poll_interval: Duration::from_millis(jobs.poll_interval_ms.max(10)),
            max_concurrent_jobs: jobs.max_concurrent.max(1),
            delivery_concurrent: jobs.delivery_max_concurrent.max(1),
            delivery_timeout: Duration::from_secs(jobs.delivery_timeout_seconds.max(1)),
            max_attempts: jobs.max_attempts.max(1),
            retention: Duration::from_secs(u64::from(jobs.retention_days) * 86_400),
            host: jobs.host_name(),
            ..EngineConfig::default()
        },
    );
    Ok(engine)
}

/// Help text for every metric plugboard records (docs/operations.md → Health and metrics:
/// requests by route/status/latency, jobs by type/state, job durations, download bytes). The download
/// counter starts at 0 so that it is listed before the first download. `plugboard_jobs` (jobs in
/// the store) is not the recorder's: `/metrics` writes it after the store read.
fn describe_metrics() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "plugboard_http_requests_total",
        "HTTP requests answered, by matched route, method and status"
    );
    describe_histogram!(
        "plugboard_http_request_duration_seconds",
        Unit::Seconds,
        "HTTP request latency, by matched route"
    );
    describe_counter!(
        "plugboard_jobs_total",
        "Jobs this process finished, by kind and final status"
    );
    describe_gauge!(
        "plugboard_jobs_running",
        "Jobs this process is executing now"
    );
    describe_histogram!(
        "plugboard_job_duration_seconds",
        Unit::Seconds,
        "Time this process spent on a job until it finished, by kind"
    );
    describe_counter!(
        "plugboard_job_notifications_total",
        "Notifications of claimable jobs heard from the processes sharing the PostgreSQL database"
    );
    describe_counter!(
        "plugboard_job_claims_total",
        "Claims of due jobs this process ran against the store (each takes up to its free slots)"
    );
    describe_counter!(
        "plugboard_download_bytes_total",
        Unit::Bytes,
        "Package bytes downloaded"
    );
    describe_counter!(
        "plugboard_audit_probes_total",
        "DBSS audit probes, by resulting audit status"
    );
    metrics::counter!("plugboard_download_bytes_total").increment(0);
}

/// Drain the histograms' pending samples into their summaries every few seconds, so memory
/// stays bounded however rarely `/metrics` is scraped (`install_recorder` does not do this).
async fn metrics_upkeep(handle: PrometheusHandle) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        handle.run_upkeep();
    }
}

/// The public URL when none is configured: the address listened on (`https://` when TLS is
/// served), with a wildcard address (`0.0.0.0`, `[::]`) replaced by the loopback address of
/// the same family, since clients cannot connect to a wildcard.
fn derived_public_url(local: SocketAddr, https: bool) -> String {
    let ip = match local.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let scheme = if https { "https" } else { "http" };
    format!("{scheme}://{}", SocketAddr::new(ip, local.port()))
}

/// Remove expired tokens once an hour.
async fn prune_loop(store: Store, console_idle_micros: i64) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let cutoff = plugboard_core::time::now_micros() - 3600 * 1_000_000;
        if let Err(e) = store.prune_tokens(cutoff).await {
            tracing::warn!(error = %e, "pruning tokens failed");
        }
        if let Err(e) = store.prune_zstack_sessions(cutoff).await {
            tracing::warn!(error = %e, "pruning ZStack sessions failed");
        }
        let idle_since = plugboard_core::time::now_micros() - console_idle_micros;
        if let Err(e) = store.prune_console_sessions(idle_since).await {
            tracing::warn!(error = %e, "pruning console sessions failed");
        }
    }
}

/// SIGTERM or SIGINT (Ctrl-C), logged; the handlers are installed by the call, which comes
/// before `listen-addr` is written (`crate::signals`).
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    let stop = crate::signals::stop_requested();
    async move {
        stop.await;
        tracing::info!("shutting down: finishing in-flight requests");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_url_from_the_listen_address() {
        let url = |a: &str| derived_public_url(a.parse().expect("address"), false);
        assert_eq!(url("127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(url("0.0.0.0:8080"), "http://127.0.0.1:8080");
        assert_eq!(url("[::]:8080"), "http://[::1]:8080");
        assert_eq!(url("[::1]:9000"), "http://[::1]:9000");
        assert_eq!(url("192.0.2.7:80"), "http://192.0.2.7:80");
        assert_eq!(
            derived_public_url("0.0.0.0:8443".parse().expect("address"), true),
            "https://127.0.0.1:8443"
        );
    }

    #[test]
    fn log_filter_reads_levels_and_targets() {
        use tracing::Level;
        let on = |f: &Targets, target: &str, level: Level| f.would_enable(target, &level);

        let unset = log_filter(None);
        assert!(on(&unset, "plugboard", Level::INFO));
        assert!(!on(&unset, "plugboard", Level::DEBUG));
        assert!(
            !on(&unset, "sqlx::query", Level::INFO),
            "sqlx at warn by default"
        );
        assert!(on(&unset, "sqlx::query", Level::WARN));

        let warn = log_filter(Some("warn"));
        assert!(!on(&warn, "plugboard_api::common::context", Level::INFO));
        assert!(on(&warn, "plugboard_api::common::context", Level::WARN));

        let mixed = log_filter(Some("debug,sqlx=warn,plugboard_jobs=trace"));
        assert!(on(&mixed, "plugboard", Level::DEBUG));
        assert!(!on(&mixed, "sqlx::pool", Level::INFO));
        assert!(
            on(&mixed, "plugboard_jobs::engine", Level::TRACE),
            "submodules match"
        );
        assert!(
            on(&log_filter(Some("INFO,,")), "x", Level::INFO),
            "empty parts skipped"
        );
        assert!(on(
            &log_filter(Some("plugboard_jobs")),
            "plugboard_jobs",
            Level::TRACE
        ));

        let malformed = log_filter(Some("info,sqlx=loud"));
        assert!(on(&malformed, "plugboard", Level::INFO), "default filter");
        assert!(!on(&malformed, "sqlx", Level::INFO), "default filter");

        let empty = log_filter(Some(""));
        assert!(on(&empty, "plugboard", Level::ERROR));
        assert!(!on(&empty, "plugboard", Level::WARN));
    }
}
