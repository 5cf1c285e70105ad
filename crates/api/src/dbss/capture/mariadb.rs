//! MariaDB `server_audit` file lines (docs/dbss-audit.md → MariaDB):
//! `timestamp,serverhost,username,host,connectionid,queryid,operation,database,object,retcode`.
//! The TABLE lines (READ, WRITE, CREATE, ALTER, DROP, RENAME) of a query come before its QUERY
//! line and become its objects; CONNECT / FAILED_CONNECT / DISCONNECT are the login, the failed
//! login and the logout. Times are the server's local time.

use super::{add_object, clean, clean_sql, Captured, Marks, Parser, Pending, PendingSet};
use crate::dbss::dto_audit::{IngestEvent, IngestObject};
use chrono::{Local, NaiveDateTime, TimeZone, Utc};
use std::time::Instant;

/// The server_audit parser.
#[derive(Default)]
pub struct ServerAudit {
    pending: PendingSet,
    marks: Marks,
}

struct Fields<'a> {
    ts: &'a str,
    user: &'a str,
    host: &'a str,
    conn: &'a str,
    query_id: i64,
    op: &'a str,
    database: &'a str,
    object: &'a str,
    retcode: &'a str,
}

fn split(line: &str) -> Option<Fields<'_>> {
    let mut parts = line.splitn(9, ',');
    let ts = parts.next()?;
    let _server = parts.next()?;
    let user = parts.next()?;
    let host = parts.next()?;
    let conn = parts.next()?;
    let query_id = parts.next()?.trim().parse().unwrap_or(0);
    let op = parts.next()?;
    let database = parts.next()?;
    let rest = parts.next().unwrap_or("");
    let (object, retcode) = rest.rsplit_once(',').unwrap_or((rest, "0"));
    Some(Fields {
        ts,
        user,
        host,
        conn,
        query_id,
        op,
        database,
        object,
        retcode,
    })
}

