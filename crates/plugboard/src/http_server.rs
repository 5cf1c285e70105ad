//! The HTTP/1 server under the router: its own accept loop over hyper, so that slow, idle or
//! malformed clients cannot starve others and every refusal made below the router is
//! answered in the gateway envelope (`APIG.0201`, with `X-Request-Id`), never hyper's bare
//! status line.
//!
//! - **Connection limit** (`[http] max_connections`): one permit per connection; at the
//!   limit the loop stops accepting and new connections wait in the kernel's listen backlog
//!   until one closes (the timeouts below bound how long a slot can be held by a client that
//!   sends nothing).
//! - **Idle timeout** (`[http] idle_timeout_seconds`, hyper's header-read timer): a connection
//!   that has not delivered a complete request head this long after it opened or after its
//!   last response is closed.
//! - **Header-read timeout** (`[http] header_read_timeout_seconds`): once a head has started
//!   to arrive it must be complete within this time, else 408.
//! - **Head checks before hyper**: every request head is read and checked here (httparse:
//!   syntax, `[http] max_uri_bytes` → 414, `max_headers` / `max_header_bytes` → 431, framing
//!   headers) before hyper sees a byte of it, so hyper's own automatic answers never happen.
//!   Bodies are passed through by their framing (`Content-Length`, `chunked`); a refused head
//!   is reported to hyper as the end of input once every earlier response has been sent, and
//!   the refusal is written after hyper is done with the connection.
//! - **Graceful shutdown**: stop accepting, let in-flight requests finish, close idle
//!   connections, all within `[http] shutdown_timeout_seconds`.

use axum::Router;
use bytes::{Buf, BytesMut};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use plugboard_api::common::error::GatewayError;
use plugboard_core::config::HttpConfig;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Sleep;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// The longest request target hyper (and the `http` crate) can represent.
const HYPER_MAX_URI: usize = 65_534;
/// How long a refused connection is drained after its answer, so that unread request bytes
/// do not turn the close into a reset that discards the answer at the client.
const LINGER: Duration = Duration::from_millis(500);

/// The room made in a connection's buffer before each read of its socket.
const READ_CHUNK: usize = 8 * 1024;

/// The limits connections are served under (from `[http]`).
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_uri_bytes: usize,
    pub max_header_bytes: usize,
    pub max_headers: usize,
    pub shutdown_timeout: Duration,
}

/// Descriptors kept free of connections for the store, jobs, probes and logs.
const RESERVED_DESCRIPTORS: u64 = 64;

/// The connection limit the descriptor limit leaves room for, if it is lower than `wanted`.
#[cfg(unix)]
fn descriptor_bound(wanted: usize) -> Option<(usize, u64)> {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current?;
    let room = usize::try_from(limit.saturating_sub(RESERVED_DESCRIPTORS).max(1)).ok()?;
    (room < wanted).then_some((room, limit))
}

#[cfg(not(unix))]
fn descriptor_bound(_wanted: usize) -> Option<(usize, u64)> {
    None
}

impl Limits {
    /// The limits of `[http]` (zero values are read as the smallest useful ones). A
    /// `max_connections` the process's descriptor limit cannot hold is lowered to what it can
    /// (the limit less 64), with a warning.
    pub fn from_config(http: &HttpConfig) -> Self {
        // At most u32::MAX: shutdown waits for all permits at once.
        let ceiling = Semaphore::MAX_PERMITS.min(u32::MAX as usize);
        let mut max_connections = http.max_connections.clamp(1, ceiling);
        if let Some((room, limit)) = descriptor_bound(max_connections) {
            tracing::warn!(
                configured = max_connections,
                serving = room,
                descriptor_limit = limit,
                "[http] max_connections lowered to what the descriptor limit (ulimit -n) leaves room for"
            );
            max_connections = room;
        }
        Self {
            max_connections,
            header_read_timeout: Duration::from_secs(http.header_read_timeout_seconds.max(1)),
            idle_timeout: Duration::from_secs(http.idle_timeout_seconds.max(1)),
            max_uri_bytes: http.max_uri_bytes.clamp(1, HYPER_MAX_URI),
            max_header_bytes: http.max_header_bytes.max(64),
            max_headers: http.max_headers.max(1),
            shutdown_timeout: Duration::from_secs(http.shutdown_timeout_seconds),
        }
    }
}

