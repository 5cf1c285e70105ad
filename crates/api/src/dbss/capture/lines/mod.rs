//! A pgaudit source shipped as lines (docs/dbss-audit.md → "Batches of lines"): the agent only
//! groups each statement's own jsonlog lines ([`PgAuditLines`], which reads a few keys of a
//! line instead of the whole line and builds no event), and the server makes the events of a
//! batch ([`read_batch`]) with the same [`PgAudit`] parser, one statement's lines at a time.
//! This keeps most of the work off the database host (docs/benchmarks.md → "Lines instead of
//! events"). The grouping follows [`PgAudit`]'s rules line for line, so a record's lines make
//! the event the stateful parser would have made of the whole log (pinned by the tests below).
//!
//! The body (`Content-Type: application/x-plugboard-audit-lines`): a JSON header line
//! `{"batch_id":…,"db_id":…,"kind":"pgaudit-jsonlog"}`, then per event a record line
//! `@<seq> <n>` followed by its `n` log lines, every line ended by a newline.

use super::pgaudit::{audit_fields, PgAudit};
use super::{jsonlog, Captured, Marks, Parser, Pending, PendingSet, StmtKey};
use crate::dbss::dto_audit::{IngestEvent, IngestRequest};
use memchr::memmem::Finder;
use std::sync::LazyLock;
use std::time::Instant;

/// The body's media type.
pub const CONTENT_TYPE: &str = "application/x-plugboard-audit-lines";
/// The source kind shipped as lines.
pub const KIND: &str = "pgaudit-jsonlog";
/// The most lines one record may hold (a statement's relation lines, its duration and error).
pub const MAX_RECORD_LINES: usize = 10_000;
/// A statement whose lines are longer than this is made into its event on the host (its text
/// is cut to 64 KiB there), so that a batch stays within the server's body limit compressed
/// or not: a 1 MiB statement of random text would not compress.
pub const MAX_RECORD_BYTES: usize = 256 * 1024;

/// What a line means for the grouping (the cases of [`PgAudit`]'s `feed`).
#[derive(Debug, PartialEq)]
enum Class<'a> {
    /// An `AUDIT: SESSION` line of statement `key`.
    Audit { session: &'a str, key: StmtKey },
    /// A `duration:` line.
    Duration { session: &'a str },
    /// `connection authorized:`.
    Login { session: &'a str },
    /// `disconnection:`.
    Logout { session: &'a str },
    /// A FATAL `28P01` / `28000`.
    LoginFailed { session: &'a str },
    /// An `ERROR`, and whether the line has a `statement`.
    Error { session: &'a str, statement: bool },
    /// Anything else: no event.
    Other,
}

static SEVERITY: LazyLock<Finder<'static>> =
    LazyLock::new(|| Finder::new(b"\"error_severity\":\""));
static SESSION: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"session_id\":\""));
static MESSAGE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"message\":\""));
static STATE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"state_code\":\""));
static STATEMENT: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"statement\":\""));

/// The raw text of string key `key` up to its closing quote or first escape, and whether that
/// is the whole value (no escape). `None` when the line has no such string key. In a JSON
/// object `"key":"` can only be a key: a quote inside a string is escaped.
fn raw_string<'a>(line: &'a str, key: &Finder) -> Option<(&'a str, bool)> {
    let start = key.find(line.as_bytes())? + key.needle().len();
    let rest = &line.as_bytes()[start..];
    match memchr::memchr2(b'"', b'\\', rest) {
        // Both are ASCII: the cut is at a character boundary.
        Some(i) => Some((&line[start..start + i], rest[i] == b'"')),
        None => Some((&line[start..], false)),
    }
}

/// A whole escape-free string value ("" when the key is absent); `None` when it has an escape.
fn plain<'a>(line: &'a str, key: &Finder) -> Option<&'a str> {
    match raw_string(line, key) {
        None => Some(""),
        Some((v, true)) => Some(v),
        Some((_, false)) => None,
    }
}

