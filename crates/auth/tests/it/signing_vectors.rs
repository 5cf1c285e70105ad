//! The SDK-HMAC-SHA256 verifier against requests captured from the official Huawei Cloud Python
//! SDK (`fixtures/signing-vectors.json`, the vendor signing test vectors): every request
//! verifies as sent, and any single-byte change to a signed part — every position of the method,
//! path, query, signed header names and values and body, changed to every other byte that can
//! stand there — is refused. The only changes skipped are those that leave the request the same
//! (decided independently of the crate, see `same_path` and friends): the case of a hex digit in
//! a percent escape, and the case of a header name.

use crate::captured;

use captured::*;

#[test]
fn every_captured_request_verifies_as_sent() {
    let v = vectors();
    let (secret, reqs) = requests();
    for (n, r) in reqs.iter().enumerate() {
        let auth = r.authorization();
        assert_eq!(auth.access, v.access_key, "request {n}");
        r.verify_at(&secret, r.sdk_date())
            .unwrap_or_else(|e| panic!("request {n} does not verify: {e}"));
    }
}

#[test]
fn wrong_secret_is_rejected_with_the_canonical_request() {
    let (_, reqs) = requests();
    for (n, r) in reqs.iter().enumerate() {
        match r.verify_at(b"not-the-secret", r.sdk_date()) {
            Err(SigningError::SignatureMismatch { canonical_request }) => {
                assert!(
                    canonical_request.starts_with(&format!("{}\n", r.method)),
                    "request {n}: {canonical_request}"
                );
            }
            other => panic!("request {n}: expected a signature mismatch, got {other:?}"),
        }
    }
}

#[test]
fn canonical_request_of_a_query_vector() {
    let (_, reqs) = requests();
    let r = &reqs[4];
    let headers = r.header_map();
    let auth = r.authorization();
    let parts = RequestParts {
        method: &r.method,
        path: &r.path,
        query: r.query.as_deref(),
        headers: &headers,
        body: &r.body,
    };
    let cr = signing::canonical_request(&parts, &auth).expect("canonical request");
    let lines: Vec<&str> = cr.split('\n').collect();
    assert_eq!(lines[0], "GET");
    assert_eq!(
        lines[1],
        "/v3/0c8243400d37468bb4aed3cc94c2911d/cas/environments/"
    );
    assert_eq!(lines[2], "limit=10&name=dev%20env%2A&offset=0");
    assert_eq!(lines[3], "content-type:application/json");
    assert_eq!(lines[4], "host:127.0.0.1:18111");
    assert_eq!(lines[7], "x-sdk-date:20261122T052558Z");
    assert_eq!(lines[8], "", "empty line between headers and SignedHeaders");
    assert_eq!(
        lines[9],
        "content-type;host;user-agent;x-project-id;x-sdk-date"
    );
    assert_eq!(lines[10], signing::EMPTY_BODY_SHA256);
    assert_eq!(lines.len(), 11);
}

#[test]
fn changed_method_is_rejected() {
    let (secret, reqs) = requests();
    let mut checked = 0;
    for (n, r) in reqs.iter().enumerate() {
        let t = Taken::new(r);
        for (i, original) in r.method.bytes().enumerate() {
            // Methods are case-sensitive (RFC 9110 §9.1): even `gET` is another method.
            for b in replacements(original) {
                let method = with_byte(&r.method, i, b);
                let change = Change {
                    method: Some(&method),
                    ..Change::default()
                };
                assert!(
                    !t.accepts(&secret, change),
                    "request {n}: method {method:?} accepted"
                );
                checked += 1;
            }
        }
        // Another real method, too.
        let mut m = r.clone();
        m.method = if r.method == "GET" { "DELETE" } else { "PUT" }.into();
        assert_rejected(
            &m,
            &secret,
            r.sdk_date(),
            &format!("request {n} method swap"),
        );
    }
    assert_eq!(checked, (4 + 3 + 3 + 4 + 3) * 94);
}