/// Serve `app` on `listener` until `shutdown` resolves, then drain for at most
/// `limits.shutdown_timeout`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let limits = Arc::new(limits);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let stop = CancellationToken::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.idle_timeout)
        // Heads reach hyper only once checked against our (lower) limits.
        .max_headers(limits.max_headers.max(100))
        .max_buf_size((limits.max_header_bytes * 2).max(400 * 1024));
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let stream = loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => break Some(stream),
                    Err(e) if is_connection_error(&e) => continue,
                    Err(e) => {
                        // Out of descriptors, typically: wait for connections to close.
                        tracing::warn!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                _ = &mut shutdown => break None,
            }
        };
        let Some(stream) = stream else { break };
        stream.set_nodelay(true).ok();
        let app = app.clone();
        let limits = limits.clone();
        let builder = builder.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            serve_connection(stream, app, &limits, &builder, stop).await;
            drop(permit);
        });
    }
    drop(listener);
    stop.cancel();
    // Every connection holds a permit until it is closed: all of them back = all closed.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(limits.shutdown_timeout, permits.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!(
            seconds = limits.shutdown_timeout.as_secs(),
            "in-flight requests did not finish in time; stopping anyway"
        );
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

type BoxedResponse =
    Pin<Box<dyn Future<Output = Result<axum::response::Response, Infallible>> + Send>>;

async fn serve_connection(
    stream: TcpStream,
    app: Router,
    limits: &Limits,
    builder: &http1::Builder,
    stop: CancellationToken,
) {
    let in_flight = Arc::new(InFlight::default());
    let tracked = in_flight.clone();
    let service =
        hyper::service::service_fn(move |req: hyper::Request<Incoming>| -> BoxedResponse {
            let app = app.clone();
            let guard = InFlight::start(&tracked);
            Box::pin(async move {
                let response = app.oneshot(req.map(axum::body::Body::new)).await?;
                Ok(response.map(|inner| {
                    axum::body::Body::new(Tracked {
                        inner,
                        _guard: guard,
                    })
                }))
            })
        });
    let io = TokioIo::new(Guarded::new(stream, limits, in_flight));
    let mut conn = builder.serve_connection(io, service);
    let mut stopping = false;
    let mut stopped = std::pin::pin!(stop.cancelled());
    let ended = std::future::poll_fn(|cx| {
        if !stopping && stopped.as_mut().poll(cx).is_ready() {
            stopping = true;
            Pin::new(&mut conn).graceful_shutdown();
        }
        conn.poll_without_shutdown(cx)
    })
    .await;
    let timed_out = ended.as_ref().err().is_some_and(hyper::Error::is_timeout);
    let guarded = conn.into_parts().io.into_inner();
    guarded.finish(timed_out).await;
}

/// Requests of one connection whose response hyper has not finished sending: a refused head
/// is reported to hyper as the end of input only once there are none, so an earlier request's
/// answer is never cut off.
#[derive(Default)]
struct InFlight {
    count: AtomicUsize,
    waker: Mutex<Option<Waker>>,
}

impl InFlight {
    fn start(this: &Arc<Self>) -> InFlightGuard {
        this.count.fetch_add(1, Ordering::SeqCst);
        InFlightGuard(this.clone())
    }

    /// `Ready` once nothing is in flight; else registers `cx` to be woken then.
    fn poll_idle(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.count.load(Ordering::SeqCst) == 0 {
            return Poll::Ready(());
        }
        if let Ok(mut w) = self.waker.lock() {
            *w = Some(cx.waker().clone());
        }
        if self.count.load(Ordering::SeqCst) == 0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// Held by a request from the moment hyper hands it over until its response body is done
/// (or dropped).
struct InFlightGuard(Arc<InFlight>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            if let Some(w) = self.0.waker.lock().ok().and_then(|mut w| w.take()) {
                w.wake();
            }
        }
    }
}

