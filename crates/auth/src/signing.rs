//! AK/SK request signing, `SDK-HMAC-SHA256`, as the official Huawei Cloud SDKs produce it
//! (spec `signing.md`). This module owns parsing the `Authorization` and `X-Sdk-Date` headers,
//! building the canonical request and string to sign from the request exactly as received, and
//! verifying the signature in constant time. Looking up the secret key, lockout and the mapping
//! of errors to gateway codes belong to the callers.
//!
//! Query strings are decoded the way `application/x-www-form-urlencoded` parsers (and therefore
//! the server's own query extraction) decode them: `+` is a space. The official SDKs never put
//! a raw `+` or a raw space on the wire (they send `%2B` and `%20`), so this only matters for
//! hand-made clients, and it guarantees that two queries the server reads differently never
//! share a signature.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderName};
use percent_encoding::{percent_decode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};
use std::borrow::Cow;

/// The only algorithm accepted in the `Authorization` header.
pub const ALGORITHM: &str = "SDK-HMAC-SHA256";

/// Header carrying the signing time, `%Y%m%dT%H%M%SZ` in UTC.
pub const HEADER_SDK_DATE: &str = "x-sdk-date";

/// Header that, when present, replaces the body hash in the canonical request.
pub const HEADER_CONTENT_SHA256: &str = "x-sdk-content-sha256";

// The two as header names: a lookup by `&str` parses the name again every time.
const SDK_DATE: HeaderName = HeaderName::from_static(HEADER_SDK_DATE);
const CONTENT_SHA256: HeaderName = HeaderName::from_static(HEADER_CONTENT_SHA256);
const X_PROJECT_ID: HeaderName = HeaderName::from_static("x-project-id");

/// The `X-Sdk-Content-Sha256` value that leaves the body out of the signature.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Lower-case hex SHA-256 of the empty string (the body hash of a request without a body).
pub const EMPTY_BODY_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Everything but the RFC 3986 unreserved characters `A-Z a-z 0-9 - _ . ~` is encoded.
const ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Longest value echoed back inside an error message.
const MAX_ECHO: usize = 64;

type HmacSha256 = Hmac<Sha256>;

/// The parsed `Authorization: SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...`,
/// borrowed from the header it was read from (it is read on every signed request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization<'a> {
    /// The access key (AK) the request claims to be signed with.
    pub access: Cow<'a, str>,
    /// The `SignedHeaders` value exactly as sent (part 5 of the canonical request); the names
    /// are [`Authorization::signed_headers`].
    pub signed_headers_raw: Cow<'a, str>,
    /// The hex signature as sent.
    pub signature: Cow<'a, str>,
}

impl Authorization<'_> {
    /// The signed header names, split on `;`, in the order sent.
    pub fn signed_headers(&self) -> std::str::Split<'_, char> {
        self.signed_headers_raw.split(';')
    }
}

/// The parts of a received request that the signature covers.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// HTTP method as received.
    pub method: &'a str,
    /// Path as received, still percent-encoded, without the query.
    pub path: &'a str,
    /// Query as received (percent-encoded), without the leading `?`; `None` when absent.
    pub query: Option<&'a str>,
    /// All request headers.
    pub headers: &'a HeaderMap,
    /// The raw body bytes as received.
    pub body: &'a [u8],
}