/// A run of ASCII digits ended by a comma, as a number, and what follows the comma.
fn number(s: &str) -> Option<(i64, &str)> {
    let end = s.find(',')?;
    let digits = &s[..end];
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((digits.parse().ok()?, &s[end + 1..]))
}

/// The class of a line read from its raw text, when that is certain without parsing the line
/// (PostgreSQL's own lines: no escape in the values and message heads it looks at); `None`
/// sends the line to [`slow`].
fn fast(line: &str) -> Option<Class<'_>> {
    // PostgreSQL's own shape: `timestamp` first, no whitespace between tokens (where a key
    // is not found below, it is then absent, not written another way).
    if !(line.starts_with("{\"timestamp\":\"") && line.ends_with('}')) {
        return None;
    }
    let severity = raw_string(line, &SEVERITY).and_then(|(v, whole)| whole.then_some(v))?;
    let session = raw_string(line, &SESSION).and_then(|(v, whole)| whole.then_some(v))?;
    let (head, whole) = raw_string(line, &MESSAGE)?;
    // The message's first characters are the raw ones as far as `head` goes; a prefix test
    // longer than `head` of a message with an escape cannot be decided here.
    let starts = |p: &str| -> Option<bool> {
        if head.starts_with(p) {
            Some(true)
        } else if whole || head.len() >= p.len() {
            Some(false)
        } else {
            None
        }
    };
    Some(match severity {
        "LOG" => {
            if starts("AUDIT: ")? {
                let fields = &head["AUDIT: ".len()..];
                match fields.strip_prefix("SESSION,") {
                    Some(rest) => {
                        let (stmt, rest) = number(rest)?;
                        let (sub, _) = number(rest)?;
                        Class::Audit {
                            session,
                            key: (stmt, sub),
                        }
                    }
                    // Another audit type (OBJECT) as its unquoted first field: no event.
                    None if fields.find(',').is_some() => Class::Other,
                    None => return None,
                }
            } else if starts("duration: ")? {
                Class::Duration { session }
            } else if starts("connection authorized: ")? {
                Class::Login { session }
            } else if starts("disconnection: ")? {
                Class::Logout { session }
            } else {
                Class::Other
            }
        }
        "FATAL" => match plain(line, &STATE)? {
            "28P01" | "28000" => Class::LoginFailed { session },
            _ => Class::Other,
        },
        "ERROR" => Class::Error {
            session,
            statement: raw_string(line, &STATEMENT)
                .is_some_and(|(v, whole)| !(whole && v.is_empty())),
        },
        _ => Class::Other,
    })
}

/// The class of a line read whole (what [`PgAudit`] reads).
fn slow<'a>(l: &'a jsonlog::Line<'a>) -> Class<'a> {
    let msg = &*l.message;
    let session = &*l.session_id;
    match &*l.error_severity {
        "LOG" if msg.starts_with("AUDIT: ") => match audit_fields(msg) {
            Some(f) if f.first().is_some_and(|s| s == "SESSION") => {
                let n = |i: usize| f.get(i).and_then(|v| v.parse().ok()).unwrap_or(0);
                Class::Audit {
                    session,
                    key: (n(1), n(2)),
                }
            }
            _ => Class::Other,
        },
        "LOG" if msg.starts_with("duration: ") => Class::Duration { session },
        "LOG" if msg.starts_with("connection authorized: ") => Class::Login { session },
        "LOG" if msg.starts_with("disconnection: ") => Class::Logout { session },
        "FATAL" if l.state_code == "28P01" || l.state_code == "28000" => {
            Class::LoginFailed { session }
        }
        "ERROR" => Class::Error {
            session,
            statement: !l.statement.is_empty(),
        },
        _ => Class::Other,
    }
}

/// The agent's side of a pgaudit source shipped as lines: each statement's lines grouped as
/// [`PgAudit`] would group them, into [`Captured::lines`].
#[derive(Default)]
pub struct PgAuditLines {
    pending: PendingSet,
    marks: Marks,
}

