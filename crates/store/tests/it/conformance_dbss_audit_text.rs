//! Store conformance, ListAuditSqls' text lookup (the statement text filter through the text
//! index): its matches are counted and paged in one statement in the database, and every page —
//! inside the matches, across their end, past it — and `total` are what a plain filter over the
//! rows gives, in both orders, for statements that share a time. Every case runs on SQLite and on
//! PostgreSQL.

use crate::common::on_both;
use plugboard_core::ids::{dbss_database_id, hex32};
use plugboard_core::time::now_micros;
use plugboard_store::dbss_audit::*;

/// Statement `i`: one in 25 holds the rare `zq9x` (60 of 1,500); times repeat in threes.
fn statement(instance: &str, i: i64, t0: i64) -> SqlRow {
    SqlRow {
        id: dbss_database_id(),
        instance_id: instance.into(),
        db_id: "db1".into(),
        agent_id: "agent1".into(),
        seq: i,
        start_time: t0 + i / 3 * 1000,
        sql_statement: if i % 25 == 0 {
            format!("select * from zq9x_{i} where id = {i}")
        } else {
            format!("select * from t{} where id = {i}", i % 40)
        },
        risk_level: "NO_RISK".into(),
        query_type: "SELECT".into(),
        objects: "[]".into(),
        sql_response: "SUCCESS".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_text_lookup_counts_its_matches_and_cuts_any_page() {
    on_both(|store, backend| async move {
        let instance = hex32();
        let t0 = now_micros() - 3_600_000_000;
        let rows: Vec<SqlRow> = (0..1500).map(|i| statement(&instance, i, t0)).collect();
        for chunk in rows.chunks(500) {
            store.insert_audit_sqls(chunk).await.expect("insert");
        }
        let mut matches: Vec<&SqlRow> = rows
            .iter()
            .filter(|r| r.sql_statement.contains("zq9x"))
            .collect();
        matches.sort_by(|a, b| (a.start_time, a.seq, &a.id).cmp(&(b.start_time, b.seq, &b.id)));
        assert_eq!(matches.len(), 60);
        for ascending in [false, true] {
            let ordered: Vec<String> = if ascending {
                matches.iter().map(|r| r.id.clone()).collect()
            } else {
                matches.iter().rev().map(|r| r.id.clone()).collect()
            };
            for offset in [0, 7, 55, 59, 60, 100] {
                let (page, total) = store
                    .list_audit_sqls(&SqlFilter {
                        instance_id: instance.clone(),
                        from: t0 - 1,
                        to: t0 + 3_600_000_000,
                        sql_contains: Some("zq9x".into()),
                        ascending,
                        offset,
                        limit: 10,
                        ..Default::default()
                    })
                    .await
                    .expect("list");
                let ids: Vec<String> = page.into_iter().map(|r| r.id).collect();
                let want: Vec<String> = ordered
                    .iter()
                    .skip(offset as usize)
                    .take(10)
                    .cloned()
                    .collect();
                assert_eq!(
                    (ids, total),
                    (want, 60),
                    "{backend:?} ascending {ascending} offset {offset}"
                );
            }
        }
    })
    .await;
}
