//! The gateway layer over the real binary: request ids, credentials, tokens, signatures,
//! project scoping, body limits and malformed input — exact status, code and body. Unknown
//! routes and wrong methods are pinned in process (crates/api/tests/it/envelopes.rs).

#![allow(clippy::unwrap_used)]

use crate::common;

use common::{sign_at, status_json, Server};
use serde_json::json;

fn is_hex32(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

#[tokio::test]
async fn missing_bad_and_expired_credentials() {
    let s = Server::start(Some("[iam]\ntoken_ttl_seconds = 1\n")).await;
    let path = "/v3/auth/projects";
    let (st, body) = s.get_anonymous(path).await;
    assert_eq!(st, 401);
    assert_eq!(body["error_code"], "APIG.0301");
    assert_eq!(
        body["error_msg"],
        "Incorrect IAM authentication information: x-auth-token not found"
    );
    assert!(is_hex32(body["request_id"].as_str().unwrap()));

    let (st, body) = status_json(
        s.client
            .get(s.url(path))
            .header("x-auth-token", "x".repeat(64))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 401);
    assert_eq!(
        body["error_msg"],
        "Incorrect IAM authentication information: decrypt token fail"
    );

    let token = s.admin_token().await;
    let r = s
        .client
        .get(s.url(path))
        .header("x-auth-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    let (st, body) = s.get(&token, path).await;
    assert_eq!(st, 401);
    assert_eq!(body["error_code"], "APIG.0307");
    assert_eq!(body["error_msg"], "The token must be updated.");
}

#[tokio::test]
async fn revoked_token_is_refused() {
    let s = Server::start(None).await;
    let token = s.admin_token().await;
    let other = s.admin_token().await;
    let r = s.subject_token("DELETE", &other, &token).await;
    assert_eq!(r.status(), 204);
    let (st, body) = s.get(&token, "/v3/auth/projects").await;
    assert_eq!((st, body["error_code"].as_str()), (401, Some("APIG.0307")));
    // The other token is untouched: a new token does not revoke older ones and vice versa.
    let r = s
        .client
        .get(s.url("/v3/auth/projects"))
        .header("x-auth-token", &other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn signatures_verify_and_tampering_fails_and_lockout() {
    let s = Server::start(Some(
        "[iam]\nak_lockout_threshold = 3\nak_lockout_seconds = 60\n",
    ))
    .await;
    let pid = s.b("project_id");
    let path = format!("/v3/{pid}/instances/kernel-plugins");
    let (st, body) = status_json(s.admin_signed("GET", &path, b"").send().await.unwrap()).await;
    assert_eq!((st, body), (200, json!(["postgis"])));

    // Unknown AK.
    let (st, body) = status_json(
        s.signed("GET", &path, b"", "AAAAAAAAAAAAAAAAAAAA", "x", Some(&pid))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 401);
    assert_eq!(
        body["error_msg"],
        "Incorrect IAM authentication information: Get secretKey failed"
    );

    // Clock skew beyond 15 minutes.
    let old = (chrono::Utc::now() - chrono::Duration::minutes(16))
        .format("%Y%m%dT%H%M%SZ")
        .to_string();
    let (st, body) = status_json(
        sign_at(
            &s.client,
            &s.base,
            "GET",
            &path,
            b"",
            &s.b("access_key"),
            &s.b("secret_key"),
            Some(&pid),
            &old,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!((st, body["error_code"].as_str()), (401, Some("APIG.0301")));

    // Wrong secret: refused, with the server's canonical request as a debugging aid.
    let (st, body) = status_json(
        s.signed(
            "GET",
            &path,
            b"",
            &s.b("access_key"),
            "wrongsecret",
            Some(&pid),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(st, 401);
    let msg = body["error_msg"].as_str().unwrap();
    assert!(
        msg.starts_with("Incorrect IAM authentication information: verify aksk signature fail"),
        "{msg}"
    );
    assert!(msg.contains(&format!("GET|{path}/|")), "{msg}");

    // Third consecutive failure locks the key: even a good signature is refused now.
    let _ = s
        .signed(
            "GET",
            &path,
            b"",
            &s.b("access_key"),
            "wrongsecret",
            Some(&pid),
        )
        .send()
        .await
        .unwrap();
    let (st, body) = status_json(s.admin_signed("GET", &path, b"").send().await.unwrap()).await;
    assert_eq!(st, 401);
    assert_eq!(
        body["error_msg"],
        "Incorrect IAM authentication information: Get secretKey failed"
    );
}

#[tokio::test]
async fn body_is_hashed_raw_and_tampered_body_fails() {
    let s = Server::start(None).await;
    let body = br#"{"group": {"name": "ops",   "description": "spaces kept"}}"#;
    let req = s.admin_signed("POST", "/v3/groups", body).build().unwrap();
    let (st, _) = status_json(s.client.execute(req).await.unwrap()).await;
    assert_eq!(st, 201, "raw body with odd spacing verifies");
    let mut req = s
        .admin_signed("POST", "/v3/groups", br#"{"group": {"name": "ops2"}}"#)
        .build()
        .unwrap();
    *req.body_mut() = Some(br#"{"group": {"name": "ops3"}}"#.to_vec().into());
    let (st, body) = status_json(s.client.execute(req).await.unwrap()).await;
    assert_eq!((st, body["error_code"].as_str()), (401, Some("APIG.0301")));
}

#[tokio::test]
async fn project_scoping() {
    let s = Server::start(None).await;
    let token = s.admin_token().await;
    let other = plugboard_core::ids::hex32();
    // A path for a project that is not the caller's.
    let (st, body) = s
        .get(&token, &format!("/v3/{other}/instances/kernel-plugins"))
        .await;
    assert_eq!(st, 403);
    assert_eq!(body["error_code"], "APIG.0302");
    assert_eq!(
        body["error_msg"],
        "The IAM user is not authorized to access the API."
    );
    // X-Project-Id must match the path.
    let pid = s.b("project_id");
    let (st, _) = status_json(
        s.client
            .get(s.url(&format!("/v3/{pid}/instances/kernel-plugins")))
            .header("x-auth-token", &token)
            .header("x-project-id", &other)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 403);
    // A malformed project id is a 400 in the family's (GaussDB) envelope.
    let (st, body) = s
        .get(&token, "/v3/not-a-project/instances/kernel-plugins")
        .await;
    assert_eq!(st, 400);
    assert_eq!(body["error_code"], "DBS.200001");
    // A project created later in the domain: a token for the first project cannot act there.
    let (st, created) = s
        .create_project(&token, json!({"project": {"name": "local_two"}}))
        .await;
    assert_eq!(st, 201);
    let two = created["project"]["id"].as_str().unwrap();
    let (st, _) = s
        .get(&token, &format!("/v3/{two}/instances/kernel-plugins"))
        .await;
    assert_eq!(st, 403);
    // The admin's AK/SK (domain-wide role) may act in both.
    let (st, _) = status_json(
        s.signed(
            "GET",
            &format!("/v3/{two}/instances/kernel-plugins"),
            b"",
            &s.b("access_key"),
            &s.b("secret_key"),
            Some(two),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(st, 200);
}

#[tokio::test]
async fn oversized_and_malformed_bodies() {
    let s = Server::start(Some("[http]\nmax_body_bytes = 2048\n")).await;
    let token = s.admin_token().await;
    let big = format!(
        "{{\"group\": {{\"name\": \"x\", \"description\": \"{}\"}}}}",
        "a".repeat(4096)
    );
    let (st, body) = status_json(
        s.client
            .post(s.url("/v3/groups"))
            .header("x-auth-token", &token)
            .header("content-type", "application/json")
            .body(big)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 413);
    assert_eq!(body["error_code"], "APIG.0201");
    assert_eq!(body["error_msg"], "Request entity too large.");

    // the same without a Content-Length: a chunked body is cut off at the limit too
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = s.base.trim_start_matches("http://").to_string();
        let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "POST /v3/groups HTTP/1.1\r\nHost: {addr}\r\nX-Auth-Token: {token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        );
        conn.write_all(head.as_bytes()).await.unwrap();
        let chunk = format!("400\r\n{}\r\n", "a".repeat(0x400));
        for _ in 0..8 {
            if conn.write_all(chunk.as_bytes()).await.is_err() {
                break; // the server may answer and close before the rest
            }
        }
        conn.write_all(b"0\r\n\r\n").await.ok();
        let mut answer = Vec::new();
        tokio::time::timeout(
            std::time::Duration::from_secs(10),
            conn.read_to_end(&mut answer),
        )
        .await
        .expect("an answer")
        .ok();
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(answer.contains("\"APIG.0201\""), "{answer}");
    }

    let cases: &[(&str, &str, &str)] = &[
        ("{\"group\": ", "application/json", "malformed JSON"),
        (
            "{\"group\": {\"name\": 5}}",
            "application/json",
            "group.name: invalid type: integer `5`, expected a string",
        ),
        (
            "{\"group\": {}}",
            "application/json",
            "group: missing field `name`",
        ),
        (
            "name=x",
            "application/x-www-form-urlencoded",
            "Content-Type must be application/json",
        ),
        ("", "application/json", "The request is null"),
    ];
    for (body_text, ctype, expect) in cases {
        let (st, body) = status_json(
            s.client
                .post(s.url("/v3/groups"))
                .header("x-auth-token", &token)
                .header("content-type", *ctype)
                .body(body_text.to_string())
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(st, 400, "{body_text}");
        assert_eq!(body["error"]["code"], 400);
        assert_eq!(body["error"]["title"], "Bad Request");
        let msg = body["error"]["message"].as_str().unwrap();
        assert!(msg.contains(expect), "{body_text}: {msg}");
    }
    // Nothing was created by any of them.
    let (_, groups) = s.get(&token, "/v3/groups").await;
    assert_eq!(groups["groups"].as_array().unwrap().len(), 1, "{groups}");
}

#[tokio::test]
async fn openapi_lists_every_route_and_every_listed_route_exists() {
    let s = Server::start(None).await;
    let (st, doc) = s.get_anonymous("/openapi.json").await;
    assert_eq!(st, 200);
    let paths = doc["paths"].as_object().unwrap();
    let ops = plugboard_api::routing::operations();
    assert_eq!(
        paths
            .values()
            .map(|p| p.as_object().unwrap().len())
            .sum::<usize>(),
        ops.len()
    );
    for op in &ops {
        let item = &paths[op.path];
        let method = op.method.as_str().to_lowercase();
        assert_eq!(
            item[&method]["operationId"], op.name,
            "{} {}",
            op.method, op.path
        );
    }
    // Every documented operation is routed: none answers APIG.0101.
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let concrete = path
                .split('/')
                .map(|seg| {
                    if seg.starts_with('{') {
                        "0123456789abcdef0123456789abcdef"
                    } else {
                        seg
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            let r = s
                .client
                .request(method.to_uppercase().parse().unwrap(), s.url(&concrete))
                .send()
                .await
                .unwrap();
            let (_, body) = status_json(r).await;
            assert_ne!(
                body.get("error_code").and_then(|c| c.as_str()),
                Some("APIG.0101"),
                "{method} {path}"
            );
        }
    }
}
