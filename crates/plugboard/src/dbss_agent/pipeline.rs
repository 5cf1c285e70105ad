//! Batches in flight, acknowledged in the order they were cut: a source keeps up to
//! `in_flight` batches on their way to plugboard at once (each in a task of its own, which
//! compresses, signs and sends it and retries it until plugboard answers), while it goes on
//! reading. Acknowledgements are taken from the head only: a batch answered before an older
//! one waits for it, so the checkpoint (the resume offset and the per-session marks) never
//! moves past a statement plugboard has not acknowledged. Also the one serialisation of a
//! batch: events (or a statement's lines) are written to the request body as they are cut,
//! never cloned.

use plugboard_api::dbss::capture::{lines, Captured, StmtKey};
use std::collections::VecDeque;
use std::future::Future;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Where an event came from, kept until its batch is acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// Byte offset of its first line in the current file.
    pub offset: u64,
    pub session: String,
    pub stmt: Option<StmtKey>,
}

impl Origin {
    fn of(c: &Captured) -> Self {
        Self {
            offset: c.offset,
            session: c.session.clone(),
            stmt: c.stmt,
        }
    }
}

/// How a batch's journey ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// plugboard stored it; `Some(wait)` when it asked the agent to slow down.
    Acknowledged(Option<Duration>),
    /// plugboard refused the batch itself (a 4xx other than auth): logged and skipped.
    Skipped,
    /// The agent is stopping: the batch may or may not have been stored.
    Stopped,
}

/// A batch ready to send: the body (written once), its media type, and where its events came
/// from.
#[derive(Debug)]
pub struct Cut {
    pub batch_id: String,
    pub body: Vec<u8>,
    pub content_type: &'static str,
    pub origins: Vec<Origin>,
}

/// Cut the next batch from the front of `ready`: at most `max_events` events and, past the
/// first, at most `max_bytes` of body. Each event is serialised once, into the body: as JSON
/// events, or as records of lines when the source ships lines ([`Captured::lines`]).
pub fn cut(db_id: &str, ready: &mut Vec<Captured>, max_events: usize, max_bytes: usize) -> Cut {
    let first_seq = ready.first().map(|c| c.ev.seq).unwrap_or(0);
    let max_events = max_events.max(1);
    let mut body = Vec::with_capacity(max_bytes.min(1 << 20) + 256);
    let (take, batch_id, content_type) = if ready.first().is_some_and(|c| c.lines.is_some()) {
        // The header names the batch, and so the count: the records are measured first.
        let (mut take, mut size) = (0, 0);
        for c in ready.iter().take(max_events) {
            let Some(text) = &c.lines else { break };
            let len = lines::record_len(text);
            if take > 0 && size + len > max_bytes {
                break;
            }
            size += len;
            take += 1;
        }
        let batch_id = format!("{db_id}-{first_seq}-{take}");
        lines::write_header(&mut body, &batch_id, db_id);
        for c in &ready[..take] {
            if let Some(text) = &c.lines {
                lines::write_record(&mut body, c.ev.seq, text);
            }
        }
        (take, batch_id, lines::CONTENT_TYPE)
    } else {
        body.extend_from_slice(b"{\"events\":[");
        let mut take = 0;
        for c in ready.iter().take(max_events) {
            if c.lines.is_some() {
                break;
            }
            let mark = body.len();
            if take > 0 {
                body.push(b',');
            }
            super::event_json::write_event(&mut body, &c.ev);
            if take > 0 && body.len() > max_bytes {
                body.truncate(mark);
                break;
            }
            take += 1;
        }
        let batch_id = format!("{db_id}-{first_seq}-{take}");
        body.extend_from_slice(b"],\"batch_id\":");
        let _ = serde_json::to_writer(&mut body, &batch_id);
        body.extend_from_slice(b",\"db_id\":");
        let _ = serde_json::to_writer(&mut body, db_id);
        body.push(b'}');
        (take, batch_id, "application/json;charset=UTF-8")
    };
    let origins = ready.drain(..take).map(|c| Origin::of(&c)).collect();
    Cut {
        batch_id,
        body,
        content_type,
        origins,
    }
}

struct InFlight {
    origins: Vec<Origin>,
    task: JoinHandle<Outcome>,
}

