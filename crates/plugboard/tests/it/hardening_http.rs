//! Hostile and careless clients against the real binary (issue 9), below the router:
//! refusals made by the HTTP layer (in the gateway envelope, with `X-Request-Id`), connections
//! that idle or trickle their heads, floods of idle connections with few descriptors, and the
//! data directory's lock.

#![allow(clippy::unwrap_used)]

use crate::common;

use common::Server;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Connect to `addr` (`host:port`).
fn connect(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Send `bytes` on a fresh connection and read the whole answer (the server closes).
fn raw(addr: &str, bytes: &[u8]) -> (u16, Vec<(String, String)>, Value) {
    let mut s = connect(addr);
    s.write_all(bytes).ok();
    read_answer(&mut s)
}

fn read_answer(s: &mut TcpStream) -> (u16, Vec<(String, String)>, Value) {
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).to_string();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no answer head in {text:?}"));
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let body = serde_json::from_str(body).unwrap_or(Value::String(body.to_string()));
    (status, headers, body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The answer is the gateway envelope with `code`, `status`, and an `X-Request-Id` matching
/// the body's `request_id`; returns the message.
fn assert_envelope(answer: &(u16, Vec<(String, String)>, Value), status: u16) -> String {
    let (st, headers, body) = answer;
    assert_eq!(*st, status, "{headers:?} {body}");
    assert_eq!(
        header(headers, "content-type"),
        Some("application/json;charset=UTF-8"),
        "{headers:?}"
    );
    let id = header(headers, "x-request-id").unwrap_or_else(|| panic!("no id: {headers:?}"));
    assert!(plugboard_core::ids::is_hex32(id), "{id}");
    assert_eq!(body["request_id"], id, "{body}");
    assert_eq!(body["error_code"], "APIG.0201", "{body}");
    assert_eq!(body.as_object().unwrap().len(), 3, "{body}");
    body["error_msg"].as_str().unwrap().to_string()
}

fn addr(s: &Server) -> String {
    s.base.trim_start_matches("http://").to_string()
}

#[tokio::test]
async fn http_layer_refusals_are_in_the_gateway_envelope_with_a_request_id() {
    let s = Server::start(Some(
        "[http]\nmax_uri_bytes = 2048\nmax_headers = 20\nmax_header_bytes = 8192\nheader_read_timeout_seconds = 1\n",
    ))
    .await;
    let a = addr(&s);
    let long = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(3000));
    let msg = assert_envelope(&raw(&a, long.as_bytes()), 414);
    assert_eq!(msg, "Request URI too large.");
    // Far beyond what hyper itself would represent, too.
    let huge = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000));
    assert_envelope(&raw(&a, huge.as_bytes()), 414);

    let mut many = String::from("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    for i in 0..30 {
        many.push_str(&format!("x-h{i}: v\r\n"));
    }
    many.push_str("\r\n");
    let msg = assert_envelope(&raw(&a, many.as_bytes()), 431);
    assert_eq!(msg, "Request headers too large.");
    let big = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nx-big: {}\r\n\r\n",
        "v".repeat(10_000)
    );
    assert_envelope(&raw(&a, big.as_bytes()), 431);

    for garbage in [
        &b"\x16\x03\x01\x02\x00 garbage\r\n\r\n"[..],
        b"GET /healthz HTTP/9.9\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nbad header\r\n\r\n",
        b"POST /v3/groups HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
    ] {
        let msg = assert_envelope(&raw(&a, garbage), 400);
        assert!(msg.starts_with("Bad request: "), "{msg}");
    }
    // A head that stops arriving: 408 once the header-read timeout passes.
    let started = Instant::now();
    let msg = assert_envelope(&raw(&a, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"), 408);
    assert!(msg.starts_with("Request timeout"), "{msg}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // An earlier request on the same connection is answered before the refusal.
    let mut c = connect(&a);
    let pipelined = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "b".repeat(3000)
    );
    c.write_all(pipelined.as_bytes()).unwrap();
    let mut all = Vec::new();
    let _ = c.read_to_end(&mut all);
    let text = String::from_utf8_lossy(&all);
    let first = text
        .find("HTTP/1.1 200")
        .expect("the first request answered");
    let second = text.find("HTTP/1.1 414").expect("then the refusal");
    assert!(first < second, "{text}");

    // A head sent one byte at a time (its end split across reads) is read whole.
    let mut c = connect(&a);
    c.set_nodelay(true).unwrap();
    for b in b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" {
        c.write_all(&[*b]).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    let (st, _, body) = read_answer(&mut c);
    assert_eq!((st, body), (200, json!({"status": "ok"})));

    // Ordinary requests, keep-alive and chunked bodies still work.
    let r = s.client.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let chunked = raw(
        &a,
        b"POST /v3/auth/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    );
    assert_eq!(chunked.0, 400, "{:?}", chunked.2);
    assert!(
        chunked.2["error"].is_object(),
        "the router answered: {}",
        chunked.2
    );
}

#[tokio::test]
async fn idle_and_trickling_connections_cannot_starve_others() {
    let s = Server::start(Some(
        "[http]\nmax_connections = 8\nheader_read_timeout_seconds = 1\nidle_timeout_seconds = 2\n",
    ))
    .await;
    let a = addr(&s);
    // Every slot taken by a silent connection, then more clients trickling a head.
    let silent: Vec<TcpStream> = (0..8).map(|_| connect(&a)).collect();
    std::thread::sleep(Duration::from_millis(200));
    let trickling: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut c = connect(&a);
            c.write_all(b"GET /healthz HTTP/1.1\r\nHo").unwrap();
            c
        })
        .collect();
    let started = Instant::now();
    let r = reqwest::Client::new()
        .get(s.url("/healthz"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("/healthz answers while slow clients hold connections");
    assert_eq!(r.status(), 200);
    let waited = started.elapsed();
    // At the limit a connection waits in the backlog; the idle timeout frees the slots.
    assert!(
        waited >= Duration::from_millis(1000) && waited < Duration::from_secs(5),
        "/healthz took {waited:?}"
    );
    for mut c in silent {
        let mut buf = [0u8; 64];
        assert_eq!(
            c.read(&mut buf).unwrap_or(0),
            0,
            "a silent client is closed"
        );
    }
    for mut c in trickling {
        let msg = assert_envelope(&read_answer(&mut c), 408);
        assert!(msg.starts_with("Request timeout"), "{msg}");
    }

    // An idle keep-alive connection is closed after the idle timeout.
    let mut c = connect(&a);
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = c.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let idle_from = Instant::now();
    let n = c.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "closed, not answered");
    let idle = idle_from.elapsed();
    assert!(
        idle >= Duration::from_millis(1500) && idle < Duration::from_secs(5),
        "closed after {idle:?}"
    );
}

#[tokio::test]
async fn a_second_serve_on_the_same_data_directory_refuses_naming_the_pid() {
    let s = Server::start(None).await;
    let pid = s.child.as_ref().unwrap().id();
    let listen_addr = std::fs::read_to_string(s.data_dir.join("listen-addr")).unwrap();
    let staging = s.data_dir.join("staging");
    let marker = staging.join("running-job-marker");
    std::fs::create_dir_all(&staging).unwrap();
    std::fs::write(&marker, "staged").unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_plugboard"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&s.data_dir)
        .env_remove("PLUGBOARD_LISTEN")
        .env_remove("PLUGBOARD_CONFIG");
    if let Some(db) = s.db.as_ref() {
        if db.backend == plugboard_store::Backend::Postgres {
            cmd.env("PLUGBOARD_DATABASE_URL", &db.url);
        }
    }
    let mut second = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            second.kill().ok();
            second.wait().ok();
            panic!("a second serve on the same data directory started");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    second
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("pid {pid}")) && stderr.contains("in use"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(s.data_dir.join("listen-addr")).unwrap(),
        listen_addr
    );
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "staged");
    assert_eq!(
        std::fs::read_to_string(s.data_dir.join("lock")).unwrap(),
        format!("{pid}\n")
    );
    let r = s.client.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn with_few_descriptors_a_flood_of_idle_connections_does_not_starve_healthz() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("plugboard.toml"),
        "[http]\nidle_timeout_seconds = 2\nheader_read_timeout_seconds = 1\n",
    )
    .unwrap();
    // The default max_connections (1024) under `ulimit -n 160`: lowered to 96 at start.
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg("ulimit -n 160 && exec \"$0\" serve --listen 127.0.0.1:0 --data-dir \"$1\"")
        .arg(env!("CARGO_BIN_EXE_plugboard"))
        .arg(&data)
        .env_remove("PLUGBOARD_LISTEN")
        .env_remove("PLUGBOARD_CONFIG")
        .env_remove("PLUGBOARD_DATABASE_URL")
        .env("PLUGBOARD_LOG", "warn")
        .env("PLUGBOARD_LOG_FORMAT", "json")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let addr = loop {
        if let Ok(text) = std::fs::read_to_string(data.join("listen-addr")) {
            if text.ends_with('\n') {
                break text.trim().to_string();
            }
        }
        assert!(child.try_wait().unwrap().is_none(), "plugboard exited");
        assert!(Instant::now() < deadline, "plugboard did not start");
        std::thread::sleep(Duration::from_millis(20));
    };
    let flood: Vec<TcpStream> = (0..200).map(|_| connect(&addr)).collect();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let r = reqwest::Client::new()
        .get(format!("http://{addr}/healthz"))
        .timeout(Duration::from_secs(15))
        .send()
        .await
        .expect("/healthz answers under a flood of idle connections");
    assert_eq!(r.status(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    drop(flood);
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("max_connections lowered") && stderr.contains("\"serving\":96"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("accepting a connection failed"),
        "{stderr}"
    );
}

/// A client that sends a head announcing a 100-byte body, then trickles it one byte every
/// 500 ms until the server answers (or 30 s pass); returns the answer and how long it took.
fn trickle_body(addr: &str, extra_header: &str) -> std::thread::JoinHandle<(Answer, Duration)> {
    let mut c = connect(addr);
    c.set_read_timeout(Some(Duration::from_secs(40))).unwrap();
    c.set_nodelay(true).unwrap();
    let head = format!(
        "POST /v3/auth/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{extra_header}Content-Length: 100\r\n\r\n{{"
    );
    c.write_all(head.as_bytes()).unwrap();
    let started = Instant::now();
    let mut writer = c.try_clone().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopped = stop.clone();
    std::thread::spawn(move || {
        while !stopped.load(std::sync::atomic::Ordering::SeqCst)
            && started.elapsed() < Duration::from_secs(30)
            && writer.write_all(b" ").is_ok()
        {
            std::thread::sleep(Duration::from_millis(500));
        }
    });
    std::thread::spawn(move || {
        let answer = read_answer(&mut c);
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        (answer, started.elapsed())
    })
}

type Answer = (u16, Vec<(String, String)>, Value);

#[tokio::test]
async fn trickled_bodies_time_out_and_unauthenticated_ones_are_capped_per_address() {
    let s = Server::start(Some(
        "[http]\nmax_connections = 10\nbody_read_timeout_seconds = 10\nmin_body_bytes_per_second = 100\nmax_unauthenticated_bodies_per_address = 4\n",
    ))
    .await;
    let a = addr(&s);
    // Two clients with a token (not counted as unauthenticated), then twelve without: more
    // than max_connections trickling clients in all.
    let with_token: Vec<_> = (0..2)
        .map(|_| trickle_body(&a, "X-Auth-Token: not-checked-at-this-layer\r\n"))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let anonymous: Vec<_> = (0..12).map(|_| trickle_body(&a, "")).collect();
    std::thread::sleep(Duration::from_millis(300));

    // The slots the anonymous clients over the cap took are freed at once: /healthz answers
    // long before any body deadline (10 s) could free one.
    let started = Instant::now();
    let r = reqwest::Client::new()
        .get(s.url("/healthz"))
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .expect("/healthz answers while trickling clients hold connections");
    assert_eq!(r.status(), 200);
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(6), "/healthz took {waited:?}");

    let mut timed_out = 0;
    let mut throttled = 0;
    for t in anonymous {
        let (answer, took) = t.join().unwrap();
        match answer.0 {
            408 => {
                let msg = assert_envelope(&answer, 408);
                assert_eq!(
                    msg,
                    "Request timeout: the request body did not arrive in time."
                );
                assert!(
                    took >= Duration::from_secs(9) && took < Duration::from_secs(28),
                    "408 after {took:?}"
                );
                timed_out += 1;
            }
            _ => {
                let (status, headers, body) = &answer;
                assert_eq!(*status, 429, "{headers:?} {body}");
                assert_eq!(body["error_code"], "APIG.0308", "{body}");
                let msg = body["error_msg"].as_str().unwrap();
                assert!(
                    msg.starts_with("The throttling threshold has been reached: ")
                        && msg.contains("max_unauthenticated_bodies_per_address = 4"),
                    "{msg}"
                );
                assert!(took < Duration::from_secs(6), "429 after {took:?}");
                throttled += 1;
            }
        }
    }
    assert_eq!((timed_out, throttled), (4, 8));
    for t in with_token {
        let (answer, took) = t.join().unwrap();
        let msg = assert_envelope(&answer, 408);
        assert!(msg.contains("request body"), "{msg}");
        assert!(took >= Duration::from_secs(9), "408 after {took:?}");
    }

    // The permits are back: an unauthenticated body sent at once reaches the router.
    let login = raw(
        &a,
        b"POST /v3/auth/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    );
    assert_eq!(login.0, 400, "{:?}", login.2);
    assert!(
        login.2["error"].is_object(),
        "the router answered: {}",
        login.2
    );
}

#[tokio::test]
async fn a_body_arriving_at_the_minimum_rate_is_never_cut_off() {
    let s = Server::start(Some(
        "[http]\nbody_read_timeout_seconds = 2\nmin_body_bytes_per_second = 100\n",
    ))
    .await;
    let mut c = connect(&addr(&s));
    c.set_nodelay(true).unwrap();
    // 1,000 bytes at about 200 bytes/s: 5 s in all, well past the 2 s the body alone would get.
    let body = format!("{{\"pad\": \"{}\"}}", "x".repeat(1000 - 11));
    assert_eq!(body.len(), 1000);
    let head = "POST /v3/auth/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n";
    c.write_all(head.as_bytes()).unwrap();
    let started = Instant::now();
    for chunk in body.as_bytes().chunks(20) {
        c.write_all(chunk).unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, _, answer) = read_answer(&mut c);
    assert!(started.elapsed() >= Duration::from_secs(4));
    // The router read the whole body and answered (IAM: the request has no `auth`).
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"].is_object(), "{answer}");
}
