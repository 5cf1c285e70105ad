//! Tests of [`super`] (probe).

use super::*;

fn handshake(version: &str) -> Vec<u8> {
    let mut p = vec![10];
    p.extend_from_slice(version.as_bytes());
    p.push(0);
    p.extend_from_slice(&[1, 0, 0, 0]); // connection id
    p.extend_from_slice(b"abcdefgh"); // scramble part 1
    p.push(0); // filler
    p.extend_from_slice(&[0xff, 0xf7, 0x08, 0x02, 0]); // capabilities, charset, status
    p
}

#[test]
fn type_to_protocol() {
    for t in ["MYSQL", "TAURUS", "GBASE8A", "mysql", " MySql "] {
        assert_eq!(protocol_for(t), Protocol::MySql, "{t}");
    }
    for t in [
        "POSTGRESQL",
        "GAUSSDBOPENGAUSS",
        "GREENPLUM",
        "KINGBASE",
        "HIGHGO",
        "DWS",
        "postgresql",
    ] {
        assert_eq!(protocol_for(t), Protocol::Postgres, "{t}");
    }
    for t in [
        "ORACLE",
        "SQLSERVER",
        "DAMENG",
        "SHENTONG",
        "GBASE8S",
        "GBASEXDM",
        "MONGODB",
        "DDS",
        "",
        "MYSQLX",
    ] {
        assert_eq!(protocol_for(t), Protocol::Tcp, "{t}");
    }
}

#[test]
fn header_checks() {
    assert_eq!(mysql_payload_len([0x4a, 0, 0, 0]), Ok(0x4a));
    assert_eq!(mysql_payload_len([0, 0, 1, 0]), Ok(65536));
    let e = mysql_payload_len([1, 0, 1, 0]).unwrap_err();
    assert!(e.contains("65537-byte"), "{e}");
    let e = mysql_payload_len(*b"SSH-").unwrap_err();
    assert!(e.contains("\"SSH-\" (53 53 48 2d)"), "{e}");
    let e = mysql_payload_len([0x10, 0, 0, 1]).unwrap_err();
    assert!(e.contains("sequence 1"), "{e}");
    assert!(mysql_payload_len([0, 0, 0, 0])
        .unwrap_err()
        .contains("empty"));
}

#[test]
fn parses_handshakes() {
    assert_eq!(
        parse_mysql_greeting(&handshake("8.0.36")),
        Ok(MySqlGreeting::Handshake {
            server_version: "8.0.36".into()
        })
    );
    assert_eq!(
        parse_mysql_greeting(&handshake("5.5.5-10.11.6-MariaDB-0+deb12u1")),
        Ok(MySqlGreeting::Handshake {
            server_version: "10.11.6-MariaDB-0+deb12u1".into()
        })
    );
    // Only MariaDB's prefix is stripped.
    assert_eq!(
        parse_mysql_greeting(&handshake("5.5.5-log")),
        Ok(MySqlGreeting::Handshake {
            server_version: "5.5.5-log".into()
        })
    );
    // Control characters in the version are neutralised.
    assert_eq!(
        parse_mysql_greeting(&handshake("8.0\r\nX")),
        Ok(MySqlGreeting::Handshake {
            server_version: "8.0  X".into()
        })
    );
}

