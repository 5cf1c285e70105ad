//! `plugboard-bench auth`: the authentication benchmark of `docs/benchmarks.md`. Starts the
//! given `plugboard` binary on a fresh data directory, measures cold start (spawn → first 200)
//! and idle RSS, then drives 64 keep-alive connections against `/healthz` (baseline),
//! token-authenticated and AK/SK-authenticated `GET /v3/auth/projects`, and prints requests/s,
//! p50/p99 latency and each figure's ratio to the baseline measured in the same run, and the
//! CPU time (user + system) the server and this load generator spent per request: on a shared
//! machine other processes move requests/s a lot, CPU time per request much less. The three
//! scenarios run in `--rounds` rounds (9 of 3 s), each authenticated figure divided by its own
//! round's baseline; the medians of the rounds are printed, and each round's ratios. Beside
//! the ratio of requests/s, the ratio of CPU time a request costs (server + load generator,
//! baseline over scenario): what the requests/s ratio is when the two CPUs are the limit,
//! and moved much less by whatever else runs on the machine.
//! `plugboard-bench driver-steps`: the external step protocol against spawning the same
//! executable in a loop (see [`driver_steps`]).

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::{HeaderName, HeaderValue};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1;
use hyper::Request;
use hyper_util::rt::TokioIo;
use sha2::Sha256;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Args {
    binary: PathBuf,
    connections: usize,
    seconds: f64,
    database_url: Option<String>,
    /// Which of the authenticated scenarios to run (the baseline always runs).
    scenarios: Vec<String>,
    /// Rounds of the three scenarios, one after the other; each round's ratios are to that
    /// round's baseline, and the median of the rounds is the figure.
    rounds: usize,
}

fn parse_args() -> Result<Args> {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("auth") => {}
        _ => bail!("usage: plugboard-bench auth --binary PATH [--connections 64] [--seconds 3] [--rounds 9] [--scenarios token,aksk] [--database-url URL]"),
    }
    let mut out = Args {
        binary: PathBuf::from("target/release/plugboard"),
        connections: 64,
        seconds: 3.0,
        database_url: None,
        scenarios: vec!["token".into(), "aksk".into()],
        rounds: 9,
    };
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--binary" => out.binary = value.into(),
            "--connections" => out.connections = value.parse()?,
            "--seconds" => out.seconds = value.parse()?,
            "--database-url" => out.database_url = Some(value),
            "--rounds" => out.rounds = value.parse::<usize>()?.max(1),
            "--scenarios" => {
                out.scenarios = value.split(',').map(str::to_string).collect();
                if let Some(bad) = out
                    .scenarios
                    .iter()
                    .find(|s| !["token", "aksk"].contains(&s.as_str()))
                {
                    bail!("unknown scenario {bad} (token, aksk)");
                }
            }
            _ => bail!("unknown flag {flag}"),
        }
    }
    Ok(out)
}

struct ServerProc {
    child: Child,
    addr: String,
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .ok();
        self.child.wait().ok();
    }
}

