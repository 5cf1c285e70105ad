//! Store conformance, ListAuditSqls' fast paths: the total summed from the per-minute counts
//! (whole minutes) and counted at the window's ends, the text filter narrowed by the text index
//! (SQLite FTS5 trigrams, PostgreSQL pg_trgm) — every answer equal to a plain filter over the
//! rows held in memory, for windows that cut minutes anywhere, every filter alone and together,
//! substrings rare, common, short and full of wildcards, before and after statements are
//! deleted. Every case runs on SQLite and on PostgreSQL.

use crate::common;

use common::on_both;
use plugboard_core::ids::{dbss_database_id, hex32};
use plugboard_store::dbss_audit::*;

const MIN: i64 = 60_000_000;
/// A minute boundary: the rows start here.
const T0: i64 = 1_765_065_600_000_000;

/// A small deterministic generator (the test must not depend on luck).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const DBS: [&str; 3] = ["db-a", "db-b", "db-c"];
const RISKS: [&str; 4] = ["HIGH", "MEDIUM", "LOW", "NO_RISK"];
const TYPES: [&str; 4] = ["SELECT", "UPDATE", "DELETE", "LOGIN"];
const CLIENTS: [&str; 3] = ["psql", "app", ""];
const USERS: [&str; 4] = ["app", "admin", "etl", "Mallory"];
const IPS: [&str; 3] = ["10.0.0.7", "10.0.0.8", "127.0.0.1"];

fn rows(instance: &str, n: usize) -> Vec<SqlRow> {
    let mut g = Lcg(42);
    (0..n)
        .map(|i| {
            let risk = g.pick(&RISKS);
            // Some rows share a time to the microsecond: the order then goes by seq and id.
            let at = T0 + (g.next() % (150 * MIN as u64)) as i64 / 7 * 7;
            let text = match i % 50 {
                0 => format!("SELECT * FROM Konto_{i} WHERE note = '50%_off' -- \"q\""),
                1 => format!("DROP TABLE Rechnungen_ÄÖ_{}", i % 7),
                2 => format!("select pg_sleep({}) /* zq{} */", i % 3, i % 11),
                _ => format!("select id, name from t{} where id = {i}", g.next() % 300),
            };
            SqlRow {
                id: dbss_database_id(),
                instance_id: instance.into(),
                db_id: g.pick(&DBS).into(),
                agent_id: "agent-1".into(),
                seq: i as i64,
                start_time: at,
                client_ip: g.pick(&IPS).into(),
                client_name: g.pick(&CLIENTS).into(),
                db_user: g.pick(&USERS).into(),
                query_type: g.pick(&TYPES).into(),
                objects: "[]".into(),
                sql_statement: text,
                sql_response: if g.next().is_multiple_of(10) {
                    "FAILED"
                } else {
                    "SUCCESS"
                }
                .into(),
                risk_level: risk.into(),
                rule_name: if risk == "NO_RISK" {
                    String::new()
                } else {
                    format!("rule-{}", g.next() % 3)
                },
                ..Default::default()
            }
        })
        .collect()
}

/// The answer computed over `rows` in memory: a page of ids and the total.
fn expected(rows: &[SqlRow], f: &SqlFilter) -> (Vec<String>, i64) {
    let one = |v: &Option<String>, x: &str| v.as_ref().is_none_or(|v| v == x);
    let mut m: Vec<&SqlRow> = rows
        .iter()
        .filter(|r| {
            r.instance_id == f.instance_id
                && r.start_time >= f.from
                && r.start_time <= f.to
                && (f.risk_levels.is_empty() || f.risk_levels.contains(&r.risk_level))
                && one(&f.client_ip, &r.client_ip)
                && one(&f.client_name, &r.client_name)
                && one(&f.db_user, &r.db_user)
                && one(&f.query_type, &r.query_type)
                && one(&f.rule_name, &r.rule_name)
                && one(&f.sql_response, &r.sql_response)
                && f.db_ids.as_ref().is_none_or(|ids| ids.contains(&r.db_id))
                && f.sql_contains
                    .as_ref()
                    .is_none_or(|s| r.sql_statement.to_lowercase().contains(s.as_str()))
        })
        .collect();
    m.sort_by(|a, b| (a.start_time, a.seq, &a.id).cmp(&(b.start_time, b.seq, &b.id)));
    if !f.ascending {
        m.reverse();
    }
    let total = m.len() as i64;
    let page = m
        .into_iter()
        .skip(f.offset as usize)
        .take(f.limit as usize)
        .map(|r| r.id.clone())
        .collect();
    (page, total)
}

