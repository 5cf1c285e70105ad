//! The head guard: request heads as the front door reads them before hyper, checked against
//! `[http]`'s limits (syntax, target length, header count and size, framing headers), and how
//! the body after a head is framed (`Content-Length`, `chunked`, or none).

use crate::framing::{Chunked, Framing};
use crate::limits::hyper_max_headers;
use plugboard_api::common::error::GatewayError;

/// What a look at the buffered start of a request head found.
#[derive(Debug)]
pub(crate) enum HeadCheck {
    /// Not all there yet, and within the limits so far.
    Partial,
    /// Refused.
    Refuse(GatewayError),
    /// A complete, acceptable head of `len` bytes, followed by a body framed as `framing`;
    /// `credentials`: it carries `X-Auth-Token` or `Authorization` (checked by the router,
    /// not here: only their presence counts at this layer).
    Complete {
        len: usize,
        framing: Framing,
        credentials: bool,
    },
}

/// Check the request head at the start of `buf` the way hyper will read it, against our
/// limits.
pub(crate) fn check_head(
    buf: &[u8],
    max_uri: usize,
    max_head: usize,
    max_headers: usize,
) -> HeadCheck {
    // Leading empty lines are skipped (RFC 9112 §2.2), as hyper does.
    let start = buf
        .iter()
        .position(|b| *b != b'\r' && *b != b'\n')
        .unwrap_or(buf.len());
    let head = &buf[start..];
    // The request target, as soon as the request line is there (or could only be too long).
    let line_end = head.iter().position(|b| *b == b'\n');
    let line = &head[..line_end.unwrap_or(head.len())];
    let mut words = line.split(|b| *b == b' ');
    let _method = words.next();
    if words.next().is_some_and(|target| target.len() > max_uri) {
        return HeadCheck::Refuse(GatewayError::UriTooLong);
    }
    // Parsed with slots on the stack first; only a head with more headers than that is parsed
    // again with all `max_headers` slots (the outcome is the one all the slots give).
    let mut inline = [httparse::EMPTY_HEADER; INLINE_HEADERS];
    let slots = max_headers.min(INLINE_HEADERS);
    let trailers = hyper_max_headers(max_headers);
    match parse_checked(
        buf,
        start,
        max_uri,
        max_head,
        trailers,
        &mut inline[..slots],
    ) {
        Some(check) => check,
        None if max_headers > INLINE_HEADERS => {
            let mut headers = vec![httparse::EMPTY_HEADER; max_headers];
            parse_checked(buf, start, max_uri, max_head, trailers, &mut headers)
                .unwrap_or(HeadCheck::Refuse(GatewayError::HeadersTooLarge))
        }
        None => HeadCheck::Refuse(GatewayError::HeadersTooLarge),
    }
}

/// The largest `Content-Length` hyper represents.
const MAX_CONTENT_LENGTH: u64 = u64::MAX - 2;

/// Header slots [`check_head`] parses with before it allocates `max_headers` of them.
pub(crate) const INLINE_HEADERS: usize = 32;

/// The longest header name `http::HeaderName` takes.
pub(crate) const MAX_HEADER_NAME: usize = (1 << 16) - 1;

/// Whether `bytes` holds the end of an empty line (`\n\n` or `\n\r\n`), which ends a request
/// head: each line end is looked at once.
pub(crate) fn has_blank_line(bytes: &[u8]) -> bool {
    let mut at = 0;
    while let Some(i) = bytes[at..].iter().position(|&b| b == b'\n') {
        let after = &bytes[at + i + 1..];
        if after.first() == Some(&b'\n') || after.starts_with(b"\r\n") {
            return true;
        }
        at += i + 1;
    }
    false
}

/// [`check_head`]'s parse and checks with `headers` as the header slots; `None`: more
/// headers than slots.
fn parse_checked<'b>(
    buf: &'b [u8],
    start: usize,
    max_uri: usize,
    max_head: usize,
    trailers: usize,
    headers: &mut [httparse::Header<'b>],
) -> Option<HeadCheck> {
    let bad = |detail: &str| {
        Some(HeadCheck::Refuse(GatewayError::MalformedRequest(
            detail.into(),
        )))
    };
    let mut request = httparse::Request::new(headers);
    let len = match request.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => {
            return Some(if buf.len() > max_head + start {
                HeadCheck::Refuse(GatewayError::HeadersTooLarge)
            } else {
                HeadCheck::Partial
            });
        }
        Err(httparse::Error::TooManyHeaders) => return None,
        Err(httparse::Error::Version) => {
            return bad("unsupported HTTP version (HTTP/1.0 or HTTP/1.1 only)")
        }
        Err(e) => return bad(&format!("malformed request head ({e})")),
    };
    if len - start > max_head {
        return Some(HeadCheck::Refuse(GatewayError::HeadersTooLarge));
    }
    let (Some(method), Some(path)) = (request.method, request.path) else {
        return bad("malformed request line");
    };
    if axum::http::Method::from_bytes(method.as_bytes()).is_err() {
        return bad("invalid method");
    }
    if path.len() > max_uri {
        return Some(HeadCheck::Refuse(GatewayError::UriTooLong));
    }
    if path.parse::<axum::http::Uri>().is_err() {
        return bad("invalid request target");
    }
    let mut length: Option<u64> = None;
    let mut chunked = false;
    let mut transfer_encoding = false;
    let mut credentials = false;
    for h in request.headers.iter() {
        // httparse accepts only the names and values `http::HeaderName` and `HeaderValue`
        // accept (tokens; no control character but tab, no DEL), but names of any length.
        if h.name.len() > MAX_HEADER_NAME {
            return bad("invalid header field");
        }
        if h.name.eq_ignore_ascii_case("x-auth-token")
            || h.name.eq_ignore_ascii_case("authorization")
        {
            credentials |= !h.value.iter().all(u8::is_ascii_whitespace);
        }
        if h.name.eq_ignore_ascii_case("content-length") {
            let Some(n) = std::str::from_utf8(h.value)
                .ok()
                .map(str::trim)
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|n| *n <= MAX_CONTENT_LENGTH)
            else {
                return bad("invalid Content-Length");
            };
            if length.is_some_and(|l| l != n) {
                return bad("conflicting Content-Length values");
            }
            length = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            transfer_encoding = true;
            let value = String::from_utf8_lossy(h.value);
            chunked = value
                .rsplit(',')
                .next()
                .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
        }
    }
    if transfer_encoding && length.is_some() {
        return bad("both Content-Length and Transfer-Encoding");
    }
    if transfer_encoding && !chunked {
        return bad("Transfer-Encoding must end with chunked");
    }
    if transfer_encoding && request.version == Some(0) {
        return bad("Transfer-Encoding in an HTTP/1.0 request");
    }
    let framing = if chunked {
        Framing::Chunked(Chunked::new(trailers))
    } else {
        match length {
            Some(n) if n > 0 => Framing::Length(n),
            _ => Framing::Head,
        }
    };
    Some(HeadCheck::Complete {
        len,
        framing,
        credentials,
    })
}
