//! The batches of lines against the stateful parser: the same events, line for line.

use super::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A jsonlog line of session `s` as PostgreSQL 15 writes it.
fn line(s: &str, sev: &str, msg: &str, extra: &str) -> String {
    format!(
        r#"{{"timestamp":"2025-05-01 10:00:0{}.123 UTC","user":"app","dbname":"orders","pid":7,"remote_host":"10.0.0.7","remote_port":51514,"session_id":"{s}","line_num":3,"ps":"SELECT","error_severity":"{sev}"{extra},"message":{},"application_name":"psql","backend_type":"client backend","query_id":0}}"#,
        s.len() % 10,
        serde_json::to_string(msg).unwrap()
    )
}

/// The lines of one step of session `s` (its statement counter in `n`), picked by `pick`.
fn step(s: &str, n: &mut i64, pick: u32) -> Vec<String> {
    *n += 1;
    let k = *n;
    let audit = |sub: i64, obj: &str, text: &str| {
        line(
            s,
            "LOG",
            &format!("AUDIT: SESSION,{k},{sub},READ,SELECT,TABLE,{obj},{text},<not logged>,1"),
            "",
        )
    };
    match pick % 14 {
        // A session's statements are numbered from 1 again after a login or a logout.
        0 => {
            *n = 0;
            vec![line(
                s,
                "LOG",
                "connection authorized: user=app database=orders",
                "",
            )]
        }
        1 => {
            *n = 0;
            vec![line(
                s,
                "LOG",
                "disconnection: session time: 0:00:01.000 user=app",
                "",
            )]
        }
        2 => vec![
            audit(1, "public.a", "select * from a, b"),
            audit(1, "public.b", "select * from a, b"),
            line(s, "LOG", "duration: 0.250 ms", ""),
        ],
        // CSV quotes in the statement: escaped quotes in the JSON.
        3 => vec![
            audit(1, "public.t", r#""select 'x,y', ""q"" from t""#),
            line(s, "LOG", "duration: 1.5 ms", ""),
        ],
        4 => vec![
            audit(1, "public.t", "update t set x = 1"),
            line(
                s,
                "ERROR",
                "deadlock detected",
                r#","state_code":"40P01","statement":"update t set x = 1""#,
            ),
        ],
        5 => vec![line(
            s,
            "ERROR",
            "relation \"nope\" does not exist",
            r#","state_code":"42P01","statement":"select * from nope""#,
        )],
        6 => vec![line(s, "ERROR", "canceled", r#","state_code":"57014""#)],
        7 => vec![line(
            s,
            "FATAL",
            "password authentication failed for user \"app\"",
            r#","state_code":"28P01""#,
        )],
        8 => vec![line(
            s,
            "FATAL",
            "the database system is starting up",
            r#","state_code":"57P03""#,
        )],
        // A statement and its substatement; no duration line (completed by what follows).
        9 => vec![
            audit(1, "public.f", "select f()"),
            audit(2, "public.g", "select g()"),
        ],
        10 => vec![line(s, "LOG", "checkpoint starting: time", "")],
        11 => vec![line(
            s,
            "LOG",
            "AUDIT: OBJECT,1,1,READ,SELECT,TABLE,public.a,select 1,<none>",
            "",
        )],
        // A line cut short, and one that is not JSON.
        12 => vec![
            line(s, "LOG", "duration: 2 ms", "")[..40].to_string(),
            "not json".into(),
        ],
        // Written by another JSON writer (spaces after the colons and commas).
        13 if k % 2 == 0 => {
            let spaced = |l: String| l.replace("\":", "\": ").replace(",\"", ", \"");
            vec![
                spaced(audit(1, "public.s", "select 's'")),
                spaced(line(s, "LOG", "duration: 3 ms", "")),
            ]
        }
        // A session id with an escape, a message with a leading escape.
        _ => vec![
            line(
                "a\\\"b",
                "LOG",
                "AUDIT: SESSION,1,1,READ,SELECT,,,select 1,<not logged>",
                "",
            ),
            line(s, "LOG", "\tduration: 1 ms", ""),
            line(
                s,
                "LOG",
                "\u{e9}AUDIT: SESSION,1,1,READ,SELECT,,,select 1,<not logged>",
                "",
            ),
        ],
    }
}

/// A log of `sessions` sessions taking random steps, interleaved line by line.
fn log(seed: u64, steps: usize) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let sessions = ["6630f2a1.1f2c", "6630f2a1.1f2d", "6630f2a1.1f2e"];
    let mut counters = [0i64; 3];
    let mut queues: Vec<std::collections::VecDeque<String>> = vec![Default::default(); 3];
    let mut out = Vec::new();
    for _ in 0..steps {
        let i = rng.gen_range(0..3);
        if queues[i].is_empty() {
            let pick = rng.gen_range(0..14);
            queues[i].extend(step(sessions[i], &mut counters[i], pick));
        }
        // Another session's line may come between two of a statement's.
        let j = rng.gen_range(0..3);
        if let Some(l) = queues[j].pop_front() {
            out.push(l);
        }
    }
    out.extend(queues.into_iter().flatten());
    out
}

/// `lines` through `p` as the agent feeds a log (each line's seq derived from its offset),
/// everything pending completed at the end.
fn feed_log(mut p: impl Parser, lines: &[String], marks: &Marks) -> Vec<Captured> {
    *p.marks() = marks.clone();
    let mut out = Vec::new();
    let now = Instant::now();
    let mut offset = 0u64;
    for l in lines {
        p.feed(l, offset, 1000 + offset as i64, now, &mut out);
        offset += l.len() as u64 + 1;
    }
    p.tick(now, true, &mut out);
    out
}

/// What the agent made before: every event parsed on the host.
fn events_on_the_host(lines: &[String], marks: &Marks) -> Vec<IngestEvent> {
    let out = feed_log(PgAudit::default(), lines, marks);
    out.into_iter().map(|c| *c.ev).collect()
}

/// Grouped into records on the host, parsed by the server from batches of `per_batch`.
fn events_through_lines(lines: &[String], marks: &Marks, per_batch: usize) -> Vec<IngestEvent> {
    let out = feed_log(PgAuditLines::default(), lines, marks);
    let mut events = Vec::new();
    for chunk in out.chunks(per_batch) {
        let mut body = Vec::new();
        write_header(&mut body, "b-1", "db1");
        for c in chunk {
            let text = c.lines.as_deref().unwrap();
            let before = body.len();
            write_record(&mut body, c.ev.seq, text);
            assert!(body.len() - before <= record_len(text));
        }
        let batch = read_batch(&body).unwrap();
        assert_eq!(
            (batch.batch_id.as_str(), batch.db_id.as_str()),
            ("b-1", "db1")
        );
        events.extend(batch.events);
    }
    events
}

#[test]
fn records_parsed_by_the_server_are_the_events_the_host_made() {
    let mut lines_seen = 0;
    for seed in 0..40u64 {
        let lines = log(seed, 400);
        lines_seen += lines.len();
        let mut marks = Marks::default();
        if seed % 4 == 1 {
            // Re-read after a restart: the first statements of a session acknowledged.
            marks.ack_stmt("6630f2a1.1f2c", Some((3, 1)));
        }
        let host = events_on_the_host(&lines, &marks);
        assert!(host.len() > 50, "seed {seed}: {} events", host.len());
        for per_batch in [1, 7, 1000] {
            assert_eq!(
                events_through_lines(&lines, &marks, per_batch),
                host,
                "seed {seed}, {per_batch} records a batch"
            );
        }
    }
    assert!(lines_seen > 10_000);
}

#[test]
fn postgres_lines_are_classified_without_the_slow_reader() {
    let mut n = 0;
    for pick in 0..14 {
        for l in step("6630f2a1.1f2c", &mut n, pick) {
            let Some(read) = jsonlog::read(&l) else {
                continue;
            };
            // Where the fast reading is certain, it is the slow one's.
            match fast(&l) {
                Some(c) => assert_eq!(c, slow(&read), "{l}"),
                None => assert!(pick == 13, "PostgreSQL's own line read whole: {l}"),
            }
        }
    }
    // The CSV quote is escaped after the statement's fields: still certain.
    let quoted = &step("s", &mut n, 3)[0];
    assert!(
        matches!(fast(quoted), Some(Class::Audit { .. })),
        "{quoted}"
    );
    // An escape in the session id or before a message's head, another writer's spacing:
    // read whole.
    n = 0;
    for _ in 0..2 {
        let odd = step("x", &mut n, 13);
        assert_eq!((fast(&odd[0]), fast(&odd[1])), (None, None), "{odd:?}");
    }
}

#[test]
fn a_statement_too_long_to_ship_as_lines_is_made_into_its_event_on_the_host() {
    let big = "x".repeat(MAX_RECORD_BYTES);
    let lines = [
        line(
            "s",
            "LOG",
            &format!("AUDIT: SESSION,1,1,READ,SELECT,,,select '{big}',<not logged>"),
            "",
        ),
        line("s", "LOG", "duration: 1 ms", ""),
        line(
            "s",
            "LOG",
            "AUDIT: SESSION,2,1,READ,SELECT,,,select 2,<not logged>",
            "",
        ),
        line("s", "LOG", "duration: 1 ms", ""),
    ];
    let mut p = PgAuditLines::default();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        p.feed(l, i as u64, 10 + i as i64, Instant::now(), &mut out);
    }
    assert_eq!(out.len(), 2);
    assert!(out[0].lines.is_none(), "the long one is an event");
    assert_eq!((out[0].ev.seq, out[0].ev.kind.as_str()), (10, "QUERY"));
    assert_eq!(out[0].ev.sql.len(), super::super::MAX_SQL_BYTES);
    assert_eq!(out[0].ev.duration_ms, Some(1.0));
    assert!(out[1].lines.is_some(), "the next is lines again");
    let mut host = PgAudit::default();
    let mut made = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        host.feed(l, i as u64, 10 + i as i64, Instant::now(), &mut made);
    }
    assert_eq!(made[0].ev, out[0].ev);
}