/// Filters: each alone, some together, windows cutting minutes anywhere.
fn filters(instance: &str) -> Vec<SqlFilter> {
    let whole = SqlFilter {
        instance_id: instance.into(),
        from: T0 - MIN,
        to: T0 + 200 * MIN,
        offset: 0,
        limit: 10,
        ..Default::default()
    };
    let mut out = Vec::new();
    let windows = [
        (T0 - MIN, T0 + 200 * MIN),
        (T0, T0 + 150 * MIN - 1),
        (T0 + 17 * MIN + 123, T0 + 95 * MIN + 59_999_999),
        (T0 + 17 * MIN + 123, T0 + 17 * MIN + 40_000_000),
        (T0 + 30 * MIN - 1, T0 + 31 * MIN),
        (T0 + 42 * MIN, T0 + 43 * MIN - 1),
        (T0 + 300 * MIN, T0 + 400 * MIN),
    ];
    let mut g = Lcg(7);
    for (k, (from, to)) in windows.into_iter().enumerate() {
        let base = SqlFilter {
            from,
            to,
            ascending: k % 2 == 1,
            ..whole.clone()
        };
        out.push(base.clone());
        out.push(SqlFilter {
            risk_levels: vec!["HIGH".into()],
            ..base.clone()
        });
        out.push(SqlFilter {
            risk_levels: vec!["HIGH".into(), "LOW".into()],
            query_type: Some(g.pick(&TYPES).into()),
            ..base.clone()
        });
        out.push(SqlFilter {
            db_ids: Some(vec![g.pick(&DBS).into(), "db-z".into()]),
            sql_response: Some("FAILED".into()),
            ..base.clone()
        });
        out.push(SqlFilter {
            rule_name: Some("rule-1".into()),
            client_name: Some(g.pick(&CLIENTS).into()),
            offset: 3,
            ..base.clone()
        });
        out.push(SqlFilter {
            client_name: Some(String::new()),
            ..base.clone()
        });
        out.push(SqlFilter {
            db_user: Some("Mallory".into()),
            ..base.clone()
        });
        out.push(SqlFilter {
            client_ip: Some(g.pick(&IPS).into()),
            risk_levels: vec!["NO_RISK".into()],
            limit: 100,
            ..base.clone()
        });
        for needle in [
            "konto_1",
            "50%_off",
            "-- \"q\"",
            "rechnungen_äö_3",
            "zq7 ",
            "select",
            "id, name from t7 where",
            "t29",
            "el",
            "ö",
            "%",
            "nothing like this",
        ] {
            out.push(SqlFilter {
                sql_contains: Some(needle.into()),
                ..base.clone()
            });
        }
        out.push(SqlFilter {
            sql_contains: Some("from t1".into()),
            db_user: Some("etl".into()),
            risk_levels: vec!["MEDIUM".into()],
            ..base.clone()
        });
    }
    out.push(SqlFilter {
        offset: 1500,
        limit: 100,
        ..whole.clone()
    });
    out.push(SqlFilter {
        offset: 5000,
        ..whole.clone()
    });
    out.push(SqlFilter {
        from: T0 + 10 * MIN,
        to: T0 + 10 * MIN - 1,
        ..whole
    });
    out
}

async fn check_all(store: &plugboard_store::Store, rows: &[SqlRow], instance: &str, when: &str) {
    for f in filters(instance) {
        let (page, total) = store.list_audit_sqls(&f).await.expect("list");
        let ids: Vec<String> = page.into_iter().map(|r| r.id).collect();
        assert_eq!((ids, total), expected(rows, &f), "{when}: {f:?}");
    }
}

#[tokio::test]
async fn fast_totals_and_the_text_index_answer_like_a_plain_filter() {
    on_both(|store, backend| async move {
        let inst = hex32();
        let mut all = rows(&inst, 3000);
        // Another instance's statements: never counted.
        let other = rows(&hex32(), 300);
        for chunk in all.chunks(700) {
            store.insert_audit_sqls(chunk).await.expect("insert");
        }
        store.insert_audit_sqls(&other).await.expect("other");
        check_all(&store, &all, &inst, &format!("{backend:?}")).await;

        // Retention and the cap delete the oldest: the counts and the index go with them.
        let gone = store
            .delete_oldest_audit_sqls(&inst, T0 + 40 * MIN + 17, 700)
            .await
            .expect("delete");
        assert_eq!(gone, 700);
        all.sort_by_key(|r| (r.start_time, r.seq));
        let kept: Vec<SqlRow> = all.split_off(700);
        check_all(&store, &kept, &inst, &format!("{backend:?} after deletes")).await;
    })
    .await;
}
