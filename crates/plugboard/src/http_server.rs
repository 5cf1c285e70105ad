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
//! - **Body deadline** (`[http] body_read_timeout_seconds`, `min_body_bytes_per_second`): a
//!   request body must arrive within the timeout, extended by one second for every
//!   `min_body_bytes_per_second` bytes received (Apache's `mod_reqtimeout` rule), else 408 and
//!   the connection is closed: a client trickling a body holds its slot for bounded time.
//! - **Unauthenticated bodies** (`[http] max_unauthenticated_bodies_per_address`,
//!   `max_unauthenticated_bodies`): a body whose head carries neither `X-Auth-Token` nor
//!   `Authorization` holds a permit while it arrives; over either limit the request is 429
//!   at once ([`anonymous`]).
//! - **Head checks before hyper**: every request head is read and checked here (httparse:
//!   syntax, `[http] max_uri_bytes` → 414, `max_headers` / `max_header_bytes` → 431, framing
//!   headers) before hyper sees a byte of it, so hyper's own automatic answers never happen.
//!   Bodies are passed through by their framing (`Content-Length`, `chunked`); a refused head
//!   is reported to hyper as the end of input once every earlier response has been sent, and
//!   the refusal is written after hyper is done with the connection.
//! - **Graceful shutdown**: stop accepting, let in-flight requests finish, close idle
//!   connections, all within `[http] shutdown_timeout_seconds`.

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use plugboard_core::config::HttpConfig;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// The longest request target hyper (and the `http` crate) can represent.
const HYPER_MAX_URI: usize = 65_534;
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
    pub body_read_timeout: Duration,
    /// Bytes per second that extend the body deadline by a second (0: no extension).
    pub min_body_rate: u64,
    pub max_unauthenticated_bodies_per_address: usize,
    pub max_unauthenticated_bodies: usize,
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
            body_read_timeout: Duration::from_secs(http.body_read_timeout_seconds.max(1)),
            min_body_rate: http.min_body_bytes_per_second,
            max_unauthenticated_bodies_per_address: http
                .max_unauthenticated_bodies_per_address
                .max(1),
            max_unauthenticated_bodies: http.max_unauthenticated_bodies.max(1),
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
    let anonymous = AnonymousBodies::new(
        limits.max_unauthenticated_bodies_per_address,
        limits.max_unauthenticated_bodies,
    );
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
                    Ok((stream, peer)) => break Some((stream, peer.ip())),
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
        let Some((stream, peer)) = stream else { break };
        stream.set_nodelay(true).ok();
        let app = app.clone();
        let anonymous = anonymous.clone();
        let limits = limits.clone();
        let builder = builder.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let io = Guarded::new(
                stream,
                peer,
                &limits,
                anonymous,
                Arc::new(InFlight::default()),
            );
            serve_connection(io, app, &builder, stop).await;
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
    guarded: Guarded,
    app: Router,
    builder: &http1::Builder,
    stop: CancellationToken,
) {
    let tracked = guarded.in_flight();
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
    let io = TokioIo::new(guarded);
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
pub(crate) struct InFlight {
    count: AtomicUsize,
    waker: Mutex<Option<Waker>>,
}

impl InFlight {
    fn start(this: &Arc<Self>) -> InFlightGuard {
        this.count.fetch_add(1, Ordering::SeqCst);
        InFlightGuard(this.clone())
    }

    /// `Ready` once nothing is in flight; else registers `cx` to be woken then.
    pub(crate) fn poll_idle(&self, cx: &mut Context<'_>) -> Poll<()> {
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

mod anonymous;
mod guarded;
mod head;

use anonymous::AnonymousBodies;
use guarded::Guarded;
#[cfg(test)]
use head::*;

#[cfg(test)]
mod tests;