#[test]
fn changed_path_is_rejected() {
    let (secret, reqs) = requests();
    let (mut checked, mut same) = (0, 0);
    for (n, r) in reqs.iter().enumerate() {
        let t = Taken::new(r);
        for (i, original) in r.path.bytes().enumerate() {
            for b in replacements(original) {
                let path = with_byte(&r.path, i, b);
                if same_path(&path, &r.path) {
                    same += 1;
                    continue;
                }
                let change = Change {
                    path: Some(&path),
                    ..Change::default()
                };
                assert!(
                    !t.accepts(&secret, change),
                    "request {n}: path {path:?} accepted"
                );
                checked += 1;
            }
        }
        // A trailing slash is canonical anyway (the SDK adds it), but a new segment is not.
        let mut m = r.clone();
        m.path.push_str("/x");
        assert_rejected(
            &m,
            &secret,
            r.sdk_date(),
            &format!("request {n} path extended"),
        );
    }
    // The captured paths hold no percent escape, so no single-byte change keeps them equal.
    assert_eq!(same, 0);
    let bytes: usize = reqs.iter().map(|r| r.path.len()).sum();
    assert_eq!(checked, bytes * 94);
}

#[test]
fn changed_query_is_rejected() {
    let (secret, reqs) = requests();
    let (mut with_query, mut checked) = (0, 0);
    let mut same = vec![];
    for (n, r) in reqs.iter().enumerate() {
        let Some(query) = &r.query else {
            // Adding a query to a request signed without one.
            let mut m = r.clone();
            m.query = Some("limit=1".into());
            assert_rejected(
                &m,
                &secret,
                r.sdk_date(),
                &format!("request {n} query added"),
            );
            continue;
        };
        with_query += 1;
        let t = Taken::new(r);
        let pairs = query_pairs(query);
        for (i, original) in query.bytes().enumerate() {
            for b in replacements(original) {
                let changed = with_byte(query, i, b);
                if query_pairs(&changed) == pairs {
                    same.push(changed);
                    continue;
                }
                let change = Change {
                    query: Some(&changed),
                    ..Change::default()
                };
                assert!(
                    !t.accepts(&secret, change),
                    "request {n}: query {changed:?} accepted"
                );
                checked += 1;
            }
        }
        // Dropping the query entirely.
        let mut m = r.clone();
        m.query = None;
        assert_rejected(
            &m,
            &secret,
            r.sdk_date(),
            &format!("request {n} query dropped"),
        );
    }
    assert_eq!(with_query, 3, "three captured requests carry a query");
    // The one single-byte change that leaves a captured query as it was: the case of a hex
    // digit in a percent escape (`%2A` and `%2a` are both `*`; it verifies, see
    // `query_order_and_equivalent_escapes_do_not_matter`).
    assert_eq!(same, ["limit=10&name=dev%20env%2a&offset=0"]);
    let bytes: usize = reqs
        .iter()
        .filter_map(|r| r.query.as_ref())
        .map(String::len)
        .sum();
    assert_eq!(checked, bytes * 94 - same.len());
}

#[test]
fn query_order_and_equivalent_escapes_do_not_matter() {
    let (secret, reqs) = requests();
    let r = &reqs[4];
    let mut m = r.clone();
    m.query = Some("offset=0&name=dev%20env%2a&limit=10".into());
    m.verify_at(&secret, r.sdk_date())
        .expect("reordered, lower-case escape");
    let mut m = r.clone();
    m.query = Some("offset=0&name=dev+env*&limit=10".into());
    m.verify_at(&secret, r.sdk_date())
        .expect("`+` as space, unencoded `*`");
}

