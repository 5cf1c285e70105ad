//! `/openapi.json` against the router, over the real binary: every routed operation is in the
//! document with its method, path, path parameters, security, success answer (with its
//! schema) and error answers, every `$ref` resolves, and the operations that read a JSON body
//! (found by sending each route a body that is not JSON) are exactly those with a requestBody.

#![allow(clippy::unwrap_used)]

use crate::common;

use common::{status_json, Server};
use plugboard_api::common::ops::{Access, Family};
use plugboard_api::system::{path_parameters, SIGNATURE_SCHEME, TOKEN_SCHEME};
use serde_json::Value;
use std::collections::BTreeSet;

/// Every `$ref` in `v`.
fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// The schema names a response's JSON schema refers to (directly or through anyOf).
fn schema_names(response: &Value) -> BTreeSet<String> {
    let mut out = Vec::new();
    refs(&response["content"]["application/json"]["schema"], &mut out);
    out.into_iter()
        .map(|r| r.trim_start_matches("#/components/schemas/").to_string())
        .collect()
}

#[tokio::test]
async fn the_document_describes_every_routed_operation_completely() {
    let s = Server::start(None).await;
    let (st, doc) = s.get_anonymous("/openapi.json").await;
    assert_eq!(st, 200);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );

    let schemes = &doc["components"]["securitySchemes"];
    for (scheme, header) in [
        (TOKEN_SCHEME, "X-Auth-Token"),
        (SIGNATURE_SCHEME, "Authorization"),
    ] {
        assert_eq!(schemes[scheme]["type"], "apiKey", "{scheme}");
        assert_eq!(schemes[scheme]["in"], "header", "{scheme}");
        assert_eq!(schemes[scheme]["name"], header, "{scheme}");
    }
    assert!(schemes[SIGNATURE_SCHEME]["description"]
        .as_str()
        .unwrap()
        .contains("SDK-HMAC-SHA256"));

    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut all_refs = Vec::new();
    refs(&doc, &mut all_refs);
    assert!(!all_refs.is_empty());
    for r in all_refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{r} is not a schema reference"));
        assert!(schemas.contains_key(name), "{r} does not resolve");
    }

    let ops = plugboard_api::routing::operations();
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert_eq!(documented, ops.len(), "one documented operation per route");
    for op in &ops {
        let what = format!("{} {}", op.method, op.path);
        let item = &doc["paths"][op.path][op.method.as_str().to_lowercase()];
        assert_eq!(item["operationId"], op.name, "{what}");

        // Path parameters: exactly the route's, each required.
        let empty = Vec::new();
        let params = item["parameters"].as_array().unwrap_or(&empty);
        let declared: BTreeSet<&str> = params
            .iter()
            .filter(|p| p["in"] == "path")
            .map(|p| {
                assert_eq!(p["required"], true, "{what}: {p}");
                p["name"].as_str().unwrap()
            })
            .collect();
        let routed: BTreeSet<&str> = path_parameters(op.path).into_iter().collect();
        assert_eq!(declared, routed, "{what}: path parameters");
        for p in params {
            assert!(
                p["schema"].is_object(),
                "{what}: parameter without schema {p}"
            );
        }

        // Security: none for public operations, a token or a signature for the others.
        let security = item["security"].as_array().unwrap();
        if op.access == Access::Public {
            assert!(security.is_empty(), "{what}: {security:?}");
        } else {
            let names: BTreeSet<&str> = security
                .iter()
                .flat_map(|r| r.as_object().unwrap().keys().map(String::as_str))
                .collect();
            assert_eq!(
                names,
                BTreeSet::from([TOKEN_SCHEME, SIGNATURE_SCHEME]),
                "{what}"
            );
        }

        // The success answer, with its schema unless it is documented as bodiless.
        let responses = item["responses"].as_object().unwrap();
        let success: Vec<(&String, &Value)> = responses
            .iter()
            .filter(|(s, _)| s.starts_with('2'))
            .collect();
        // ZStack's api-job poll answers 202 while the job runs, 200 once it is done.
        let successes = if op.name == "QueryApiJob" { 2 } else { 1 };
        assert_eq!(
            success.len(),
            successes,
            "{what}: {successes} success answer(s): {responses:?}"
        );
        let (status, answer) = success[successes - 1];
        match answer.get("content") {
            Some(content) => {
                let content = content.as_object().unwrap();
                assert!(!content.is_empty(), "{what}");
                for (media, c) in content {
                    assert!(c["schema"].is_object(), "{what}: {media} without schema");
                }
            }
            None => assert!(
                status == "204" || answer["description"].as_str().unwrap().contains("no body"),
                "{what}: success {status} without a schema"
            ),
        }
        assert!(answer["headers"]["X-Request-Id"].is_object(), "{what}");

        // The error answers, in the right envelopes.
        let family_envelope = match op.family {
            Family::Iam => "KeystoneErrorBody",
            Family::Dbss => "NestedErrorBody",
            _ => "FlatErrorBody",
        };
        let zstack = matches!(op.family, Family::ZStack | Family::ZStackRpc);
        if op.family == Family::ZStack {
            // ZStack REST answers every API failure with 503; RPC inside its 200.
            assert!(
                schema_names(&responses["503"]).contains("ZStackErrorBody"),
                "{what}: 503 in ZStackErrorBody"
            );
        }
        // ZStack's REST layer refuses in plain text (a bad X-Job-UUID on any call, a missing
        // Authorization...); an unknown or expired api-job is a plain-text 404.
        let text =
            |status: &str| responses[status]["content"]["text/plain"]["schema"]["type"] == "string";
        if op.family == Family::ZStack && op.name != "QueryApiJob" {
            assert!(text("400"), "{what}: 400 in plain text");
        }
        if ["QueryApiJob", "GetRpcResult", "DeletePluginDrivers"].contains(&op.name) {
            assert!(text("404"), "{what}: 404 in plain text");
        }
        if op.family != Family::System && !zstack {
            for status in ["400", "500"] {
                assert!(
                    schema_names(&responses[status]).contains(family_envelope),
                    "{what}: {status} in {family_envelope}"
                );
            }
        }
        if op.access != Access::Public && !zstack {
            for status in ["401", "403", "413"] {
                assert!(
                    schema_names(&responses[status]).contains("GatewayErrorBody"),
                    "{what}: {status} in the gateway envelope"
                );
            }
        }
    }
}

