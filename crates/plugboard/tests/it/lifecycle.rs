//! Process lifecycle over the real binary: every request logged with its request id, and
//! graceful shutdown: a request in flight finished before exit 0, a stuck one not holding
//! shutdown up beyond its bound, and the audit agent's SIGTERM handler in place before it reads
//! anything.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::process::Proc;
use serde_json::Value;

#[tokio::test]
async fn every_request_is_logged_with_its_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let p = Proc::start(
        &[
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data,
            "--log-format",
            "json",
        ],
        &[("PLUGBOARD_LOG", "info")],
        dir.path(),
    )
    .await;
    let client = reqwest::Client::new();
    let r = client.get(p.url("/healthz")).send().await.unwrap();
    let ok_id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    let r = client
        .get(p.url("/v3/no/such/route?secret=hidden"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let missing_id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    let (code, _, logs) = p.stop();
    assert_eq!(code, Some(0));
    let lines: Vec<Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    let find = |id: &str| {
        let found: Vec<&Value> = lines
            .iter()
            .filter(|l| l["fields"]["request_id"] == id)
            .collect();
        assert_eq!(found.len(), 1, "one line for {id} in {logs}");
        found[0].clone()
    };
    let ok = find(&ok_id);
    assert_eq!(ok["level"], "INFO");
    assert_eq!(ok["fields"]["message"], "request");
    assert_eq!(ok["fields"]["method"], "GET");
    assert_eq!(ok["fields"]["route"], "/healthz");
    assert_eq!(ok["fields"]["status"], 200);
    assert!(ok["fields"]["latency_ms"].as_f64().unwrap() >= 0.0);
    let missing = find(&missing_id);
    assert_eq!(missing["fields"]["route"], "/v3/no/such/route");
    assert_eq!(missing["fields"]["status"], 404);
    assert!(!logs.contains("hidden"), "query strings are not logged");
}

/// Send the head and the first part of a POST /v3/auth/tokens body, then (after `pause`)
/// the rest; returns the status line and body of the answer.
async fn slow_token_request(
    addr: String,
    password: String,
    started: tokio::sync::oneshot::Sender<()>,
    pause: std::time::Duration,
) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = serde_json::json!({"auth": {"identity": {"methods": ["password"],
        "password": {"user": {"domain": {"name": "plugboard"}, "name": "admin", "password": password}}},
        "scope": {"project": {"name": "local"}}}})
    .to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /v3/auth/tokens?nocatalog=true HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(first.as_bytes()).await.unwrap();
    conn.flush().await.unwrap();
    started.send(()).ok();
    tokio::time::sleep(pause).await;
    conn.write_all(rest.as_bytes()).await.ok();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).await.ok();
    let status = answer.lines().next().unwrap_or_default().to_string();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn sigterm_finishes_a_request_in_flight_then_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let p = Proc::start(
        &["--listen", "127.0.0.1:0", "--data-dir", data],
        &[("PLUGBOARD_LOG", "warn")],
        dir.path(),
    )
    .await;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let pause = std::time::Duration::from_millis(1500);
    let request = tokio::spawn(slow_token_request(
        p.addr.clone(),
        p.b("password"),
        tx,
        pause,
    ));
    rx.await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // The server is told to stop while half of the body is still to come.
    let at = std::time::Instant::now();
    p.term();
    let (status, body) = request.await.unwrap();
    assert!(status.starts_with("HTTP/1.1 201"), "{status} {body}");
    assert!(body.contains("\"token\""), "{body}");
    let out = p.child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(at.elapsed() < std::time::Duration::from_secs(10));
    // New connections are no longer accepted.
    assert!(std::net::TcpStream::connect(&p.addr).is_err());
}

#[tokio::test]
async fn a_stuck_request_does_not_hold_up_shutdown_beyond_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("plugboard.toml"),
        "[http]\nshutdown_timeout_seconds = 1\n",
    )
    .unwrap();
    let data = dir.path().to_str().unwrap();
    let p = Proc::start(
        &["--listen", "127.0.0.1:0", "--data-dir", data],
        &[("PLUGBOARD_LOG", "warn")],
        dir.path(),
    )
    .await;
    let (tx, rx) = tokio::sync::oneshot::channel();
    // The client never sends the rest of its body (within the test's life).
    let request = tokio::spawn(slow_token_request(
        p.addr.clone(),
        p.b("password"),
        tx,
        std::time::Duration::from_secs(60),
    ));
    rx.await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (code, took, logs) = p.stop();
    request.abort();
    assert_eq!(code, Some(0), "{logs}");
    assert!(
        took >= std::time::Duration::from_millis(900) && took < std::time::Duration::from_secs(6),
        "{took:?}"
    );
    assert!(logs.contains("did not finish in time"), "{logs}");
}

/// Whether `pid` has a handler for SIGTERM (`SigCgt` of `/proc/PID/status`, bit 15).
fn catches_sigterm(pid: u32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (15 - 1)) != 0)
}

/// `plugboard dbss-agent` says nowhere that it is up, so a supervisor may stop it at once: its
/// SIGTERM handler is in place before it reads anything. Its config here is a FIFO, so the
/// agent waits on it; SIGTERM comes while it waits, then the config: it starts, sees the
/// signal and stops cleanly (exit 0) instead of being killed by the default action.
#[test]
fn the_audit_agent_catches_sigterm_before_it_reads_its_config() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("agent.toml");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .args(["dbss-agent", "--config"])
        .arg(&fifo)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !catches_sigterm(child.id()) {
        assert!(
            std::time::Instant::now() < deadline,
            "no SIGTERM handler while the agent waits for its config"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let state = dir.path().join("state");
    let config = format!(
        "endpoint = \"http://127.0.0.1:9\"\nproject_id = \"p\"\ninstance_id = \"i\"\n\
         agent_id = \"a\"\naccess_key = \"AK\"\nsecret_key = \"SK\"\nstate_dir = {state:?}\n\n\
         [[source]]\ndb_id = \"d\"\nkind = \"pgaudit-jsonlog\"\npath = {:?}\n",
        dir.path().join("pglog")
    );
    std::fs::write(&fifo, config).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