#[test]
fn changed_signed_header_is_rejected() {
    let (secret, reqs) = requests();
    let (mut headers_checked, mut values_checked) = (0, 0);
    for (n, r) in reqs.iter().enumerate() {
        let t = Taken::new(r);
        assert!(t.auth.signed_headers().any(|h| h == "host"));
        for name in t.auth.signed_headers() {
            let value = r
                .header(name)
                .unwrap_or_else(|| panic!("request {n}: signed header {name} present"))
                .to_string();
            let header = HeaderName::from_bytes(name.as_bytes()).expect("name");
            let mut headers = t.headers.clone();
            for (i, original) in value.bytes().enumerate() {
                for b in replacements(original) {
                    let changed = with_byte(&value, i, b);
                    assert!(!same_header_value(&changed, &value));
                    headers.insert(
                        header.clone(),
                        HeaderValue::from_str(&changed).expect("visible ASCII"),
                    );
                    let change = Change {
                        headers: Some(&headers),
                        ..Change::default()
                    };
                    assert!(
                        !t.accepts(&secret, change),
                        "request {n}: header {name}: {changed:?} accepted"
                    );
                    if name == "x-sdk-date" {
                        // Even with the clock at the forged date, the signature does not match.
                        if let Ok(forged) = parse_sdk_date(&changed) {
                            let mut m = r.clone();
                            m.set_header(name, changed.clone());
                            let what = format!("request {n}: date {changed} at forged time");
                            assert_rejected(&m, &secret, forged, &what);
                        }
                    }
                    values_checked += 1;
                }
            }
            // The header removed altogether.
            let mut m = r.clone();
            m.remove_header(name);
            assert_rejected(
                &m,
                &secret,
                r.sdk_date(),
                &format!("request {n} {name} removed"),
            );
            headers_checked += 1;
        }
    }
    assert_eq!(headers_checked, 6 + 5 * 4);
    let bytes: usize = reqs
        .iter()
        .flat_map(|r| {
            let auth = r.authorization();
            auth.signed_headers()
                .map(|h| r.header(h).map_or(0, str::len))
                .collect::<Vec<_>>()
        })
        .sum();
    assert_eq!(values_checked, bytes * 94);
}

