//! Hostile and careless clients against the real binary (issue 9): metrics labels that stay a
//! closed set, NUL and non-UTF-8 text in query and path parameters, strict JSON, downloads
//! that trickle, connections that idle or trickle their heads, refusals made by the HTTP layer
//! (in the gateway envelope, with `X-Request-Id`) and the data directory's lock.

#![allow(clippy::unwrap_used)]

mod common;

use common::{extension_package, status_json, Server};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

async fn call(
    s: &Server,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, Value) {
    let mut r = s
        .client
        .request(method.parse().unwrap(), s.url(path))
        .header("x-auth-token", token);
    if let Some(b) = body {
        r = r
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    status_json(r.send().await.unwrap()).await
}

/// The series of `name` in a Prometheus text page.
fn series(text: &str, name: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .map(|l| l.rsplit_once(' ').map(|(s, _)| s).unwrap_or(l).to_string())
        .collect()
}

async fn metrics_text(s: &Server) -> String {
    s.client
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn metrics_labels_stay_a_closed_set_whatever_methods_and_paths_clients_send() {
    let s = Server::start(None).await;
    // One made-up method and one unknown path first: their series exist from here on.
    for (method, path) in [
        ("FROBNICATE", "/healthz"),
        ("GET", "/no/such/route"),
        ("FROBNICATE", "/no/such/route"),
    ] {
        let r = s
            .client
            .request(method.parse().unwrap(), s.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
    let before = metrics_text(&s).await;
    let requests = series(&before, "plugboard_http_requests_total");
    let durations = series(&before, "plugboard_http_request_duration_seconds_count");
    assert!(
        requests
            .iter()
            .any(|l| l.contains("method=\"other\"") && l.contains("route=\"/healthz\"")),
        "{requests:?}"
    );
    assert!(
        requests.iter().any(|l| l.contains("route=\"unmatched\"")),
        "{requests:?}"
    );
    for i in 0..1000 {
        let method = format!("MADEUP{i}");
        let r = s
            .client
            .request(
                method.parse().unwrap(),
                s.url(&format!("/no/such/route/{i}")),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
    let after = metrics_text(&s).await;
    let mut requests_after = series(&after, "plugboard_http_requests_total");
    // The scrape before this one adds its own series; nothing else may appear.
    requests_after.retain(|l| !l.contains("route=\"/metrics\""));
    requests_after.sort();
    let mut requests_before = requests.clone();
    requests_before.retain(|l| !l.contains("route=\"/metrics\""));
    requests_before.sort();
    assert_eq!(requests_after, requests_before, "{after}");
    let mut durations_after = series(&after, "plugboard_http_request_duration_seconds_count");
    durations_after.retain(|l| !l.contains("route=\"/metrics\""));
    durations_after.sort();
    let mut durations_before = durations.clone();
    durations_before.retain(|l| !l.contains("route=\"/metrics\""));
    durations_before.sort();
    assert_eq!(durations_after, durations_before);
    assert!(
        !after.contains("MADEUP"),
        "a client's method became a label"
    );
}

/// Query names sent with `%00` to every route (unknown ones included: the check covers every
/// parameter, not just those a route reads).
const QUERY_NAMES: &[&str] = &[
    "name",
    "id",
    "limit",
    "offset",
    "marker",
    "domain_id",
    "user_id",
    "group_id",
    "project_id",
    "instance_id",
    "status",
    "type",
    "plugin_name",
    "enabled",
    "unknown_param",
];

fn fill(template: &str, values: &dyn Fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').unwrap() + open;
        out.push_str(&values(&rest[open + 1..close]));
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

fn params(template: &str) -> Vec<String> {
    template
        .split('{')
        .skip(1)
        .map(|p| p.split('}').next().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn nul_and_non_utf8_in_query_and_path_parameters_are_400_on_every_route() {
    let s = Server::start(None).await;
    let token = s.admin_token().await;
    let pid = s.b("project_id");
    let valid = |name: &str| match name {
        "project_id" => pid.clone(),
        "domain_id" => s.b("domain_id"),
        "user_id" => s.b("user_id"),
        _ => "0123456789abcdef0123456789abcdef".to_string(),
    };
    let mut requests = 0;
    let mut failures = vec![];
    for op in plugboard_api::routing::operations() {
        let method = op.method.as_str();
        if method != "GET" && method != "DELETE" {
            continue;
        }
        let names = params(op.path);
        let mut paths = vec![];
        for target in &names {
            let with = |bad: &str| {
                fill(op.path, &|name| {
                    if name == target {
                        bad.to_string()
                    } else {
                        valid(name)
                    }
                })
            };
            paths.push((with("a%00b"), format!("path parameter `{target}`")));
            paths.push((with("%FF%FE"), format!("`{target}`")));
        }
        let base = fill(op.path, &valid);
        for q in QUERY_NAMES {
            paths.push((format!("{base}?{q}=x%00"), format!("query parameter `{q}`")));
        }
        paths.push((
            format!("{base}?name=%C3%28"),
            "query parameter `name`".into(),
        ));
        for (path, named) in paths {
            requests += 1;
            let (st, body) = call(&s, &token, method, &path, None).await;
            let text = body.to_string();
            if st != 400 || !text.contains(&named) {
                failures.push(format!("{method} {path} ({}): {st} {text}", op.name));
            }
        }
    }
    assert!(requests > 200, "only {requests} requests");
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // The envelope of each family, naming the parameter.
    let nul_name = "query parameter `name`: the value must not contain NUL characters (%00)";
    let (st, body) = call(&s, &token, "GET", "/v3/users?name=%00", None).await;
    assert_eq!(
        (st, body),
        (
            400,
            json!({"error": {"code": 400, "title": "Bad Request", "message": nul_name}})
        )
    );
    let (st, body) = call(
        &s,
        &token,
        "GET",
        &format!("/v3/{pid}/instances?name=%00"),
        None,
    )
    .await;
    assert_eq!(
        (st, body),
        (
            400,
            json!({"error_code": "DBS.200001", "error_msg": format!("Parameter error. {nul_name}")})
        )
    );
    let (st, body) = call(
        &s,
        &token,
        "GET",
        &format!("/v1/{pid}/0123456789abcdef0123456789abcdef/dbss/audit/databases?status=%00"),
        None,
    )
    .await;
    assert_eq!(
        (st, body),
        (
            400,
            json!({"error": {"error_code": "DBSS.10000001", "error_msg": "Enter a valid request message: query parameter `status`: the value must not contain NUL characters (%00)"}})
        )
    );
    let (st, body) = call(
        &s,
        &token,
        "GET",
        &format!("/plugboard/v1/projects/{pid}/gaussdb/instances/ab%00cd"),
        None,
    )
    .await;
    assert_eq!(
        (st, body),
        (
            400,
            json!({"error_code": "PLUGBOARD.0400", "error_msg": "path parameter `instance_id` must not contain NUL characters (%00)"})
        )
    );
}

#[tokio::test]
async fn json_with_trailing_garbage_is_400_naming_the_problem_and_stores_nothing() {
    let name = format!("pbtrail_{}", &plugboard_core::ids::hex32()[..6]);
    let s = Server::start(Some(&format!(
        "[gaussdb]\nsupported_plugins = [\"{name}\"]\n"
    )))
    .await;
    let token = s.admin_token().await;
    let pid = s.b("project_id");
    let trailing = "malformed JSON: trailing characters at line 1 column";

    // DBSS admin: create an audit instance.
    let dbss = format!("/plugboard/v1/projects/{pid}/dbss/instances");
    let (st, body) = call(
        &s,
        &token,
        "POST",
        &dbss,
        Some(r#"{"name":"tg","edition":"basic"} trailing"#),
    )
    .await;
    assert_eq!(st, 400, "{body}");
    assert_eq!(body["error_code"], "PLUGBOARD.0400");
    assert!(
        body["error_msg"].as_str().unwrap().starts_with(trailing),
        "{body}"
    );
    let (_, list) = call(&s, &token, "GET", &dbss, None).await;
    assert!(!list.to_string().contains("\"tg\""), "{list}");

    // IAM: create a group.
    let (st, body) = call(
        &s,
        &token,
        "POST",
        "/v3/groups",
        Some(r#"{"group": {"name": "trailing-group"}}{"x":1}"#),
    )
    .await;
    assert_eq!(st, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with(trailing),
        "{body}"
    );
    let (_, groups) = call(&s, &token, "GET", "/v3/groups?name=trailing-group", None).await;
    assert_eq!(groups["groups"], json!([]), "{groups}");

    // GaussDB: install a kernel plug-in on a simulated instance.
    let (st, inst) = call(
        &s,
        &token,
        "POST",
        &format!("/plugboard/v1/projects/{pid}/gaussdb/instances"),
        Some(
            &json!({"name": "sim", "host": "db.example", "port": 6000, "user": "app",
            "password": "", "database": "postgres", "install": {"mode": "simulated"}})
            .to_string(),
        ),
    )
    .await;
    assert_eq!(st, 201, "{inst}");
    let iid = inst["id"].as_str().unwrap();
    let install = json!({"plugin_name": name, "url": "https://8.8.8.8/p.tar.gz",
        "sha_256": "0".repeat(64)});
    let (st, body) = call(
        &s,
        &token,
        "POST",
        &format!("/v3/{pid}/instances/{iid}/kernel-plugin"),
        Some(&format!("{install} ,")),
    )
    .await;
    assert_eq!(st, 400, "{body}");
    assert_eq!(body["error_code"], "DBS.200001");
    assert!(
        body["error_msg"].as_str().unwrap().contains(trailing),
        "{body}"
    );
    let (_, tasks) = call(&s, &token, "GET", &format!("/v3/{pid}/tasks"), None).await;
    assert_eq!(tasks["total_count"], 0, "{tasks}");
}

/// A package server that sends its head, then one byte every `every`.
fn trickle_server(every: Duration) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let head = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n";
                if s.write_all(head.as_bytes()).is_err() {
                    return;
                }
                loop {
                    std::thread::sleep(every);
                    if s.write_all(b"x").is_err() {
                        return;
                    }
                }
            });
        }
    });
    base
}

async fn wait_job(s: &Server, token: &str, pid: &str, job: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (st, j) = call(s, token, "GET", &format!("/v3/{pid}/jobs?id={job}"), None).await;
        assert_eq!(st, 200, "{j}");
        if j["job"]["status"] != "Running" {
            return j["job"].clone();
        }
        assert!(Instant::now() < deadline, "job still running: {j}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_trickling_download_fails_the_job_and_the_instance_takes_another_install() {
    let name = format!("pbslow_{}", &plugboard_core::ids::hex32()[..6]);
    let slow = trickle_server(Duration::from_millis(400));
    let (package, sha) = extension_package(&name);
    let fast = common::serve_bytes(package);
    let config = format!(
        "[gaussdb]\nsupported_plugins = [\"{name}\"]\n[network]\nallow = [\"{slow}/\", \"{fast}/\"]\n\
         allow_private = true\ndownload_timeout_seconds = 20\ndownload_min_bytes_per_second = 100\n\
         download_rate_window_seconds = 1\n"
    );
    let s = Server::start(Some(&config)).await;
    let token = s.admin_token().await;
    let pid = s.b("project_id");
    let pg_config = "/usr/bin/pg_config";
    let (st, inst) = call(
        &s,
        &token,
        "POST",
        &format!("/plugboard/v1/projects/{pid}/gaussdb/instances"),
        Some(
            &json!({"name": "pg", "host": "127.0.0.1", "port": 5432, "user": "postgres",
            "password": "", "database": "postgres",
            "install": {"mode": "local", "pg_config": pg_config}})
            .to_string(),
        ),
    )
    .await;
    assert_eq!(st, 201, "{inst}");
    let iid = inst["id"].as_str().unwrap();
    let install =
        |url: String| json!({"plugin_name": name, "url": url, "sha_256": sha}).to_string();
    let path = format!("/v3/{pid}/instances/{iid}/kernel-plugin");
    let started = Instant::now();
    let (st, job) = call(
        &s,
        &token,
        "POST",
        &path,
        Some(&install(format!("{slow}/{name}.tar.gz"))),
    )
    .await;
    assert!(st == 200 || st == 202, "{st} {job}");
    let job_id = job["job_id"].as_str().unwrap().to_string();
    // While it runs the instance is busy.
    let (st, busy) = call(
        &s,
        &token,
        "POST",
        &path,
        Some(&install(format!("{fast}/{name}.tar.gz"))),
    )
    .await;
    assert_eq!(st, 409, "{busy}");
    let done = wait_job(&s, &token, &pid, &job_id).await;
    assert_eq!(done["status"], "Failed", "{done}");
    let reason = done["fail_reason"].as_str().unwrap();
    assert!(
        reason.contains("below the minimum of 100 bytes/s")
            && reason.contains("download_min_bytes_per_second"),
        "{reason}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "failed only after {:?}: retried as transient?",
        started.elapsed()
    );
    let (st, second) = call(
        &s,
        &token,
        "POST",
        &path,
        Some(&install(format!("{fast}/{name}.tar.gz"))),
    )
    .await;
    assert!(
        st == 200 || st == 202,
        "the instance is free again: {st} {second}"
    );
}

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
