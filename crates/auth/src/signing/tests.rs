//! Tests of [`super`] (signing).

use super::*;
use http::{HeaderName, HeaderValue};

fn headers(list: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in list {
        map.append(
            HeaderName::from_bytes(k.as_bytes()).expect("name"),
            HeaderValue::from_str(v).expect("value"),
        );
    }
    map
}

#[test]
fn parses_the_sdk_header() {
    let a = parse_authorization(
        "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host;x-sdk-date, Signature=\
         4172a9a71dd5ac5b89d2fb9d06afd786d986361fd2e68224c8a3960cd3478fba",
    )
    .expect("parses");
    assert_eq!(a.access, "AK1");
    assert_eq!(
        a.signed_headers().collect::<Vec<_>>(),
        ["host", "x-sdk-date"]
    );
    assert_eq!(a.signed_headers_raw, "host;x-sdk-date");
    assert_eq!(&a.signature[..8], "4172a9a7");
}

#[test]
fn refuses_bad_authorization_headers() {
    let sig = "0".repeat(64);
    let cases = [
        format!("SDK-HMAC-SM3 Access=A, SignedHeaders=host, Signature={sig}"),
        format!("V11-HMAC-SHA256 Access=A, SignedHeaders=host, Signature={sig}"),
        "SDK-HMAC-SHA256".to_string(),
        format!("SDK-HMAC-SHA256 SignedHeaders=host, Signature={sig}"),
        "SDK-HMAC-SHA256 Access=A, SignedHeaders=host".to_string(),
        format!("SDK-HMAC-SHA256 Access=A, Signature={sig}"),
        format!("SDK-HMAC-SHA256 Access=, SignedHeaders=host, Signature={sig}"),
        format!("SDK-HMAC-SHA256 Access=A, SignedHeaders=host;;x, Signature={sig}"),
        format!("SDK-HMAC-SHA256 Access=A, SignedHeaders=, Signature={sig}"),
        "SDK-HMAC-SHA256 Access=A, SignedHeaders=host, Signature=abc".to_string(),
        format!("SDK-HMAC-SHA256 Access=A, Access=B, SignedHeaders=host, Signature={sig}"),
        format!("SDK-HMAC-SHA256 Access=A, SignedHeaders=host, Signature={sig}, X=1"),
        format!("SDK-HMAC-SHA256 Access=A, SignedHeaders=host, Signature={sig}, junk"),
    ];
    for c in &cases {
        assert!(parse_authorization(c).is_err(), "accepted {c:?}");
    }
    assert!(matches!(
        parse_authorization(&cases[0]),
        Err(SigningError::UnsupportedAlgorithm(a)) if a == "SDK-HMAC-SM3"
    ));
}

#[test]
fn parses_dates_strictly() {
    let t = parse_sdk_date("20261122T052558Z").expect("valid");
    assert_eq!(t.to_rfc3339(), "2026-11-22T05:25:58+00:00");
    for bad in [
        "",
        "20261122T052558",
        "20261122 052558Z",
        "2026-11-22T05:25:58Z",
        "20261322T052558Z",
        "20261122T252558Z",
        "+2026112T052558Z",
        "20261122T05255Z",
        "20261122T0525580Z",
    ] {
        assert!(parse_sdk_date(bad).is_err(), "accepted {bad:?}");
    }
}

#[test]
fn reads_dates_as_chronos_format_parser_does() {
    // The digits are read by hand; chrono's `%Y%m%dT%H%M%SZ` is the reference.
    for value in [
        "20261122T052558Z",
        "20000229T000000Z",
        "20010229T000000Z",
        "20261231T235959Z",
        "20261231T235960Z",
        "20261122T056000Z",
        "20261122T240000Z",
        "20260001T000000Z",
        "20261100T000000Z",
        "20261131T000000Z",
        "00000101T000000Z",
        "99991231T235959Z",
    ] {
        let reference = chrono::NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%SZ")
            .map(|t| t.and_utc())
            .ok();
        assert_eq!(parse_sdk_date(value).ok(), reference, "{value}");
    }
}

#[test]
fn canonical_uri_rules() {
    assert_eq!(canonical_uri(""), "/");
    assert_eq!(canonical_uri("/"), "/");
    assert_eq!(canonical_uri("/v3/p/jobs"), "/v3/p/jobs/");
    assert_eq!(canonical_uri("/v3/p/jobs/"), "/v3/p/jobs/");
    assert_eq!(canonical_uri("/a%20b/c+d/%7e*"), "/a%20b/c%2Bd/~%2A/");
    // An encoded slash becomes a separator after decoding, as in the SDK.
    assert_eq!(canonical_uri("/a%2Fb"), "/a/b/");
    assert_eq!(canonical_uri("/%e4%b8%ad"), "/%E4%B8%AD/");
    assert_eq!(canonical_uri("/\u{4e2d}"), "/%E4%B8%AD/");
    // A broken escape stays literal, and its '%' is then encoded.
    assert_eq!(canonical_uri("/a%zz"), "/a%25zz/");
}

