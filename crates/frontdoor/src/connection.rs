//! One connection's bookkeeping: hyper serves it through the [`Guarded`] socket under the
//! graceful-shutdown watcher; each request is in flight from the moment hyper hands it over
//! until its response body is sent (a refused head ends the input only once none is), and
//! once hyper is done the socket comes back for the refusal, if any ([`crate::refusal`]).

use crate::guarded::{Guarded, Handback};
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::Watcher;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use tokio::io::{AsyncRead, AsyncWrite};
use tower::ServiceExt;

type BoxedResponse =
    Pin<Box<dyn Future<Output = Result<axum::response::Response, Infallible>> + Send>>;

/// Serve one connection with `app` until hyper is done with it (the client closed, a
/// timeout, or a graceful shutdown signalled through `watcher`), then write the refusal that
/// ended it, if any, and close. `https`: the connection is TLS, and every request carries
/// `http::uri::Scheme::HTTPS` in its extensions (the console marks its cookie `Secure`).
pub(crate) async fn serve_connection<S>(
    guarded: Guarded<S>,
    handback: Handback<S>,
    app: Router,
    builder: &http1::Builder,
    watcher: Watcher,
    https: bool,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let tracked = guarded.in_flight();
    let service =
        hyper::service::service_fn(move |req: hyper::Request<Incoming>| -> BoxedResponse {
            let app = app.clone();
            let guard = InFlight::start(&tracked);
            let mut req = req.map(axum::body::Body::new);
            if https {
                req.extensions_mut().insert(axum::http::uri::Scheme::HTTPS);
            }
            Box::pin(async move {
                let response = app.oneshot(req).await?;
                Ok(response.map(|inner| {
                    axum::body::Body::new(Tracked {
                        inner,
                        _guard: guard,
                    })
                }))
            })
        });
    let conn = builder.serve_connection(TokioIo::new(guarded), service);
    let ended = watcher.watch(conn).await;
    let timed_out = ended.as_ref().err().is_some_and(hyper::Error::is_timeout);
    if let Some(left) = handback.take() {
        left.finish(timed_out).await;
    }
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