/// Why a signed request was refused.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// The `Authorization` header names another algorithm (e.g. `SDK-HMAC-SM3`).
    #[error("unsupported signing algorithm `{0}`")]
    UnsupportedAlgorithm(String),
    /// The `Authorization` header is not `SDK-HMAC-SHA256 Access=.., SignedHeaders=.., Signature=..`.
    #[error("malformed Authorization header: {0}")]
    MalformedHeader(String),
    /// The request has no `X-Sdk-Date` header.
    #[error("missing X-Sdk-Date header")]
    MissingDate,
    /// `X-Sdk-Date` is present but not `%Y%m%dT%H%M%SZ` (or appears more than once).
    #[error("X-Sdk-Date is not in the form YYYYMMDDTHHMMSSZ")]
    BadDate,
    /// `X-Sdk-Date` is further from the server clock than the allowed skew.
    #[error("X-Sdk-Date is too far from the server clock")]
    ClockSkew,
    /// A header listed in `SignedHeaders` is not in the request.
    #[error("signed header `{0}` is missing from the request")]
    MissingSignedHeader(String),
    /// A header listed in `SignedHeaders` appears more than once in the request.
    #[error("signed header `{0}` appears more than once")]
    DuplicateSignedHeader(String),
    /// A signed header's value is not valid UTF-8.
    #[error("signed header `{0}` has a value that is not UTF-8")]
    InvalidHeaderValue(String),
    /// `X-Sdk-Content-Sha256` holds a hash that is not the hash of the body received.
    #[error("X-Sdk-Content-Sha256 does not match the body")]
    ContentSha256Mismatch,
    /// The signature does not match; carries the server's canonical request as a debugging aid.
    #[error("signature does not match")]
    SignatureMismatch {
        /// The canonical request the server computed.
        canonical_request: String,
    },
}

/// Parse the `Authorization` header value: the algorithm word, one space, then `k=v` parts
/// separated by `,` (the SDK sends `, `). All of `Access`, `SignedHeaders` and `Signature` are
/// required, each once; other keys are refused.
pub fn parse_authorization(value: &str) -> Result<Authorization<'_>, SigningError> {
    // A header value the server reads as text is visible ASCII, spaces and tabs only.
    let value = value.trim_ascii();
    match sdk_form(value) {
        Some(auth) => Ok(auth),
        None => parse_any_form(value),
    }
}

/// [`parse_authorization`] of a trimmed value in any form it accepts.
fn parse_any_form(value: &str) -> Result<Authorization<'_>, SigningError> {
    let (algorithm, rest) = match value.split_once(' ') {
        Some((a, r)) => (a, r),
        None => (value, ""),
    };
    if algorithm != ALGORITHM {
        return Err(SigningError::UnsupportedAlgorithm(echo(algorithm)));
    }
    let mut access = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',') {
        let part = part.trim_ascii();
        if part.is_empty() {
            continue;
        }
        let Some((key, val)) = part.split_once('=') else {
            return Err(malformed(format!("part `{}` is not key=value", echo(part))));
        };
        let slot = match key {
            "Access" => &mut access,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            other => return Err(malformed(format!("unknown part `{}`", echo(other)))),
        };
        if slot.replace(val).is_some() {
            return Err(malformed(format!("`{key}` given twice")));
        }
    }
    let access = access.ok_or_else(|| malformed("missing Access".into()))?;
    let signed = signed.ok_or_else(|| malformed("missing SignedHeaders".into()))?;
    let signature = signature.ok_or_else(|| malformed("missing Signature".into()))?;
    if access.is_empty() {
        return Err(malformed("empty Access".into()));
    }
    if signed
        .split(';')
        .any(|h| h.is_empty() || !h.bytes().all(is_token_byte))
    {
        return Err(malformed(
            "SignedHeaders is not a `;`-separated list of header names".into(),
        ));
    }
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(malformed("Signature is not 64 hex digits".into()));
    }
    Ok(Authorization {
        access: Cow::Borrowed(access),
        signed_headers_raw: Cow::Borrowed(signed),
        signature: Cow::Borrowed(signature),
    })
}

/// The header exactly as the official SDKs write it — `SDK-HMAC-SHA256 Access=<letters and
/// digits>, SignedHeaders=<names>, Signature=<64 hex digits>` — read without the general
/// parser's splitting (this runs on every signed request). `None`: any other form, which
/// [`parse_authorization`] then reads in full; whatever this accepts, it reads the same.
fn sdk_form(value: &str) -> Option<Authorization<'_>> {
    let rest = value.strip_prefix("SDK-HMAC-SHA256 Access=")?;
    let access_len = rest.bytes().position(|b| !b.is_ascii_alphanumeric())?;
    let (access, rest) = rest.split_at(access_len);
    let rest = rest.strip_prefix(", SignedHeaders=")?;
    let signed_len = rest.bytes().position(|b| b != b';' && !is_token_byte(b))?;
    let (signed, rest) = rest.split_at(signed_len);
    let signature = rest.strip_prefix(", Signature=")?;
    let well_formed = !access.is_empty()
        && !signed.split(';').any(str::is_empty)
        && signature.len() == 64
        && signature.bytes().all(|b| b.is_ascii_hexdigit());
    well_formed.then_some(Authorization {
        access: Cow::Borrowed(access),
        signed_headers_raw: Cow::Borrowed(signed),
        signature: Cow::Borrowed(signature),
    })
}