/// The batches of one source on their way, oldest first.
pub struct Pipeline {
    in_flight: VecDeque<InFlight>,
    max: usize,
}

impl Pipeline {
    /// At most `max` batches in flight (at least one).
    pub fn new(max: usize) -> Self {
        Self {
            in_flight: VecDeque::new(),
            max: max.max(1),
        }
    }

    /// Whether another batch may be sent now.
    pub fn has_room(&self) -> bool {
        self.in_flight.len() < self.max
    }

    pub fn is_empty(&self) -> bool {
        self.in_flight.is_empty()
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.in_flight.len()
    }

    /// Send a batch: `journey` runs in a task of its own until plugboard answers it.
    pub fn send<F>(&mut self, origins: Vec<Origin>, journey: F)
    where
        F: Future<Output = Outcome> + Send + 'static,
    {
        self.in_flight.push_back(InFlight {
            origins,
            task: tokio::spawn(journey),
        });
    }

    /// The offset of the oldest line of an event not yet acknowledged.
    pub fn oldest_offset(&self) -> Option<u64> {
        self.in_flight
            .iter()
            .flat_map(|b| b.origins.iter().map(|o| o.offset))
            .min()
    }

    /// Whether the oldest batch has its answer (taking it will not wait).
    pub fn head_done(&self) -> bool {
        self.in_flight.front().is_some_and(|b| b.task.is_finished())
    }

    /// Wait for the oldest batch's answer — never a younger one's — and take it with the
    /// origins of its events. `None` when nothing is in flight.
    pub async fn next(&mut self) -> Option<(Outcome, Vec<Origin>)> {
        let head = self.in_flight.front_mut()?;
        let outcome = (&mut head.task).await.unwrap_or(Outcome::Stopped);
        let done = self.in_flight.pop_front()?;
        Some((outcome, done.origins))
    }

