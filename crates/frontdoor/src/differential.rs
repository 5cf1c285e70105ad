//! Differential tests of the head guard and the body framing against plain hyper: the same
//! byte stream is served by hyper alone and by hyper behind the guard ([`Guarded`]), and both
//! must see the same requests (method, target, body, in order) and the guard must have
//! checked every head hyper parsed — or the guard refuses where hyper refuses. Fixed streams
//! cover pipelining, chunked bodies with extensions and trailers and bad framing; a proptest
//! generates pipelined streams of good and bad requests, cut and mutated at random.

#![allow(clippy::unwrap_used)]

use crate::accept::connection_builder;
use crate::anonymous::AnonymousBodies;
use crate::framing::{scan_chunked, Framing};
use crate::guarded::{Guarded, Handback};
use crate::head::{check_head, HeadCheck};
use crate::Limits;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use plugboard_core::config::HttpConfig;
use proptest::prelude::*;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// One request as the service saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    method: String,
    target: String,
    /// `None`: the body failed (hyper refused its framing, or the stream ended inside it).
    body: Option<Vec<u8>>,
}

#[derive(Debug)]
struct Outcome {
    requests: Vec<Seen>,
    /// The guard's refusal (`None` on plain hyper).
    refusal: Option<String>,
    /// Heads the guard checked and passed on.
    heads: usize,
}

/// Serve `stream` on one connection over `io`, recording each request, then run `ended`; the
/// client writes it all, closes its side, and reads the answers to the end.
async fn serve<S>(
    io: S,
    client: tokio::io::DuplexStream,
    stream: &[u8],
    ended: impl std::future::Future<Output = ()>,
) -> Vec<Seen>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
    let record = seen.clone();
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let record = record.clone();
        async move {
            let at = {
                let mut s = record.lock().unwrap();
                s.push(Seen {
                    method: req.method().to_string(),
                    target: req.uri().to_string(),
                    body: None,
                });
                s.len() - 1
            };
            let body = req.into_body().collect().await.ok();
            record.lock().unwrap()[at].body = body.map(|b| b.to_bytes().to_vec());
            Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(b"ok"))))
        }
    });
    let limits = limits();
    let mut builder = connection_builder(&limits);
    // The client closes its side once it has written: answers still go out.
    builder.half_close(true);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    let (mut read, mut write) = tokio::io::split(client);
    let client = async {
        write.write_all(stream).await.ok();
        write.shutdown().await.ok();
        let mut answers = Vec::new();
        read.read_to_end(&mut answers).await.ok();
    };
    let served = async {
        let _ = conn.await;
        ended.await;
    };
    tokio::time::timeout(Duration::from_secs(10), async {
        tokio::join!(client, served)
    })
    .await
    .expect("the connection ends");
    let seen = seen.lock().unwrap().clone();
    seen
}

fn limits() -> Limits {
    Limits::from_config(&HttpConfig::default())
}

async fn plain(stream: &[u8]) -> Outcome {
    let (client, server) = tokio::io::duplex(1 << 20);
    Outcome {
        requests: serve(server, client, stream, async {}).await,
        refusal: None,
        heads: 0,
    }
}

async fn guarded(stream: &[u8]) -> Outcome {
    let (client, server) = tokio::io::duplex(1 << 20);
    let limits = limits();
    let handback = Handback::default();
    let io = Guarded::new(
        server,
        "127.0.0.1".parse().unwrap(),
        &limits,
        AnonymousBodies::new(1000, 1000),
        handback.clone(),
    );
    let end = Arc::new(Mutex::new(None));
    let seen_end = end.clone();
    // As the connection task does: the refusal is written once hyper is done, and the
    // socket closed.
    let ended = async move {
        let left = handback.take().expect("hyper dropped the socket");
        *seen_end.lock().unwrap() =
            Some((left.refusal.as_ref().map(|r| format!("{r:?}")), left.heads));
        left.finish(false).await;
    };
    let requests = serve(io, client, stream, ended).await;
    let (refusal, heads) = end.lock().unwrap().take().expect("the connection ended");
    Outcome {
        requests,
        refusal,
        heads,
    }
}