#[test]
fn canonical_query_rules() {
    assert_eq!(canonical_query(""), "");
    assert_eq!(
        canonical_query("offset=0&limit=10&name=dev%20env%2A"),
        "limit=10&name=dev%20env%2A&offset=0"
    );
    // `+` is a space; `%2B` is a plus.
    assert_eq!(canonical_query("q=a+b"), "q=a%20b");
    assert_eq!(canonical_query("q=a%2Bb"), "q=a%2Bb");
    // Same key: sorted by value; no '=' is an empty value; empty pieces are ignored.
    assert_eq!(canonical_query("k=b&k=a&&flag"), "flag=&k=a&k=b");
    // Only the first '=' splits.
    assert_eq!(canonical_query("k=a=b"), "k=a%3Db");
    // Sorting is on decoded bytes: '-' (0x2D) sorts before '/' (0x2F) even though the
    // encoded "%2F" would sort first.
    assert_eq!(canonical_query("a%2F=1&a-=2"), "a-=2&a%2F=1");
    // Lower-case escapes are normalised.
    assert_eq!(canonical_query("k=%e4%b8%ad"), "k=%E4%B8%AD");
}

fn sample_request_headers(body_hash: Option<&str>) -> HeaderMap {
    let mut list = vec![
        ("Host", "127.0.0.1:8080"),
        ("X-Sdk-Date", "20261122T051800Z"),
        ("Content-Type", "application/json"),
    ];
    if let Some(h) = body_hash {
        list.push(("X-Sdk-Content-Sha256", h));
    }
    headers(&list)
}

