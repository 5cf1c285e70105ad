//! Tests of [`super`] (client).

use super::*;

#[test]
fn signature_verifies_with_the_servers_verifier() {
    let url =
        Url::parse("http://127.0.0.1:8080/v2/p1/audit/i1/databases?limit=10&offset=0").unwrap();
    let date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static(CONTENT_TYPE));
    headers.insert("host", HeaderValue::from_static("127.0.0.1:8080"));
    headers.insert("x-project-id", HeaderValue::from_static("p1"));
    headers.insert("x-sdk-date", HeaderValue::from_str(&date).unwrap());
    let body = br#"{"id":"x","status":"ON"}"#;
    let value = authorization(&Method::POST, &url, &headers, body, "AK1", "SK1", &date).unwrap();
    headers.insert("authorization", HeaderValue::from_str(&value).unwrap());
    let parsed = signing::parse_authorization(&value).unwrap();
    let parts = RequestParts {
        method: "POST",
        path: url.path(),
        query: url.query(),
        headers: &headers,
        body,
    };
    let now = chrono::Utc::now();
    signing::verify(&parts, &parsed, b"SK1", now, chrono::Duration::minutes(15)).unwrap();
    assert!(signing::verify(&parts, &parsed, b"SK2", now, chrono::Duration::minutes(15)).is_err());
    let other = RequestParts {
        body: b"{}",
        ..parts
    };
    assert!(signing::verify(&other, &parsed, b"SK1", now, chrono::Duration::minutes(15)).is_err());
}

#[test]
fn envelopes() {
    let flat = api_error(
        401,
        r#"{"error_code":"APIG.0301","error_msg":"bad","request_id":"r"}"#,
    );
    assert_eq!(flat.to_string(), "APIG.0301: bad");
    let nested = api_error(
        400,
        r#"{"error":{"error_code":"DBSS.10000001","error_msg":"port"}}"#,
    );
    assert_eq!(nested.to_string(), "DBSS.10000001: port");
    let keystone = api_error(
        401,
        r#"{"error":{"code":401,"title":"Unauthorized","message":"nope"}}"#,
    );
    assert_eq!(keystone.to_string(), "401: nope");
    let other = api_error(502, "bad gateway");
    assert_eq!(other.to_string(), "HTTP 502: Bad Gateway: bad gateway");
    assert_eq!(
        api_error(503, "").to_string(),
        "HTTP 503: Service Unavailable"
    );
}

#[test]
fn segments_and_endpoints() {
    assert_eq!(encode("abc-_.~09"), "abc-_.~09");
    assert_eq!(path_id("id", "a/b c").unwrap(), "a%2Fb%20c");
    assert!(path_id("id", "..").is_err() && path_id("id", "").is_err());
    assert_eq!(
        normalize_endpoint("http://127.0.0.1:8080/").unwrap(),
        "http://127.0.0.1:8080"
    );
    assert!(normalize_endpoint("ftp://x").is_err());
    assert!(normalize_endpoint("127.0.0.1:8080").is_err());
    assert!(normalize_endpoint("http://x/?a=b").is_err());
}

#[test]
fn debug_hides_the_secret() {
    let c = Credentials {
        endpoint: "http://x".into(),
        access_key: "AK".into(),
        secret_key: "TOPSECRET".into(),
        project_id: "p".into(),
    };
    assert!(!format!("{c:?}").contains("TOPSECRET"));
}