/// Parse an `X-Sdk-Date` value, strictly `%Y%m%dT%H%M%SZ` (16 characters, UTC).
pub fn parse_sdk_date(value: &str) -> Result<DateTime<Utc>, SigningError> {
    let b = value.as_bytes();
    let shape_ok = b.len() == 16
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[9..15].iter().all(u8::is_ascii_digit);
    if !shape_ok {
        return Err(SigningError::BadDate);
    }
    // The digits read directly (this runs on every signed request; chrono's format parser
    // costs several times more), with what `%Y%m%dT%H%M%SZ` accepts: a second of 60 is a
    // leap second.
    let num = |range: std::ops::Range<usize>| {
        b[range]
            .iter()
            .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'))
    };
    let date = NaiveDate::from_ymd_opt(num(0..4) as i32, num(4..6), num(6..8));
    let (hour, minute, second) = (num(9..11), num(11..13), num(13..15));
    let time = match second {
        60 => NaiveTime::from_hms_nano_opt(hour, minute, 59, 1_000_000_000),
        _ => NaiveTime::from_hms_opt(hour, minute, second),
    };
    match (date, time) {
        (Some(date), Some(time)) => Ok(NaiveDateTime::new(date, time).and_utc()),
        _ => Err(SigningError::BadDate),
    }
}

/// Build the canonical request (six parts joined with `\n`, see the module docs and the spec).
/// The request's parts are written into one string as they are read (it is built on every
/// signed request).
pub fn canonical_request(
    req: &RequestParts<'_>,
    auth: &Authorization,
) -> Result<String, SigningError> {
    canonical_request_with(req, auth, content_sha256(req.headers)?)
}

/// [`canonical_request`] with the `X-Sdk-Content-Sha256` header already read.
fn canonical_request_with(
    req: &RequestParts<'_>,
    auth: &Authorization,
    content_sha256: Option<&str>,
) -> Result<String, SigningError> {
    let mut out = String::with_capacity(512);
    out.extend(req.method.chars().map(|c| c.to_ascii_uppercase()));
    out.push('\n');
    write_canonical_uri(&mut out, req.path);
    out.push('\n');
    write_canonical_query(&mut out, req.query.unwrap_or(""));
    out.push('\n');
    for name in auth.signed_headers() {
        let value = signed_header_value(req.headers, name)?;
        out.push_str(name);
        out.push(':');
        out.push_str(value.trim());
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&auth.signed_headers_raw);
    out.push('\n');
    match content_sha256 {
        Some(v) => out.push_str(v),
        None => out.push_str(hex_sha256(req.body, &mut [0; 64])),
    }
    Ok(out)
}

/// The `X-Sdk-Content-Sha256` header, when sent (once, as text).
fn content_sha256(headers: &HeaderMap) -> Result<Option<&str>, SigningError> {
    single_header(headers, &CONTENT_SHA256).map_err(|()| {
        SigningError::MalformedHeader("X-Sdk-Content-Sha256 must appear once, as text".into())
    })
}

/// String to sign: `SDK-HMAC-SHA256\n<X-Sdk-Date>\n<hex sha256 of the canonical request>`.
pub fn string_to_sign(sdk_date: &str, canonical_request: &str) -> String {
    let mut hex = [0; 64];
    let digest = hex_sha256(canonical_request.as_bytes(), &mut hex);
    format!("{ALGORITHM}\n{sdk_date}\n{digest}")
}