/// A response body that keeps its request in flight until hyper has taken all of it.
struct Tracked {
    inner: axum::body::Body,
    _guard: InFlightGuard,
}

impl http_body::Body for Tracked {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// How the bytes after a checked head are framed.
#[derive(Debug)]
enum Framing {
    /// Waiting for (the rest of) a request head.
    Head,
    /// A body of this many more bytes.
    Length(u64),
    /// A chunked body, at this point of its framing.
    Chunked(Chunk),
    /// Framing this module cannot follow (a malformed chunked body): everything goes to hyper
    /// as it is, which refuses it and closes the connection.
    Passthrough,
    /// A head was refused: hyper reads no more.
    Refused,
}

#[derive(Debug)]
enum Chunk {
    /// Reading a chunk-size line (this many bytes so far).
    Size(Vec<u8>),
    /// This many data bytes to go.
    Data(u64),
    /// The CRLF after a chunk's data (bytes seen).
    DataEnd(u8),
    /// The trailer section; bytes on the current line.
    Trailer(usize),
}

/// The connection's socket as hyper sees it: request heads are held back until complete and
/// checked; body bytes pass by their framing.
struct Guarded {
    inner: TcpStream,
    max_uri: usize,
    max_head: usize,
    max_headers: usize,
    header_timeout: Duration,
    /// Bytes read from the socket that hyper has not been given.
    pending: BytesMut,
    /// How many leading bytes of `pending` hyper may have.
    release: usize,
    framing: Framing,
    /// Started when the first byte of a head arrives.
    head_timer: Option<Pin<Box<Sleep>>>,
    /// Bytes of a head in `pending` already searched for its end, and whether its first line
    /// ended there: a head is parsed only when it may be complete or may break a limit, not
    /// on every byte a trickling client sends.
    scanned: usize,
    line_seen: bool,
    eof: bool,
    /// The refusal to write once hyper is done.
    refusal: Option<GatewayError>,
    in_flight: Arc<InFlight>,
}

impl Guarded {
    fn new(inner: TcpStream, limits: &Limits, in_flight: Arc<InFlight>) -> Self {
        Self {
            inner,
            max_uri: limits.max_uri_bytes,
            max_head: limits.max_header_bytes,
            max_headers: limits.max_headers,
            header_timeout: limits.header_read_timeout,
            pending: BytesMut::with_capacity(READ_CHUNK),
            release: 0,
            framing: Framing::Head,
            head_timer: None,
            scanned: 0,
            line_seen: false,
            eof: false,
            refusal: None,
            in_flight,
        }
    }

    fn refuse(&mut self, why: GatewayError) {
        self.framing = Framing::Refused;
        self.pending.clear();
        self.release = 0;
        self.head_timer = None;
        self.refusal = Some(why);
    }

    /// Classify buffered bytes: release what hyper may have, or refuse a head. `false`: more
    /// bytes are needed.
    fn advance(&mut self) -> bool {
        match &mut self.framing {
            Framing::Refused => false,
            Framing::Passthrough => {
                self.release = self.pending.len();
                self.release > 0
            }
            Framing::Length(left) => {
                let n = (*left).min(self.pending.len() as u64);
                *left -= n;
                // `n` is at most `pending.len()`, a usize.
                self.release = usize::try_from(n).unwrap_or(usize::MAX);
                if *left == 0 {
                    self.framing = Framing::Head;
                }
                self.release > 0 || matches!(self.framing, Framing::Head)
            }
            Framing::Chunked(_) => {
                let (used, next) = scan_chunked(&mut self.framing, &self.pending);
                self.release = used;
                if let Some(next) = next {
                    self.framing = next;
                }
                used > 0
            }
            Framing::Head => {
                let new = &self.pending[self.scanned.saturating_sub(3)..];
                let may_be_complete = has_blank_line(new);
                let first_line_ended = !self.line_seen && new.contains(&b'\n');
                self.scanned = self.pending.len();
                self.line_seen |= first_line_ended;
                if !self.line_seen && self.pending.len() > self.max_uri + 64 {
                    // No request line this long holds a target within the limit.
                    self.refuse(GatewayError::UriTooLong);
                    return false;
                }
                if !(may_be_complete || first_line_ended || self.pending.len() > self.max_head) {
                    return false;
                }
                match check_head(&self.pending, self.max_uri, self.max_head, self.max_headers) {
                    HeadCheck::Partial => false,
                    HeadCheck::Refuse(why) => {
                        self.refuse(why);
                        false
                    }
                    HeadCheck::Complete { len, framing } => {
                        self.release = len;
                        self.framing = framing;
                        self.head_timer = None;
                        self.scanned = 0;
                        self.line_seen = false;
                        true
                    }
                }
            }
        }
    }