/// Start the server; returns it and the time from spawn to the first 200 on /healthz.
async fn start(args: &Args, data_dir: &Path) -> Result<(ServerProc, Duration)> {
    std::fs::remove_file(data_dir.join("listen-addr")).ok();
    let started = Instant::now();
    let mut cmd = Command::new(&args.binary);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        // At `info` the server logs one line per request; the benchmark measures auth, not logs.
        .env("PLUGBOARD_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if let Some(url) = &args.database_url {
        cmd.env("PLUGBOARD_DATABASE_URL", url);
    }
    let child = cmd
        .spawn()
        .with_context(|| format!("starting {}", args.binary.display()))?;
    let addr = loop {
        if let Ok(text) = std::fs::read_to_string(data_dir.join("listen-addr")) {
            if text.ends_with('\n') {
                break text.trim().to_string();
            }
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!("server did not start");
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    };
    let server = ServerProc { child, addr };
    loop {
        if let Ok(mut conn) = Conn::open(&server.addr).await {
            if conn
                .get("/healthz", &[])
                .await
                .map(|s| s == 200)
                .unwrap_or(false)
            {
                break;
            }
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!("server never answered /healthz");
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    Ok((server, started.elapsed()))
}

struct Conn {
    sender: http1::SendRequest<Empty<Bytes>>,
    host: HeaderValue,
}

impl Conn {
    async fn open(addr: &str) -> Result<Self> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(Self {
            sender,
            host: HeaderValue::from_str(addr)?,
        })
    }

    /// `headers` are parsed once per scenario (as a load generator's prepared request is):
    /// the client's share of the measured CPU is sending them, not parsing them again.
    async fn get(&mut self, path: &str, headers: &[(HeaderName, HeaderValue)]) -> Result<u16> {
        let mut req = Request::get(path).header(http::header::HOST, self.host.clone());
        for (k, v) in headers {
            req = req.header(k.clone(), v.clone());
        }
        self.sender.ready().await?;
        let response = self.sender.send_request(req.body(Empty::new())?).await?;
        let status = response.status().as_u16();
        response.into_body().collect().await?;
        Ok(status)
    }
}

struct Figures {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: usize,
    /// CPU time (user + system) per request over the measured window, microseconds.
    server_us: f64,
    client_us: f64,
}

/// User + system CPU time of process `pid` ("self" for this one) so far, seconds.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / clock_ticks())
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

async fn load(
    server: &ServerProc,
    path: &str,
    headers: Vec<(String, String)>,
    args: &Args,
) -> Result<Figures> {
    let addr = server.addr.as_str();
    let server_pid = server.child.id().to_string();
    let deadline_warm = Instant::now() + Duration::from_millis(500);
    let run_for = Duration::from_secs_f64(args.seconds);
    let headers = headers
        .iter()
        .map(|(k, v)| {
            Ok((
                HeaderName::from_bytes(k.as_bytes())?,
                HeaderValue::from_str(v)?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut tasks = Vec::new();
    for _ in 0..args.connections {
        let addr = addr.to_string();
        let path = path.to_string();
        let headers = headers.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(&addr).await?;
            while Instant::now() < deadline_warm {
                conn.get(&path, &headers).await?;
            }
            let start = Instant::now();
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            while start.elapsed() < run_for {
                let t = Instant::now();
                let status = conn.get(&path, &headers).await?;
                latencies.push(t.elapsed());
                if status != 200 {
                    errors += 1;
                }
            }
            anyhow::Ok((latencies, errors))
        }));
    }
    // The measured window starts when the warm-up ends (every connection then starts its own).
    tokio::time::sleep_until(deadline_warm.into()).await;
    let cpu_before = (cpu_seconds(&server_pid), cpu_seconds("self"));
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await??;
        all.extend(l);
        errors += e;
    }
    let cpu_after = (cpu_seconds(&server_pid), cpu_seconds("self"));
    let per_request = |before: Option<f64>, after: Option<f64>| match (before, after) {
        (Some(b), Some(a)) if !all.is_empty() => (a - b) * 1e6 / all.len() as f64,
        _ => f64::NAN,
    };
    let server_us = per_request(cpu_before.0, cpu_after.0);
    let client_us = per_request(cpu_before.1, cpu_after.1);
    all.sort();
    let pct =
        |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0;
    Ok(Figures {
        rps: all.len() as f64 / args.seconds,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        errors,
        server_us,
        client_us,
    })
}

fn rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS:")
}

/// A `kB` figure of `/proc/PID/status` (`VmRSS:`, `RssAnon:`, `RssFile:`).
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

async fn token(addr: &str, bootstrap: &serde_json::Value) -> Result<String> {
    let body = serde_json::json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"domain": {"name": bootstrap["domain_name"]}, "name": bootstrap["user_name"], "password": bootstrap["password"]}}}, "scope": {"project": {"id": bootstrap["project_id"]}}}});
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, connection) =
        http1::handshake::<_, http_body_util::Full<Bytes>>(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let req = Request::post("/v3/auth/tokens?nocatalog=true")
        .header("host", addr)
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(Bytes::from(body.to_string())))?;
    let response = sender.send_request(req).await?;
    if response.status() != 201 {
        bail!("token request answered {}", response.status());
    }
    Ok(response.headers()["x-subject-token"].to_str()?.to_string())
}

