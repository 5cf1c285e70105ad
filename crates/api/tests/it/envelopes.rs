//! Every family's error envelope on the wire (spec/common.md → Error envelopes per family and
//! Authentication failures): the gateway's flat APIG body with the request id, GaussDB's and
//! ServiceStage's flat bodies, DBSS's and Keystone's nested ones, the admin API's flat
//! PLUGBOARD codes, ZStack REST's 503 and plain texts and ZStack RPC's error inside `result`.
//! Each answer carries `X-Request-Id`; JSON ones carry the vendor's content type.

use crate::helpers::App;
use axum::body::Body;
use axum::http::Request;
use serde_json::{json, Value};

const NO_INSTANCE: &str = "0123456789abcdef0123456789abcdef";

/// The gateway's body for `code`/`msg`, with the request id of `reply`.
fn apig(reply: &crate::helpers::Reply, code: &str, msg: &str) -> Value {
    json!({"error_code": code, "error_msg": msg, "request_id": reply.request_id()})
}

#[tokio::test]
async fn gateway_refusals_are_flat_apig_bodies_naming_the_request_id() {
    let app = App::with_config("[http]\nmax_body_bytes = 1024\n").await;
    let token = app.token().await;
    let instances = app.p("/v3/{p}/instances");

    let r = app.call("GET", "/no/such/api", None, None).await;
    let no_api = "The API does not exist or has not been published in the environment.";
    r.is(404, apig(&r, "APIG.0101", no_api));
    let r = app.call("DELETE", &instances, Some(&token), None).await;
    r.is(404, apig(&r, "APIG.0101", no_api));

    let r = app.call("GET", &instances, None, None).await;
    let auth = "Incorrect IAM authentication information: ";
    r.is(
        401,
        apig(&r, "APIG.0301", &format!("{auth}x-auth-token not found")),
    );
    let r = app.call("GET", &instances, Some("not-a-token"), None).await;
    r.is(
        401,
        apig(&r, "APIG.0301", &format!("{auth}decrypt token fail")),
    );

    let other = format!("/v3/{NO_INSTANCE}/instances");
    let r = app.call("GET", &other, Some(&token), None).await;
    let denied = "The IAM user is not authorized to access the API.";
    r.is(403, apig(&r, "APIG.0302", denied));

    let big = json!({"name": "x".repeat(2048)});
    let path = app.p("/v3/{p}/cas/environments");
    let r = app.call("POST", &path, Some(&token), Some(big)).await;
    r.is(413, apig(&r, "APIG.0201", "Request entity too large."));

    // Every answer has its own id.
    let a = app.call("GET", "/no/such/api", None, None).await;
    let b = app.call("GET", "/no/such/api", None, None).await;
    assert_ne!(a.request_id(), b.request_id());
}

/// Moved from the spawned-binary suite (crates/plugboard/tests/it/gateway.rs): no process needed.
#[tokio::test]
async fn unknown_route_and_wrong_method_are_apig_0101_with_request_id() {
    let app = App::new().await;
    let no_api = "The API does not exist or has not been published in the environment.";
    for (method, path) in [
        ("GET", "/v3/nope"),
        ("PATCH", "/v3/auth/tokens"),
        ("DELETE", "/healthz"),
    ] {
        let r = app.call(method, path, None, None).await;
        r.is(404, apig(&r, "APIG.0101", no_api));
    }
}