    /// After hyper is done with the connection: write the refusal (if any) and close.
    async fn finish(mut self, hyper_timed_out: bool) {
        let mut refusal = self.refusal.take();
        if refusal.is_none()
            && hyper_timed_out
            && matches!(self.framing, Framing::Head)
            && !self.pending.is_empty()
        {
            // The idle timer ran out while a head was arriving.
            refusal = Some(GatewayError::RequestTimeout);
        }
        if let Some(why) = refusal {
            let id = plugboard_core::ids::hex32();
            let (status, body) = why.envelope_for(&id);
            tracing::info!(
                status = status.as_u16(),
                request_id = %id,
                "request refused by the HTTP layer"
            );
            let head = format!(
                "HTTP/1.1 {} {}\r\ncontent-type: {}\r\ncontent-length: {}\r\nx-request-id: {id}\r\nconnection: close\r\n\r\n",
                status.as_u16(),
                status.canonical_reason().unwrap_or("Error"),
                plugboard_api::common::error::JSON_UTF8,
                body.len(),
            );
            let answer = [head.into_bytes(), body.into_bytes()].concat();
            let written = tokio::time::timeout(LINGER, self.inner.write_all(&answer)).await;
            if matches!(written, Ok(Ok(()))) {
                self.inner.shutdown().await.ok();
                let mut sink = [0u8; 4096];
                let _ = tokio::time::timeout(LINGER, async {
                    while matches!(self.inner.read(&mut sink).await, Ok(n) if n > 0) {}
                })
                .await;
            }
            return;
        }
        self.inner.shutdown().await.ok();
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.release > 0 {
                let n = this.release.min(out.remaining());
                out.put_slice(&this.pending[..n]);
                this.pending.advance(n);
                this.release -= n;
                return Poll::Ready(Ok(()));
            }
            if matches!(this.framing, Framing::Refused) {
                // The end of input, as far as hyper knows, once earlier answers are out.
                return this.in_flight.poll_idle(cx).map(Ok);
            }
            if !this.pending.is_empty() && this.advance() {
                continue;
            }
            if matches!(this.framing, Framing::Refused) {
                continue;
            }
            if this.eof {
                if matches!(this.framing, Framing::Head) && !this.pending.is_empty() {
                    this.refuse(GatewayError::MalformedRequest(
                        "the connection ended inside the request head".into(),
                    ));
                    continue;
                }
                return Poll::Ready(Ok(()));
            }
            // Read straight into `pending` (no zeroed buffer to copy from on every read).
            this.pending.reserve(READ_CHUNK);
            match tokio_util::io::poll_read_buf(Pin::new(&mut this.inner), cx, &mut this.pending) {
                Poll::Ready(Ok(n)) => {
                    if n == 0 {
                        this.eof = true;
                    }
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    if matches!(this.framing, Framing::Head) && !this.pending.is_empty() {
                        let timeout = this.header_timeout;
                        let timer = this
                            .head_timer
                            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                        if timer.as_mut().poll(cx).is_ready() {
                            this.refuse(GatewayError::RequestTimeout);
                            continue;
                        }
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// What a look at the buffered start of a request head found.
#[derive(Debug)]
enum HeadCheck {
    /// Not all there yet, and within the limits so far.
    Partial,
    /// Refused.
    Refuse(GatewayError),
    /// A complete, acceptable head of `len` bytes, followed by a body framed as `framing`.
    Complete { len: usize, framing: Framing },
}

/// Check the request head at the start of `buf` the way hyper will read it, against our
/// limits.
fn check_head(buf: &[u8], max_uri: usize, max_head: usize, max_headers: usize) -> HeadCheck {
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
    match parse_checked(buf, start, max_uri, max_head, &mut inline[..slots]) {
        Some(check) => check,
        None if max_headers > INLINE_HEADERS => {
            let mut headers = vec![httparse::EMPTY_HEADER; max_headers];
            parse_checked(buf, start, max_uri, max_head, &mut headers)
                .unwrap_or(HeadCheck::Refuse(GatewayError::HeadersTooLarge))
        }
        None => HeadCheck::Refuse(GatewayError::HeadersTooLarge),
    }
}

/// Header slots [`check_head`] parses with before it allocates `max_headers` of them.
const INLINE_HEADERS: usize = 32;

/// The longest header name `http::HeaderName` takes.
const MAX_HEADER_NAME: usize = (1 << 16) - 1;

/// Whether `bytes` holds the end of an empty line (`\n\n` or `\n\r\n`), which ends a request
/// head: each line end is looked at once.
fn has_blank_line(bytes: &[u8]) -> bool {
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
    for h in request.headers.iter() {
        // httparse accepts only the names and values `http::HeaderName` and `HeaderValue`
        // accept (tokens; no control character but tab, no DEL), but names of any length.
        if h.name.len() > MAX_HEADER_NAME {
            return bad("invalid header field");
        }
        if h.name.eq_ignore_ascii_case("content-length") {
            let Some(n) = std::str::from_utf8(h.value)
                .ok()
                .map(str::trim)
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<u64>().ok())
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
        Framing::Chunked(Chunk::Size(Vec::new()))
    } else {
        match length {
            Some(n) if n > 0 => Framing::Length(n),
            _ => Framing::Head,
        }
    };
    Some(HeadCheck::Complete { len, framing })
}

/// Follow a chunked body over `buf`: how many bytes belong to it, and the framing after them
/// (`Some(Framing::Head)` when the body ended, `Some(Passthrough)` when it is malformed).
fn scan_chunked(framing: &mut Framing, buf: &[u8]) -> (usize, Option<Framing>) {
    let Framing::Chunked(state) = framing else {
        return (0, None);
    };
    let mut i = 0;
    while i < buf.len() {
        match state {
            Chunk::Size(line) => {
                let b = buf[i];
                i += 1;
                line.push(b);
                if b == b'\n' {
                    match httparse::parse_chunk_size(line) {
                        Ok(httparse::Status::Complete((_, 0))) => *state = Chunk::Trailer(0),
                        Ok(httparse::Status::Complete((_, size))) => *state = Chunk::Data(size),
                        _ => return (buf.len(), Some(Framing::Passthrough)),
                    }
                } else if line.len() > 4096 {
                    return (buf.len(), Some(Framing::Passthrough));
                }
            }
            Chunk::Data(left) => {
                let n = (*left).min((buf.len() - i) as u64);
                // `n` is at most the bytes left in `buf`.
                i += usize::try_from(n).unwrap_or(0);
                *left -= n;
                if *left == 0 {
                    *state = Chunk::DataEnd(0);
                }
            }
            Chunk::DataEnd(seen) => {
                let b = buf[i];
                i += 1;
                *seen += 1;
                if b == b'\n' {
                    *state = Chunk::Size(Vec::new());
                } else if *seen >= 2 {
                    return (buf.len(), Some(Framing::Passthrough));
                }
            }
            Chunk::Trailer(on_line) => {
                let b = buf[i];
                i += 1;
                match b {
                    b'\n' if *on_line == 0 => return (i, Some(Framing::Head)),
                    b'\n' => *on_line = 0,
                    b'\r' => {}
                    _ => *on_line += 1,
                }
            }
        }
    }
    (i, None)
}

#[cfg(test)]
mod tests;
