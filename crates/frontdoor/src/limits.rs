//! The limits connections are served under, read from `[http]`: zero values raised to the
//! smallest useful ones, the target length capped at what hyper can represent, and the
//! connection limit lowered to what the process's descriptor limit leaves room for.

use plugboard_core::config::HttpConfig;
use std::time::Duration;
use tokio::sync::Semaphore;

/// The longest request target hyper (and the `http` crate) can represent.
pub(crate) const HYPER_MAX_URI: usize = 65_534;

/// The header (and trailer) field count hyper is built with for our `max_headers`: heads
/// reach hyper only once checked against our (lower) limit.
pub(crate) fn hyper_max_headers(max_headers: usize) -> usize {
    max_headers.max(100)
}

/// Descriptors kept free of connections for the store, jobs, probes and logs.
const RESERVED_DESCRIPTORS: u64 = 64;

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
