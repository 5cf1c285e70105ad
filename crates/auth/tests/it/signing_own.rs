//! Signatures made here with the SDK's algorithm: they match the captured ones, and the
//! payload rules (an unsigned payload, an explicit body hash that must match) hold.

#![allow(clippy::unwrap_used)]

use crate::captured;

use captured::*;

/// Sign `req` as a client would, building the string to sign from the crate's canonical
/// request and computing the HMAC here, independently of the crate.
fn sign(req: &mut Req, access: &str, secret: &[u8], signed_headers: &str) {
    req.remove_header("Authorization");
    let headers = req.header_map();
    let mut auth = Authorization {
        access: access.into(),
        signed_headers_raw: signed_headers.into(),
        signature: "".into(),
    };
    let parts = RequestParts {
        method: &req.method,
        path: &req.path,
        query: req.query.as_deref(),
        headers: &headers,
        body: &req.body,
    };
    let cr = signing::canonical_request(&parts, &auth).expect("canonical request");
    let sts = signing::string_to_sign(req.header("X-Sdk-Date").expect("date"), &cr);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(sts.as_bytes());
    auth.signature = hex::encode(mac.finalize().into_bytes()).into();
    assert_eq!(auth.signature, signing::compute_signature(secret, &sts));
    req.set_header(
        "Authorization",
        format!(
            "{} Access={}, SignedHeaders={}, Signature={}",
            signing::ALGORITHM,
            auth.access,
            auth.signed_headers_raw,
            auth.signature
        ),
    );
}

#[test]
fn own_signature_matches_the_captured_one() {
    // The helper reproduces the SDK's signature exactly, so the tests below sign like the SDK.
    let v = vectors();
    let (secret, reqs) = requests();
    for (n, r) in reqs.iter().enumerate() {
        let mut m = r.clone();
        let auth = r.authorization();
        sign(&mut m, &v.access_key, &secret, &auth.signed_headers_raw);
        assert_eq!(m.authorization(), auth, "request {n}");
    }
}

#[test]
fn unsigned_payload() {
    let v = vectors();
    let (secret, reqs) = requests();
    let mut r = reqs[0].clone();
    r.set_header("X-Sdk-Content-Sha256", signing::UNSIGNED_PAYLOAD.into());
    let signed =
        "content-type;host;user-agent;x-language;x-project-id;x-sdk-content-sha256;x-sdk-date";
    sign(&mut r, &v.access_key, &secret, signed);
    let now = r.sdk_date();
    r.verify_at(&secret, now)
        .expect("UNSIGNED-PAYLOAD verifies");

    // The canonical request ends with the literal value instead of the body hash.
    let headers = r.header_map();
    let parts = RequestParts {
        method: &r.method,
        path: &r.path,
        query: r.query.as_deref(),
        headers: &headers,
        body: &r.body,
    };
    let cr = signing::canonical_request(&parts, &r.authorization()).expect("canonical");
    assert!(cr.ends_with("\nUNSIGNED-PAYLOAD"), "{cr}");

    // The body is then not covered ...
    let mut m = r.clone();
    m.body = b"{\"other\": true}".to_vec();
    m.verify_at(&secret, now).expect("body not covered");
    // ... but the header value is, whether or not it is listed in SignedHeaders.
    let mut m = r.clone();
    m.set_header("X-Sdk-Content-Sha256", "UNSIGNED-PAYLOAE".into());
    assert_rejected(&m, &secret, now, "changed X-Sdk-Content-Sha256");
    let mut m = r.clone();
    m.remove_header("X-Sdk-Content-Sha256");
    assert_rejected(&m, &secret, now, "removed X-Sdk-Content-Sha256");

    // Signed without listing the header: still uses the value literally.
    let mut u = reqs[0].clone();
    u.set_header("X-Sdk-Content-Sha256", signing::UNSIGNED_PAYLOAD.into());
    let auth = reqs[0].authorization();
    sign(&mut u, &v.access_key, &secret, &auth.signed_headers_raw);
    u.body.clear();
    u.verify_at(&secret, now)
        .expect("unlisted UNSIGNED-PAYLOAD");
    u.remove_header("X-Sdk-Content-Sha256");
    assert_rejected(&u, &secret, now, "unlisted header removed");
}

#[test]
fn explicit_body_hash_must_match_the_body() {
    let v = vectors();
    let (secret, reqs) = requests();
    let mut r = reqs[3].clone();
    let hash = {
        use sha2::Digest;
        hex::encode(Sha256::digest(&r.body))
    };
    r.set_header("X-Sdk-Content-Sha256", hash);
    let auth = reqs[3].authorization();
    sign(&mut r, &v.access_key, &secret, &auth.signed_headers_raw);
    let now = r.sdk_date();
    r.verify_at(&secret, now).expect("matching hash verifies");
    let mut m = r.clone();
    m.body[5] ^= 0x01;
    assert!(matches!(
        m.verify_at(&secret, now),
        Err(SigningError::ContentSha256Mismatch)
    ));
}