#[tokio::test]
async fn exactly_the_operations_that_read_a_json_body_document_one() {
    let s = Server::start(None).await;
    let token = s.admin_token().await;
    let session = s.zstack_session().await;
    let project = s.b("project_id");
    let (_, doc) = s.get_anonymous("/openapi.json").await;
    let mut reading = 0;
    for op in plugboard_api::routing::operations() {
        let what = format!("{} {}", op.method, op.path);
        let path = op
            .path
            .split('/')
            .map(|seg| match seg {
                "{project_id}" => project.as_str(),
                s if s.starts_with('{') => "0123456789abcdef0123456789abcdef",
                s => s,
            })
            .collect::<Vec<_>>()
            .join("/");
        let r = s.client.request(op.method.clone(), s.url(&path));
        // ZStack REST callers hold a session, the Huawei families' a token.
        let r = if op.family == Family::ZStack {
            r.header("authorization", format!("OAuth {session}"))
        } else {
            r.header("x-auth-token", &token)
        };
        let r = r
            .header("content-type", "text/plain")
            .body("not JSON")
            .send()
            .await
            .unwrap();
        let (status, body) = status_json(r).await;
        assert_ne!(body["error_code"], "APIG.0101", "{what} is not routed");
        // ZStack refuses with 503 (REST) or inside a 200 (RPC), like all its failures.
        let refused = match op.family {
            Family::ZStack => 503,
            Family::ZStackRpc => 200,
            _ => 400,
        };
        let reads_json = status == refused
            && body
                .to_string()
                .contains("Content-Type must be application/json");
        let item = &doc["paths"][op.path][op.method.as_str().to_lowercase()];
        let schema = &item["requestBody"]["content"]["application/json"]["schema"];
        if reads_json {
            reading += 1;
            assert!(
                schema.is_object(),
                "{what} reads a JSON body but documents none"
            );
            assert_eq!(item["requestBody"]["required"], true, "{what}");
        } else {
            assert!(
                item.get("requestBody").is_none(),
                "{what} documents a body it does not read ({status} {body})"
            );
        }
    }
    assert!(reading >= 10, "only {reading} operations read a body");
}

