//! Body framing: where the body after a checked head ends, so that the next head of a
//! pipelined connection is checked too. A `Content-Length` body is counted; a chunked body is
//! followed byte by byte with the state machine of hyper's own decoder (hyper 1.x,
//! `proto/h1/decode.rs`: CRLF line ends only, hex sizes that must not overflow, at most 16 KiB
//! of chunk extensions per body, trailers of at most 16 KiB and hyper's header count, each a
//! valid header field), so the two agree on where every body ends — the differential tests
//! (`differential.rs`) feed the same bytes to both and compare. A body hyper would fail is
//! handed to hyper as it is (`Passthrough`): hyper fails it and closes the connection, so no
//! later head is read by anyone.

use axum::http::{HeaderName, HeaderValue};

/// How the bytes after a checked head are framed.
#[derive(Debug)]
pub(crate) enum Framing {
    /// Waiting for (the rest of) a request head.
    Head,
    /// A body of this many more bytes.
    Length(u64),
    /// A chunked body, at this point of its framing.
    Chunked(Box<Chunked>),
    /// Framing this module cannot follow (a malformed chunked body): everything goes to hyper
    /// as it is, which refuses it and closes the connection.
    Passthrough,
    /// A head was refused: hyper reads no more.
    Refused,
}

/// hyper's limit on the chunk-extension bytes of one body.
const EXTENSIONS_LIMIT: u64 = 16 * 1024;
/// hyper's limit on the trailer bytes of one body.
const TRAILER_LIMIT: usize = 16 * 1024;

/// Where in a chunked body the follower is (hyper's `ChunkedState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    Size,
    SizeLws,
    Extension,
    SizeLf,
    Body,
    BodyCr,
    BodyLf,
    Trailer,
    TrailerLf,
    EndCr,
    EndLf,
}

/// A chunked body being followed.
#[derive(Debug)]
pub(crate) struct Chunked {
    state: State,
    /// The size of the chunk being read, then the data bytes left of it.
    size: u64,
    /// Chunk-extension bytes seen in this body.
    extensions: u64,
    /// The trailer section's bytes, once one has started.
    trailers: Option<Vec<u8>>,
    /// Trailer fields seen, and how many hyper takes.
    trailer_count: usize,
    max_trailers: usize,
}

impl Chunked {
    /// The start of a chunked body whose trailers hyper reads with `max_trailers` slots (its
    /// `max_headers` setting).
    pub(crate) fn new(max_trailers: usize) -> Box<Self> {
        Box::new(Self {
            state: State::Start,
            size: 0,
            extensions: 0,
            trailers: None,
            trailer_count: 0,
            max_trailers,
        })
    }

    /// Take one byte (not of chunk data): the next state, `Ok(None)` at the body's end, or
    /// `Err` where hyper's decoder fails.
    fn step(&mut self, b: u8) -> Result<Option<State>, ()> {
        let hex = |b: u8| match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        };
        let next = match self.state {
            State::Start => {
                let digit = hex(b).ok_or(())?;
                self.size = self
                    .size
                    .checked_mul(16)
                    .and_then(|s| s.checked_add(u64::from(digit)))
                    .ok_or(())?;
                State::Size
            }
            State::Size => match (b, hex(b)) {
                (_, Some(digit)) => {
                    self.size = self
                        .size
                        .checked_mul(16)
                        .and_then(|s| s.checked_add(u64::from(digit)))
                        .ok_or(())?;
                    State::Size
                }
                (b'\t' | b' ', _) => State::SizeLws,
                (b';', _) => State::Extension,
                (b'\r', _) => State::SizeLf,
                _ => return Err(()),
            },
            State::SizeLws => match b {
                b'\t' | b' ' => State::SizeLws,
                b';' => State::Extension,
                b'\r' => State::SizeLf,
                _ => return Err(()),
            },
            State::Extension => match b {
                b'\r' => State::SizeLf,
                b'\n' => return Err(()),
                _ => {
                    self.extensions += 1;
                    if self.extensions >= EXTENSIONS_LIMIT {
                        return Err(());
                    }
                    State::Extension
                }
            },
            State::SizeLf => match b {
                b'\n' if self.size == 0 => State::EndCr,
                b'\n' => State::Body,
                _ => return Err(()),
            },
            State::BodyCr => match b {
                b'\r' => State::BodyLf,
                _ => return Err(()),
            },
            State::BodyLf => match b {
                b'\n' => State::Start,
                _ => return Err(()),
            },
            State::Trailer => {
                self.trailer_byte(b)?;
                if b == b'\r' {
                    State::TrailerLf
                } else {
                    State::Trailer
                }
            }
            State::TrailerLf => match b {
                b'\n' => {
                    if self.trailer_count >= self.max_trailers {
                        return Err(());
                    }
                    self.trailer_count += 1;
                    self.trailer_byte(b)?;
                    State::EndCr
                }
                _ => return Err(()),
            },
            State::EndCr => match b {
                b'\r' => {
                    if self.trailers.is_some() {
                        self.trailer_byte(b)?;
                    }
                    State::EndLf
                }
                _ => {
                    // The first byte of the trailers is taken without the limit check.
                    self.trailers.get_or_insert_with(Vec::new).push(b);
                    State::Trailer
                }
            },
            State::EndLf => match b {
                b'\n' => {
                    if self.trailers.is_some() {
                        self.trailer_byte(b)?;
                    }
                    return match &self.trailers {
                        Some(t) if !trailers_parse(t, self.trailer_count) => Err(()),
                        _ => Ok(None),
                    };
                }
                _ => return Err(()),
            },
            // Never: chunk data is taken in bulk by `scan_chunked`.
            State::Body => return Err(()),
        };
        Ok(Some(next))
    }

    fn trailer_byte(&mut self, b: u8) -> Result<(), ()> {
        let t = self.trailers.get_or_insert_with(Vec::new);
        t.push(b);
        if t.len() >= TRAILER_LIMIT {
            return Err(());
        }
        Ok(())
    }
}

/// Whether hyper accepts the trailer section `t` of `count` fields (httparse, then the
/// `http` crate's name and value rules).
fn trailers_parse(t: &[u8], count: usize) -> bool {
    let mut headers = vec![httparse::EMPTY_HEADER; count];
    match httparse::parse_headers(t, &mut headers) {
        Ok(httparse::Status::Complete((_, fields))) => fields.iter().all(|h| {
            HeaderName::from_bytes(h.name.as_bytes()).is_ok()
                && HeaderValue::from_bytes(h.value).is_ok()
        }),
        _ => false,
    }
}

/// Follow a chunked body over `buf`: how many bytes belong to it, and the framing after them
/// (`Some(Framing::Head)` when the body ended, `Some(Passthrough)` where hyper's decoder
/// fails: everything from there on is hyper's to refuse).
pub(crate) fn scan_chunked(framing: &mut Framing, buf: &[u8]) -> (usize, Option<Framing>) {
    let Framing::Chunked(body) = framing else {
        return (0, None);
    };
    let mut i = 0;
    while i < buf.len() {
        if body.state == State::Body {
            let n = body.size.min((buf.len() - i) as u64);
            // `n` is at most the bytes left in `buf`.
            i += usize::try_from(n).unwrap_or(0);
            body.size -= n;
            if body.size == 0 {
                body.state = State::BodyCr;
            }
            continue;
        }
        let b = buf[i];
        i += 1;
        match body.step(b) {
            Ok(Some(next)) => body.state = next,
            Ok(None) => return (i, Some(Framing::Head)),
            Err(()) => return (buf.len(), Some(Framing::Passthrough)),
        }
    }
    (i, None)
}
