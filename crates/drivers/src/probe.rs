//! Audit probes: reach a database the way an audit agent would.
//!
//! A probe is a TCP connect plus, where plugboard knows the protocol, the server's greeting:
//!
//! - MySQL wire protocol: read the initial handshake packet (protocol version 10 and the
//!   server version), or the error packet a server sends instead (host not allowed, too many
//!   connections, host blocked).
//! - PostgreSQL wire protocol: send an `SSLRequest` and read the one-byte answer, `S` or `N`.
//!   No TLS is attempted and no startup packet is sent.
//! - anything else: the TCP connect alone.
//!
//! The whole probe (connect plus greeting) runs under one timeout. [`probe`] does not look at
//! the network policy; [`probe_with_policy`] checks it first. Callers bound concurrency.

use crate::netpolicy::{NetworkPolicy, PolicyError};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

/// How a probe greets a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// MySQL client/server protocol: the server speaks first with a handshake packet.
    MySql,
    /// PostgreSQL frontend/backend protocol: `SSLRequest`, answered `S` or `N`.
    Postgres,
    /// TCP connect only.
    Tcp,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MySql => "MySQL",
            Self::Postgres => "PostgreSQL",
            Self::Tcp => "TCP",
        })
    }
}

/// The protocol a DBSS database `type` speaks (case-insensitive, surrounding blanks ignored):
///
/// | `type` | protocol |
/// |---|---|
/// | `MYSQL`, `TAURUS` (GaussDB for MySQL), `GBASE8A` (MySQL-derived) | [`Protocol::MySql`] |
/// | `POSTGRESQL`, `GAUSSDBOPENGAUSS`, `GREENPLUM`, `KINGBASE`, `HIGHGO`, `DWS` | [`Protocol::Postgres`] |
/// | `ORACLE`, `SQLSERVER`, `DAMENG`, `SHENTONG`, `GBASE8S`, `GBASEXDM`, `MONGODB`, `DDS`, anything else | [`Protocol::Tcp`] |
pub fn protocol_for(db_type: &str) -> Protocol {
    let t = db_type.trim();
    let is = |name: &str| t.eq_ignore_ascii_case(name);
    if ["MYSQL", "TAURUS", "GBASE8A"].into_iter().any(is) {
        Protocol::MySql
    } else if [
        "POSTGRESQL",
        "GAUSSDBOPENGAUSS",
        "GREENPLUM",
        "KINGBASE",
        "HIGHGO",
        "DWS",
    ]
    .into_iter()
    .any(is)
    {
        Protocol::Postgres
    } else {
        Protocol::Tcp
    }
}

/// A successful probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeOk {
    /// What answered: "MySQL handshake v10, server 10.11.6-MariaDB", "PostgreSQL answered
    /// SSLRequest with S", "TCP connect".
    pub detail: String,
}

/// Why a probe failed. `Display` is a short reason a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// The network policy forbids the address; nothing was sent.
    NotAllowed(#[from] PolicyError),
    /// The TCP connect was refused (nothing listens on the port, or a firewall rejects).
    Refused { addr: SocketAddr },
    /// The TCP connect failed for another reason (no route, network unreachable, …).
    Unreachable { addr: SocketAddr, reason: String },
    /// The TCP connect did not complete within the timeout.
    Timeout { addr: SocketAddr, timeout_ms: u64 },
    /// Connected, but the server did not greet (MySQL) or answer (PostgreSQL) in time.
    NoGreeting {
        addr: SocketAddr,
        protocol: Protocol,
        timeout_ms: u64,
    },
    /// Connected, but the server closed (or reset) the connection before greeting/answering.
    Closed {
        addr: SocketAddr,
        protocol: Protocol,
    },
    /// Connected, but reading or writing failed otherwise.
    Io { addr: SocketAddr, reason: String },
    /// The server spoke, but not the MySQL protocol.
    NotMySql { addr: SocketAddr, reason: String },
    /// A MySQL server greeted with an error packet instead of a handshake.
    MySqlRefused {
        addr: SocketAddr,
        code: u16,
        message: String,
    },
    /// The server answered the `SSLRequest` with something other than `S` or `N`.
    NotPostgres { addr: SocketAddr, answer: u8 },
}

