//! Hostile and careless clients against the real binary (issue 9), at the API: metrics labels
//! that stay a closed set, NUL and non-UTF-8 text in query and path parameters, strict JSON, and
//! downloads that trickle.

#![allow(clippy::unwrap_used)]

use crate::common;

use common::{extension_package, status_json, Server};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

async fn call(
    s: &Server,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, Value) {
    let mut r = s.client.request(method.parse().unwrap(), s.url(path));
    // ZStack REST callers hold a session, the Huawei families' a token.
    r = match token.strip_prefix("zstack:") {
        Some(session) => r.header("authorization", format!("OAuth {session}")),
        None => r.header("x-auth-token", token),
    };
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
    let before = s.metrics().await;
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
    let after = s.metrics().await;
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
    let session = format!("zstack:{}", s.zstack_session().await);
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
        // ZStack answers every API failure with 503 (REST) or inside a 200 (RPC) [vendor].
        let expected = match op.family {
            plugboard_api::common::ops::Family::ZStack => 503,
            plugboard_api::common::ops::Family::ZStackRpc => 200,
            _ => 400,
        };
        let credential = if op.family == plugboard_api::common::ops::Family::ZStack {
            &session
        } else {
            &token
        };
        for (path, named) in paths {
            requests += 1;
            let (st, body) = call(&s, credential, method, &path, None).await;
            let text = body.to_string();
            if st != expected || !text.contains(&named) {
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
    let iid = s.simulated_gaussdb_instance(&token).await;
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
    let iid = s
        .register_gaussdb_instance(
            &token,
            json!({"name": "pg", "host": "127.0.0.1", "port": 5432, "user": "postgres",
                "password": "", "database": "postgres",
                "install": {"mode": "local", "pg_config": pg_config}}),
        )
        .await;
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
    let done = s.wait_gaussdb_job(&token, &job_id).await;
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