#[tokio::test]
async fn gaussdb_errors_are_flat_dbs_codes_in_the_language_asked_for() {
    let app = App::new().await;
    let token = app.token().await;
    let install = app.p(&format!("/v3/{{p}}/instances/{NO_INSTANCE}/kernel-plugin"));

    let r = app
        .call("POST", &install, Some(&token), Some(json!({})))
        .await;
    r.is(
        400,
        json!({"error_code": "DBS.200001",
            "error_msg": "Parameter error. missing field `plugin_name` at line 1 column 2"}),
    );
    let r = app
        .raw("POST", &install, &token, "application/json", "{not json")
        .await;
    r.is(
        400,
        json!({"error_code": "DBS.200001", "error_msg":
            "Parameter error. ?: malformed JSON: key must be a string at line 1 column 2"}),
    );
    let r = app
        .call("GET", &app.p("/v3/{p}/jobs?id=nope"), Some(&token), None)
        .await;
    r.is(
        400,
        json!({"error_code": "DBS.200001", "error_msg": "Parameter error. id `nope` is not a job id."}),
    );

    // X-Language: zh-cn gives the vendor's Chinese text for the same code.
    let request = Request::post(&install)
        .header("x-auth-token", &token)
        .header("x-language", "zh-cn")
        .header("content-type", "application/json")
        .body(Body::from("{}"))
        .expect("request");
    let r = app.send(request).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error_code"], "DBS.200001", "{}", r.body);
    let msg = r.body["error_msg"].as_str().expect("error_msg");
    assert!(msg.starts_with("参数错误。"), "{msg}");
    assert_eq!(r.body.as_object().map(|o| o.len()), Some(2), "{}", r.body);
}

#[tokio::test]
async fn dbss_errors_are_nested_dbss_codes() {
    let app = App::new().await;
    let token = app.token().await;
    let databases = app.p(&format!("/v2/{{p}}/audit/{NO_INSTANCE}/databases"));

    let r = app.call("GET", &databases, Some(&token), None).await;
    r.is(
        404,
        json!({"error": {"error_code": "DBSS.10021004",
            "error_msg": format!("The audit instance {NO_INSTANCE} does not exist.")}}),
    );
    let r = app
        .call("POST", &databases, Some(&token), Some(json!({})))
        .await;
    r.is(
        400,
        json!({"error": {"error_code": "DBSS.10000001",
            "error_msg": "Enter a valid request message: missing field `database` at line 1 column 2"}}),
    );
    let r = app
        .raw("POST", &databases, &token, "application/json", "{not json")
        .await;
    r.is(
        400,
        json!({"error": {"error_code": "DBSS.10000001", "error_msg":
            "Enter a valid request message: ?: malformed JSON: key must be a string at line 1 column 2"}}),
    );
}

#[tokio::test]
async fn servicestage_errors_are_flat_svcstg_codes() {
    let app = App::new().await;
    let token = app.token().await;
    let environments = app.p("/v3/{p}/cas/environments");

    let r = app
        .call("GET", &format!("{environments}/nope"), Some(&token), None)
        .await;
    r.is(
        404,
        json!({"error_code": "SVCSTG.00100411", "error_msg": "environment not found: nope"}),
    );
    let r = app
        .call("POST", &environments, Some(&token), Some(json!({})))
        .await;
    r.is(
        400,
        json!({"error_code": "SVCSTG.00100400", "error_msg": "parameter invalid: name is required"}),
    );
    let r = app
        .raw(
            "POST",
            &environments,
            &token,
            "application/json",
            "{not json",
        )
        .await;
    r.is(
        400,
        json!({"error_code": "SVCSTG.00100400", "error_msg":
            "parameter invalid: ?: malformed JSON: key must be a string at line 1 column 2"}),
    );
}

#[tokio::test]
async fn iam_errors_are_nested_keystone_bodies() {
    let app = App::new().await;
    let token = app.token().await;

    let wrong = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "domain": {"name": "plugboard"}, "name": "admin", "password": "wrong"}}}}});
    let r = app.call("POST", "/v3/auth/tokens", None, Some(wrong)).await;
    r.is(
        401,
        json!({"error": {"code": 401, "title": "Unauthorized",
            "message": "The request you have made requires authentication."}}),
    );
    let r = app
        .call("POST", "/v3/auth/tokens", None, Some(json!({})))
        .await;
    r.is(
        400,
        json!({"error": {"code": 400, "title": "Bad Request",
            "message": "missing field `auth` at line 1 column 2"}}),
    );
    let r = app.call("GET", "/v3/users/nope", Some(&token), None).await;
    r.is(
        400,
        json!({"error": {"code": 400, "title": "Bad Request",
            "message": "user_id `nope` is not a valid id (32 hex characters)."}}),
    );
    let r = app
        .raw(
            "POST",
            "/v3.0/OS-USER/users",
            &token,
            "application/json",
            "{not json",
        )
        .await;
    r.is(
        400,
        json!({"error": {"code": 400, "title": "Bad Request",
            "message": "?: malformed JSON: key must be a string at line 1 column 2"}}),
    );
}

