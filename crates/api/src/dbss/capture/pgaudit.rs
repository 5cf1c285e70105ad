//! PostgreSQL 15 `jsonlog` with pgaudit (docs/dbss-audit.md → PostgreSQL 15): `AUDIT: SESSION`
//! lines become statements (one per statement and substatement, the relation lines of
//! `log_relation` merged into its objects, `log_rows` giving its rows), the `duration:` line
//! that follows gives its time, an `ERROR` line fails it (or is a failed statement of its own);
//! `connection authorized`, a FATAL `28P01`/`28000` and `disconnection` are the login, the
//! failed login and the logout.

use super::jsonlog::{self, Line};
use super::{
    add_object, clean, clean_sql, split_object, Captured, Marks, Parser, Pending, PendingSet,
};
use crate::dbss::dto_audit::IngestEvent;
use chrono::{DateTime, FixedOffset, Local, NaiveDateTime, TimeZone, Utc};
use std::borrow::Cow;
use std::time::Instant;

/// The pgaudit jsonlog parser.
#[derive(Default)]
pub struct PgAudit {
    pending: PendingSet,
    marks: Marks,
    /// The last `timestamp` converted and what it became (lines come many to a millisecond).
    last_ts: (String, String),
}

/// A jsonlog `timestamp` (`2025-05-01 10:00:00.123 UTC`, any `log_timezone`) in RFC 3339 UTC.
pub fn timestamp(ts: &str) -> String {
    let (stamp, zone) = match ts.rsplit_once(' ') {
        Some((s, z))
            if z.chars()
                .any(|c| c.is_ascii_alphabetic() || c == '+' || c == '-') =>
        {
            (s, z)
        }
        _ => (ts, ""),
    };
    let Ok(naive) = NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S%.f") else {
        return Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    };
    let utc: DateTime<Utc> = match zone {
        "UTC" | "GMT" | "Z" | "" if !zone.is_empty() => naive.and_utc(),
        z if z.starts_with('+') || z.starts_with('-') => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let digits: String = z[1..].chars().filter(char::is_ascii_digit).collect();
            let (h, m) = match digits.len() {
                1 | 2 => (digits.parse::<i32>().unwrap_or(0), 0),
                4 => (
                    digits[..2].parse::<i32>().unwrap_or(0),
                    digits[2..].parse::<i32>().unwrap_or(0),
                ),
                _ => (0, 0),
            };
            FixedOffset::east_opt(sign * (h * 3600 + m * 60))
                .and_then(|o| o.from_local_datetime(&naive).single())
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|| naive.and_utc())
        }
        _ => Local
            .from_local_datetime(&naive)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| naive.and_utc()),
    };
    utc.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// [`timestamp`] of `raw`, remembered for the next line with the same one.
fn stamp(last: &mut (String, String), raw: &str) -> String {
    if last.0 != raw {
        *last = (raw.to_string(), timestamp(raw));
    }
    last.1.clone()
}

fn base_event(l: &Line, ts: String, seq: i64, kind: &str) -> IngestEvent {
    let (ip, port) = if l.remote_host.is_empty() || l.remote_host == "[local]" {
        ("127.0.0.1".to_string(), 0)
    } else {
        (clean(&l.remote_host), l.remote_port.unwrap_or(0))
    };
    IngestEvent {
        seq,
        ts,
        kind: kind.into(),
        session: clean(&l.session_id),
        user: clean(&l.user),
        database: clean(&l.dbname),
        client_ip: ip,
        client_port: port,
        application: clean(&l.application_name),
        result: "SUCCESS".into(),
        ..Default::default()
    }
}

/// The fields of an `AUDIT:` message: CSV as pgaudit writes it (a field with a comma, quote or
/// line break is double-quoted, a quote inside doubled), borrowed unless it had quotes.
pub(super) fn audit_fields(message: &str) -> Option<Vec<Cow<'_, str>>> {
    let body = message.strip_prefix("AUDIT: ")?;
    let mut fields = Vec::with_capacity(10);
    let mut rest = body;
    loop {
        if let Some(quoted) = rest.strip_prefix('"') {
            // A quoted field: up to the quote not followed by another.
            let mut text = String::new();
            let mut tail = quoted;
            loop {
                let Some(i) = tail.find('"') else {
                    // No closing quote: the rest is the field.
                    text.push_str(tail);
                    fields.push(Cow::Owned(text));
                    return Some(fields);
                };
                text.push_str(&tail[..i]);
                tail = &tail[i + 1..];
                match tail.strip_prefix('"') {
                    Some(after) => {
                        text.push('"');
                        tail = after;
                    }
                    None => break,
                }
            }
            fields.push(Cow::Owned(text));
            match tail.strip_prefix(',') {
                Some(after) => rest = after,
                None => return Some(fields),
            }
        } else {
            match rest.find(',') {
                Some(i) => {
                    fields.push(Cow::Borrowed(&rest[..i]));
                    rest = &rest[i + 1..];
                }
                None => {
                    fields.push(Cow::Borrowed(rest));
                    return Some(fields);
                }
            }
        }
    }
}

