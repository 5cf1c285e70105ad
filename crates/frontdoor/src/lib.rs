//! The HTTP front door: the HTTP/1 server under the router, with its own accept loop over
//! hyper, so that slow, idle or malformed clients cannot starve others and every refusal made
//! below the router is answered in the gateway envelope (`APIG.0201`, with `X-Request-Id`),
//! never hyper's bare status line; over plain TCP or TLS.
//!
//! - **Connection limit** (`[http] max_connections`, [`accept`]): one permit per connection;
//!   at the limit the loop stops accepting and new connections wait in the kernel's listen
//!   backlog until one closes (the timeouts below bound how long a slot can be held by a
//!   client that sends nothing).
//! - **Idle timeout** (`[http] idle_timeout_seconds`, hyper's header-read timer): a connection
//!   that has not delivered a complete request head this long after it opened or after its
//!   last response is closed.
//! - **Header-read timeout** (`[http] header_read_timeout_seconds`): once a head has started
//!   to arrive it must be complete within this time, else 408; a TLS handshake too.
//! - **Body deadline** (`[http] body_read_timeout_seconds`, `min_body_bytes_per_second`): a
//!   request body must arrive within the timeout (counted from when hyper first waits for
//!   its bytes), extended by one second for every `min_body_bytes_per_second` bytes received
//!   (Apache's `mod_reqtimeout` rule), else 408 and the connection is closed.
//! - **Unauthenticated bodies** (`[http] max_unauthenticated_bodies_per_address`,
//!   `max_unauthenticated_bodies`, [`anonymous`]): a body whose head carries neither
//!   `X-Auth-Token` nor `Authorization` holds a permit while it arrives; over either limit the
//!   request is 429 at once.
//! - **Head checks before hyper** ([`head`], [`guarded`]): every request head is read and
//!   checked (httparse: syntax, `[http] max_uri_bytes` → 414, `max_headers` /
//!   `max_header_bytes` → 431, framing headers) before hyper sees a byte of it, so hyper's own
//!   automatic answers never happen. Bodies are passed through by their framing ([`framing`]);
//!   a refused head is reported to hyper as the end of input once every earlier response has
//!   been sent, and the refusal is written after hyper is done with the connection
//!   ([`refusal`]).
//! - **HTTPS** ([`tls`]): `[http] tls_certificate_file` and `tls_key_file`, reloaded on SIGHUP.
//! - **Graceful shutdown** ([`accept`], hyper-util's `GracefulShutdown`): stop accepting, let
//!   in-flight requests finish, close idle connections, all within
//!   `[http] shutdown_timeout_seconds`.

mod accept;
mod anonymous;
mod connection;
mod framing;
mod guarded;
mod head;
mod limits;
mod refusal;
mod tls;

pub use accept::serve;
pub use limits::Limits;
pub use tls::Tls;

#[cfg(test)]
mod differential;
#[cfg(test)]
mod tests;