/// What a silent server failed to do, for [`ProbeError::NoGreeting`].
fn silent(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::MySql => "sent no MySQL greeting",
        Protocol::Postgres => "did not answer the PostgreSQL SSLRequest",
        Protocol::Tcp => "did not answer",
    }
}

/// What a server closed the connection before doing, for [`ProbeError::Closed`].
fn closed_before(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::MySql => "without sending a MySQL greeting",
        Protocol::Postgres => "without answering the PostgreSQL SSLRequest",
        Protocol::Tcp => "at once",
    }
}

/// A byte as `0x48 ('H')`, or `0x05` when not printable.
fn describe_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("0x{b:02x} ('{}')", b as char)
    } else {
        format!("0x{b:02x}")
    }
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAllowed(policy) => write!(f, "not allowed: {policy}"),
            Self::Refused { addr } => write!(f, "connection refused by {addr}"),
            Self::Unreachable { addr, reason } => write!(f, "cannot connect to {addr}: {reason}"),
            Self::Timeout { addr, timeout_ms } => {
                write!(f, "no answer from {addr} within {timeout_ms} ms")
            }
            Self::NoGreeting {
                addr,
                protocol,
                timeout_ms,
            } => write!(
                f,
                "{addr} accepted the connection but {} within {timeout_ms} ms",
                silent(*protocol)
            ),
            Self::Closed { addr, protocol } => write!(
                f,
                "{addr} closed the connection {}",
                closed_before(*protocol)
            ),
            Self::Io { addr, reason } => write!(f, "connection to {addr} failed: {reason}"),
            Self::NotMySql { addr, reason } => {
                write!(f, "{addr} is not a MySQL server: {reason}")
            }
            Self::MySqlRefused {
                addr,
                code,
                message,
            } => write!(
                f,
                "MySQL server at {addr} refused the connection: {message} (error {code})"
            ),
            Self::NotPostgres { addr, answer } => write!(
                f,
                "{addr} is not a PostgreSQL server: it answered {} to SSLRequest",
                describe_byte(*answer)
            ),
        }
    }
}

/// The largest MySQL greeting a probe accepts; real ones are about 100 bytes.
pub const MAX_GREETING_BYTES: usize = 64 * 1024;

/// Timeouts beyond this are cut to it (keeps deadline arithmetic far from overflow).
const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// `SSLRequest`: length 8, request code 80877103 (`0x04d2162f`), both big-endian.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// Checks the network policy for `addr`, then [`probe`]s it. A forbidden address is
/// [`ProbeError::NotAllowed`] and no packet is sent.
pub async fn probe_with_policy(
    policy: &NetworkPolicy,
    addr: SocketAddr,
    protocol: Protocol,
    timeout: Duration,
) -> Result<ProbeOk, ProbeError> {
    policy.check_probe(addr.ip())?;
    probe(addr, protocol, timeout).await
}