#[test]
fn parses_error_packets() {
    let mut p = vec![0xff, 0x6a, 0x04];
    p.extend_from_slice(b"Host '10.0.0.9' is not allowed to connect to this MySQL server");
    assert_eq!(
        parse_mysql_greeting(&p),
        Ok(MySqlGreeting::Error {
            code: 1130,
            message: "Host '10.0.0.9' is not allowed to connect to this MySQL server".into()
        })
    );
    let mut p = vec![0xff, 0x10, 0x04, b'#'];
    p.extend_from_slice(b"08004Too many connections");
    assert_eq!(
        parse_mysql_greeting(&p),
        Ok(MySqlGreeting::Error {
            code: 1040,
            message: "Too many connections".into()
        })
    );
    assert_eq!(
        parse_mysql_greeting(&[0xff, 1, 0]),
        Ok(MySqlGreeting::Error {
            code: 1,
            message: "(no message)".into()
        })
    );
    assert!(parse_mysql_greeting(&[0xff, 1]).is_err());
    let long = [vec![0xff, 1, 0], vec![b'x'; 1000]].concat();
    match parse_mysql_greeting(&long) {
        Ok(MySqlGreeting::Error { message, .. }) => {
            assert_eq!(message.chars().count(), 301);
            assert!(message.ends_with('…'));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn refuses_malformed_greetings() {
    assert!(parse_mysql_greeting(&[]).is_err());
    let e = parse_mysql_greeting(b"\x0a8.0.36").unwrap_err();
    assert!(e.contains("no end"), "{e}");
    let e = parse_mysql_greeting(b"\x0a\x00abcdefghijklmnop").unwrap_err();
    assert!(e.contains("empty server version"), "{e}");
    let e = parse_mysql_greeting(b"\x0a8.0\x00abc").unwrap_err();
    assert!(e.contains("ends after the server version \"8.0\""), "{e}");
    let e = parse_mysql_greeting(b"\x09abc\x00").unwrap_err();
    assert!(e.contains("version 9"), "{e}");
    let e = parse_mysql_greeting(b"HTTP/1.1 400").unwrap_err();
    assert!(e.contains("0x48"), "{e}");
}

#[test]
fn error_messages() {
    let addr: SocketAddr = "10.0.0.5:3306".parse().unwrap();
    let pg: SocketAddr = "10.0.0.5:5432".parse().unwrap();
    assert_eq!(
        ProbeError::Refused {
            addr: "127.0.0.1:1".parse().unwrap()
        }
        .to_string(),
        "connection refused by 127.0.0.1:1"
    );
    assert_eq!(
        ProbeError::Timeout {
            addr,
            timeout_ms: 3000
        }
        .to_string(),
        "no answer from 10.0.0.5:3306 within 3000 ms"
    );
    assert_eq!(
        ProbeError::NoGreeting {
            addr,
            protocol: Protocol::MySql,
            timeout_ms: 300
        }
        .to_string(),
        "10.0.0.5:3306 accepted the connection but sent no MySQL greeting within 300 ms"
    );
    assert_eq!(
        ProbeError::NoGreeting {
            addr: pg,
            protocol: Protocol::Postgres,
            timeout_ms: 300
        }
        .to_string(),
        "10.0.0.5:5432 accepted the connection but did not answer the PostgreSQL SSLRequest within 300 ms"
    );
    assert_eq!(
        ProbeError::Closed {
            addr,
            protocol: Protocol::MySql
        }
        .to_string(),
        "10.0.0.5:3306 closed the connection without sending a MySQL greeting"
    );
    assert_eq!(
        ProbeError::NotPostgres {
            addr: pg,
            answer: b'H'
        }
        .to_string(),
        "10.0.0.5:5432 is not a PostgreSQL server: it answered 0x48 ('H') to SSLRequest"
    );
    assert_eq!(
        ProbeError::NotPostgres {
            addr: pg,
            answer: 0x05
        }
        .to_string(),
        "10.0.0.5:5432 is not a PostgreSQL server: it answered 0x05 to SSLRequest"
    );
    assert_eq!(
        ProbeError::MySqlRefused {
            addr,
            code: 1130,
            message: "Host 'x' is not allowed to connect to this MariaDB server".into()
        }
        .to_string(),
        "MySQL server at 10.0.0.5:3306 refused the connection: Host 'x' is not allowed to connect to this MariaDB server (error 1130)"
    );
    let policy = crate::netpolicy::NetworkPolicy::default();
    let e = ProbeError::from(policy.check_probe(addr.ip()).unwrap_err());
    assert!(
        e.to_string()
            .starts_with("not allowed: 10.0.0.5 is a private address; audit probes"),
        "{e}"
    );
}
