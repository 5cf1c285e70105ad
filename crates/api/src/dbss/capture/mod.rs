//! The audit-log parsers the agent and the server share (docs/dbss-audit.md → The agent):
//! PostgreSQL's pgaudit [`jsonlog`](pgaudit) and MariaDB's [`server_audit`](mariadb) lines made
//! into events, and the [`lines`] a pgaudit source ships instead (each statement's own log
//! lines, grouped by the agent, parsed by the server). Here too what the parsers have in
//! common: a captured event with where its first line lies (its sequence number is derived
//! from that, so re-reading a log from a checkpoint numbers every event as before),
//! per-session pending statements completed by later lines, and the acknowledged high-water
//! marks that keep re-read lines of shipped statements from shipping again.

mod jsonlog;
pub mod lines;
pub mod mariadb;
pub mod pgaudit;

use crate::dbss::dto_audit::{IngestEvent, IngestObject};
use std::collections::HashMap;

/// Maps keyed by session id, hashed with foldhash (seeded per process; ids the database
/// writes): looked up several times per statement.
pub type SessionMap<V> = HashMap<String, V, foldhash::fast::RandomState>;
use std::time::{Duration, Instant};

/// Longest statement text shipped (the server keeps no more).
pub const MAX_SQL_BYTES: usize = 64 * 1024;
/// A pending statement is shipped without its last lines after this long.
pub const PENDING_IDLE: Duration = Duration::from_millis(800);

/// A statement id within a session (pgaudit statement + substatement, MariaDB query id).
pub type StmtKey = (i64, i64);

/// One captured event and where it came from.
#[derive(Debug, Clone)]
pub struct Captured {
    /// The event (boxed: a `Captured` moves several times on its way, the event's fields once);
    /// for a source shipped as lines only its `seq` is set.
    pub ev: Box<IngestEvent>,
    /// A source shipped as lines ([`lines`]): the statement's own log lines, each ended by a
    /// newline, which the server parses into `ev`.
    pub lines: Option<String>,
    /// Byte offset of its first line in the current file.
    pub offset: u64,
    pub session: String,
    pub stmt: Option<StmtKey>,
}

/// A source format's parser.
pub trait Parser: Send {
    /// One complete line (no newline) at byte `offset`; `seq` is the event number a statement
    /// starting on this line gets. Completed events go to `out`.
    fn feed(&mut self, line: &str, offset: u64, seq: i64, now: Instant, out: &mut Vec<Captured>);
    /// Complete the pending statements idle for [`PENDING_IDLE`] (all of them if `all`).
    fn tick(&mut self, now: Instant, all: bool, out: &mut Vec<Captured>);
    /// The offset of the oldest statement still pending.
    fn oldest_pending(&self) -> Option<u64>;
    /// The acknowledged marks (to checkpoint and restore).
    fn marks(&mut self) -> &mut Marks;
}

/// Per session, the highest statement acknowledged by plugboard.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Marks(pub SessionMap<StmtKey>);

impl Marks {
    /// Whether a line of statement `key` of `session` belongs to an acknowledged statement.
    pub fn covers(&self, session: &str, key: StmtKey) -> bool {
        self.0.get(session).is_some_and(|m| key <= *m)
    }

    /// Record an acknowledged event.
    pub fn ack(&mut self, c: &Captured) {
        self.ack_stmt(&c.session, c.stmt);
    }

    /// Record an acknowledged statement of `session`.
    pub fn ack_stmt(&mut self, session: &str, stmt: Option<StmtKey>) {
        if let Some(k) = stmt {
            match self.0.get_mut(session) {
                Some(m) if k > *m => *m = k,
                Some(_) => {}
                None => {
                    self.0.insert(session.to_string(), k);
                }
            }
        }
    }

    /// A session began or ended: its statement numbering starts over.
    pub fn reset(&mut self, session: &str) {
        self.0.remove(session);
    }
}

/// A statement waiting for its last lines.
#[derive(Debug)]
pub struct Pending {
    pub c: Captured,
    pub last_line: Instant,
}

/// Pending statements by session (a hash map: a B-tree shifted its large values within a node
/// on every insert and removal, one of each per statement).
#[derive(Debug, Default)]
pub struct PendingSet {
    pub by_session: SessionMap<Pending>,
}

impl PendingSet {
    pub fn take(&mut self, session: &str) -> Option<Captured> {
        self.by_session.remove(session).map(|p| p.c)
    }

    pub fn tick(&mut self, now: Instant, all: bool, out: &mut Vec<Captured>) {
        let mut due: Vec<(u64, String)> = self
            .by_session
            .iter()
            .filter(|(_, p)| all || now.duration_since(p.last_line) >= PENDING_IDLE)
            .map(|(s, p)| (p.c.offset, s.clone()))
            .collect();
        // In the order their statements began in the log.
        due.sort_unstable();
        for (_, s) in due {
            if let Some(p) = self.by_session.remove(&s) {
                out.push(p.c);
            }
        }
    }

    pub fn oldest(&self) -> Option<u64> {
        self.by_session.values().map(|p| p.c.offset).min()
    }
}

/// Statement text as shipped: NUL characters (which no store keeps) shown as U+FFFD, cut to
/// [`MAX_SQL_BYTES`] at a character boundary.
pub fn clean_sql(s: &str) -> String {
    let mut t = if s.contains('\0') {
        s.replace('\0', "\u{FFFD}")
    } else {
        s.to_string()
    };
    if t.len() > MAX_SQL_BYTES {
        let mut end = MAX_SQL_BYTES;
        while !t.is_char_boundary(end) {
            end -= 1;
        }
        t.truncate(end);
    }
    t
}

/// Text fields other than the statement: NULs shown as U+FFFD, at most 255 characters.
pub fn clean(s: &str) -> String {
    // Most fields are short and NUL-free: copied as they are.
    if s.len() <= 255 && !s.as_bytes().contains(&0) {
        return s.to_string();
    }
    s.replace('\0', "\u{FFFD}").chars().take(255).collect()
}

/// Add an object unless it is there already.
pub fn add_object(ev: &mut IngestEvent, o: IngestObject) {
    let empty = o.name.is_empty() && o.schema.is_empty();
    if !empty && !ev.objects.contains(&o) {
        ev.objects.push(o);
    }
}

/// `schema.name` split at the first dot.
pub fn split_object(object_type: &str, qualified: &str) -> IngestObject {
    let (schema, name) = match qualified.split_once('.') {
        Some((s, n)) => (s, n),
        None => ("", qualified),
    };
    IngestObject {
        object_type: clean(object_type),
        schema: clean(schema),
        name: clean(name),
    }
}