#[tokio::test]
async fn admin_errors_are_flat_plugboard_codes() {
    let app = App::new().await;
    let token = app.token().await;
    let instances = app.p("/plugboard/v1/projects/{p}/gaussdb/instances");

    let r = app
        .call("GET", &format!("{instances}/nope"), Some(&token), None)
        .await;
    r.is(
        400,
        json!({"error_code": "PLUGBOARD.0400", "error_msg":
            "instance_id `nope` is not a GaussDB instance id (32 hex characters and `in14`)"}),
    );
    let r = app
        .call("POST", &instances, Some(&token), Some(json!({})))
        .await;
    r.is(
        400,
        json!({"error_code": "PLUGBOARD.0400", "error_msg": "missing field `name` at line 1 column 2"}),
    );
}

#[tokio::test]
async fn zstack_rest_errors_are_503_nested_or_the_rest_layers_plain_texts() {
    let app = App::new().await;
    let login = json!({"logInByAccount": {"accountName": "admin", "password": "x"}});
    let r = app
        .call("PUT", "/zstack/v1/accounts/login", None, Some(login))
        .await;
    r.is(
        503,
        json!({"error": {"code": "ID.1000", "description": "Authentication error",
            "details": "wrong account name or password"}}),
    );

    // What ZStack's REST layer answers in plain text, before any API runs.
    for (method, path, status, text) in [
        (
            "GET",
            "/zstack/v1/external/plugins",
            400,
            "missing header 'Authorization'",
        ),
        (
            "GET",
            "/zstack/v1/api-jobs/nope",
            404,
            "the job has been expired",
        ),
        (
            "GET",
            "/zstack/v1/nothing",
            404,
            "no api mapping to /v1/nothing",
        ),
        (
            "PUT",
            "/zstack/v1/api-jobs/nope",
            405,
            "only GET method is allowed for querying job status",
        ),
    ] {
        let r = app.call(method, path, None, None).await;
        r.is(status, Value::String(text.into()));
        assert_eq!(
            r.header("content-type"),
            Some("text/plain; charset=utf-8"),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn zstack_rpc_errors_are_replies_inside_result() {
    let app = App::new().await;
    let rpc = |body: Value| app.call("POST", "/zstack/api/", None, Some(body));

    let r = rpc(json!({"org.zstack.header.identity.APILogInByAccountMsg":
        {"accountName": "admin", "password": "x"}}))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["state"], "Done", "{}", r.body);
    let result: Value =
        serde_json::from_str(r.body["result"].as_str().expect("result is a JSON string"))
            .expect("result JSON");
    assert_eq!(
        result,
        json!({"org.zstack.header.identity.APILogInReply": {"success": false, "error": {
            "code": "ID.1000", "description": "Authentication error",
            "details": "wrong account name or password"}}})
    );

    let r = rpc(json!({"org.zstack.header.Nope": {}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let result: Value =
        serde_json::from_str(r.body["result"].as_str().expect("result")).expect("result JSON");
    assert_eq!(
        result,
        json!({"org.zstack.header.message.APIReply": {"success": false, "error": {
            "code": "SYS.1007", "description": "One or more API argument is invalid",
            "details": "no API named [org.zstack.header.Nope]: plugboard serves \
                APILogInByAccountMsg, APILogOutMsg, APIQueryPluginDriversMsg, \
                APIRefreshPluginDriversMsg and APIDeletePluginDriversMsg"}}})
    );
    r.request_id();
}
