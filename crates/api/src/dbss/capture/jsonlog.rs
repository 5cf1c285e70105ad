//! PostgreSQL's `jsonlog` lines as the pgaudit parser reads them ([`Line`]): a reader for the
//! flat objects PostgreSQL writes (no whitespace, string keys, string / number / literal
//! values), with `serde_json` for every line outside that shape. Whatever the fast reader
//! answers is what `serde_json` answers for the line (pinned by the differential test below);
//! it takes about half of serde's time on the lines of a pgbench run (docs/benchmarks.md → "A
//! faster machine, and the jsonlog reader"), two of which the agent reads per statement.

use serde::Deserialize;
use std::borrow::Cow;

/// The jsonlog keys read (borrowed from the line where JSON escapes allow).
#[derive(Debug, Deserialize, Default, PartialEq)]
#[serde(default)]
pub struct Line<'a> {
    #[serde(borrow)]
    pub timestamp: Cow<'a, str>,
    #[serde(borrow)]
    pub user: Cow<'a, str>,
    #[serde(borrow)]
    pub dbname: Cow<'a, str>,
    #[serde(borrow)]
    pub remote_host: Cow<'a, str>,
    pub remote_port: Option<i64>,
    #[serde(borrow)]
    pub session_id: Cow<'a, str>,
    #[serde(borrow)]
    pub error_severity: Cow<'a, str>,
    #[serde(borrow)]
    pub state_code: Cow<'a, str>,
    #[serde(borrow)]
    pub message: Cow<'a, str>,
    #[serde(borrow)]
    pub statement: Cow<'a, str>,
    #[serde(borrow)]
    pub application_name: Cow<'a, str>,
}

/// One line, or `None` when it is not a JSON object of the keys' types (the line is skipped).
pub fn read(line: &str) -> Option<Line<'_>> {
    match flat(line) {
        Some(l) => Some(l),
        None => serde_json::from_str(line).ok(),
    }
}

/// The fast reader: `None` for anything outside the shape PostgreSQL writes (then serde
/// decides), including every line serde refuses.
fn flat(line: &str) -> Option<Line<'_>> {
    let b = line.as_bytes();
    let mut l = Line::default();
    // Known keys seen, one bit each: serde refuses a known key given twice.
    let mut seen = 0u16;
    if b.first() != Some(&b'{') || b.get(1) == Some(&b'}') {
        return None;
    }
    let mut i = 1;
    loop {
        // The key: a string without escapes or control characters.
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let len = b.get(i + 1..)?.iter().position(|&c| c == b'"')?;
        let key = &line[i + 1..i + 1 + len];
        if key.bytes().any(|c| c == b'\\' || c < 0x20) {
            return None;
        }
        i += len + 2;
        if b.get(i) != Some(&b':') {
            return None;
        }
        i += 1;
        let slot = match key {
            "timestamp" => Some((0, &mut l.timestamp)),
            "user" => Some((1, &mut l.user)),
            "dbname" => Some((2, &mut l.dbname)),
            "remote_host" => Some((3, &mut l.remote_host)),
            "session_id" => Some((4, &mut l.session_id)),
            "error_severity" => Some((5, &mut l.error_severity)),
            "state_code" => Some((6, &mut l.state_code)),
            "message" => Some((7, &mut l.message)),
            "statement" => Some((8, &mut l.statement)),
            "application_name" => Some((9, &mut l.application_name)),
            _ => None,
        };
        let is_port = key == "remote_port";
        let bit = match (&slot, is_port) {
            (Some((n, _)), _) => 1u16 << n,
            (None, true) => 1 << 10,
            (None, false) => 0,
        };
        if seen & bit != 0 {
            return None;
        }
        seen |= bit;
        let end = match b.get(i)? {
            b'"' => {
                let (end, escaped) = string_end(b, i)?;
                let raw = &line[i..end];
                match slot {
                    Some((_, slot)) if escaped => {
                        *slot = Cow::Owned(serde_json::from_str::<String>(raw).ok()?)
                    }
                    Some((_, slot)) => *slot = Cow::Borrowed(&raw[1..raw.len() - 1]),
                    None if is_port => return None,
                    None if escaped => {
                        serde_json::from_str::<serde::de::IgnoredAny>(raw).ok()?;
                    }
                    None => {}
                }
                end
            }
            _ => {
                let len = b[i..]
                    .iter()
                    .position(|&c| c == b',' || c == b'}')
                    .unwrap_or(b.len() - i);
                let value = &line[i..i + len];
                match (slot, is_port) {
                    (Some(_), _) => return None,
                    (None, true) if value == "null" => l.remote_port = None,
                    (None, true) => l.remote_port = Some(integer(value)?),
                    (None, false) if matches!(value, "null" | "true" | "false") => {}
                    (None, false) => number(value)?,
                }
                i + len
            }
        };
        match b.get(end)? {
            b',' => i = end + 1,
            b'}' if end + 1 == b.len() => return Some(l),
            _ => return None,
        }
    }
}