impl PgAudit {
    fn audit(
        &mut self,
        l: &Line,
        f: Vec<Cow<'_, str>>,
        offset: u64,
        seq: i64,
        now: Instant,
        out: &mut Vec<Captured>,
    ) {
        let get = |i: usize| f.get(i).map(|c| &**c).unwrap_or("");
        if get(0) != "SESSION" {
            return;
        }
        let stmt: i64 = get(1).parse().unwrap_or(0);
        let sub: i64 = get(2).parse().unwrap_or(0);
        let key = (stmt, sub);
        if self.marks.covers(&l.session_id, key) {
            return;
        }
        let rows = f.get(9).and_then(|r| r.trim().parse::<i64>().ok());
        let object = (!get(6).is_empty()).then(|| split_object(get(5), get(6)));
        if let Some(p) = self.pending.by_session.get_mut(&*l.session_id) {
            if p.c.stmt == Some(key) {
                if let Some(o) = object {
                    add_object(&mut p.c.ev, o);
                }
                if rows.is_some() {
                    p.c.ev.rows = rows;
                }
                p.last_line = now;
                return;
            }
        }
        if let Some(done) = self.pending.take(&l.session_id) {
            out.push(done);
        }
        let ts = stamp(&mut self.last_ts, &l.timestamp);
        let mut ev = base_event(l, ts, seq, "QUERY");
        ev.statement_id = if sub > 1 {
            format!("{stmt}.{sub}")
        } else {
            stmt.to_string()
        };
        ev.command = clean(get(4));
        ev.class = clean(get(3));
        let text = if get(7).is_empty() || get(7) == "<not logged>" {
            &*l.statement
        } else {
            get(7)
        };
        ev.sql = clean_sql(text);
        ev.rows = rows;
        ev.code = "00000".into();
        if let Some(o) = object {
            add_object(&mut ev, o);
        }
        self.pending.by_session.insert(
            l.session_id.to_string(),
            Pending {
                c: Captured {
                    ev: Box::new(ev),
                    offset,
                    lines: None,
                    session: l.session_id.to_string(),
                    stmt: Some(key),
                },
                last_line: now,
            },
        );
    }
}

impl Parser for PgAudit {
    fn feed(&mut self, line: &str, offset: u64, seq: i64, now: Instant, out: &mut Vec<Captured>) {
        let Some(l) = jsonlog::read(line) else {
            return;
        };
        let msg = &*l.message;
        let last_ts = &mut self.last_ts;
        let mut single = |kind: &str| Captured {
            ev: Box::new(base_event(&l, stamp(last_ts, &l.timestamp), seq, kind)),
            offset,
            lines: None,
            session: l.session_id.to_string(),
            stmt: None,
        };
        match &*l.error_severity {
            "LOG" if msg.starts_with("AUDIT: ") => {
                if let Some(f) = audit_fields(msg) {
                    self.audit(&l, f, offset, seq, now, out);
                }
            }
            "LOG" if msg.starts_with("duration: ") => {
                let ms = msg["duration: ".len()..]
                    .split_whitespace()
                    .next()
                    .and_then(|n| n.parse::<f64>().ok());
                if let Some(mut c) = self.pending.take(&l.session_id) {
                    c.ev.duration_ms = ms;
                    out.push(c);
                }
            }
            "LOG" if msg.starts_with("connection authorized: ") => {
                self.marks.reset(&l.session_id);
                let mut c = single("LOGIN");
                c.ev.code = "00000".into();
                out.push(c);
            }
            "LOG" if msg.starts_with("disconnection: ") => {
                if let Some(done) = self.pending.take(&l.session_id) {
                    out.push(done);
                }
                self.marks.reset(&l.session_id);
                out.push(single("LOGOUT"));
            }
            "FATAL" if l.state_code == "28P01" || l.state_code == "28000" => {
                let mut c = single("LOGIN_FAILED");
                c.ev.result = "FAILED".into();
                c.ev.code = clean(&l.state_code);
                c.ev.error = clean_sql(msg);
                out.push(c);
            }
            "ERROR" => {
                if let Some(mut c) = self.pending.take(&l.session_id) {
                    c.ev.result = "FAILED".into();
                    c.ev.code = clean(&l.state_code);
                    c.ev.error = clean_sql(msg);
                    out.push(c);
                } else if !l.statement.is_empty() {
                    let mut c = single("QUERY");
                    c.ev.sql = clean_sql(&l.statement);
                    c.ev.result = "FAILED".into();
                    c.ev.code = clean(&l.state_code);
                    c.ev.error = clean_sql(msg);
                    out.push(c);
                }
            }
            _ => {}
        }
    }

    fn tick(&mut self, now: Instant, all: bool, out: &mut Vec<Captured>) {
        self.pending.tick(now, all, out);
    }

    fn oldest_pending(&self) -> Option<u64> {
        self.pending.oldest()
    }