/// Connects to `addr` with `timeout` for the whole probe (connect + greeting), then:
///
/// - [`Protocol::MySql`]: reads the initial handshake packet (3-byte little-endian length,
///   1-byte sequence 0; payload byte 0 = protocol version 10, then the NUL-terminated server
///   version). An error packet (`0xff`) is [`ProbeError::MySqlRefused`] with its message;
///   anything else is [`ProbeError::NotMySql`]. At most [`MAX_GREETING_BYTES`] are read; a
///   larger announced length is refused before anything is allocated for it.
/// - [`Protocol::Postgres`]: sends `SSLRequest` and reads exactly one byte: `S` or `N` means
///   reachable (no TLS is attempted); anything else is [`ProbeError::NotPostgres`].
/// - [`Protocol::Tcp`]: connect only.
///
/// The connection is then closed. The network policy is not consulted (see
/// [`probe_with_policy`]).
pub async fn probe(
    addr: SocketAddr,
    protocol: Protocol,
    timeout: Duration,
) -> Result<ProbeOk, ProbeError> {
    let timeout = timeout.min(MAX_TIMEOUT);
    let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    let deadline = Instant::now() + timeout;

    let mut stream = match timeout_at(deadline, TcpStream::connect(addr)).await {
        Err(_) => return Err(ProbeError::Timeout { addr, timeout_ms }),
        Ok(Err(e)) => return Err(connect_error(addr, timeout_ms, &e)),
        Ok(Ok(stream)) => stream,
    };

    let greeting = match protocol {
        Protocol::Tcp => {
            return Ok(ProbeOk {
                detail: "TCP connect".into(),
            })
        }
        Protocol::MySql => timeout_at(deadline, mysql_greeting(&mut stream, addr)).await,
        Protocol::Postgres => timeout_at(deadline, postgres_ssl_answer(&mut stream, addr)).await,
    };
    greeting.unwrap_or(Err(ProbeError::NoGreeting {
        addr,
        protocol,
        timeout_ms,
    }))
}

fn connect_error(addr: SocketAddr, timeout_ms: u64, e: &io::Error) -> ProbeError {
    let reason = match e.kind() {
        io::ErrorKind::ConnectionRefused => return ProbeError::Refused { addr },
        io::ErrorKind::TimedOut => return ProbeError::Timeout { addr, timeout_ms },
        io::ErrorKind::HostUnreachable => "no route to host".to_string(),
        io::ErrorKind::NetworkUnreachable => "the network is unreachable".to_string(),
        io::ErrorKind::AddrNotAvailable => {
            "the address is not available from this host".to_string()
        }
        io::ErrorKind::PermissionDenied => {
            "permission denied (a local firewall may forbid it)".to_string()
        }
        _ => e.to_string(),
    };
    ProbeError::Unreachable { addr, reason }
}

fn io_error(addr: SocketAddr, protocol: Protocol, e: &io::Error) -> ProbeError {
    match e.kind() {
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => ProbeError::Closed { addr, protocol },
        _ => ProbeError::Io {
            addr,
            reason: e.to_string(),
        },
    }
}

async fn mysql_greeting(stream: &mut TcpStream, addr: SocketAddr) -> Result<ProbeOk, ProbeError> {
    let mut header = [0u8; 4];
    stream
        .read_exact(&mut header)
        .await
        .map_err(|e| io_error(addr, Protocol::MySql, &e))?;
    let len = mysql_payload_len(header).map_err(|reason| ProbeError::NotMySql { addr, reason })?;

    // `len` is at most MAX_GREETING_BYTES here.
    let mut payload = vec![0u8; len];
    let mut got = 0;
    while got < len {
        let n = stream
            .read(&mut payload[got..])
            .await
            .map_err(|e| io_error(addr, Protocol::MySql, &e))?;
        if n == 0 {
            return Err(ProbeError::NotMySql {
                addr,
                reason: format!(
                    "it closed the connection after {got} of the {len} bytes its greeting announced"
                ),
            });
        }
        got += n;
    }

    match parse_mysql_greeting(&payload) {
        Ok(MySqlGreeting::Handshake { server_version }) => Ok(ProbeOk {
            detail: format!("MySQL handshake v10, server {server_version}"),
        }),
        Ok(MySqlGreeting::Error { code, message }) => Err(ProbeError::MySqlRefused {
            addr,
            code,
            message,
        }),
        Err(reason) => Err(ProbeError::NotMySql { addr, reason }),
    }
}

