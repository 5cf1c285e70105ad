//! Unit tests of the front door: request-head checks against the limits, the limits taken from
//! the configuration, and chunked bodies followed to their end.

#![allow(clippy::unwrap_used)]

use crate::anonymous;
use crate::framing::{scan_chunked, Chunked, Framing};
use crate::head::*;
use crate::limits::{Limits, HYPER_MAX_URI};
use plugboard_api::common::error::GatewayError;
use plugboard_core::config::HttpConfig;
use std::time::Duration;

fn check(head: &str) -> HeadCheck {
    check_head(head.as_bytes(), 64, 512, 4)
}

#[test]
fn heads_are_checked_against_the_limits() {
    assert!(matches!(
        check("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
        HeadCheck::Complete {
            len: 34,
            framing: Framing::Head,
            credentials: false,
        }
    ));
    assert!(matches!(
        check("GET /healthz HTTP/1.1\r\nHo"),
        HeadCheck::Partial
    ));
    let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(100));
    assert!(matches!(
        check(&long),
        HeadCheck::Refuse(GatewayError::UriTooLong)
    ));
    let partial_long = format!("GET /{}", "a".repeat(100));
    assert!(matches!(
        check(&partial_long),
        HeadCheck::Refuse(GatewayError::UriTooLong)
    ));
    let many = "GET / HTTP/1.1\r\na: 1\r\nb: 1\r\nc: 1\r\nd: 1\r\ne: 1\r\n\r\n";
    assert!(matches!(
        check(many),
        HeadCheck::Refuse(GatewayError::HeadersTooLarge)
    ));
    let big = format!("GET / HTTP/1.1\r\nx: {}", "v".repeat(600));
    assert!(matches!(
        check(&big),
        HeadCheck::Refuse(GatewayError::HeadersTooLarge)
    ));
    assert!(matches!(
        check("\u{1}\u{2} garbage\r\n\r\n"),
        HeadCheck::Refuse(GatewayError::MalformedRequest(_))
    ));
    assert!(matches!(
        check("GET / HTTP/1.1\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n"),
        HeadCheck::Refuse(GatewayError::MalformedRequest(_))
    ));
    assert!(matches!(
        check("POST / HTTP/1.1\r\ncontent-length: 5\r\n\r\n"),
        HeadCheck::Complete {
            framing: Framing::Length(5),
            ..
        }
    ));
}

#[test]
fn limits_stay_within_what_the_server_can_use() {
    let huge = Limits::from_config(&HttpConfig {
        max_connections: usize::MAX,
        max_uri_bytes: usize::MAX,
        ..HttpConfig::default()
    });
    assert!(huge.max_connections <= u32::MAX as usize);
    assert_eq!(huge.max_uri_bytes, HYPER_MAX_URI);
    let zero = Limits::from_config(&HttpConfig {
        max_connections: 0,
        header_read_timeout_seconds: 0,
        idle_timeout_seconds: 0,
        ..HttpConfig::default()
    });
    assert_eq!(zero.max_connections, 1);
    assert_eq!(zero.header_read_timeout, Duration::from_secs(1));
    assert_eq!(zero.idle_timeout, Duration::from_secs(1));
}

#[test]
fn credentials_in_a_head_are_noticed() {
    let with = |h: &str| {
        let head = format!("POST / HTTP/1.1\r\n{h}content-length: 1\r\n\r\n");
        match check(&head) {
            HeadCheck::Complete { credentials, .. } => credentials,
            other => panic!("{other:?}"),
        }
    };
    assert!(!with(""));
    assert!(with("X-Auth-Token: abc\r\n"));
    assert!(with("authorization: OAuth 123\r\n"));
    assert!(!with("authorization:   \r\n"));
}

#[test]
fn unauthenticated_bodies_are_counted_per_address_and_in_total() {
    let limiter = anonymous::AnonymousBodies::new(2, 3);
    let a: std::net::IpAddr = "10.0.0.1".parse().unwrap();
    let b: std::net::IpAddr = "10.0.0.2".parse().unwrap();
    let first = limiter.acquire(a).unwrap();
    let _second = limiter.acquire(a).unwrap();
    assert!(
        matches!(limiter.acquire(a), Err(GatewayError::Throttled(m)) if m.contains("per_address"))
    );
    let _third = limiter.acquire(b).unwrap();
    assert!(
        matches!(limiter.acquire(b), Err(GatewayError::Throttled(m)) if m.contains("max_unauthenticated_bodies = 3"))
    );
    drop(first);
    assert_eq!(limiter.in_progress(), 2);
    let _again = limiter.acquire(b).unwrap();
    // One IPv6 /64 is one client.
    let limiter = anonymous::AnonymousBodies::new(1, 10);
    let _v6 = limiter.acquire("2001:db8::1".parse().unwrap()).unwrap();
    assert!(limiter.acquire("2001:db8::2".parse().unwrap()).is_err());
    assert!(limiter.acquire("2001:db8:0:1::2".parse().unwrap()).is_ok());
}

