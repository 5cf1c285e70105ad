//! Unit tests of the HTTP server: request-head checks against the limits, the limits taken from
//! the configuration, and chunked bodies followed to their end.

#![allow(clippy::unwrap_used)]

use super::*;

fn check(head: &str) -> HeadCheck {
    check_head(head.as_bytes(), 64, 512, 4)
}

#[test]
fn heads_are_checked_against_the_limits() {
    assert!(matches!(
        check("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
        HeadCheck::Complete {
            len: 34,
            framing: Framing::Head
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
fn chunked_bodies_are_followed_to_their_end() {
    let mut framing = Framing::Chunked(Chunk::Size(Vec::new()));
    let body = b"5;ext=1\r\nhello\r\n0\r\nx-trailer: 1\r\n\r\nGET /next";
    let (used, next) = scan_chunked(&mut framing, &body[..12]);
    assert_eq!((used, next.is_none()), (12, true));
    let (used, next) = scan_chunked(&mut framing, &body[12..]);
    assert_eq!(&body[12..12 + used], b"lo\r\n0\r\nx-trailer: 1\r\n\r\n");
    assert!(matches!(next, Some(Framing::Head)));
    let mut framing = Framing::Chunked(Chunk::Size(Vec::new()));
    let (_, next) = scan_chunked(&mut framing, b"zz\r\n");
    assert!(matches!(next, Some(Framing::Passthrough)));
}