/// The guard's refusals where hyper would take the request (and then close the connection):
/// stricter on purpose, against request smuggling.
fn deliberately_stricter(refusal: &str) -> bool {
    refusal.contains("both Content-Length and Transfer-Encoding")
}

/// How the guard's head check and body framing alone divide a whole stream.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// Every byte is in a request.
    Clean,
    /// The stream ends inside a head or a body.
    Partial,
    /// A body hyper fails: handed to hyper as it is.
    Passthrough,
    /// A head refused.
    Refused,
    /// An HTTP/1.0 request: hyper closes the connection after it.
    Closed,
}

/// The heads the guard passes on in `stream` on its own (not paced by hyper's reads), and how
/// its walk ended.
fn guard_alone(stream: &[u8]) -> (usize, End) {
    let l = limits();
    let (mut at, mut heads) = (0, 0);
    while at < stream.len() {
        let rest = &stream[at..];
        let (len, framing) =
            match check_head(rest, l.max_uri_bytes, l.max_header_bytes, l.max_headers) {
                HeadCheck::Partial => return (heads, End::Partial),
                HeadCheck::Refuse(_) => return (heads, End::Refused),
                HeadCheck::Complete { len, framing, .. } => (len, framing),
            };
        heads += 1;
        let http10 = rest[..len]
            .split(|b| *b == b'\n')
            .find(|line| !line.is_empty() && *line != b"\r")
            .is_some_and(|line| line.trim_ascii_end().ends_with(b"HTTP/1.0"));
        at += len;
        match framing {
            Framing::Length(n) => {
                if ((stream.len() - at) as u64) < n {
                    return (heads, End::Partial);
                }
                at += usize::try_from(n).unwrap();
            }
            mut chunked @ Framing::Chunked(_) => {
                let (used, next) = scan_chunked(&mut chunked, &stream[at..]);
                at += used;
                match next {
                    Some(Framing::Head) => {}
                    Some(_) => return (heads, End::Passthrough),
                    None => return (heads, End::Partial),
                }
            }
            _ => {}
        }
        if http10 {
            return (heads, End::Closed);
        }
    }
    (heads, End::Clean)
}

/// Serve `stream` both ways and hold the guard to hyper's request boundaries.
fn agree(stream: &[u8]) -> (Outcome, Outcome) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (plain, guarded) = rt.block_on(async { (plain(stream).await, guarded(stream).await) });
    let shown = String::from_utf8_lossy(stream);
    assert!(
        guarded.requests.len() <= plain.requests.len()
            && guarded.requests[..] == plain.requests[..guarded.requests.len()],
        "the guard let through other requests than hyper sees\n{shown:?}\nplain: {:?}\nguarded: {:?}",
        plain.requests,
        guarded.requests
    );
    assert_eq!(
        guarded.heads,
        guarded.requests.len(),
        "every head the guard checked is a request hyper parsed, and none went unchecked\n{shown:?}\n{guarded:?}"
    );
    // The guard alone, over the whole stream: where hyper takes n requests, the guard found n
    // heads, and it hands hyper the body hyper fails.
    let (heads, end) = guard_alone(stream);
    let failed_last = plain.requests.last().is_some_and(|r| r.body.is_none());
    let alone = format!(
        "guard alone: {heads} heads, {end:?}; hyper: {:?}",
        plain.requests
    );
    match end {
        End::Refused
            if guarded
                .refusal
                .as_deref()
                .is_some_and(deliberately_stricter) =>
        {
            assert!(plain.requests.len() <= heads + 1, "{alone}\n{shown:?}")
        }
        End::Clean => assert!(
            heads == plain.requests.len() && !failed_last,
            "{alone}\n{shown:?}"
        ),
        End::Passthrough => assert!(
            heads == plain.requests.len() && failed_last,
            "{alone}\n{shown:?}"
        ),
        End::Closed => assert!(heads >= plain.requests.len(), "{alone}\n{shown:?}"),
        End::Partial | End::Refused => {
            assert_eq!(heads, plain.requests.len(), "{alone}\n{shown:?}")
        }
    }
    match &guarded.refusal {
        None => assert_eq!(
            guarded.requests, plain.requests,
            "no refusal: the same requests\n{shown:?}"
        ),
        Some(why) if deliberately_stricter(why) => assert!(
            plain.requests.len() <= guarded.requests.len() + 1,
            "{shown:?}"
        ),
        Some(why) => assert_eq!(
            plain.requests.len(),
            guarded.requests.len(),
            "the guard refused ({why}) where hyper took the request\n{shown:?}\nplain: {:?}",
            plain.requests
        ),
    }
    (plain, guarded)
}

