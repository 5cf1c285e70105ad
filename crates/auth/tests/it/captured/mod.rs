//! What the signing tests share: the captured requests of the official SDK, taken apart,
//! and the checks that decide independently of the crate whether two requests are the same.

#![allow(dead_code, unused_imports, clippy::unwrap_used)]

pub use chrono::{DateTime, Duration, Utc};
pub use hmac::{Hmac, Mac};
pub use http::{HeaderMap, HeaderName, HeaderValue};
pub use plugboard_auth::signing::{
    self, parse_authorization, parse_sdk_date, verify, Authorization, RequestParts, SigningError,
};
pub use serde::Deserialize;
pub use sha2::Sha256;

pub const FIXTURE: &str = include_str!("../../fixtures/signing-vectors.json");

#[derive(Deserialize)]
pub struct Vectors {
    pub access_key: String,
    pub secret_key: String,
    pub requests: Vec<Captured>,
}

#[derive(Deserialize, Clone)]
pub struct Captured {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// One captured request, in owned form so that tests can change any part of it.
#[derive(Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Req {
    pub fn from_captured(c: &Captured) -> Self {
        let (path, query) = match c.target.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (c.target.clone(), None),
        };
        Req {
            method: c.method.clone(),
            path,
            query,
            headers: c.headers.clone(),
            body: c.body.as_bytes().to_vec(),
        }
    }

    pub fn header_map(&self) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in &self.headers {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).expect("header name"),
                HeaderValue::from_str(v).expect("header value"),
            );
        }
        map
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn set_header(&mut self, name: &str, value: String) {
        match self
            .headers
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            Some(slot) => slot.1 = value,
            None => self.headers.push((name.to_string(), value)),
        }
    }

    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    }

    pub fn authorization(&self) -> Authorization<'_> {
        parse_authorization(self.header("Authorization").expect("Authorization header"))
            .expect("parsable Authorization header")
    }

    pub fn sdk_date(&self) -> DateTime<Utc> {
        parse_sdk_date(self.header("X-Sdk-Date").expect("X-Sdk-Date")).expect("valid date")
    }

    /// Verify with the clock at `now` and the given secret key.
    pub fn verify_at(&self, secret: &[u8], now: DateTime<Utc>) -> Result<(), SigningError> {
        let headers = self.header_map();
        let auth = parse_authorization(
            headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .ok_or(SigningError::MalformedHeader("absent".into()))?,
        )?;
        let parts = RequestParts {
            method: &self.method,
            path: &self.path,
            query: self.query.as_deref(),
            headers: &headers,
            body: &self.body,
        };
        verify(&parts, &auth, secret, now, skew())
    }
}

pub fn skew() -> Duration {
    Duration::minutes(15)
}

pub fn vectors() -> Vectors {
    serde_json::from_str(FIXTURE).expect("fixture parses")
}

pub fn requests() -> (Vec<u8>, Vec<Req>) {
    let v = vectors();
    assert_eq!(
        v.requests.len(),
        5,
        "fixture holds the five captured requests"
    );
    let reqs = v.requests.iter().map(Req::from_captured).collect();
    (v.secret_key.into_bytes(), reqs)
}

/// The bytes every position of a method, path, query or header value is changed to: the
/// space and all of visible ASCII (what a request line or a header value carries as text),
/// except the byte already there.
pub fn replacements(original: u8) -> impl Iterator<Item = u8> {
    (0x20u8..=0x7e).filter(move |&b| b != original)
}

/// `s` with the byte at `i` replaced by `b` (ASCII, so the result is still a string).
pub fn with_byte(s: &str, i: usize, b: u8) -> String {
    let mut bytes = s.as_bytes().to_vec();
    bytes[i] = b;
    String::from_utf8(bytes).expect("ASCII stays UTF-8")
}

// What counts as "the same request", written from the spec (`signing.md` step 3) and RFC 3986 /
// RFC 9110, independently of the crate, so that a canonicalisation bug cannot hide behind it.
// A single-byte change is skipped only when one of these says the request is unchanged.

/// Percent-decode: `%XY` with two hex digits of either case is one byte, all else is literal.
pub fn percent_decoded(s: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' && i + 2 < s.len() {
            if let (Some(h), Some(l)) = (hex(s[i + 1]), hex(s[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

/// Paths that name the same resource: equal once percent-decoded (`%2a` = `%2A`, `%41` = `A`),
/// a trailing `/` aside.
pub fn same_path(a: &str, b: &str) -> bool {
    let norm = |p: &str| {
        let mut d = percent_decoded(p.as_bytes());
        if d.last() != Some(&b'/') {
            d.push(b'/');
        }
        d
    };
    norm(a) == norm(b)
}

/// The decoded `(key, value)` pairs of a query in order: pairs split on `&` (empty ones
/// ignored), key and value on the first `=`, `+` is a space.
pub fn query_pairs(q: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    let decode = |s: &str| percent_decoded(s.replace('+', " ").as_bytes());
    let mut pairs: Vec<_> = q
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    pairs.sort();
    pairs
}

/// Header values the signature treats alike: equal once surrounding blanks are trimmed.
pub fn same_header_value(a: &str, b: &str) -> bool {
    a.trim_matches([' ', '\t']) == b.trim_matches([' ', '\t'])
}

/// RFC 9110 `tchar`: the only bytes a header name can hold (any other byte makes a request
/// that HTTP parsers refuse before a handler, or the verifier, ever sees it).
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A captured request taken apart once, so that the exhaustive loops below rebuild only the
/// part they change (thousands of changes per request must stay fast).
pub struct Taken<'a> {
    pub req: &'a Req,
    pub headers: HeaderMap,
    pub auth: Authorization<'a>,
    pub now: DateTime<Utc>,
}

/// One change to a captured request.
#[derive(Default)]
pub struct Change<'c> {
    pub method: Option<&'c str>,
    pub path: Option<&'c str>,
    pub query: Option<&'c str>,
    pub headers: Option<&'c HeaderMap>,
    pub body: Option<&'c [u8]>,
}

impl<'a> Taken<'a> {
    pub fn new(req: &'a Req) -> Self {
        Taken {
            req,
            headers: req.header_map(),
            auth: req.authorization(),
            now: req.sdk_date(),
        }
    }

    /// Whether the verifier accepts the captured request with `change` applied.
    pub fn accepts(&self, secret: &[u8], change: Change<'_>) -> bool {
        let parts = RequestParts {
            method: change.method.unwrap_or(&self.req.method),
            path: change.path.unwrap_or(&self.req.path),
            query: change.query.or(self.req.query.as_deref()),
            headers: change.headers.unwrap_or(&self.headers),
            body: change.body.unwrap_or(&self.req.body),
        };
        verify(&parts, &self.auth, secret, self.now, skew()).is_ok()
    }
}

pub fn assert_rejected(req: &Req, secret: &[u8], now: DateTime<Utc>, what: &str) {
    let result = req.verify_at(secret, now);
    assert!(result.is_err(), "{what}: a changed request was accepted");
}