#[tokio::test]
async fn every_write_documents_its_request_body_or_says_it_takes_none() {
    let s = Server::start(None).await;
    let (_, doc) = s.get_anonymous("/openapi.json").await;
    let mut writes = 0;
    let mut bodyless = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if !["post", "put", "patch"].contains(&method.as_str()) {
                continue;
            }
            writes += 1;
            let id = op["operationId"].as_str().unwrap().to_string();
            let schema = &op["requestBody"]["content"]["application/json"]["schema"];
            if schema.is_object() {
                assert_eq!(op.get("x-request-body"), None, "{id}");
                continue;
            }
            assert!(op.get("requestBody").is_none(), "{method} {path}: {op}");
            assert_eq!(
                op["x-request-body"], "none",
                "{method} {path} documents no body"
            );
            assert!(
                op["description"]
                    .as_str()
                    .unwrap()
                    .ends_with("Takes no request body (a body sent is ignored)."),
                "{id}"
            );
            bodyless.push(id);
        }
    }
    // 28 before the DBSS audit operations (docs/dbss-audit.md), which add 30, and 8 more for
    // its statistics (the six trends and the two session breakdowns).
    assert_eq!(writes, 66);
    // The writes that take no body (the vendor's Keystone PUTs, the admin refresh, and DBSS's
    // SetAuditAlarmLogStatus); that none of them reads one is pinned above.
    bodyless.sort();
    assert_eq!(
        bodyless,
        [
            "KeystoneAddUserToGroup",
            "KeystoneAssociateGroupWithDomainPermission",
            "KeystoneAssociateGroupWithProjectPermission",
            "RefreshDrivers",
            "SetAuditAlarmLogStatus"
        ]
    );
}

// -- what the schemathesis stage found -------------------------------------------------------

#[tokio::test]
async fn a_page_past_the_end_is_empty_whatever_its_number() {
    let s = Server::start(None).await;
    let token = s.admin_token().await;
    for (path, list) in [("/v3/projects", "projects"), ("/v3/roles", "roles")] {
        for page in ["2147483648", "4294967295"] {
            let r = s
                .client
                .get(s.url(&format!("{path}?page={page}&per_page=5000")))
                .header("x-auth-token", &token)
                .send()
                .await
                .unwrap();
            let (status, body) = status_json(r).await;
            assert_eq!(status, 200, "{path}?page={page}: {body}");
            assert_eq!(body[list], serde_json::json!([]), "{path}?page={page}");
        }
    }
}