fn record(line: &str, offset: u64, seq: i64, session: &str, stmt: Option<StmtKey>) -> Captured {
    // Room for the `duration:` line that usually follows.
    let mut text = String::with_capacity(line.len() * 2 + 2);
    text.push_str(line);
    text.push('\n');
    Captured {
        ev: Box::new(IngestEvent {
            seq,
            ..Default::default()
        }),
        lines: Some(text),
        offset,
        session: session.to_string(),
        stmt,
    }
}

fn append(c: &mut Captured, line: &str) {
    if let Some(t) = c.lines.as_mut() {
        t.push_str(line);
        t.push('\n');
    }
}

/// The records completed from `from` on, each longer than [`MAX_RECORD_BYTES`] made into its
/// event here (dropped when its lines make none, as [`PgAudit`] would have).
fn settle(out: &mut Vec<Captured>, from: usize) {
    if out[from..]
        .iter()
        .all(|c| c.lines.as_ref().is_none_or(|t| t.len() <= MAX_RECORD_BYTES))
    {
        return;
    }
    let tail: Vec<Captured> = out.drain(from..).collect();
    for mut c in tail {
        match c.lines.take() {
            Some(text) if text.len() > MAX_RECORD_BYTES => {
                let mut p = PgAudit::default();
                let mut made = Vec::new();
                let now = Instant::now();
                for line in text.split_terminator('\n') {
                    p.feed(line, c.offset, c.ev.seq, now, &mut made);
                }
                p.tick(now, true, &mut made);
                if let Some(first) = made.into_iter().next() {
                    c.ev = first.ev;
                    out.push(c);
                }
            }
            lines => {
                c.lines = lines;
                out.push(c);
            }
        }
    }
}

impl PgAuditLines {
    fn apply(
        &mut self,
        class: Class<'_>,
        line: &str,
        offset: u64,
        seq: i64,
        now: Instant,
        out: &mut Vec<Captured>,
    ) {
        match class {
            Class::Audit { session, key } => {
                if self.marks.covers(session, key) {
                    return;
                }
                if let Some(p) = self.pending.by_session.get_mut(session) {
                    if p.c.stmt == Some(key) {
                        append(&mut p.c, line);
                        p.last_line = now;
                        return;
                    }
                }
                if let Some(done) = self.pending.take(session) {
                    out.push(done);
                }
                self.pending.by_session.insert(
                    session.to_string(),
                    Pending {
                        c: record(line, offset, seq, session, Some(key)),
                        last_line: now,
                    },
                );
            }
            Class::Duration { session } => {
                if let Some(mut c) = self.pending.take(session) {
                    append(&mut c, line);
                    out.push(c);
                }
            }
            Class::Login { session } => {
                self.marks.reset(session);
                out.push(record(line, offset, seq, session, None));
            }
            Class::Logout { session } => {
                if let Some(done) = self.pending.take(session) {
                    out.push(done);
                }
                self.marks.reset(session);
                out.push(record(line, offset, seq, session, None));
            }
            Class::LoginFailed { session } => out.push(record(line, offset, seq, session, None)),
            Class::Error { session, statement } => {
                if let Some(mut c) = self.pending.take(session) {
                    append(&mut c, line);
                    out.push(c);
                } else if statement {
                    out.push(record(line, offset, seq, session, None));
                }
            }
            Class::Other => {}
        }
    }
}

impl Parser for PgAuditLines {
    fn feed(&mut self, line: &str, offset: u64, seq: i64, now: Instant, out: &mut Vec<Captured>) {
        let from = out.len();
        if let Some(class) = fast(line) {
            self.apply(class, line, offset, seq, now, out);
        } else if let Some(l) = jsonlog::read(line) {
            self.apply(slow(&l), line, offset, seq, now, out);
        }
        if out.len() > from {
            settle(out, from);
        }
    }

    fn tick(&mut self, now: Instant, all: bool, out: &mut Vec<Captured>) {
        let from = out.len();
        self.pending.tick(now, all, out);
        if out.len() > from {
            settle(out, from);
        }
    }

