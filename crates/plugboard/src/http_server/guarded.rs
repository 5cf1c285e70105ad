//! The connection's socket as hyper sees it ([`Guarded`]): request heads are held back until
//! complete and checked, body bytes pass by their framing under the body deadline (a minimum
//! rate), an unauthenticated body takes a permit of [`AnonymousBodies`] while it arrives, and a
//! refusal is written after hyper is done with the connection.

use super::anonymous::{AnonymousBodies, AnonymousPermit};
use super::head::{check_head, has_blank_line, scan_chunked, Framing, HeadCheck};
use super::{InFlight, Limits};
use bytes::{Buf, BytesMut};
use plugboard_api::common::error::GatewayError;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// How long a refused connection is drained after its answer, so that unread request bytes
/// do not turn the close into a reset that discards the answer at the client.
const LINGER: Duration = Duration::from_millis(500);

/// The room made in a connection's buffer before each read of its socket.
const READ_CHUNK: usize = 8 * 1024;

/// A request body being read: its deadline moves later with every byte that arrives.
struct Body {
    started: Instant,
    received: u64,
    timer: Pin<Box<Sleep>>,
    /// Response bytes written before the body started: more means the handler answered
    /// already, and a timeout then only closes the connection.
    written_before: u64,
    /// Held while an unauthenticated body arrives.
    _permit: Option<AnonymousPermit>,
}

/// The connection's socket as hyper sees it: request heads are held back until complete and
/// checked; body bytes pass by their framing.
pub(super) struct Guarded {
    inner: TcpStream,
    peer: IpAddr,
    anonymous: Arc<AnonymousBodies>,
    body_timeout: Duration,
    min_body_rate: u64,
    /// The body being read, if one is.
    body: Option<Body>,
    /// Bytes hyper has written (answers).
    written: u64,
    /// A body timed out: whatever hyper still writes (the handler's answer to a body that
    /// failed) is dropped, the 408 is written instead.
    discard_writes: bool,
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
    pub(super) fn new(
        inner: TcpStream,
        peer: IpAddr,
        limits: &Limits,
        anonymous: Arc<AnonymousBodies>,
        in_flight: Arc<InFlight>,
    ) -> Self {
        Self {
            inner,
            peer,
            anonymous,
            body_timeout: limits.body_read_timeout,
            min_body_rate: limits.min_body_rate,
            body: None,
            written: 0,
            discard_writes: false,
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

    /// The requests of this connection in flight.
    pub(super) fn in_flight(&self) -> Arc<InFlight> {
        self.in_flight.clone()
    }

    fn refuse(&mut self, why: GatewayError) {
        self.framing = Framing::Refused;
        self.pending.clear();
        self.release = 0;
        self.head_timer = None;
        self.body = None;
        self.refusal = Some(why);
    }

    /// A head is complete and a body follows: start its deadline, and take an anonymous
    /// permit unless the head carries credentials; `false`: refused (no permit left).
    fn start_body(&mut self, credentials: bool) -> bool {
        let permit = if credentials {
            None
        } else {
            match self.anonymous.acquire(self.peer) {
                Ok(p) => Some(p),
                Err(why) => {
                    self.refuse(why);
                    return false;
                }
            }
        };
        let started = Instant::now();
        self.body = Some(Body {
            started,
            received: 0,
            timer: Box::pin(tokio::time::sleep_until(started + self.body_timeout)),
            written_before: self.written,
            _permit: permit,
        });
        true
    }

    /// `n` more body bytes arrived: the deadline moves by `n / min_body_rate` seconds.
    fn body_bytes(&mut self, n: u64) {
        let (timeout, rate) = (self.body_timeout, self.min_body_rate);
        if let Some(body) = &mut self.body {
            body.received = body.received.saturating_add(n);
            if rate > 0 && n > 0 {
                let allowance = Duration::from_secs_f64(body.received as f64 / rate as f64);
                let deadline = body.started + timeout + allowance;
                body.timer.as_mut().reset(deadline);
            }
        }
    }

    /// The body did not arrive in time: hyper gets a read error (the handler's body fails),
    /// and the 408 is written once hyper is done, unless an answer was written already.
    fn body_timed_out(&mut self) -> io::Error {
        let answered = self
            .body
            .as_ref()
            .is_some_and(|b| self.written > b.written_before);
        let received = self.body.as_ref().map_or(0, |b| b.received);
        tracing::info!(
            peer = %self.peer,
            received,
            "a request body did not arrive in time ([http] body_read_timeout_seconds, min_body_bytes_per_second)"
        );
        self.refuse(GatewayError::BodyTimeout);
        if answered {
            self.refusal = None;
        } else {
            self.discard_writes = true;
        }
        io::Error::new(
            io::ErrorKind::TimedOut,
            "the request body did not arrive in time",
        )
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
                    self.body = None;
                } else {
                    self.body_bytes(n);
                }
                self.release > 0 || matches!(self.framing, Framing::Head)
            }
            Framing::Chunked(_) => {
                let (used, next) = scan_chunked(&mut self.framing, &self.pending);
                self.release = used;
                if let Some(next) = next {
                    self.framing = next;
                    self.body = None;
                } else {
                    self.body_bytes(used as u64);
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
                    HeadCheck::Complete {
                        len,
                        framing,
                        credentials,
                    } => {
                        let has_body = matches!(framing, Framing::Length(_) | Framing::Chunked(_));
                        if has_body && !self.start_body(credentials) {
                            return false;
                        }
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
    pub(super) async fn finish(mut self, hyper_timed_out: bool) {
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
                    if let Some(body) = &mut this.body {
                        if body.timer.as_mut().poll(cx).is_ready() {
                            return Poll::Ready(Err(this.body_timed_out()));
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
        let this = self.get_mut();
        if this.discard_writes {
            return Poll::Ready(Ok(buf.len()));
        }
        let n = std::task::ready!(Pin::new(&mut this.inner).poll_write(cx, buf))?;
        this.written += n as u64;
        Poll::Ready(Ok(n))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.discard_writes {
            return Poll::Ready(Ok(bufs.iter().map(|b| b.len()).sum()));
        }
        let n = std::task::ready!(Pin::new(&mut this.inner).poll_write_vectored(cx, bufs))?;
        this.written += n as u64;
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.discard_writes {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.discard_writes {
            // The 408 is written after hyper is done; the socket stays open for it.
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}