fn signed_headers(
    addr: &str,
    bootstrap: &serde_json::Value,
    path: &str,
) -> Result<Vec<(String, String)>> {
    let ak = bootstrap["access_key"].as_str().context("access_key")?;
    let sk = bootstrap["secret_key"].as_str().context("secret_key")?;
    let project = bootstrap["project_id"].as_str().context("project_id")?;
    let date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let mut headers = http::HeaderMap::new();
    headers.insert("host", addr.parse()?);
    headers.insert("x-project-id", project.parse()?);
    headers.insert("x-sdk-date", date.parse()?);
    let auth = plugboard_auth::signing::Authorization {
        access: ak.into(),
        signed_headers_raw: "host;x-project-id;x-sdk-date".into(),
        signature: "".into(),
    };
    let parts = plugboard_auth::signing::RequestParts {
        method: "GET",
        path,
        query: None,
        headers: &headers,
        body: b"",
    };
    let canonical = plugboard_auth::signing::canonical_request(&parts, &auth)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(sk.as_bytes())?;
    mac.update(plugboard_auth::signing::string_to_sign(&date, &canonical).as_bytes());
    let signature = hex::encode(mac.finalize().into_bytes());
    Ok(vec![
        ("x-project-id".into(), project.into()),
        ("x-sdk-date".into(), date),
        ("authorization".into(), format!("SDK-HMAC-SHA256 Access={ak}, SignedHeaders=host;x-project-id;x-sdk-date, Signature={signature}")),
    ])
}

mod driver_steps;

fn main() -> Result<()> {
    if std::env::args().nth(1).as_deref() == Some("driver-steps") {
        return driver_steps::main();
    }
    let args = parse_args()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(run(args))
}