#[test]
fn changed_signed_header_name_is_rejected() {
    let (secret, reqs) = requests();
    let (mut checked, mut case_only, mut letters) = (0, 0, 0);
    for (n, r) in reqs.iter().enumerate() {
        let t = Taken::new(r);
        for (name, _) in &r.headers {
            if !t
                .auth
                .signed_headers()
                .any(|h| *h == name.to_ascii_lowercase())
            {
                continue;
            }
            letters += name.bytes().filter(u8::is_ascii_alphabetic).count();
            for (i, original) in name.bytes().enumerate() {
                for b in replacements(original).filter(|&b| is_tchar(b)) {
                    let changed = with_byte(name, i, b);
                    if changed.eq_ignore_ascii_case(name) {
                        // Header names are case-insensitive (RFC 9110 §5.1): `content-Type`
                        // is the same header, so this change is not a change.
                        case_only += 1;
                        continue;
                    }
                    let mut headers = t.headers.clone();
                    let value = headers.remove(name.as_str()).expect("signed header");
                    headers.append(
                        HeaderName::from_bytes(changed.as_bytes()).expect("tchar name"),
                        value,
                    );
                    let change = Change {
                        headers: Some(&headers),
                        ..Change::default()
                    };
                    assert!(
                        !t.accepts(&secret, change),
                        "request {n}: header name {changed:?} accepted"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(case_only, letters, "only case flips are skipped");
    assert!(checked > 5_000, "{checked}");
}

#[test]
fn unsigned_headers_are_not_covered() {
    let (secret, reqs) = requests();
    for (n, r) in reqs.iter().enumerate() {
        let mut m = r.clone();
        m.set_header("Accept", "application/xml".into());
        m.set_header("Connection", "close".into());
        m.set_header("X-Extra", "anything".into());
        m.verify_at(&secret, r.sdk_date())
            .unwrap_or_else(|e| panic!("request {n}: {e}"));
    }
}

#[test]
fn changed_body_is_rejected() {
    let (secret, reqs) = requests();
    let mut with_body = 0;
    for (n, r) in reqs.iter().enumerate() {
        if r.body.is_empty() {
            let mut m = r.clone();
            m.body = b"{}".to_vec();
            assert_rejected(
                &m,
                &secret,
                r.sdk_date(),
                &format!("request {n} body added"),
            );
            continue;
        }
        with_body += 1;
        // The body is signed as raw bytes: every other value at every position is refused.
        let t = Taken::new(r);
        let mut body = r.body.clone();
        for i in 0..body.len() {
            for b in (0..=u8::MAX).filter(|&b| b != r.body[i]) {
                body[i] = b;
                let change = Change {
                    body: Some(&body),
                    ..Change::default()
                };
                assert!(
                    !t.accepts(&secret, change),
                    "request {n}: body byte {i} -> {b:#04x} accepted"
                );
            }
            body[i] = r.body[i];
        }
        // Re-serialising the same JSON differently is a different body.
        let mut m = r.clone();
        let parsed: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON body");
        m.body = serde_json::to_vec(&parsed).expect("serialise");
        assert_ne!(m.body, r.body);
        assert_rejected(
            &m,
            &secret,
            r.sdk_date(),
            &format!("request {n} body reserialised"),
        );
        // Truncated.
        let mut m = r.clone();
        m.body.pop();
        assert_rejected(
            &m,
            &secret,
            r.sdk_date(),
            &format!("request {n} body truncated"),
        );
    }
    assert_eq!(with_body, 2);
}

#[test]
fn clock_skew_limits() {
    let (secret, reqs) = requests();
    for (n, r) in reqs.iter().enumerate() {
        let at = r.sdk_date();
        for minutes in [-14, 14, -15, 15] {
            r.verify_at(&secret, at + Duration::minutes(minutes))
                .unwrap_or_else(|e| panic!("request {n} at {minutes} min: {e}"));
        }
        for minutes in [-16, 16] {
            assert!(
                matches!(
                    r.verify_at(&secret, at + Duration::minutes(minutes)),
                    Err(SigningError::ClockSkew)
                ),
                "request {n} at {minutes} min"
            );
        }
        assert!(matches!(
            r.verify_at(&secret, at + Duration::minutes(15) + Duration::seconds(1)),
            Err(SigningError::ClockSkew)
        ));
    }
}

#[test]
fn other_algorithms_are_rejected() {
    let (_, reqs) = requests();
    let value = reqs[0].header("Authorization").expect("header").to_string();
    let rest = value
        .strip_prefix("SDK-HMAC-SHA256 ")
        .expect("captured algorithm");
    for alg in [
        "SDK-HMAC-SM3",
        "SDK-ECDSA-P256-SHA256",
        "V11-HMAC-SHA256",
        "sdk-hmac-sha256",
        "AWS4-HMAC-SHA256",
    ] {
        assert!(
            matches!(
                parse_authorization(&format!("{alg} {rest}")),
                Err(SigningError::UnsupportedAlgorithm(a)) if a == alg
            ),
            "{alg}"
        );
    }
}

#[test]
fn missing_or_malformed_date_is_rejected() {
    let (secret, reqs) = requests();
    for (n, r) in reqs.iter().enumerate() {
        let mut m = r.clone();
        m.remove_header("X-Sdk-Date");
        assert!(
            matches!(
                m.verify_at(&secret, r.sdk_date()),
                Err(SigningError::MissingDate)
            ),
            "request {n}"
        );
        let mut m = r.clone();
        m.set_header("X-Sdk-Date", "Sun, 22 Nov 2026 05:25:58 GMT".into());
        assert!(
            matches!(
                m.verify_at(&secret, r.sdk_date()),
                Err(SigningError::BadDate)
            ),
            "request {n}"
        );
    }
}