/// Lower-case hex HMAC-SHA256 of `string_to_sign` keyed with the secret key: the signature a
/// client puts in the `Authorization` header (for clients and tests; `verify` compares in
/// constant time instead of comparing this string).
pub fn compute_signature(secret_key: &[u8], string_to_sign: &str) -> String {
    let mut mac = new_mac(secret_key);
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A secret key ready to verify with: the HMAC's keyed state (the key's inner and outer pads
/// already hashed), computed once per access key and cloned for each request.
#[derive(Clone)]
pub struct SigningKey(HmacSha256);

impl SigningKey {
    /// The key for `secret_key` (any length).
    pub fn new(secret_key: &[u8]) -> Self {
        Self(new_mac(secret_key))
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

/// Verify a signed request: `X-Sdk-Date` present, well-formed and within `max_skew` of `now`
/// (either direction, the bound itself allowed); the method upper case; every signed header
/// present; a literal
/// `X-Sdk-Content-Sha256` other than `UNSIGNED-PAYLOAD` equal to the body's hash; and the
/// signature equal, compared in constant time, to the HMAC of the string to sign.
pub fn verify(
    req: &RequestParts<'_>,
    auth: &Authorization,
    secret_key: &[u8],
    now: DateTime<Utc>,
    max_skew: chrono::Duration,
) -> Result<(), SigningError> {
    verify_with(req, auth, &SigningKey::new(secret_key), now, max_skew)
}

/// [`verify`] with a key prepared by [`SigningKey::new`].
pub fn verify_with(
    req: &RequestParts<'_>,
    auth: &Authorization,
    key: &SigningKey,
    now: DateTime<Utc>,
    max_skew: chrono::Duration,
) -> Result<(), SigningError> {
    let sdk_date = match single_header(req.headers, &SDK_DATE) {
        Ok(Some(v)) => v.trim(),
        Ok(None) => return Err(SigningError::MissingDate),
        Err(()) => return Err(SigningError::BadDate),
    };
    let signed_at = parse_sdk_date(sdk_date)?;
    if (now - signed_at).abs() > max_skew {
        return Err(SigningError::ClockSkew);
    }
    let claimed = content_sha256(req.headers)?;
    let canonical = canonical_request_with(req, auth, claimed)?;
    if let Some(claimed) = claimed {
        if claimed != UNSIGNED_PAYLOAD {
            let mut buf = [0; 64];
            let actual = hex_sha256(req.body, &mut buf);
            if !claimed.eq_ignore_ascii_case(actual) {
                return Err(SigningError::ContentSha256Mismatch);
            }
        }
    }
    let mismatch = |canonical_request| SigningError::SignatureMismatch { canonical_request };
    // The canonical request upper-cases the method (as the SDK's signer does), but methods are
    // case-sensitive (RFC 9110 §9.1): `gEt` is not the `GET` that was signed, so it is refused
    // rather than verified against the upper-cased form.
    if req.method.bytes().any(|b| b.is_ascii_lowercase()) {
        return Err(mismatch(canonical));
    }
    let Some(given) = decode_signature(&auth.signature) else {
        return Err(mismatch(canonical));
    };
    // The string to sign, fed to the HMAC in its pieces rather than built.
    let mut mac = key.0.clone();
    mac.update(ALGORITHM.as_bytes());
    mac.update(b"\n");
    mac.update(sdk_date.as_bytes());
    mac.update(b"\n");
    mac.update(hex_sha256(canonical.as_bytes(), &mut [0; 64]).as_bytes());
    mac.verify_slice(&given).map_err(|_| mismatch(canonical))
}

/// The lower-case hex SHA-256 of `bytes`, written into `buf`.
fn hex_sha256<'b>(bytes: &[u8], buf: &'b mut [u8; 64]) -> &'b str {
    if bytes.is_empty() {
        return EMPTY_BODY_SHA256;
    }
    match hex::encode_to_slice(Sha256::digest(bytes), &mut buf[..]) {
        // 32 bytes always fill the 64 digits, all ASCII.
        Ok(()) => std::str::from_utf8(&buf[..]).unwrap_or(EMPTY_BODY_SHA256),
        Err(_) => unreachable!("64 hex digits fit 64 bytes"),
    }
}

/// Canonical URI: percent-decode, split on `/`, RFC 3986-encode each segment, join with `/`,
/// and end with `/`.
#[cfg(test)]
fn canonical_uri(path: &str) -> String {
    let mut out = String::new();
    write_canonical_uri(&mut out, path);
    out
}

/// [`canonical_uri`], appended to `out`.
fn write_canonical_uri(out: &mut String, path: &str) {
    // A path of unreserved characters and slashes (an API path with ids) is its own encoding.
    if path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~'))
    {
        out.push_str(path);
        if !path.ends_with('/') {
            out.push('/');
        }
        return;
    }
    write_decoded_canonical_uri(out, path);
}

/// [`write_canonical_uri`] for any path.
fn write_decoded_canonical_uri(out: &mut String, path: &str) {
    let decoded: std::borrow::Cow<'_, [u8]> = percent_decode(path.as_bytes()).into();
    let start = out.len();
    for (i, segment) in decoded.split(|&b| b == b'/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        write_encoded(out, segment);
    }
    if !out[start..].ends_with('/') {
        out.push('/');
    }
}

/// Canonical query: split on `&` (empty pieces skipped), split each pair on its first `=` (no
/// `=` means an empty value), decode (`+` is a space), sort by key then value on the decoded
/// bytes (as the SDKs sort their unencoded parameters), re-encode, join `k=v` with `&`.
#[cfg(test)]
fn canonical_query(query: &str) -> String {
    let mut out = String::new();
    write_canonical_query(&mut out, query);
    out
}

/// [`canonical_query`], appended to `out`.
fn write_canonical_query(out: &mut String, query: &str) {
    if query.is_empty() {
        return;
    }
    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode_query_part(k), decode_query_part(v))
        })
        .collect();
    pairs.sort();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        write_encoded(out, k);
        out.push('=');
        write_encoded(out, v);
    }
}