async fn postgres_ssl_answer(
    stream: &mut TcpStream,
    addr: SocketAddr,
) -> Result<ProbeOk, ProbeError> {
    stream
        .write_all(&SSL_REQUEST)
        .await
        .map_err(|e| io_error(addr, Protocol::Postgres, &e))?;
    let mut answer = [0u8; 1];
    stream
        .read_exact(&mut answer)
        .await
        .map_err(|e| io_error(addr, Protocol::Postgres, &e))?;
    match answer[0] {
        b @ (b'S' | b'N') => Ok(ProbeOk {
            detail: format!("PostgreSQL answered SSLRequest with {}", b as char),
        }),
        other => Err(ProbeError::NotPostgres {
            addr,
            answer: other,
        }),
    }
}

/// The first bytes a server sent, for messages: `"SSH-" (53 53 48 2d)`.
fn show_bytes(bytes: &[u8]) -> String {
    let text: String = bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{text}\" ({})", hex.join(" "))
}

/// Validates a MySQL packet header (3-byte little-endian payload length, 1-byte sequence) for
/// the first packet of a connection and returns the payload length.
fn mysql_payload_len(header: [u8; 4]) -> Result<usize, String> {
    let len = usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
    let seq = header[3];
    if len > MAX_GREETING_BYTES {
        return Err(format!(
            "it began with {}, which would announce a {len}-byte greeting (a MySQL greeting is a few hundred bytes at most)",
            show_bytes(&header)
        ));
    }
    if seq != 0 {
        return Err(format!(
            "it began with {}, which is not the first packet of a MySQL connection (sequence {seq}, not 0)",
            show_bytes(&header)
        ));
    }
    if len == 0 {
        return Err("its first packet is empty".into());
    }
    Ok(len)
}

/// What a MySQL server says first.
#[derive(Debug, PartialEq, Eq)]
enum MySqlGreeting {
    Handshake { server_version: String },
    Error { code: u16, message: String },
}

/// Makes server-supplied text safe and short for messages: lossy UTF-8, control characters
/// replaced, at most `max` characters.
fn clean_text(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    if text.trim().chars().count() > max {
        out.push('…');
    }
    out
}

/// Parses the payload of a MySQL server's first packet.
fn parse_mysql_greeting(payload: &[u8]) -> Result<MySqlGreeting, String> {
    match payload.first() {
        None => Err("its first packet is empty".into()),
        Some(0xff) => {
            let code_bytes = payload
                .get(1..3)
                .ok_or("it sent an error packet too short to hold an error code")?;
            let code = u16::from_le_bytes([code_bytes[0], code_bytes[1]]);
            let mut rest = &payload[3..];
            // Protocol 4.1 error packets carry "#" and a 5-character SQLSTATE before the text.
            if rest.first() == Some(&b'#') && rest.len() >= 6 {
                rest = &rest[6..];
            }
            let mut message = clean_text(rest, 300);
            if message.is_empty() {
                message = "(no message)".into();
            }
            Ok(MySqlGreeting::Error { code, message })
        }
        Some(10) => {
            let body = &payload[1..];
            let nul = body
                .iter()
                .position(|&b| b == 0)
                .ok_or("its handshake has no end to the server version")?;
            let raw = clean_text(&body[..nul], 120);
            if raw.is_empty() {
                return Err("its handshake has an empty server version".into());
            }
            // Connection id (4 bytes), first scramble part (8) and a filler byte follow.
            if body.len() - nul - 1 < 13 {
                return Err(format!(
                    "its handshake ends after the server version \"{raw}\""
                ));
            }
            // MariaDB 10.x prefixes its version with "5.5.5-" for old replication clients.
            let server_version = match raw.strip_prefix("5.5.5-") {
                Some(real) if real.contains("MariaDB") => real.to_string(),
                _ => raw,
            };
            Ok(MySqlGreeting::Handshake { server_version })
        }
        Some(9) => Err(
            "it speaks the pre-4.1 handshake protocol version 9, which audit agents do not support"
                .into(),
        ),
        Some(&other) => Err(format!(
            "its first packet starts with 0x{other:02x}, neither a handshake (protocol version 10) nor an error (0xff)"
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