    /// Stop every batch still on its way (the agent is stopping).
    pub fn abort(&mut self) {
        for b in self.in_flight.drain(..) {
            b.task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugboard_api::dbss::capture::Marks;
    use plugboard_api::dbss::dto_audit::{IngestEvent, IngestRequest};
    use tokio::sync::oneshot;

    fn captured(seq: i64, offset: u64, session: &str, stmt: i64) -> Captured {
        Captured {
            ev: Box::new(IngestEvent {
                seq,
                ts: "2025-05-01T10:00:00.000Z".into(),
                kind: "QUERY".into(),
                session: session.into(),
                sql: format!("select {seq} \"quoted\" \u{fffd}"),
                ..Default::default()
            }),
            lines: None,
            offset,
            session: session.into(),
            stmt: Some((stmt, 1)),
        }
    }

    #[test]
    fn a_cut_is_the_request_plugboard_reads_and_stops_at_its_limits() {
        let mut ready: Vec<Captured> = (0..5)
            .map(|i| captured(100 + i, i as u64 * 10, "s", i))
            .collect();
        let c = cut("db1", &mut ready, 3, 1 << 20);
        let req: IngestRequest = serde_json::from_slice(&c.body).unwrap();
        assert_eq!(req.batch_id, "db1-100-3");
        assert_eq!(c.batch_id, req.batch_id);
        assert_eq!(req.db_id, "db1");
        assert_eq!(
            req.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [100, 101, 102]
        );
        assert_eq!(req.events[1].sql, "select 101 \"quoted\" \u{fffd}");
        assert_eq!(
            c.origins.iter().map(|o| o.offset).collect::<Vec<_>>(),
            [0, 10, 20]
        );
        assert_eq!(ready.len(), 2);
        // By bytes: the first event always goes, the next only while the body fits.
        let one = serde_json::to_vec(&ready[0].ev).unwrap().len();
        let c = cut("db1", &mut ready, 1000, one + 5);
        assert_eq!(c.origins.len(), 1);
        let req: IngestRequest = serde_json::from_slice(&c.body).unwrap();
        assert_eq!(req.events[0].seq, 103);
        assert_eq!(ready.len(), 1);
    }

    /// A login line of session `s`, as a record of a pgaudit source shipped as lines.
    fn login_record(seq: i64, offset: u64) -> Captured {
        let line = format!(
            r#"{{"timestamp":"2025-05-01 10:00:00.123 UTC","user":"app","dbname":"orders","remote_host":"10.0.0.7","remote_port":5,"session_id":"s{seq}","error_severity":"LOG","message":"connection authorized: user=app database=orders"}}"#
        );
        Captured {
            ev: Box::new(IngestEvent {
                seq,
                ..Default::default()
            }),
            lines: Some(format!("{line}\n")),
            offset,
            session: format!("s{seq}"),
            stmt: None,
        }
    }

    #[test]
    fn a_cut_of_lines_is_the_batch_plugboard_reads_and_stops_at_its_limits() {
        let mut ready: Vec<Captured> = (0..5)
            .map(|i| login_record(100 + i, i as u64 * 10))
            .collect();
        let c = cut("db1", &mut ready, 3, 1 << 20);
        assert_eq!(c.content_type, lines::CONTENT_TYPE);
        let req = lines::read_batch(&c.body).unwrap();
        assert_eq!(
            (req.batch_id.as_str(), c.batch_id.as_str()),
            ("db1-100-3", "db1-100-3")
        );
        assert_eq!(req.db_id, "db1");
        assert_eq!(
            req.events
                .iter()
                .map(|e| (e.seq, e.kind.as_str(), e.session.as_str()))
                .collect::<Vec<_>>(),
            [
                (100, "LOGIN", "s100"),
                (101, "LOGIN", "s101"),
                (102, "LOGIN", "s102")
            ]
        );
        assert_eq!(ready.len(), 2);
        // By bytes: the first record always goes, the next only while the records fit.
        let one = lines::record_len(ready[0].lines.as_deref().unwrap());
        let c = cut("db1", &mut ready, 1000, one + 5);
        assert_eq!(c.origins.len(), 1);
        assert_eq!(c.batch_id, "db1-103-1");
        assert_eq!(lines::read_batch(&c.body).unwrap().events[0].seq, 103);
        assert_eq!(ready.len(), 1);
    }

    /// Three batches in flight; the younger two are answered first. Until the oldest is
    /// answered nothing is taken, the resume offset stays at the oldest batch's first line and
    /// no mark moves; then all three come out in the order they were sent.
    #[tokio::test]
    async fn batches_answered_out_of_order_never_move_the_checkpoint_past_an_unanswered_one() {
        let mut p = Pipeline::new(3);
        let mut ready: Vec<Captured> = (0..6)
            .map(|i| captured(1000 + i, 100 * i as u64, "s1", i))
            .collect();
        let mut answers = Vec::new();
        for _ in 0..3 {
            let c = cut("db", &mut ready, 2, 1 << 20);
            let (tx, rx) = oneshot::channel::<()>();
            answers.push(tx);
            p.send(c.origins, async move {
                let _ = rx.await;
                Outcome::Acknowledged(None)
            });
        }
        assert!(!p.has_room());
        let mut answers = answers.into_iter();
        let (first, second, third) = (
            answers.next().unwrap(),
            answers.next().unwrap(),
            answers.next().unwrap(),
        );
        third.send(()).unwrap();
        second.send(()).unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!p.head_done(), "the oldest batch has no answer yet");
        let mut marks = Marks::default();
        // What the agent does: take answers only while the head has one.
        while p.head_done() {
            let (_, origins) = p.next().await.unwrap();
            for o in &origins {
                marks.ack_stmt(&o.session, o.stmt);
            }
        }
        assert_eq!(p.len(), 3);
        assert_eq!(
            p.oldest_offset(),
            Some(0),
            "resume at the oldest unanswered line"
        );
        assert!(
            !marks.covers("s1", (0, 1)),
            "no statement is marked acknowledged"
        );
        first.send(()).unwrap();
        let mut order = Vec::new();
        while let Some((outcome, origins)) = p.next().await {
            assert_eq!(outcome, Outcome::Acknowledged(None));
            order.extend(origins.iter().map(|o| o.offset));
            for o in &origins {
                marks.ack_stmt(&o.session, o.stmt);
            }
        }
        assert_eq!(order, [0, 100, 200, 300, 400, 500]);
        assert!(marks.covers("s1", (5, 1)));
        assert_eq!(p.oldest_offset(), None);
    }
}