async fn run(args: Args) -> Result<()> {
    let dir = tempfile::tempdir()?;
    // First start bootstraps (argon2, migrations); the cold start measured is a restart.
    let (first, first_start) = start(&args, dir.path()).await?;
    drop(first);
    let (server, cold) = start(&args, dir.path()).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss = rss_kib(server.child.id()).unwrap_or(0);
    let idle_anon = status_kib(server.child.id(), "RssAnon:").unwrap_or(0);
    let idle_file = status_kib(server.child.id(), "RssFile:").unwrap_or(0);
    let bootstrap: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("bootstrap.json"))?)?;
    let path = "/v3/auth/projects";
    let token = token(&server.addr, &bootstrap).await?;

    println!(
        "plugboard auth benchmark: {} connections, {} s per scenario, store {}",
        args.connections,
        args.seconds,
        args.database_url
            .as_deref()
            .map(|u| u.split(':').next().unwrap_or(""))
            .unwrap_or("sqlite")
    );
    println!(
        "first start (bootstrap) to first 200: {:.1} ms",
        first_start.as_secs_f64() * 1000.0
    );
    println!(
        "cold start (restart) to first 200:    {:.1} ms   (target < 100 ms)",
        cold.as_secs_f64() * 1000.0
    );
    println!(
        "idle RSS:                             {:.1} MiB  (target < 15 MiB; anonymous {:.1}, file {:.1})",
        idle_rss as f64 / 1024.0,
        idle_anon as f64 / 1024.0,
        idle_file as f64 / 1024.0
    );
    let token_headers = vec![("x-auth-token".to_string(), token)];
    let aksk_headers = signed_headers(&server.addr, &bootstrap, path)?;
    // Rounds of baseline, token, AK/SK: whatever else starts on the machine during one
    // scenario moves that round's ratios only, and the median of the rounds is the figure.
    let mut rounds: Vec<(Figures, Vec<(&str, Figures)>)> = Vec::new();
    for _ in 0..args.rounds {
        let baseline = load(&server, "/healthz", vec![], &args).await?;
        let mut scenarios = Vec::new();
        for name in &args.scenarios {
            let headers = match name.as_str() {
                "token" => token_headers.clone(),
                _ => aksk_headers.clone(),
            };
            scenarios.push((name.as_str(), load(&server, path, headers, &args).await?));
        }
        rounds.push((baseline, scenarios));
    }
    let loaded_rss = rss_kib(server.child.id()).unwrap_or(0);
    println!();
    println!(
        "{:<34} {:>10} {:>9} {:>9} {:>7} {:>8} {:>11} {:>11} {:>10}",
        "scenario (median of the rounds)",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "ratio",
        "server µs",
        "client µs",
        "CPU ratio"
    );
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mut errors = 0;
    let mut per_round = Vec::new();
    // (label, target ratio, each round's figures with its ratio to the round's baseline and
    // the ratio of the CPU time a request costs, baseline over scenario)
    type Row<'a> = (&'a str, Option<f64>, Vec<(&'a Figures, f64, f64)>);
    let mut rows: Vec<Row> = vec![(
        "GET /healthz (baseline)",
        None,
        rounds.iter().map(|(b, _)| (b, 1.0, 1.0)).collect(),
    )];
    let cpu_us = |f: &Figures| f.server_us + f.client_us;
    for (i, name) in args.scenarios.iter().enumerate() {
        let (label, target) = match name.as_str() {
            "token" => ("GET /v3/auth/projects, token", 0.9),
            _ => ("GET /v3/auth/projects, AK/SK", 0.85),
        };
        let figures: Vec<(&Figures, f64, f64)> = rounds
            .iter()
            .map(|(b, s)| (&s[i].1, s[i].1.rps / b.rps, cpu_us(b) / cpu_us(&s[i].1)))
            .collect();
        per_round.push(format!(
            "{name} {}",
            figures
                .iter()
                .map(|(_, r, _)| format!("{r:.2}"))
                .collect::<Vec<_>>()
                .join(" ")
        ));
        rows.push((label, Some(target), figures));
    }
    for (label, target, figures) in &rows {
        errors += figures.iter().map(|(f, _, _)| f.errors).sum::<usize>();
        let m = |get: fn(&Figures) -> f64| median(figures.iter().map(|(f, _, _)| get(f)).collect());
        let ratio = median(figures.iter().map(|(_, r, _)| *r).collect());
        let cpu_ratio = median(figures.iter().map(|(_, _, c)| *c).collect());
        let target = target
            .map(|t| format!("  (target ≥ {t})"))
            .unwrap_or_default();
        println!(
            "{label:<34} {:>10.0} {:>9.2} {:>9.2} {:>7} {:>8.2} {:>11.1} {:>11.1} {:>10.2}{target}",
            m(|f| f.rps),
            m(|f| f.p50_ms),
            m(|f| f.p99_ms),
            figures.iter().map(|(f, _, _)| f.errors).sum::<usize>(),
            ratio,
            m(|f| f.server_us),
            m(|f| f.client_us),
            cpu_ratio
        );
    }
    println!(
        "ratio of each round ({} rounds of {} s a scenario): {}",
        args.rounds,
        args.seconds,
        per_round.join("; ")
    );
    println!("(server µs, client µs: CPU time, user + system, per request in the measured window;");
    println!(
        " CPU ratio: the baseline's server + client µs over the scenario's, median of the rounds)"
    );
    println!("RSS after load: {:.1} MiB", loaded_rss as f64 / 1024.0);
    if errors > 0 {
        bail!("some requests failed");
    }
    Ok(())
}
