//! Audit probes over real sockets: the MariaDB (127.0.0.1:3306) and PostgreSQL
//! (127.0.0.1:5432) on this machine, closed loopback ports, and small fake servers.
#![allow(clippy::unwrap_used)]

use plugboard_core::config::NetworkConfig;
use plugboard_drivers::netpolicy::NetworkPolicy;
use plugboard_drivers::probe::{probe, probe_with_policy, ProbeError, ProbeOk, Protocol};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, Semaphore};

const MARIADB: &str = "127.0.0.1:3306";
const POSTGRES: &str = "127.0.0.1:5432";
const SHORT: Duration = Duration::from_millis(300);
const LONG: Duration = Duration::from_secs(5);

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// A loopback port nothing listens on. (Linux hands out odd ports to `bind(0)` and even ones
/// to `connect`, so a probe cannot accidentally connect to itself on it.)
fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}

/// A fake server on a loopback port: every accepted connection goes to `handler`.
async fn serve<F, Fut>(handler: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    // A deep accept queue: tokio's default backlog (128) overflows under the concurrency test,
    // and the kernel then drops SYNs that are retried only after a second.
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(addr("127.0.0.1:0")).unwrap();
    let listener = socket.listen(4096).unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            if let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(handler(stream));
            }
        }
    });
    addr
}

/// A server that accepts and then says nothing for a long time.
async fn silent_server() -> SocketAddr {
    serve(|mut s| async move {
        let mut sink = [0u8; 64];
        let _ = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(n) = s.read(&mut sink).await {
                if n == 0 {
                    break;
                }
            }
        })
        .await;
    })
    .await
}

/// A MySQL packet: 3-byte little-endian length, sequence 0, payload.
fn packet(payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap().to_le_bytes();
    let mut p = vec![len[0], len[1], len[2], 0];
    p.extend_from_slice(payload);
    p
}

fn handshake(version: &str) -> Vec<u8> {
    let mut p = vec![10];
    p.extend_from_slice(version.as_bytes());
    p.push(0);
    p.extend_from_slice(&[7, 0, 0, 0]);
    p.extend_from_slice(b"12345678");
    p.push(0);
    p.extend_from_slice(&[0xff, 0xf7, 0x21, 0x02, 0x00]);
    packet(&p)
}

/// A server that writes `bytes` to each connection, then closes it (or keeps it open).
async fn talker(bytes: Vec<u8>, keep_open: bool) -> SocketAddr {
    let bytes = Arc::new(bytes);
    serve(move |mut s| {
        let bytes = bytes.clone();
        async move {
            let _ = s.write_all(&bytes).await;
            if keep_open {
                tokio::time::sleep(Duration::from_secs(30)).await;
            }
        }
    })
    .await
}

#[tokio::test]
async fn mariadb_greets_as_mysql() {
    let ok = probe(addr(MARIADB), Protocol::MySql, LONG).await.unwrap();
    assert!(
        ok.detail.starts_with("MySQL handshake v10, server "),
        "{}",
        ok.detail
    );
    assert!(ok.detail.contains("MariaDB"), "{}", ok.detail);
    assert!(!ok.detail.contains("5.5.5-"), "{}", ok.detail);
}

#[tokio::test]
async fn postgres_answers_sslrequest() {
    let ok = probe(addr(POSTGRES), Protocol::Postgres, LONG)
        .await
        .unwrap();
    assert!(
        ok.detail == "PostgreSQL answered SSLRequest with S"
            || ok.detail == "PostgreSQL answered SSLRequest with N",
        "{}",
        ok.detail
    );
}

#[tokio::test]
async fn tcp_only_on_open_ports() {
    for target in [MARIADB, POSTGRES] {
        let ok = probe(addr(target), Protocol::Tcp, LONG).await.unwrap();
        assert_eq!(
            ok,
            ProbeOk {
                detail: "TCP connect".into()
            }
        );
    }
    let silent = silent_server().await;
    assert!(probe(silent, Protocol::Tcp, SHORT).await.is_ok());
}

#[tokio::test]
async fn postgres_port_probed_as_mysql_times_out() {
    let started = Instant::now();
    let err = probe(addr(POSTGRES), Protocol::MySql, SHORT)
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(
        err,
        ProbeError::NoGreeting {
            addr: addr(POSTGRES),
            protocol: Protocol::MySql,
            timeout_ms: 300
        }
    );
    assert_eq!(
        err.to_string(),
        "127.0.0.1:5432 accepted the connection but sent no MySQL greeting within 300 ms"
    );
    assert!(took >= Duration::from_millis(290), "{took:?}");
    assert!(took < Duration::from_millis(1500), "{took:?}");
}

