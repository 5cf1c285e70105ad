//! The refusal writer: once hyper is done with a connection, the answer to a head refused
//! below the router (or to a body or head that timed out) is written in the gateway envelope
//! (`APIG.*`, with `X-Request-Id` and `Connection: close`), and the socket is drained for a
//! moment so unread request bytes do not turn the close into a reset that discards it.

use plugboard_api::common::error::{GatewayError, JSON_UTF8};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// How long a refused connection is drained after its answer.
const LINGER: Duration = Duration::from_millis(500);

/// A connection's socket as hyper left it, and what is left to say on it.
pub(crate) struct Leftover<S> {
    pub(crate) stream: S,
    /// The refusal to write.
    pub(crate) refusal: Option<GatewayError>,
    /// A request head had started to arrive and was not complete.
    pub(crate) head_pending: bool,
    /// Request heads checked and passed on to hyper.
    pub(crate) heads: usize,
}

/// A refusal's status and bytes: the status line, the headers and the envelope, with `id` as
/// the request id.
pub(crate) fn answer(why: &GatewayError, id: &str) -> (u16, Vec<u8>) {
    let (status, body) = why.envelope_for(id);
    let head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: {}\r\ncontent-length: {}\r\nx-request-id: {id}\r\nconnection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error"),
        JSON_UTF8,
        body.len(),
    );
    (
        status.as_u16(),
        [head.into_bytes(), body.into_bytes()].concat(),
    )
}

impl<S: AsyncRead + AsyncWrite + Unpin> Leftover<S> {
    /// Write the refusal (if any) and close. `hyper_timed_out`: hyper's idle timer ran out,
    /// which is a 408 if a head had started to arrive.
    pub(crate) async fn finish(mut self, hyper_timed_out: bool) {
        let mut refusal = self.refusal.take();
        if refusal.is_none() && hyper_timed_out && self.head_pending {
            refusal = Some(GatewayError::RequestTimeout);
        }
        let Some(why) = refusal else {
            self.stream.shutdown().await.ok();
            return;
        };
        let id = plugboard_core::ids::request_id();
        let (status, answer) = answer(&why, &id);
        tracing::info!(
            status,
            request_id = %id,
            requests_before = self.heads,
            "request refused by the HTTP layer"
        );
        let written = tokio::time::timeout(LINGER, self.stream.write_all(&answer)).await;
        if matches!(written, Ok(Ok(()))) {
            self.stream.shutdown().await.ok();
            let mut sink = [0u8; 4096];
            let _ = tokio::time::timeout(LINGER, async {
                while matches!(self.stream.read(&mut sink).await, Ok(n) if n > 0) {}
            })
            .await;
        }
    }
}