/// The end (past the closing quote) of the string opening at `b[start]`, and whether it holds
/// an escape. `None` at a control character or an unterminated string.
fn string_end(b: &[u8], start: usize) -> Option<(usize, bool)> {
    let mut i = start + 1;
    let mut escaped = false;
    loop {
        let j = i + memchr::memchr2(b'"', b'\\', b.get(i..)?)?;
        // Folded without an early exit, so that it runs many bytes to an instruction.
        if b[i..j].iter().fold(false, |any, &c| any | (c < 0x20)) {
            return None;
        }
        if b[j] == b'"' {
            return Some((j + 1, escaped));
        }
        // An escape: the byte after the backslash is never the string's end (serde checks
        // the escape itself when the value is decoded or validated).
        escaped = true;
        if b.get(j + 1).is_none_or(|&c| c < 0x20) {
            return None;
        }
        i = j + 2;
    }
}

/// A JSON integer (`-?(0|[1-9][0-9]*)`) that fits an `i64`.
fn integer(v: &str) -> Option<i64> {
    let digits = v.strip_prefix('-').unwrap_or(v);
    // serde_json reads `-0` as a float, which no integer field takes.
    let plain = !digits.is_empty()
        && digits.bytes().all(|c| c.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && v != "-0";
    if !plain {
        return None;
    }
    v.parse().ok()
}

/// Whether `v` is a JSON number (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`).
fn number(v: &str) -> Option<()> {
    let b = v.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let from = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - from
    };
    let int_start = i;
    let n = digits(&mut i);
    if n == 0 || (n > 1 && b[int_start] == b'0') {
        return None;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return None;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return None;
        }
    }
    (i == b.len()).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// Lines as PostgreSQL 15 with pgaudit writes them (a pgbench run's, and the hostile kinds).
    const LINES: &[&str] = &[
        r#"{"timestamp":"2026-12-07 23:50:58.248 UTC","user":"postgres","dbname":"postgres","pid":15165,"remote_host":"127.0.0.1","remote_port":44178,"session_id":"6b174660.3b3d","line_num":46690,"ps":"INSERT","session_start":"2026-12-07 23:50:56 UTC","vxid":"4/3339","txid":7838,"error_severity":"LOG","message":"duration: 0.041 ms  statement: INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, 27795, 1355, CURRENT_TIMESTAMP);","application_name":"pgbench","backend_type":"client backend","query_id":0}"#,
        r#"{"timestamp":"2026-12-07 23:50:58.249 UTC","user":"postgres","dbname":"postgres","pid":15165,"remote_host":"127.0.0.1","remote_port":44178,"session_id":"6b174660.3b3d","line_num":46691,"ps":"COMMIT","session_start":"2026-12-07 23:50:56 UTC","vxid":"4/3339","txid":7838,"error_severity":"LOG","message":"AUDIT: SESSION,23345,1,MISC,COMMIT,,,END;,<not logged>,0","application_name":"pgbench","backend_type":"client backend","query_id":0}"#,
        r#"{"timestamp":"2026-12-07 23:50:58.249 UTC","user":"postgres","dbname":"postgres","pid":15165,"remote_host":"127.0.0.1","remote_port":44178,"session_id":"6b174660.3b3d","line_num":46688,"ps":"INSERT","session_start":"2026-12-07 23:50:56 UTC","vxid":"4/3339","txid":7838,"error_severity":"LOG","message":"AUDIT: SESSION,23344,1,WRITE,INSERT,TABLE,public.pgbench_history,\"INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, 27795, 1355, CURRENT_TIMESTAMP);\",<not logged>,1","application_name":"pgbench","backend_type":"client backend","query_id":0}"#,
        r#"{"timestamp":"2026-12-07 23:50:58.249 UTC","user":"postgres","dbname":"postgres","pid":15165,"remote_host":"127.0.0.1","remote_port":44178,"session_id":"6b174660.3b3d","line_num":46693,"ps":"idle","session_start":"2026-12-07 23:50:56 UTC","txid":0,"error_severity":"LOG","message":"disconnection: session time: 0:00:02.000 user=postgres database=postgres host=127.0.0.1 port=44178","application_name":"pgbench","backend_type":"client backend","query_id":0}"#,
        r#"{"timestamp":"2026-12-07 23:51:00.001 UTC","user":"wrongpw","dbname":"test","pid":7,"remote_host":"[local]","session_id":"6b1.2","line_num":2,"ps":"authentication","session_start":"2026-12-07 23:51:00 UTC","vxid":"3/1","txid":0,"error_severity":"FATAL","state_code":"28P01","message":"password authentication failed for user \"wrongpw\"","detail":"Connection matched pg_hba.conf line 3: \"host all wrongpw 127.0.0.1/32 md5\"","backend_type":"client backend","query_id":0}"#,
        r#"{"timestamp":"2026-12-07 23:51:00.002 UTC","user":"app","dbname":"orders","pid":8,"remote_host":"10.0.0.7","remote_port":51514,"session_id":"s\u00e9\ud83d\ude00","error_severity":"ERROR","state_code":"42P01","message":"relation \"nope\" does not exist","statement":"select * from nope where x = 'a\\b\tc\u0000d'","application_name":"psql \"x\"","query_id":-1234567890123}"#,
        r#"{"timestamp":"2026-12-07 23:51:00.003 UTC","remote_port":null,"session_id":"s2","error_severity":"LOG","message":"AUDIT: SESSION,1,1,READ,SELECT,,,select 1.5e-3,<not logged>,1","x":true,"y":false,"z":null,"n":-0.25E+2}"#,
        r#"{"session_id":"s3","remote_port":0,"message":"x","n":0}"#,
    ];

    fn serde_read(line: &str) -> Option<Line<'_>> {
        serde_json::from_str(line).ok()
    }

    #[test]
    fn postgresql_s_lines_take_the_fast_reader_and_read_as_serde_reads_them() {
        for line in LINES {
            let fast = flat(line);
            assert!(fast.is_some(), "not read fast: {line}");
            assert_eq!(fast, serde_read(line), "{line}");
        }
        let l = read(LINES[2]).unwrap();
        assert!(matches!(l.message, Cow::Owned(_)), "escapes decoded");
        assert!(l.message.contains(",\"INSERT INTO"));
        let l = read(LINES[1]).unwrap();
        assert!(
            matches!(l.message, Cow::Borrowed(_)),
            "borrowed without escapes"
        );
        assert_eq!(l.remote_port, Some(44178));
        assert_eq!(read(LINES[5]).unwrap().session_id, "sé😀");
    }

    #[test]
    fn lines_outside_the_shape_are_left_to_serde() {
        for line in [
            r#"{ "message":"x"}"#,
            r#"{"message" :"x"}"#,
            r#"{"message":"x","message":"y"}"#,
            r#"{"remote_port":1,"remote_port":2}"#,
            r#"{"remote_port":"1"}"#,
            r#"{"remote_port":1.0}"#,
            r#"{"remote_port":01}"#,
            r#"{"remote_port":-0}"#,
            r#"{"remote_port":99999999999999999999}"#,
            r#"{"user":null}"#,
            r#"{"user":5}"#,
            r#"{"detail":{"a":1}}"#,
            r#"{"detail":[1]}"#,
            r#"{"n":01}"#,
            r#"{"n":1.}"#,
            r#"{"n":-}"#,
            r#"{"n":tru}"#,
            r#"{"message":"a\qb"}"#,
            r#"{"other":"a\qb"}"#,
            "{\"message\":\"a\tb\"}",
            r#"{"message":"x"} "#,
            r#"{"message":"x"}x"#,
            r#"{"message":"x""#,
            r#"{"message":"x\"#,
            r#"{"k\u0061y":"x"}"#,
            "{}",
            "[]",
            "",
        ] {
            assert_eq!(flat(line), None, "read fast: {line}");
            assert_eq!(read(line), serde_read(line), "{line}");
        }
        assert!(
            read(r#"{"message":"x"} "#).is_some(),
            "serde allows trailing space"
        );
        assert!(read(r#"{"message":"x","message":"y"}"#).is_none());
    }

    /// The fast reader against serde over mutations of the lines above: each byte replaced,
    /// inserted or removed at random, a few at a time, 200,000 times. Wherever the fast reader
    /// answers, serde answers the same; `read` always does.
    #[test]
    fn the_fast_reader_never_answers_otherwise_than_serde() {
        const ALPHABET: &[u8] = b"\"\\,:{}[]0123456789-.eE+ntrufals \t\x01\x1fu/xyz";
        let mut rng = StdRng::seed_from_u64(0x006a_736f_6e6c_6f67);
        let mut fast_answers = 0;
        for _ in 0..200_000 {
            let mut b = LINES[rng.gen_range(0..LINES.len())].as_bytes().to_vec();
            for _ in 0..rng.gen_range(1..4) {
                let at = rng.gen_range(0..b.len());
                let c = ALPHABET[rng.gen_range(0..ALPHABET.len())];
                match rng.gen_range(0..3) {
                    0 => b[at] = c,
                    1 => b.insert(at, c),
                    _ => {
                        b.remove(at);
                    }
                }
            }
            let Ok(line) = std::str::from_utf8(&b) else {
                continue;
            };
            let fast = flat(line);
            if fast.is_some() {
                fast_answers += 1;
                assert_eq!(fast, serde_read(line), "{line}");
            }
            assert_eq!(read(line), serde_read(line), "{line}");
        }
        // Most mutations land in a value and leave a line both read: the fast path is tried.
        assert!(fast_answers > 50_000, "{fast_answers}");
    }
}