fn bodies(o: &Outcome) -> Vec<Option<&[u8]>> {
    o.requests.iter().map(|r| r.body.as_deref()).collect()
}

#[test]
fn pipelined_requests_have_the_same_boundaries() {
    let (plain, guarded) = agree(
        b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n\
          POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello\
          GET /c?q=1 HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert_eq!(plain.requests.len(), 3);
    assert_eq!(guarded.heads, 3);
    assert_eq!(
        bodies(&guarded),
        [Some(&b""[..]), Some(b"hello"), Some(b"")]
    );
}

#[test]
fn chunked_bodies_with_extensions_and_trailers_end_where_hyper_ends_them() {
    let (_, guarded) = agree(
        b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
          5;name=value;x\r\nhello\r\n6 \t; ext\r\n world\r\n0\r\nx-sum: 1\r\nx-more: 2\r\n\r\n\
          POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n\
          A\r\n0123456789\r\n0\r\n\r\n\
          GET /c HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert_eq!(
        bodies(&guarded),
        [Some(&b"hello world"[..]), Some(b"0123456789"), Some(b"")]
    );
    assert!(guarded.refusal.is_none());
}

#[test]
fn bad_framing_is_refused_where_hyper_refuses_it() {
    let next = "GET /next HTTP/1.1\r\nHost: x\r\n\r\n";
    let cases: Vec<(String, bool)> = vec![
        // (stream, whether the guard refuses a head)
        (format!("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{next}"), true),
        (format!("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd{next}"), true),
        (format!("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc{next}"), false),
        (format!("POST / HTTP/1.1\r\nContent-Length: 18446744073709551614\r\n\r\nabc{next}"), true),
        (format!("GET / HTTP/1.1\r\nX-Folded: a\r\n b\r\n\r\n{next}"), true),
        (format!("GET / HTTP/1.1\nHost: x\n\n{next}"), false),
        (format!("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n{next}"), true),
        (format!("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{next}"), true),
        // Chunked bodies hyper fails: the connection ends there.
        (format!("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n{next}"), false),
        (format!("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n{next}"), false),
        (format!("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\n{next}"), false),
        (format!("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n\r\n{next}"), false),
        (format!("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n\r\n{next}"), false),
        (format!("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;a\nb\r\nx\r\n0\r\n\r\n{next}"), false),
        (format!("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nno colon\r\n\r\n{next}"), false),
        (format!("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad\x01: v\r\n\r\n{next}"), false),
        (format!("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;{}\r\nx\r\n0\r\n\r\n{next}", "e".repeat(16 * 1024)), false),
        (format!("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nx: {}\r\n\r\n{next}", "v".repeat(16 * 1024)), false),
        (format!("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n{}\r\n{next}", (0..101).map(|i| format!("t{i}: v\r\n")).collect::<String>()), false),
        // A long extension and many trailers hyper still takes: the next head is checked.
        (format!("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;{}\r\nx\r\n0\r\n\r\n{next}", "e".repeat(8 * 1024)), false),
        (format!("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n{}\r\n{next}", (0..100).map(|i| format!("t{i}: v\r\n")).collect::<String>()), false),
        ("\u{16}\u{3}\u{1}\u{2}\u{0}garbage".to_string(), true),
    ];
    for (stream, refused) in cases {
        let (plain, guarded) = agree(stream.as_bytes());
        assert_eq!(
            guarded.refusal.is_some(),
            refused,
            "{stream:?}\nplain: {plain:?}\nguarded: {guarded:?}"
        );
    }
}

/// One request of a generated stream.
fn request() -> impl Strategy<Value = Vec<u8>> {
    let target = "/[a-z0-9]{0,8}(\\?[a-z]=[0-9]{1,3})?";
    let body = proptest::collection::vec(any::<u8>(), 0..40);
    let chunk_size_case = any::<bool>();
    let extension = proptest::option::of("[a-z]{1,5}(=[a-z0-9]{1,5})?");
    let chunk = (body.clone(), chunk_size_case, extension);
    let trailers = proptest::collection::vec("x-[a-z]{1,6}: [a-z0-9 ]{0,8}", 0..3);
    prop_oneof![
        target.prop_map(|t| format!("GET {t} HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes()),
        (target, body.clone()).prop_map(|(t, b)| {
            let mut r = format!(
                "POST {t} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
                b.len()
            )
            .into_bytes();
            r.extend(b);
            r
        }),
        (
            target,
            proptest::collection::vec(chunk, 0..4),
            trailers,
            proptest::collection::vec(prop::bool::weighted(0.1), 16),
        )
            .prop_map(|(t, chunks, trailers, bare)| {
                // Each line end of the body is CRLF or, now and then, a bare LF.
                let mut bare = bare.into_iter().cycle();
                let mut eol = move || {
                    if bare.next() == Some(true) {
                        &b"\n"[..]
                    } else {
                        &b"\r\n"[..]
                    }
                };
                let mut r =
                    format!("PUT {t} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
                        .into_bytes();
                for (data, upper, ext) in chunks.into_iter().filter(|(d, _, _)| !d.is_empty()) {
                    let size = if upper {
                        format!("{:X}", data.len())
                    } else {
                        format!("{:x}", data.len())
                    };
                    r.extend(size.as_bytes());
                    if let Some(ext) = ext {
                        r.extend(format!(";{ext}").as_bytes());
                    }
                    r.extend(eol());
                    r.extend(data);
                    r.extend(eol());
                }
                r.extend(b"0");
                r.extend(eol());
                for t in trailers {
                    r.extend(t.as_bytes());
                    r.extend(eol());
                }
                r.extend(eol());
                r
            }),
    ]
}

/// A stream of requests, maybe with one CR taken out (a bare LF), maybe cut short, maybe with
/// one byte changed.
fn stream() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::collection::vec(request(), 1..5),
        proptest::option::of(any::<prop::sample::Index>()),
        proptest::option::of(any::<prop::sample::Index>()),
        proptest::option::of((
            any::<prop::sample::Index>(),
            prop_oneof![
                Just(b'\r'),
                Just(b'\n'),
                Just(b' '),
                Just(b';'),
                Just(b':'),
                Just(b'0'),
                Just(b'f'),
                Just(b'\t'),
                Just(0u8),
                any::<u8>()
            ],
        )),
    )
        .prop_map(|(requests, bare_lf, cut, mutation)| {
            let mut s = requests.concat();
            let crs: Vec<usize> = (0..s.len()).filter(|i| s[*i] == b'\r').collect();
            if let (Some(at), false) = (bare_lf, crs.is_empty()) {
                s.remove(crs[at.index(crs.len())]);
            }
            if let Some((at, byte)) = mutation {
                let at = at.index(s.len());
                s[at] = byte;
            }
            if let Some(cut) = cut {
                s.truncate(cut.index(s.len() + 1));
            }
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn generated_streams_have_the_same_boundaries_behind_the_guard(s in stream()) {
        agree(&s);
    }
}