fn sign(req: &RequestParts<'_>, signed: &str, sk: &[u8]) -> Authorization<'static> {
    let mut auth = Authorization {
        access: "AK".into(),
        signed_headers_raw: signed.to_string().into(),
        signature: "".into(),
    };
    let cr = canonical_request(req, &auth).expect("canonical");
    auth.signature = compute_signature(sk, &string_to_sign("20261122T051800Z", &cr)).into();
    auth
}

#[test]
fn canonical_request_layout() {
    let h = sample_request_headers(None);
    let req = RequestParts {
        method: "get",
        path: "/v3/projects",
        query: Some("name=cn-north-4"),
        headers: &h,
        body: b"",
    };
    let auth = sign(&req, "content-type;host;x-sdk-date", b"sk");
    let cr = canonical_request(&req, &auth).expect("canonical");
    assert_eq!(
        cr,
        "GET\n/v3/projects/\nname=cn-north-4\ncontent-type:application/json\n\
         host:127.0.0.1:8080\nx-sdk-date:20261122T051800Z\n\ncontent-type;host;x-sdk-date\n\
         e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let sts = string_to_sign("20261122T051800Z", &cr);
    assert!(sts.starts_with("SDK-HMAC-SHA256\n20261122T051800Z\n"));
    assert_eq!(sts.len(), "SDK-HMAC-SHA256\n20261122T051800Z\n".len() + 64);
}

#[test]
fn verify_round_trip_and_failures() {
    let h = sample_request_headers(None);
    let now = parse_sdk_date("20261122T051800Z").expect("date");
    let skew = chrono::Duration::minutes(15);
    let req = RequestParts {
        method: "POST",
        path: "/v1/x",
        query: None,
        headers: &h,
        body: b"{}",
    };
    let auth = sign(&req, "content-type;host;x-sdk-date", b"secret");
    verify(&req, &auth, b"secret", now, skew).expect("verifies");
    assert!(matches!(
        verify(&req, &auth, b"other", now, skew),
        Err(SigningError::SignatureMismatch { canonical_request }) if canonical_request.starts_with("POST\n/v1/x/\n")
    ));
    // A signed header the request lacks.
    let mut missing = auth.clone();
    missing
        .signed_headers_raw
        .to_mut()
        .push_str(";x-project-id");
    assert!(matches!(
        verify(&req, &missing, b"secret", now, skew),
        Err(SigningError::MissingSignedHeader(h)) if h == "x-project-id"
    ));
    // A duplicated signed header.
    let mut dup = h.clone();
    dup.append("host", HeaderValue::from_static("evil:1"));
    let req_dup = RequestParts {
        headers: &dup,
        ..req
    };
    assert!(matches!(
        verify(&req_dup, &auth, b"secret", now, skew),
        Err(SigningError::DuplicateSignedHeader(h)) if h == "host"
    ));
}

#[test]
fn unsigned_payload_is_used_literally() {
    let h = sample_request_headers(Some(UNSIGNED_PAYLOAD));
    let now = parse_sdk_date("20261122T051800Z").expect("date");
    let skew = chrono::Duration::minutes(15);
    let req = RequestParts {
        method: "PUT",
        path: "/v1/x",
        query: None,
        headers: &h,
        body: b"original",
    };
    let auth = sign(
        &req,
        "content-type;host;x-sdk-content-sha256;x-sdk-date",
        b"s",
    );
    let cr = canonical_request(&req, &auth).expect("canonical");
    assert!(cr.ends_with("\nUNSIGNED-PAYLOAD"));
    verify(&req, &auth, b"s", now, skew).expect("verifies");
    let other = RequestParts {
        body: b"changed",
        ..req
    };
    verify(&other, &auth, b"s", now, skew).expect("body not covered");
}

#[test]
fn claimed_body_hash_must_match_the_body() {
    let hash = hex::encode(Sha256::digest(b"body"));
    let h = sample_request_headers(Some(&hash));
    let now = parse_sdk_date("20261122T051800Z").expect("date");
    let skew = chrono::Duration::minutes(15);
    let req = RequestParts {
        method: "PUT",
        path: "/v1/x",
        query: None,
        headers: &h,
        body: b"body",
    };
    let auth = sign(&req, "host;x-sdk-date", b"s");
    verify(&req, &auth, b"s", now, skew).expect("verifies");
    let other = RequestParts {
        body: b"bodx",
        ..req
    };
    assert!(matches!(
        verify(&other, &auth, b"s", now, skew),
        Err(SigningError::ContentSha256Mismatch)
    ));
}

#[test]
fn the_sdk_form_reads_as_the_general_parser_does() {
    let sig = "4172a9a71dd5ac5b89d2fb9d06afd786d986361fd2e68224c8a3960cd3478fba";
    let cases = [
        format!("SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host;x-sdk-date, Signature={sig}"),
        format!(
            "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host, Signature={}",
            sig.to_uppercase()
        ),
        format!("SDK-HMAC-SHA256 Access=AK1 , SignedHeaders=host, Signature={sig}"),
        format!("SDK-HMAC-SHA256 Access=AK1,SignedHeaders=host, Signature={sig}"),
        format!("SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host;, Signature={sig}"),
        format!("SDK-HMAC-SHA256 Access=AK1, SignedHeaders=;host, Signature={sig}"),
        format!("SDK-HMAC-SHA256 Access=AK1, SignedHeaders=, Signature={sig}"),
        format!("SDK-HMAC-SHA256 Access=, SignedHeaders=host, Signature={sig}"),
        format!("SDK-HMAC-SHA256 Access=A=B, SignedHeaders=host, Signature={sig}"),
        format!("SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host, Signature={sig}0"),
        format!("SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host, Signature={sig}, X=1"),
        format!(
            "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host, Signature={}",
            &sig[1..]
        ),
        format!("SDK-HMAC-SHA256 Access=AK1, SignedHeaders=h\u{e9}, Signature={sig}"),
        format!("SDK-HMAC-SHA256  Access=AK1, SignedHeaders=host, Signature={sig}"),
    ];
    let mut fast = 0;
    for c in &cases {
        let general = parse_any_form(c);
        if let Some(a) = sdk_form(c) {
            fast += 1;
            assert_eq!(Some(&a), general.as_ref().ok(), "{c:?}");
        }
        assert_eq!(
            parse_authorization(c).ok(),
            general.ok(),
            "parse_authorization of {c:?}"
        );
    }
    assert_eq!(fast, 2, "the first two are the SDK's own form");
}

#[test]
fn plain_paths_are_their_own_canonical_uri() {
    for path in [
        "",
        "/",
        "/v3/auth/projects",
        "/v3/auth/projects/",
        "/v1/0a1b/instances/x-y_z.~",
        "/a%20b",
        "/%7e",
        "/a b",
        "/\u{4e2d}",
        "//x//",
        "/a+b",
    ] {
        let mut general = String::new();
        write_decoded_canonical_uri(&mut general, path);
        assert_eq!(canonical_uri(path), general, "{path:?}");
    }
}