/// A server_audit time (`20250501 10:00:00`, local) in RFC 3339 UTC.
pub fn timestamp(ts: &str) -> String {
    let t = NaiveDateTime::parse_from_str(ts.trim(), "%Y%m%d %H:%M:%S")
        .ok()
        .and_then(|n| Local.from_local_datetime(&n).earliest())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(Utc::now);
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The statement of a QUERY line: the single-quoted object, unescaped.
pub fn unquote(object: &str) -> String {
    let inner = object
        .strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .unwrap_or(object);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('0') => out.push('\u{FFFD}'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

fn base_event(f: &Fields<'_>, seq: i64, kind: &str) -> IngestEvent {
    let ip = match f.host.trim() {
        "" | "localhost" => "127.0.0.1".to_string(),
        h => clean(h),
    };
    IngestEvent {
        seq,
        ts: timestamp(f.ts),
        kind: kind.into(),
        session: clean(f.conn),
        statement_id: f.query_id.to_string(),
        user: clean(f.user),
        database: clean(f.database),
        client_ip: ip,
        result: "SUCCESS".into(),
        ..Default::default()
    }
}

impl Parser for ServerAudit {
    fn feed(&mut self, line: &str, offset: u64, seq: i64, now: Instant, out: &mut Vec<Captured>) {
        let Some(f) = split(line) else {
            return;
        };
        let session = f.conn.to_string();
        let ok = f.retcode.trim() == "0";
        match f.op {
            "CONNECT" | "FAILED_CONNECT" => {
                self.marks.reset(&session);
                let failed = f.op == "FAILED_CONNECT" || !ok;
                let mut ev = base_event(&f, seq, if failed { "LOGIN_FAILED" } else { "LOGIN" });
                ev.statement_id.clear();
                if failed {
                    ev.result = "FAILED".into();
                    ev.code = clean(f.retcode.trim());
                }
                out.push(Captured {
                    ev: Box::new(ev),
                    offset,
                    lines: None,
                    session,
                    stmt: None,
                });
            }
            "DISCONNECT" => {
                if let Some(done) = self.pending.take(&session) {
                    out.push(done);
                }
                self.marks.reset(&session);
                let mut ev = base_event(&f, seq, "LOGOUT");
                ev.statement_id.clear();
                out.push(Captured {
                    ev: Box::new(ev),
                    offset,
                    lines: None,
                    session,
                    stmt: None,
                });
            }
            "READ" | "WRITE" | "CREATE" | "ALTER" | "DROP" | "RENAME" => {
                let key = (f.query_id, 0);
                if self.marks.covers(&session, key) {
                    return;
                }
                let object = IngestObject {
                    object_type: "TABLE".into(),
                    schema: clean(f.database),
                    name: clean(f.object.trim_matches('\'')),
                };
                if let Some(p) = self.pending.by_session.get_mut(&session) {
                    if p.c.stmt == Some(key) {
                        add_object(&mut p.c.ev, object);
                        p.last_line = now;
                        return;
                    }
                }
                if let Some(done) = self.pending.take(&session) {
                    out.push(done);
                }
                let mut ev = base_event(&f, seq, "QUERY");
                add_object(&mut ev, object);
                self.pending.by_session.insert(
                    session.clone(),
                    Pending {
                        c: Captured {
                            ev: Box::new(ev),
                            offset,
                            lines: None,
                            session,
                            stmt: Some(key),
                        },
                        last_line: now,
                    },
                );
            }
            op if op.starts_with("QUERY") => {
                let key = (f.query_id, 0);
                if self.marks.covers(&session, key) {
                    return;
                }
                let mut c = match self.pending.take(&session) {
                    Some(p) if p.stmt == Some(key) => p,
                    other => {
                        if let Some(done) = other {
                            // TABLE lines without their QUERY line: dropped (no statement).
                            drop(done);
                        }
                        Captured {
                            ev: Box::new(base_event(&f, seq, "QUERY")),
                            offset,
                            lines: None,
                            session,
                            stmt: Some(key),
                        }
                    }
                };
                c.ev.sql = clean_sql(&unquote(f.object));
                c.ev.database = clean(f.database);
                if ok {
                    c.ev.code = "0".into();
                } else {
                    c.ev.result = "FAILED".into();
                    c.ev.code = clean(f.retcode.trim());
                }
                out.push(c);
            }
            _ => {}
        }
    }

    fn tick(&mut self, now: Instant, all: bool, _out: &mut Vec<Captured>) {
        // TABLE lines whose QUERY line never came carry no statement: forgotten.
        let mut idle = Vec::new();
        self.pending.tick(now, all, &mut idle);
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

    #[test]
    fn table_lines_merge_into_their_query() {
        let mut p = ServerAudit::default();
        let mut out = vec![];
        let now = Instant::now();
        p.feed(
            "20250501 10:00:00,db1,app,localhost,42,0,CONNECT,orders,,0",
            0,
            1,
            now,
            &mut out,
        );
        p.feed(
            "20250501 10:00:01,db1,app,localhost,42,7,READ,orders,account,",
            40,
            2,
            now,
            &mut out,
        );
        p.feed(r"20250501 10:00:01,db1,app,localhost,42,7,QUERY,orders,'select * from account where n = \'a,b\'',0", 80, 3, now, &mut out);
        p.feed(
            "20250501 10:00:02,db1,app,10.0.0.9,43,0,FAILED_CONNECT,,,1045",
            160,
            4,
            now,
            &mut out,
        );
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].ev.kind, "LOGIN");
        let q = &out[1].ev;
        assert_eq!(
            (q.seq, q.sql.as_str()),
            (2, "select * from account where n = 'a,b'")
        );
        assert_eq!(q.objects.len(), 1);
        assert_eq!(
            (q.objects[0].schema.as_str(), q.objects[0].name.as_str()),
            ("orders", "account")
        );
        assert_eq!(
            (out[2].ev.kind.as_str(), out[2].ev.code.as_str()),
            ("LOGIN_FAILED", "1045")
        );
        p.marks().ack(&out[1]);
        let mut again = vec![];
        p.feed(
            r"20250501 10:00:01,db1,app,localhost,42,7,QUERY,orders,'select 1',0",
            80,
            3,
            now,
            &mut again,
        );
        assert!(again.is_empty());
    }
}