#[tokio::test]
async fn mariadb_port_probed_as_postgres_is_not_postgres() {
    let err = probe(addr(MARIADB), Protocol::Postgres, LONG)
        .await
        .unwrap_err();
    assert!(matches!(err, ProbeError::NotPostgres { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("127.0.0.1:3306 is not a PostgreSQL server: it answered 0x"),
        "{err}"
    );
}

#[tokio::test]
async fn closed_port_is_refused_fast() {
    for protocol in [Protocol::MySql, Protocol::Postgres, Protocol::Tcp] {
        let target = closed_port();
        let started = Instant::now();
        let err = probe(target, protocol, LONG).await.unwrap_err();
        assert_eq!(err, ProbeError::Refused { addr: target });
        assert_eq!(err.to_string(), format!("connection refused by {target}"));
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}

#[tokio::test]
async fn silent_server_times_out_within_the_bound() {
    let target = silent_server().await;
    for protocol in [Protocol::MySql, Protocol::Postgres] {
        let started = Instant::now();
        let err = probe(target, protocol, SHORT).await.unwrap_err();
        let took = started.elapsed();
        assert_eq!(
            err,
            ProbeError::NoGreeting {
                addr: target,
                protocol,
                timeout_ms: 300
            }
        );
        assert!(took >= Duration::from_millis(290), "{took:?}");
        assert!(took < Duration::from_millis(1500), "{took:?}");
    }
}

#[tokio::test]
async fn mysql_error_packet_is_reported() {
    let mut payload = vec![0xff, 0x6a, 0x04];
    payload.extend_from_slice(b"Host '127.0.0.1' is not allowed to connect to this MySQL server");
    let target = talker(packet(&payload), false).await;
    let err = probe(target, Protocol::MySql, LONG).await.unwrap_err();
    assert_eq!(
        err,
        ProbeError::MySqlRefused {
            addr: target,
            code: 1130,
            message: "Host '127.0.0.1' is not allowed to connect to this MySQL server".into()
        }
    );
    assert_eq!(
        err.to_string(),
        format!("MySQL server at {target} refused the connection: Host '127.0.0.1' is not allowed to connect to this MySQL server (error 1130)")
    );
}

#[tokio::test]
async fn fake_mysql_handshake_is_ok() {
    let target = talker(handshake("8.0.36"), false).await;
    let ok = probe(target, Protocol::MySql, LONG).await.unwrap();
    assert_eq!(ok.detail, "MySQL handshake v10, server 8.0.36");
}

#[tokio::test]
async fn huge_length_is_refused_without_waiting() {
    // Announces 16 MiB - 1 and then keeps the connection open without sending it.
    let target = talker(vec![0xff, 0xff, 0xff, 0x00, 10, b'8'], true).await;
    let started = Instant::now();
    let err = probe(target, Protocol::MySql, LONG).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    match &err {
        ProbeError::NotMySql { addr, reason } => {
            assert_eq!(*addr, target);
            assert!(reason.contains("16777215-byte"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn other_protocols_are_not_mysql() {
    let target = talker(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n".to_vec(), true).await;
    let err = probe(target, Protocol::MySql, LONG).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "{target} is not a MySQL server: it began with \"SSH-\""
        )),
        "{text}"
    );

    // A plausible header, then a payload that is neither handshake nor error.
    let target = talker(packet(b"\x05hello"), false).await;
    let err = probe(target, Protocol::MySql, LONG).await.unwrap_err();
    assert!(matches!(err, ProbeError::NotMySql { .. }), "{err:?}");
}

#[tokio::test]
async fn truncated_greetings() {
    // Announces 100 bytes, sends 10, closes.
    let mut bytes = vec![100, 0, 0, 0];
    bytes.extend_from_slice(b"\x0a8.0.36\x00ab");
    let target = talker(bytes.clone(), false).await;
    let err = probe(target, Protocol::MySql, LONG).await.unwrap_err();
    assert_eq!(
        err,
        ProbeError::NotMySql {
            addr: target,
            reason: "it closed the connection after 10 of the 100 bytes its greeting announced"
                .into()
        }
    );

    // Same, but stays silent: the timeout applies.
    let target = talker(bytes, true).await;
    let err = probe(target, Protocol::MySql, SHORT).await.unwrap_err();
    assert!(matches!(err, ProbeError::NoGreeting { .. }), "{err:?}");

    // Closes after two header bytes.
    let target = talker(vec![100, 0], false).await;
    let err = probe(target, Protocol::MySql, LONG).await.unwrap_err();
    assert_eq!(
        err,
        ProbeError::Closed {
            addr: target,
            protocol: Protocol::MySql
        }
    );
}

#[tokio::test]
async fn server_that_closes_at_once() {
    let target = serve(|s| async move { drop(s) }).await;
    for protocol in [Protocol::MySql, Protocol::Postgres] {
        let err = probe(target, protocol, LONG).await.unwrap_err();
        assert_eq!(
            err,
            ProbeError::Closed {
                addr: target,
                protocol
            },
            "{protocol}"
        );
    }
    let err = probe(target, Protocol::Postgres, LONG).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{target} closed the connection without answering the PostgreSQL SSLRequest")
    );
}

/// A fake PostgreSQL server: reports what it received, answers `answer`.
async fn fake_postgres(answer: u8) -> (SocketAddr, mpsc::UnboundedReceiver<Vec<u8>>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let target = serve(move |mut s| {
        let tx = tx.clone();
        async move {
            let mut request = [0u8; 8];
            if s.read_exact(&mut request).await.is_ok() {
                let _ = s.write_all(&[answer]).await;
                let _ = tx.send(request.to_vec());
                // Anything the client sends after the answer is reported too.
                let mut rest = Vec::new();
                let _ =
                    tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut rest)).await;
                let _ = tx.send(rest);
            }
        }
    })
    .await;
    (target, rx)
}

#[tokio::test]
async fn postgres_answers() {
    for answer in [b'S', b'N'] {
        let (target, mut rx) = fake_postgres(answer).await;
        let ok = probe(target, Protocol::Postgres, LONG).await.unwrap();
        assert_eq!(
            ok.detail,
            format!("PostgreSQL answered SSLRequest with {}", answer as char)
        );
        assert_eq!(
            rx.recv().await.unwrap(),
            [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]
        );
        // No TLS ClientHello or startup packet follows: the probe just closes.
        assert_eq!(rx.recv().await.unwrap(), Vec::<u8>::new());
    }
    let (target, _rx) = fake_postgres(b'E').await;
    let err = probe(target, Protocol::Postgres, LONG).await.unwrap_err();
    assert_eq!(
        err,
        ProbeError::NotPostgres {
            addr: target,
            answer: b'E'
        }
    );
    assert_eq!(
        err.to_string(),
        format!("{target} is not a PostgreSQL server: it answered 0x45 ('E') to SSLRequest")
    );
}

#[tokio::test]
async fn policy_is_checked_before_connecting() {
    let default = NetworkPolicy::default();
    let err = probe_with_policy(&default, addr(MARIADB), Protocol::MySql, LONG)
        .await
        .unwrap_err();
    assert!(matches!(err, ProbeError::NotAllowed(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "not allowed: 127.0.0.1 is a loopback address; audit probes may reach it only if [network] probe_allow lists it (e.g. \"127.0.0.1/32\")"
    );

    let cfg = NetworkConfig {
        probe_allow: vec!["127.0.0.1/32".into()],
        ..NetworkConfig::default()
    };
    let allowed = NetworkPolicy::from_config(&cfg).unwrap();
    let ok = probe_with_policy(&allowed, addr(MARIADB), Protocol::MySql, LONG)
        .await
        .unwrap();
    assert!(ok.detail.contains("MariaDB"), "{}", ok.detail);

    let err = probe_with_policy(&allowed, addr("169.254.169.254:80"), Protocol::Tcp, LONG)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cloud metadata address"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_probes_at_once() {
    let open = talker(handshake("8.0.36"), false).await;
    let closed: Vec<SocketAddr> = (0..5).map(|_| closed_port()).collect();
    let limit = Arc::new(Semaphore::new(256));

    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..2000usize {
        let limit = limit.clone();
        let (target, protocol) = match i % 4 {
            0 => (open, Protocol::MySql),
            1 => (open, Protocol::Tcp),
            2 => (closed[i % closed.len()], Protocol::MySql),
            _ => (closed[i % closed.len()], Protocol::Postgres),
        };
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await.unwrap();
            (
                i,
                target,
                probe(target, protocol, Duration::from_secs(3)).await,
            )
        }));
    }

    let (mut ok, mut refused) = (0, 0);
    for task in tasks {
        let (i, target, outcome) = task.await.unwrap();
        match i % 4 {
            0 => {
                assert_eq!(
                    outcome.unwrap().detail,
                    "MySQL handshake v10, server 8.0.36"
                );
                ok += 1;
            }
            1 => {
                assert_eq!(outcome.unwrap().detail, "TCP connect");
                ok += 1;
            }
            _ => {
                assert_eq!(outcome.unwrap_err(), ProbeError::Refused { addr: target });
                refused += 1;
            }
        }
    }
    let took = started.elapsed();
    assert_eq!((ok, refused), (1000, 1000));
    assert!(took < Duration::from_secs(5), "{took:?}");
}