#[test]
fn chunked_bodies_are_followed_to_their_end() {
    let mut framing = Framing::Chunked(Chunked::new(100));
    let body = b"5;ext=1\r\nhello\r\n0\r\nx-trailer: 1\r\n\r\nGET /next";
    let (used, next) = scan_chunked(&mut framing, &body[..12]);
    assert_eq!((used, next.is_none()), (12, true));
    let (used, next) = scan_chunked(&mut framing, &body[12..]);
    assert_eq!(&body[12..12 + used], b"lo\r\n0\r\nx-trailer: 1\r\n\r\n");
    assert!(matches!(next, Some(Framing::Head)));
    let mut framing = Framing::Chunked(Chunked::new(100));
    let (_, next) = scan_chunked(&mut framing, b"zz\r\n");
    assert!(matches!(next, Some(Framing::Passthrough)));
}

#[test]
fn header_fields_are_refused_exactly_where_the_http_crate_refuses_them() {
    use axum::http::{HeaderName, HeaderValue};
    let refused = |head: &[u8]| matches!(check_head(head, 64, 512, 4), HeadCheck::Refuse(_));
    for b in 0..=255u8 {
        // A byte in a name (`:` would end the name instead).
        if b != b':' {
            let name = [b'x', b];
            let head = [b"GET / HTTP/1.1\r\n".as_slice(), &name, b": v\r\n\r\n"].concat();
            assert_eq!(
                refused(&head),
                HeaderName::from_bytes(&name).is_err(),
                "name byte {b}"
            );
        }
        let value = [b'v', b, b'v'];
        let head = [b"GET / HTTP/1.1\r\nx: ".as_slice(), &value, b"\r\n\r\n"].concat();
        assert_eq!(
            refused(&head),
            HeaderValue::from_bytes(&value).is_err(),
            "value byte {b}"
        );
    }
    let long_name = |len: usize| {
        let head = format!("GET / HTTP/1.1\r\n{}: v\r\n\r\n", "n".repeat(len));
        check_head(head.as_bytes(), 64, 1 << 20, 4)
    };
    assert!(matches!(
        long_name(MAX_HEADER_NAME),
        HeadCheck::Complete { .. }
    ));
    assert!(matches!(
        long_name(MAX_HEADER_NAME + 1),
        HeadCheck::Refuse(GatewayError::MalformedRequest(_))
    ));
    assert!(HeaderName::from_bytes(&[b'n'; MAX_HEADER_NAME]).is_ok());
    assert!(HeaderName::from_bytes(&[b'n'; MAX_HEADER_NAME + 1]).is_err());
}

#[test]
fn the_end_of_a_head_is_found_wherever_it_is() {
    let windows =
        |b: &[u8]| b.windows(2).any(|w| w == b"\n\n") || b.windows(3).any(|w| w == b"\n\r\n");
    let cases: [&[u8]; 12] = [
        b"",
        b"\n",
        b"\n\n",
        b"\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n",
        b"GET / HTTP/1.1\nHost: x\n\n",
        b"\n\r",
        b"a\nb\nc\r\nd\r\r\n",
        b"\r\n\r",
        b"x\n\r\n",
        b"\n\r\r\n",
    ];
    for case in cases {
        assert_eq!(has_blank_line(case), windows(case), "{case:?}");
    }
    // Every arrangement of four bytes drawn from `\r`, `\n` and `a`.
    for mut n in 0..81u32 {
        let mut bytes = [0u8; 4];
        for b in &mut bytes {
            *b = [b'\r', b'\n', b'a'][(n % 3) as usize];
            n /= 3;
        }
        assert_eq!(has_blank_line(&bytes), windows(&bytes), "{bytes:?}");
    }
}

#[test]
fn heads_with_more_headers_than_the_inline_slots_are_checked_with_all_of_them() {
    let head = |n: usize| {
        let mut h = String::from("GET / HTTP/1.1\r\n");
        for i in 0..n {
            h.push_str(&format!("x-h{i}: {i}\r\n"));
        }
        h + "\r\n"
    };
    let check = |h: &str, max_headers: usize| check_head(h.as_bytes(), 64, 64 * 1024, max_headers);
    for n in [INLINE_HEADERS, INLINE_HEADERS + 1, 100] {
        let h = head(n);
        assert!(
            matches!(check(&h, 100), HeadCheck::Complete { len, .. } if len == h.len()),
            "{n} headers"
        );
    }
    assert!(matches!(
        check(&head(101), 100),
        HeadCheck::Refuse(GatewayError::HeadersTooLarge)
    ));
    assert!(matches!(
        check(&head(5), 4),
        HeadCheck::Refuse(GatewayError::HeadersTooLarge)
    ));
    let whole = head(40);
    assert!(matches!(
        check(&whole[..whole.len() - 2], 100),
        HeadCheck::Partial
    ));
    let mut bad = head(40);
    bad.insert_str(bad.len() - 2, "x-bad: a\u{1}b\r\n");
    assert!(matches!(
        check(&bad, 100),
        HeadCheck::Refuse(GatewayError::MalformedRequest(_))
    ));
}