    fn oldest_pending(&self) -> Option<u64> {
        self.pending.oldest()
    }

    fn marks(&mut self) -> &mut Marks {
        &mut self.marks
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Header<'a> {
    batch_id: std::borrow::Cow<'a, str>,
    db_id: std::borrow::Cow<'a, str>,
    kind: std::borrow::Cow<'a, str>,
}

/// Start a body: its header line.
pub fn write_header(out: &mut Vec<u8>, batch_id: &str, db_id: &str) {
    let h = Header {
        batch_id: batch_id.into(),
        db_id: db_id.into(),
        kind: KIND.into(),
    };
    // A struct of strings always serialises.
    let _ = serde_json::to_writer(&mut *out, &h);
    out.push(b'\n');
}

/// Room for a record line's `@`, seq, space, count and newline (an i64 and a usize in decimal).
const RECORD_LINE_MAX: usize = 1 + 20 + 1 + 20 + 1;

/// At least the bytes [`write_record`] writes for a record (what a batch's size is cut by;
/// counting the lines here too took 3 % of the agent's time).
pub fn record_len(lines: &str) -> usize {
    RECORD_LINE_MAX + lines.len()
}

/// Add one record: `lines` as grouped (each ended by a newline).
pub fn write_record(out: &mut Vec<u8>, seq: i64, lines: &str) {
    let n = memchr::memchr_iter(b'\n', lines.as_bytes()).count();
    let mut num = itoa::Buffer::new();
    out.push(b'@');
    out.extend_from_slice(num.format(seq).as_bytes());
    out.push(b' ');
    out.extend_from_slice(num.format(n).as_bytes());
    out.push(b'\n');
    out.extend_from_slice(lines.as_bytes());
}

/// The server's side: the events of a body of lines, each record parsed on its own by
/// [`PgAudit`] with the record's sequence number. A record whose lines make no event (lines
/// PostgreSQL would not write) adds none; a body that breaks the format is refused whole.
pub fn read_batch(body: &[u8]) -> Result<IngestRequest, String> {
    let text =
        std::str::from_utf8(body).map_err(|e| format!("the batch is not UTF-8 text: {e}"))?;
    let (head, mut rest) = text.split_once('\n').unwrap_or((text, ""));
    let h: Header = serde_json::from_str(head)
        .map_err(|e| format!("the batch's first line is not its JSON header: {e}"))?;
    if h.kind != KIND {
        return Err(format!(
            "kind `{}` is not shipped as lines (only {KIND} is)",
            h.kind
        ));
    }
    let mut parser = PgAudit::default();
    let now = Instant::now();
    let mut events = Vec::new();
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (rec, after) = rest.split_once('\n').unwrap_or((rest, ""));
        let bad = || {
            format!(
                "expected a record line `@<seq> <lines>`, found `{}`",
                rec.chars().take(80).collect::<String>()
            )
        };
        let (seq, n) = rec
            .strip_prefix('@')
            .and_then(|r| r.split_once(' '))
            .ok_or_else(bad)?;
        let seq: i64 = seq.parse().map_err(|_| bad())?;
        let n: usize = n.parse().map_err(|_| bad())?;
        if n == 0 || n > MAX_RECORD_LINES {
            return Err(format!(
                "record {seq} announces {n} lines (1 to {MAX_RECORD_LINES})"
            ));
        }
        rest = after;
        for i in 0..n {
            if rest.is_empty() {
                return Err(format!(
                    "record {seq} announces {n} lines but the batch ends after {i}"
                ));
            }
            let (line, after) = rest.split_once('\n').unwrap_or((rest, ""));
            parser.feed(line, 0, seq, now, &mut out);
            rest = after;
        }
        parser.tick(now, true, &mut out);
        events.extend(out.drain(..).map(|c| *c.ev));
    }
    Ok(IngestRequest {
        batch_id: h.batch_id.into_owned(),
        db_id: h.db_id.into_owned(),
        events,
    })
}

#[cfg(test)]
mod tests;