fn decode_query_part(s: &str) -> Vec<u8> {
    let plus_as_space: Vec<u8> = s
        .bytes()
        .map(|b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_decode(&plus_as_space).collect()
}

fn write_encoded(out: &mut String, bytes: &[u8]) {
    out.extend(percent_encoding::percent_encode(bytes, ENCODE_SET));
}

/// The single value of a signed header, as UTF-8.
fn signed_header_value<'h>(headers: &'h HeaderMap, name: &str) -> Result<&'h str, SigningError> {
    // The names the SDKs sign by their constants; others by text (`HeaderMap` lower-cases and
    // parses a name on the stack each time).
    let known = match name {
        "host" => Some(http::header::HOST),
        "content-type" => Some(http::header::CONTENT_TYPE),
        HEADER_SDK_DATE => Some(SDK_DATE),
        "x-project-id" => Some(X_PROJECT_ID),
        _ => None,
    };
    let mut values = match &known {
        Some(known) => headers.get_all(known).iter(),
        None => headers.get_all(name).iter(),
    };
    let Some(first) = values.next() else {
        return Err(SigningError::MissingSignedHeader(name.to_string()));
    };
    if values.next().is_some() {
        return Err(SigningError::DuplicateSignedHeader(name.to_string()));
    }
    std::str::from_utf8(first.as_bytes())
        .map_err(|_| SigningError::InvalidHeaderValue(name.to_string()))
}

/// `Ok(None)` when absent, `Ok(Some)` when present once as UTF-8, `Err` otherwise.
fn single_header<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Result<Option<&'h str>, ()> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(());
    }
    std::str::from_utf8(first.as_bytes())
        .map(Some)
        .map_err(|_| ())
}

fn new_mac(secret_key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; `new_from_slice` only fails for fixed-size-key MACs.
    match <HmacSha256 as Mac>::new_from_slice(secret_key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}

/// The 64 hex digits of a signature as its 32 bytes (either case); `None` for anything else.
fn decode_signature(hex: &str) -> Option<[u8; 32]> {
    fn digit(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let hex = hex.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0; 32];
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        *byte = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(out)
}

/// RFC 7230 `tchar`, the bytes allowed in a header name.
fn is_token_byte(b: u8) -> bool {
    matches!(b, b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' | b'!' | b'#' | b'$' | b'%' | b'&'
        | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~')
}

fn malformed(msg: String) -> SigningError {
    SigningError::MalformedHeader(msg)
}

/// Shorten client-supplied text before putting it into an error message.
fn echo(s: &str) -> String {
    s.chars().take(MAX_ECHO).collect()
}

#[cfg(test)]
mod tests;