#[tokio::test]
async fn an_array_where_an_object_belongs_is_a_400_naming_it() {
    let s = Server::start(None).await;
    let token = s.admin_token().await;
    let user = s.b("user_id");
    for (method, path, body, field) in [
        (
            "PUT",
            format!("/v3.0/OS-USER/users/{user}"),
            r#"{"user": [null, null]}"#,
            "user",
        ),
        ("POST", "/v3/groups".to_string(), r#"[{"name": "g"}]"#, "."),
        (
            "POST",
            "/v3/groups".to_string(),
            r#"{"group": ["g", null, null]}"#,
            "group",
        ),
    ] {
        let r = s
            .client
            .request(method.parse().unwrap(), s.url(&path))
            .header("x-auth-token", &token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let (status, reply) = status_json(r).await;
        assert_eq!(status, 400, "{method} {path} {body}: {reply}");
        assert_eq!(
            reply["error"]["message"],
            format!("{field}: invalid type: sequence, expected an object"),
            "{method} {path} {body}"
        );
    }
    // Nothing was created.
    let r = s
        .client
        .get(s.url("/v3/groups"))
        .header("x-auth-token", &token)
        .send()
        .await
        .unwrap();
    let (_, groups) = status_json(r).await;
    assert!(
        groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["name"] != "g"),
        "{groups}"
    );
}

/// `GET /` from a browser (its `Accept` names `text/html`): 303 to the console, which answers.
#[tokio::test]
async fn the_root_sends_a_browser_to_the_console() {
    let s = Server::start(None).await;
    let no_follow = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_follow
        .get(s.url("/"))
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/console/");
    let page = no_follow.get(s.url("/console/")).send().await.unwrap();
    assert!(
        page.status().is_success() || page.status().is_redirection(),
        "{}",
        page.status()
    );
}

/// `GET /`: the short index (docs/api-coverage.md → System), pinned: its keys, every family
/// once, each family's operation count equal to the document's operations of that tag, and
/// every listed prefix starting at least one documented path of the family.
#[tokio::test]
async fn the_root_answers_a_short_index_of_the_families_and_the_document() {
    let s = Server::start(None).await;
    let r = s.client.get(s.url("/")).send().await.unwrap();
    assert_eq!(
        r.headers()["content-type"],
        "application/json;charset=UTF-8"
    );
    let (st, index) = status_json(r).await;
    assert_eq!(st, 200, "{index}");
    let keys: Vec<&str> = index
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["console", "families", "name", "openapi", "version"],
        "{index}"
    );
    assert_eq!(index["console"], "/console/");
    assert_eq!(index["name"], "plugboard");
    assert_eq!(index["openapi"], "/openapi.json");
    assert_eq!(index["version"], env!("CARGO_PKG_VERSION"));

    let (_, doc) = s.get_anonymous("/openapi.json").await;
    // (tag, path) of every documented operation
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (_, op) in item.as_object().unwrap() {
            if let Some(tag) = op["tags"][0].as_str() {
                documented.push((tag.to_string(), path.clone()));
            }
        }
    }
    let families = index["families"].as_array().unwrap();
    let names: Vec<&str> = families
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "admin",
            "dbss",
            "gaussdb",
            "iam",
            "servicestage",
            "system",
            "zstack"
        ]
    );
    for family in families {
        let name = family["name"].as_str().unwrap();
        let keys: Vec<&str> = family
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["docs", "name", "operations", "paths"], "{family}");
        assert!(family["docs"]
            .as_str()
            .unwrap()
            .starts_with("docs/api-coverage.md#"));
        let mine: Vec<&String> = documented
            .iter()
            .filter(|(tag, _)| tag == name)
            .map(|(_, p)| p)
            .collect();
        assert_eq!(family["operations"], mine.len(), "{name}");
        let paths = family["paths"].as_array().unwrap();
        assert!(!paths.is_empty(), "{name}");
        for prefix in paths {
            let prefix = prefix.as_str().unwrap();
            assert!(
                mine.iter().any(|p| p.starts_with(prefix)),
                "{name}: {prefix} starts none of {mine:?}"
            );
        }
    }
    let iam = &families[3]["paths"];
    for expected in ["/v3/auth/tokens", "/v3/users", "/v3.0/OS-USER/users"] {
        assert!(
            iam.as_array().unwrap().iter().any(|p| p == expected),
            "{iam}"
        );
    }
    let system = &families[5]["paths"];
    assert_eq!(
        system,
        &serde_json::json!(["/", "/healthz", "/metrics", "/openapi.json", "/readyz"])
    );
}
