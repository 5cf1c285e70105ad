//! ZStack against hostile or careless clients (issue 17), on the real binary: `X-Job-UUID`
//! must be the vendor's UUID with '-' stripped (32 hexadecimal digits) and is compared in any
//! case; api-jobs that have not ended are capped per account; `q` values must fit their field's
//! type.

#![allow(clippy::unwrap_used)]

use crate::common;

use common::Server;
use serde_json::Value;

/// A REST call with the session; the status, the body as JSON (or a string when it is text).
async fn rest(
    s: &Server,
    method: &str,
    path: &str,
    sid: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = s.client.request(method.parse().unwrap(), s.url(path));
    if let Some(sid) = sid {
        r = r.header("authorization", format!("OAuth {sid}"));
    }
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn refresh() -> Option<Value> {
    Some(serde_json::json!({"refreshPluginDrivers": {"name": "simulated"}}))
}

#[tokio::test]
async fn x_job_uuid_is_32_hex_digits_in_any_case_and_results_poll_without_a_session() {
    let s = Server::start(None).await;
    let sid = s.zstack_session().await;
    let refused = "Invalid header[X-Job-UUID], it must be a UUID with '-' stripped";
    for bad in [
        "z".repeat(32),
        "0123456789abcdef0123456789abcdeg".to_string(),
        "01234567-89ab-cdef-0123-456789abcdef".to_string(),
    ] {
        let (status, body) = rest(
            &s,
            "PUT",
            "/zstack/v1/external/plugins",
            Some(&sid),
            &[("X-Job-UUID", &bad)],
            refresh(),
        )
        .await;
        assert_eq!((status, body.as_str()), (400, Some(refused)), "{bad}");
    }
    let upper = "0123456789ABCDEF0123456789ABCDEF";
    let lower = upper.to_ascii_lowercase();
    let (status, body) = rest(
        &s,
        "PUT",
        "/zstack/v1/external/plugins",
        Some(&sid),
        &[("X-Job-UUID", upper)],
        refresh(),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let location = body["location"].as_str().unwrap();
    assert!(
        location.ends_with(&format!("/zstack/v1/api-jobs/{lower}")),
        "{location}"
    );
    // The same uuid in the other case is the same job.
    let (status, body) = rest(
        &s,
        "PUT",
        "/zstack/v1/external/plugins",
        Some(&sid),
        &[("X-Job-UUID", &lower)],
        refresh(),
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (400, Some(format!("Duplicate job uuid[{lower}]").as_str()))
    );
    // Polled without a session (the vendor's clients do), in either case, until it ends.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (status, body) = rest(
            &s,
            "GET",
            &format!("/zstack/v1/api-jobs/{upper}"),
            None,
            &[],
            None,
        )
        .await;
        if status == 200 {
            assert_eq!(body, serde_json::json!({}));
            break;
        }
        assert_eq!(status, 202, "{body}");
        assert!(
            std::time::Instant::now() < deadline,
            "the api-job did not end"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (status, body) = rest(
        &s,
        "GET",
        &format!("/zstack/api/result/{upper}"),
        None,
        &[],
        None,
    )
    .await;
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("Done")),
        "{body}"
    );
}