#[test]
fn a_broken_batch_is_refused_with_what_is_wrong() {
    let head = r#"{"batch_id":"b","db_id":"d","kind":"pgaudit-jsonlog"}"#;
    let ok = line("s", "LOG", "connection authorized: user=app", "");
    let cases = [
        (b"\xff\xfe".to_vec(), "not UTF-8"),
        (b"@1 1\n{}\n".to_vec(), "JSON header"),
        (
            format!(
                "{}\n@1 1\n{ok}\n",
                head.replace("pgaudit-jsonlog", "mariadb-server-audit")
            )
            .into_bytes(),
            "kind `mariadb-server-audit`",
        ),
        (
            format!("{head}\n{ok}\n").into_bytes(),
            "expected a record line",
        ),
        (
            format!("{head}\n@x 1\n{ok}\n").into_bytes(),
            "expected a record line",
        ),
        (format!("{head}\n@1 0\n").into_bytes(), "announces 0 lines"),
        (
            format!("{head}\n@1 99999\n{ok}\n").into_bytes(),
            "announces 99999 lines",
        ),
        (format!("{head}\n@1 3\n{ok}\n").into_bytes(), "ends after 1"),
    ];
    for (body, want) in cases {
        let err = read_batch(&body).unwrap_err();
        assert!(err.contains(want), "{err:?} lacks {want:?}");
    }
    // A header alone is an empty batch; a last line without its newline still counts.
    assert!(read_batch(format!("{head}\n").as_bytes())
        .unwrap()
        .events
        .is_empty());
    let one = read_batch(format!("{head}\n@5 1\n{ok}").as_bytes()).unwrap();
    assert_eq!(
        one.events
            .iter()
            .map(|e| (e.seq, e.kind.as_str()))
            .collect::<Vec<_>>(),
        [(5, "LOGIN")]
    );
}
