//! One captured event as JSON, byte for byte what `serde_json::to_writer` writes for an
//! [`IngestEvent`] (the same keys in the same order, defaults left out as the type's serde
//! attributes say; pinned by the tests below), with strings that need no escaping copied
//! whole: serde_json looks at every byte of every string through a table, which was a tenth
//! of the agent's work per statement (docs/benchmarks.md → pgbench).

use plugboard_api::dbss::dto_audit::{IngestEvent, IngestObject};

/// Append `ev` as a JSON object to `out`.
pub fn write_event(out: &mut Vec<u8>, ev: &IngestEvent) {
    out.extend_from_slice(b"{\"seq\":");
    number(out, ev.seq);
    out.extend_from_slice(b",\"ts\":");
    string(out, &ev.ts);
    out.extend_from_slice(b",\"kind\":");
    string(out, &ev.kind);
    opt_string(out, b"session", &ev.session);
    opt_string(out, b"statement_id", &ev.statement_id);
    opt_string(out, b"user", &ev.user);
    opt_string(out, b"database", &ev.database);
    opt_string(out, b"client_ip", &ev.client_ip);
    if ev.client_port != 0 {
        out.extend_from_slice(b",\"client_port\":");
        number(out, ev.client_port);
    }
    opt_string(out, b"application", &ev.application);
    opt_string(out, b"command", &ev.command);
    opt_string(out, b"class", &ev.class);
    if !ev.objects.is_empty() {
        out.extend_from_slice(b",\"objects\":[");
        for (i, o) in ev.objects.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            object(out, o);
        }
        out.push(b']');
    }
    opt_string(out, b"sql", &ev.sql);
    if let Some(rows) = ev.rows {
        out.extend_from_slice(b",\"rows\":");
        number(out, rows);
    }
    if let Some(ms) = ev.duration_ms {
        out.extend_from_slice(b",\"duration_ms\":");
        // serde_json's own float formatting (and `null` for what JSON cannot hold).
        let _ = serde_json::to_writer(&mut *out, &ms);
    }
    opt_string(out, b"result", &ev.result);
    opt_string(out, b"code", &ev.code);
    opt_string(out, b"error", &ev.error);
    out.push(b'}');
}

fn object(out: &mut Vec<u8>, o: &IngestObject) {
    out.extend_from_slice(b"{\"type\":");
    string(out, &o.object_type);
    out.extend_from_slice(b",\"schema\":");
    string(out, &o.schema);
    out.extend_from_slice(b",\"name\":");
    string(out, &o.name);
    out.push(b'}');
}

fn number(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// `,"key":"value"` unless the value is empty.
fn opt_string(out: &mut Vec<u8>, key: &[u8], value: &str) {
    if value.is_empty() {
        return;
    }
    out.extend_from_slice(b",\"");
    out.extend_from_slice(key);
    out.extend_from_slice(b"\":");
    string(out, value);
}

/// A JSON string: copied between quotes when no byte needs an escape, else serde_json's.
fn string(out: &mut Vec<u8>, s: &str) {
    if needs_escape(s.as_bytes()) {
        let _ = serde_json::to_writer(&mut *out, s);
    } else {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

/// Whether any byte is a control character, `"` or `\\`: eight bytes at a time, with the
/// test serde_json's reader uses (Mycroft's: a borrow into a byte's top bit marks a byte
/// below the constant; exact for whether there is one, which is all that is asked here).
fn needs_escape(s: &[u8]) -> bool {
    const ONES: u64 = u64::MAX / 255;
    let mut chunks = s.chunks_exact(8);
    let mut found = 0u64;
    for chunk in &mut chunks {
        let v = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let ctrl = v.wrapping_sub(ONES * 0x20) & !v;
        let quote = v ^ (ONES * u64::from(b'"'));
        let backslash = v ^ (ONES * u64::from(b'\\'));
        found |= ctrl
            | (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash);
    }
    found & (ONES << 7) != 0
        || chunks
            .remainder()
            .iter()
            .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same_as_serde(ev: &IngestEvent) {
        let mut ours = Vec::new();
        write_event(&mut ours, ev);
        let theirs = serde_json::to_vec(ev).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );
        let back: IngestEvent = serde_json::from_slice(&ours).unwrap();
        assert_eq!(&back, ev);
    }

    #[test]
    fn events_are_written_as_serde_json_writes_them() {
        same_as_serde(&IngestEvent::default());
        let full = IngestEvent {
            seq: -42,
            ts: "2025-05-01T10:00:00.123Z".into(),
            kind: "QUERY".into(),
            session: "6630f2a1.3".into(),
            statement_id: "12.2".into(),
            user: "app".into(),
            database: "orders".into(),
            client_ip: "10.0.0.7".into(),
            client_port: 51514,
            application: "psql".into(),
            command: "SELECT".into(),
            class: "READ".into(),
            objects: vec![
                IngestObject {
                    object_type: "TABLE".into(),
                    schema: "public".into(),
                    name: "a".into(),
                },
                IngestObject::default(),
            ],
            sql: "select * from a where x = 'y,z'".into(),
            rows: Some(0),
            duration_ms: Some(2.5),
            result: "FAILED".into(),
            code: "42P01".into(),
            error: "relation \"nope\" does not exist".into(),
        };
        same_as_serde(&full);
        // Every kind of escape, characters outside ASCII, numbers at their limits.
        let hostile = IngestEvent {
            seq: i64::MAX,
            sql: "a\"b\\c\nd\te\u{0}f\u{1f}g\u{7f}h é 中 \u{1F600} \u{FFFD}".into(),
            user: "\u{8}\u{c}\r".into(),
            client_port: i64::MIN,
            rows: Some(i64::MIN),
            duration_ms: Some(1e300),
            ..full.clone()
        };
        same_as_serde(&hostile);
        for ms in [0.0, 0.001, 123456.789, f64::NAN, f64::INFINITY] {
            let ev = IngestEvent {
                duration_ms: Some(ms),
                ..IngestEvent::default()
            };
            let mut ours = Vec::new();
            write_event(&mut ours, &ev);
            assert_eq!(ours, serde_json::to_vec(&ev).unwrap(), "{ms}");
        }
    }

    #[test]
    fn the_escape_check_finds_each_byte_at_each_position() {
        for len in 0..20 {
            let clean = "a".repeat(len);
            assert!(!needs_escape(clean.as_bytes()));
            // Bytes 0x80 and above (UTF-8) never need an escape, nor do 0x20..0x7f but two.
            let high = "é".repeat(len);
            assert!(!needs_escape(high.as_bytes()), "{len}");
            for at in 0..len {
                for b in 0u8..0x80 {
                    let mut bytes = clean.clone().into_bytes();
                    bytes[at] = b;
                    let want = b < 0x20 || b == b'"' || b == b'\\';
                    assert_eq!(needs_escape(&bytes), want, "byte {b:#x} at {at} of {len}");
                }
            }
        }
    }

    #[test]
    fn strings_of_every_byte_value_match() {
        // Each ASCII byte alone and inside a longer run (the check covers whole runs at once).
        for b in 0u8..0x80 {
            let c = char::from(b);
            for s in [
                c.to_string(),
                format!("{}{c}{}", "x".repeat(37), "y".repeat(20)),
            ] {
                let mut ours = Vec::new();
                string(&mut ours, &s);
                assert_eq!(ours, serde_json::to_vec(&s).unwrap(), "byte {b:#x}");
            }
        }
    }
}