#[tokio::test]
async fn api_jobs_that_have_not_ended_are_capped_per_account() {
    // This process runs no jobs: every api-job submitted stays queued.
    let s = Server::start(Some(
        "[jobs]\nmax_concurrent = 0\n[zstack]\nmax_api_jobs_per_account = 3\n",
    ))
    .await;
    let sid = s.zstack_session().await;
    for _ in 0..3 {
        let (status, body) = rest(
            &s,
            "PUT",
            "/zstack/v1/external/plugins",
            Some(&sid),
            &[],
            refresh(),
        )
        .await;
        assert_eq!(status, 202, "{body}");
    }
    let (status, body) = rest(
        &s,
        "PUT",
        "/zstack/v1/external/plugins",
        Some(&sid),
        &[],
        refresh(),
    )
    .await;
    assert_eq!(status, 503, "{body}");
    let error = &body["error"];
    assert_eq!(error["code"], "SYS.1006", "{body}");
    assert_eq!(error["description"], "Operation error", "{body}");
    let details = error["details"].as_str().unwrap();
    assert!(
        details.starts_with("Too many api-jobs: account[uuid:")
            && details.ends_with(
                "already has 3 that have not ended, the maximum is 3; wait for some to end"
            ),
        "{details}"
    );
    // The same account over RPC.
    let msg = "org.zstack.header.core.external.plugin.APIRefreshPluginDriversMsg";
    let (status, body) = rest(
        &s,
        "POST",
        "/zstack/api/",
        None,
        &[],
        Some(serde_json::json!({msg: {"session": {"uuid": sid}}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let result: Value = serde_json::from_str(body["result"].as_str().unwrap()).unwrap();
    let reply = result.as_object().unwrap().values().next().unwrap();
    assert_eq!(reply["success"], false, "{result}");
    assert_eq!(reply["error"]["code"], "SYS.1006", "{result}");
}

#[tokio::test]
async fn query_values_that_do_not_fit_their_fields_type_are_sys_1007_naming_the_field() {
    let s = Server::start(None).await;
    let sid = s.zstack_session().await;
    for (q, field) in [
        ("createDate%3Egarbage", "createDate"),
        ("version%3CNaN", "version"),
        ("deleted=maybe", "deleted"),
        ("lastOpDate?=2026-12-01%2000:00:00,soon", "lastOpDate"),
    ] {
        let (status, body) = rest(
            &s,
            "GET",
            &format!("/zstack/v1/external/plugins?q={q}"),
            Some(&sid),
            &[],
            None,
        )
        .await;
        assert_eq!(status, 503, "{q}: {body}");
        assert_eq!(body["error"]["code"], "SYS.1007", "{q}: {body}");
        let details = body["error"]["details"].as_str().unwrap();
        assert!(
            details.contains(&format!("field [{field}]")),
            "{q}: {details}"
        );
    }
    // Values that fit still select.
    let (status, body) = rest(
        &s,
        "GET",
        "/zstack/v1/external/plugins?q=createDate%3E2000-01-01%2000:00:00&q=deleted=FALSE&count=true",
        Some(&sid),
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["total"].as_u64().unwrap() >= 4, "{body}");
    // RPC: a condition whose value is an object.
    let msg = "org.zstack.header.core.external.plugin.APIQueryPluginDriversMsg";
    let (status, body) = rest(
        &s,
        "POST",
        "/zstack/api/",
        None,
        &[],
        Some(serde_json::json!({msg: {
            "conditions": [{"name": "name", "op": "=", "value": {"$ne": ""}}],
            "session": {"uuid": sid},
        }})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let result: Value = serde_json::from_str(body["result"].as_str().unwrap()).unwrap();
    let reply = result.as_object().unwrap().values().next().unwrap();
    assert_eq!(reply["success"], false, "{result}");
    assert_eq!(reply["error"]["code"], "SYS.1007", "{result}");
    let details = reply["error"]["details"].as_str().unwrap();
    assert!(details.contains("condition [name]"), "{details}");
}

/// A web-hook receiver on loopback: every request's `X-Job-UUID` and body are sent on the
/// channel; the first is never answered (its connection is kept open), the others get 200.
fn hook_receiver() -> (String, std::sync::mpsc::Receiver<(String, String)>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut job, mut length) = (String::new(), 0usize);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    match k.trim().to_ascii_lowercase().as_str() {
                        "x-job-uuid" => job = v.trim().to_string(),
                        "content-length" => length = v.trim().parse().unwrap_or(0),
                        _ => {}
                    }
                }
            }
            let mut body = vec![0u8; length];
            reader.read_exact(&mut body).ok();
            let first = held.is_empty();
            if tx
                .send((job, String::from_utf8_lossy(&body).into_owned()))
                .is_err()
            {
                return;
            }
            let mut stream = stream;
            if first {
                held.push(stream);
            } else {
                stream
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .ok();
            }
        }
    });
    (url, rx)
}

#[tokio::test]
async fn a_web_hook_cut_off_by_kill_9_is_delivered_again_with_the_same_x_job_uuid() {
    let (url, received) = hook_receiver();
    let mut s = Server::start(Some(
        "[network]\nallow_private = true\n[jobs]\nlease_seconds = 2\n",
    ))
    .await;
    let sid = s.zstack_session().await;
    let job = plugboard_core::ids::hex32();
    let (status, body) = rest(
        &s,
        "PUT",
        "/zstack/v1/external/plugins",
        Some(&sid),
        &[("X-Job-UUID", &job), ("X-Web-Hook", &url)],
        refresh(),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let wait = std::time::Duration::from_secs(40);
    let first = received.recv_timeout(wait).expect("the first delivery");
    // The receiver has the result but has not answered: the process dies (kill -9).
    let mut child = s.child.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    s.spawn().await;
    // The delivery job is taken over once its lease expires, and delivered again: the same
    // X-Job-UUID and the same body, so the receiver can keep the first and drop this one.
    let second = received.recv_timeout(wait).expect("delivered again");
    assert_eq!(first.0, job);
    assert_eq!(second, first);
    assert_eq!(
        serde_json::from_str::<Value>(&second.1).unwrap(),
        serde_json::json!({})
    );
}
