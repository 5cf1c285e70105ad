//! The connection's socket as hyper sees it ([`Guarded`]): request heads are held back until
//! complete and checked, body bytes pass by their framing under the body deadline (a minimum
//! rate), an unauthenticated body takes a permit of [`AnonymousBodies`] while it arrives, and a
//! refusal is left for [`crate::refusal`] to write once hyper is done with the connection (the
//! socket is handed back through [`Handback`] when hyper drops it).

use crate::anonymous::{AnonymousBodies, AnonymousPermit};
use crate::connection::InFlight;
use crate::framing::{scan_chunked, Framing};
use crate::head::{check_head, has_blank_line, HeadCheck};
use crate::refusal::Leftover;
use crate::Limits;
use bytes::{Buf, BytesMut};
use plugboard_api::common::error::GatewayError;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// The room made in a connection's buffer before each read of its socket.
const READ_CHUNK: usize = 8 * 1024;

/// A request body being read: its clock starts the first time hyper waits for its bytes (the
/// handler asked for the body and none was there), so a handler that is slow to ask (or a
/// client waiting for `100 Continue`) does not use up the client's time; its deadline moves
/// later with every byte that arrives.
struct Body {
    started: Option<Instant>,
    received: u64,
    timer: Option<Pin<Box<Sleep>>>,
    /// Response bytes written before the body started: more means the handler answered
    /// already, and a timeout then only closes the connection.
    written_before: u64,
    /// Held while an unauthenticated body arrives.
    _permit: Option<AnonymousPermit>,
}

/// Where a [`Guarded`] socket leaves itself when hyper drops it: the connection task takes it
/// back to write the refusal (if any) and close.
pub(crate) struct Handback<S>(Arc<Mutex<Option<Leftover<S>>>>);

impl<S> Default for Handback<S> {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(None)))
    }
}

impl<S> Clone for Handback<S> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<S> Handback<S> {
    /// The socket and what is left to say on it, once hyper has dropped it.
    pub(crate) fn take(&self) -> Option<Leftover<S>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// The connection's socket as hyper sees it: request heads are held back until complete and
/// checked; body bytes pass by their framing.
pub(crate) struct Guarded<S> {
    /// The socket (`None` only while being dropped).
    inner: Option<S>,
    handback: Handback<S>,
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
    /// Request heads checked and passed on (the differential tests compare it with hyper's
    /// count of requests).
    heads: usize,
}

impl<S> Guarded<S> {
    pub(crate) fn new(
        inner: S,
        peer: IpAddr,
        limits: &Limits,
        anonymous: Arc<AnonymousBodies>,
        handback: Handback<S>,
    ) -> Self {
        Self {
            inner: Some(inner),
            handback,
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
            in_flight: Arc::new(InFlight::default()),
            heads: 0,
        }
    }

    /// The requests of this connection in flight.
    pub(crate) fn in_flight(&self) -> Arc<InFlight> {
        self.in_flight.clone()
    }

    /// The socket, unless it is being dropped.
    fn io(&mut self) -> io::Result<&mut S> {
        self.inner
            .as_mut()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "the socket is gone"))
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
        self.body = Some(Body {
            started: None,
            received: 0,
            timer: None,
            written_before: self.written,
            _permit: permit,
        });
        true
    }

    /// When a body whose clock started at `started` with `received` bytes in must be complete.
    fn body_deadline(&self, started: Instant, received: u64) -> Instant {
        let allowance = if self.min_body_rate > 0 {
            Duration::from_secs_f64(received as f64 / self.min_body_rate as f64)
        } else {
            Duration::ZERO
        };
        started + self.body_timeout + allowance
    }

    /// `n` more body bytes arrived: the deadline moves by `n / min_body_rate` seconds.
    fn body_bytes(&mut self, n: u64) {
        let Some(body) = &self.body else { return };
        let received = body.received.saturating_add(n);
        let deadline = body.started.map(|s| self.body_deadline(s, received));
        if let Some(body) = &mut self.body {
            body.received = received;
            if let (Some(deadline), Some(timer)) = (deadline, &mut body.timer) {
                timer.as_mut().reset(deadline);
            }
        }
    }

    /// Whether the body's deadline has passed, its clock started now if hyper waits for body
    /// bytes for the first time (registers `cx` with the timer otherwise).
    fn body_expired(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(body) = &self.body else {
            return false;
        };
        if body.timer.is_none() {
            let started = body.started.unwrap_or_else(Instant::now);
            let deadline = self.body_deadline(started, body.received);
            if let Some(body) = &mut self.body {
                body.started = Some(started);
                body.timer = Some(Box::pin(tokio::time::sleep_until(deadline)));
            }
        }
        self.body
            .as_mut()
            .and_then(|b| b.timer.as_mut())
            .is_some_and(|t| t.as_mut().poll(cx).is_ready())
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
                let first_line_ended = !self.line_seen && new.contains(&b'\n');
                // The head is parsed below when its first line has ended anyway (a whole head
                // in one read, the common case): the look for its end is only needed after.
                let may_be_complete = first_line_ended || has_blank_line(new);
                self.scanned = self.pending.len();
                self.line_seen |= first_line_ended;
                if !self.line_seen && self.pending.len() > self.max_uri + 64 {
                    // No request line this long holds a target within the limit.
                    self.refuse(GatewayError::UriTooLong);
                    return false;
                }
                if !(may_be_complete || self.pending.len() > self.max_head) {
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
                        self.heads += 1;
                        self.head_timer = None;
                        self.scanned = 0;
                        self.line_seen = false;
                        true
                    }
                }
            }
        }
    }
}

impl<S> Drop for Guarded<S> {
    fn drop(&mut self) {
        if let Some(stream) = self.inner.take() {
            let leftover = Leftover {
                stream,
                refusal: self.refusal.take(),
                head_pending: matches!(self.framing, Framing::Head) && !self.pending.is_empty(),
                heads: self.heads,
            };
            *self
                .handback
                .0
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(leftover);
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Guarded<S> {
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
            let inner = match this.inner.as_mut() {
                Some(inner) => inner,
                None => return Poll::Ready(Ok(())),
            };
            match tokio_util::io::poll_read_buf(Pin::new(inner), cx, &mut this.pending) {
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
                    if this.body_expired(cx) {
                        return Poll::Ready(Err(this.body_timed_out()));
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.discard_writes {
            return Poll::Ready(Ok(buf.len()));
        }
        let n = std::task::ready!(Pin::new(this.io()?).poll_write(cx, buf))?;
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
        let n = std::task::ready!(Pin::new(this.io()?).poll_write_vectored(cx, bufs))?;
        this.written += n as u64;
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.as_ref().is_some_and(S::is_write_vectored)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.discard_writes {
            return Poll::Ready(Ok(()));
        }
        Pin::new(this.io()?).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.discard_writes || this.refusal.is_some() {
            // The refusal is written after hyper is done; the socket stays open for it.
            return Poll::Ready(Ok(()));
        }
        Pin::new(this.io()?).poll_shutdown(cx)
    }
}
