//! The accept loop: one permit of `[http] max_connections` per connection (at the limit the
//! loop stops accepting and new connections wait in the kernel's listen backlog), the TLS
//! handshake when HTTPS is on (bounded by `header_read_timeout`), one task per connection, and
//! the graceful shutdown: stop accepting, signal every connection through hyper-util's
//! [`GracefulShutdown`] (in-flight requests finish, idle connections close), and wait for them
//! all within `[http] shutdown_timeout_seconds`.

use crate::anonymous::AnonymousBodies;
use crate::connection::serve_connection;
use crate::guarded::{Guarded, Handback};
use crate::limits::hyper_max_headers;
use crate::tls::Tls;
use crate::Limits;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::TokioTimer;
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::task::TaskTracker;

/// What every connection task shares.
struct Shared {
    app: Router,
    limits: Limits,
    anonymous: Arc<AnonymousBodies>,
    builder: http1::Builder,
    tls: Option<Tls>,
}

/// Serve `app` on `listener` (over TLS when `tls` is given) until `shutdown` resolves, then
/// drain for at most `limits.shutdown_timeout`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    tls: Option<Tls>,
    shutdown: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let builder = connection_builder(&limits);
    let shared = Arc::new(Shared {
        app,
        anonymous: AnonymousBodies::new(
            limits.max_unauthenticated_bodies_per_address,
            limits.max_unauthenticated_bodies,
        ),
        limits,
        builder,
        tls,
    });
    let reloader = shared.tls.as_ref().and_then(Tls::reload_on_sighup);
    let graceful = GracefulShutdown::new();
    let tasks = TaskTracker::new();
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
        // Subscribed before the task starts, so a shutdown signalled meanwhile is seen.
        let watcher = graceful.watcher();
        let shared = shared.clone();
        tasks.spawn(async move {
            match &shared.tls {
                None => connection(stream, peer, &shared, watcher, false, permit).await,
                Some(tls) => {
                    let handshake = tls.acceptor().accept(stream);
                    match tokio::time::timeout(shared.limits.header_read_timeout, handshake).await
                    {
                        Ok(Ok(stream)) => {
                            connection(stream, peer, &shared, watcher, true, permit).await
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(
                            %peer,
                            "TLS handshake did not complete within [http] header_read_timeout_seconds"
                        ),
                    }
                }
            }
        });
    }
    drop(listener);
    if let Some(reloader) = reloader {
        reloader.abort();
    }
    tasks.close();
    let drained = async {
        // Hyper's connections first (each finishes its in-flight requests), then the tasks
        // (refusals being written, handshakes under way).
        graceful.shutdown().await;
        tasks.wait().await;
    };
    if tokio::time::timeout(shared.limits.shutdown_timeout, drained)
        .await
        .is_err()
    {
        tracing::warn!(
            seconds = shared.limits.shutdown_timeout.as_secs(),
            "in-flight requests did not finish in time; stopping anyway"
        );
    }
}

/// Hyper's settings for every connection under `limits`.
pub(crate) fn connection_builder(limits: &Limits) -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.idle_timeout)
        // Heads reach hyper only once checked against our (lower) limits.
        .max_headers(hyper_max_headers(limits.max_headers))
        .max_buf_size((limits.max_header_bytes * 2).max(400 * 1024));
    builder
}

/// Serve one accepted (and, over TLS, handshaken) connection, holding its permit until it is
/// closed.
async fn connection<S>(
    stream: S,
    peer: IpAddr,
    shared: &Shared,
    watcher: hyper_util::server::graceful::Watcher,
    https: bool,
    permit: OwnedSemaphorePermit,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let handback = Handback::default();
    let guarded = Guarded::new(
        stream,
        peer,
        &shared.limits,
        shared.anonymous.clone(),
        handback.clone(),
    );
    serve_connection(
        guarded,
        handback,
        shared.app.clone(),
        &shared.builder,
        watcher,
        https,
    )
    .await;
    drop(permit);
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}