    fn marks(&mut self) -> &mut Marks {
        &mut self.marks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(sev: &str, msg: &str, extra: &str) -> String {
        format!(
            r#"{{"timestamp":"2025-05-01 10:00:00.123 UTC","user":"app","dbname":"orders","pid":7,"remote_host":"10.0.0.7","remote_port":51514,"session_id":"s1","error_severity":"{sev}","message":{}{extra},"application_name":"psql"}}"#,
            serde_json::to_string(msg).unwrap()
        )
    }

    #[test]
    fn relation_lines_merge_and_duration_completes() {
        let mut p = PgAudit::default();
        let mut out = vec![];
        let now = Instant::now();
        p.feed(
            &line("LOG", "connection authorized: user=app database=orders", ""),
            0,
            100,
            now,
            &mut out,
        );
        p.feed(&line("LOG", r#"AUDIT: SESSION,1,1,READ,SELECT,TABLE,public.a,"select * from a, b where x = 'y,z'",<not logged>,3"#, ""), 10, 110, now, &mut out);
        p.feed(&line("LOG", r#"AUDIT: SESSION,1,1,READ,SELECT,TABLE,public.b,"select * from a, b where x = 'y,z'",<not logged>,3"#, ""), 20, 120, now, &mut out);
        assert_eq!(out.len(), 1, "the login");
        assert_eq!(p.oldest_pending(), Some(10));
        p.feed(&line("LOG", "duration: 2.5 ms", ""), 30, 130, now, &mut out);
        assert_eq!(out.len(), 2);
        let e = &out[1].ev;
        assert_eq!(
            (e.seq, e.sql.as_str(), e.rows, e.duration_ms),
            (
                110,
                "select * from a, b where x = 'y,z'",
                Some(3),
                Some(2.5)
            )
        );
        assert_eq!(e.objects.len(), 2);
        assert_eq!(e.ts, "2025-05-01T10:00:00.123Z");
        assert_eq!((e.client_ip.as_str(), e.client_port), ("10.0.0.7", 51514));
        // Re-read after the statement was acknowledged: its lines are skipped.
        p.marks().ack(&out[1]);
        let mut again = vec![];
        p.feed(
            &line(
                "LOG",
                r#"AUDIT: SESSION,1,1,READ,SELECT,TABLE,public.b,"select 1",<not logged>"#,
                "",
            ),
            20,
            120,
            now,
            &mut again,
        );
        p.tick(now, true, &mut again);
        assert!(again.is_empty(), "{again:?}");
    }

    #[test]
    fn errors_and_failed_logins() {
        let mut p = PgAudit::default();
        let mut out = vec![];
        let now = Instant::now();
        p.feed(
            &line(
                "ERROR",
                "relation \"nope\" does not exist",
                r#","state_code":"42P01","statement":"select * from nope""#,
            ),
            0,
            1,
            now,
            &mut out,
        );
        p.feed(
            &line(
                "FATAL",
                "password authentication failed for user \"app\"",
                r#","state_code":"28P01""#,
            ),
            50,
            2,
            now,
            &mut out,
        );
        assert_eq!(out.len(), 2);
        assert_eq!(
            (
                out[0].ev.result.as_str(),
                out[0].ev.code.as_str(),
                out[0].ev.sql.as_str()
            ),
            ("FAILED", "42P01", "select * from nope")
        );
        assert_eq!(out[1].ev.kind, "LOGIN_FAILED");
    }

    #[test]
    fn audit_fields_are_read_as_csv() {
        let f = audit_fields(
            r#"AUDIT: SESSION,3,1,WRITE,INSERT,TABLE,public.t,"insert into t values ('a,b', ""q"")",<not logged>,1"#,
        )
        .unwrap();
        assert_eq!(
            f,
            [
                "SESSION",
                "3",
                "1",
                "WRITE",
                "INSERT",
                "TABLE",
                "public.t",
                r#"insert into t values ('a,b', "q")"#,
                "<not logged>",
                "1"
            ]
        );
        // Empty fields, a quoted last field, an unterminated quote (the rest is the field).
        let f =
            audit_fields(r#"AUDIT: SESSION,1,1,DDL,CREATE TABLE,,,"create table ""x"" (i int)""#)
                .unwrap();
        assert_eq!(f[5], "");
        assert_eq!(f[7], r#"create table "x" (i int)"#);
        assert_eq!(f.len(), 8);
        let f = audit_fields(r#"AUDIT: SESSION,1,1,READ,SELECT,,,"select 'cut"#).unwrap();
        assert_eq!(f[7], "select 'cut");
        assert!(audit_fields("connection authorized").is_none());
    }

    #[test]
    fn timestamps_in_other_zones() {
        assert_eq!(
            timestamp("2025-05-01 12:00:00.500 +02"),
            "2025-05-01T10:00:00.500Z"
        );
        assert_eq!(
            timestamp("2025-05-01 10:00:00 GMT"),
            "2025-05-01T10:00:00.000Z"
        );
    }
}
