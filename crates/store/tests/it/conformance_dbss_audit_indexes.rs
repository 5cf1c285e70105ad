//! Store conformance, the list indexes of captured statements as ingest pays for them: the
//! risk-level and rule indexes hold only statements with a risk / a matched rule (migrations
//! 0063 on PostgreSQL, 0064 on SQLite), and a listing filtered on a risk level or a rule still
//! finds its page and its count through them; on both back-ends the filters answer the same
//! whatever the index. Also what ingest's cheaper writes must keep: a batch partly stored
//! already stores only its new statements, and a window's total counted from the per-minute
//! counts is exact whichever side of a partial minute is counted.

use crate::common::on_both;
use plugboard_core::ids::{dbss_database_id, hex32};
use plugboard_core::time::now_micros;
use plugboard_store::dbss_audit::*;
use plugboard_store::{Backend, Store};
use sqlx::Row;

fn sql(instance: &str, seq: i64, at: i64, risky: bool) -> SqlRow {
    SqlRow {
        id: dbss_database_id(),
        instance_id: instance.into(),
        db_id: "db1".into(),
        agent_id: "agent1".into(),
        seq,
        start_time: at,
        sql_statement: format!("select {seq}"),
        risk_level: if risky { "HIGH" } else { "NO_RISK" }.into(),
        rule_id: if risky { "r1" } else { "" }.into(),
        rule_name: if risky { "Tautology" } else { "" }.into(),
        rule_type: if risky { "SQL_INJECTION" } else { "" }.into(),
        query_type: "SELECT".into(),
        objects: "[]".into(),
        sql_response: "SUCCESS".into(),
        ..Default::default()
    }
}

/// The page and total of `instance`'s statements over all time with `f` applied.
async fn listed(store: &Store, instance: &str, f: impl Fn(&mut SqlFilter)) -> (usize, i64) {
    let mut filter = SqlFilter {
        instance_id: instance.into(),
        from: i64::MIN,
        to: i64::MAX,
        limit: 1000,
        ..Default::default()
    };
    f(&mut filter);
    let (rows, total) = store.list_audit_sqls(&filter).await.expect("list");
    (rows.len(), total)
}

/// The plan PostgreSQL makes for `query` with its values bound (an unnamed statement, as the
/// listing sends them), sequential scans off so that a small table still shows its index.
async fn plan(store: &Store, query: &str, instance: &str, value: &str) -> String {
    let mut tx = store.pool().begin().await.expect("begin");
    sqlx::query("SET LOCAL enable_seqscan = off")
        .execute(&mut *tx)
        .await
        .expect("set");
    let rows = sqlx::query(&format!("EXPLAIN {query}"))
        .persistent(false)
        .bind(instance)
        .bind(value)
        .fetch_all(&mut *tx)
        .await
        .expect("explain");
    tx.rollback().await.expect("rollback");
    rows.iter()
        .map(|r| r.try_get::<String, _>(0).expect("plan line"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn risk_and_rule_indexes_hold_only_what_their_filters_find() {
    on_both(|store, backend| async move {
        let instance = hex32();
        let now = now_micros();
        let rows: Vec<SqlRow> = (0..60)
            .map(|i| sql(&instance, i, now - i * 1000, i % 20 == 0))
            .collect();
        store.insert_audit_sqls(&rows).await.expect("insert");
        // The filters answer alike on both back-ends, whichever index serves them.
        assert_eq!(
            listed(&store, &instance, |f| f.risk_levels = vec!["HIGH".into()]).await,
            (3, 3)
        );
        assert_eq!(
            listed(&store, &instance, |f| f.risk_levels =
                vec!["NO_RISK".into()])
            .await,
            (57, 57)
        );
        assert_eq!(
            listed(&store, &instance, |f| f.risk_levels =
                vec!["HIGH".into(), "NO_RISK".into()])
            .await,
            (60, 60)
        );
        assert_eq!(
            listed(&store, &instance, |f| f.rule_name =
                Some("Tautology".into()))
            .await,
            (3, 3)
        );
        if backend == Backend::Sqlite {
            sqlite_partial_indexes_serve_the_listing(&store).await;
            return;
        }
        // Every partition's risk and rule index is partial: an ordinary statement is in neither.
        let defs = sqlx::query(
            "SELECT indexdef FROM pg_indexes WHERE tablename LIKE 'dbss_sqls%' \
             AND (indexdef LIKE '%(instance_id, risk_level, start_time)%' \
                  OR indexdef LIKE '%(instance_id, rule_name, start_time)%')",
        )
        .fetch_all(store.pool())
        .await
        .expect("index definitions");
        assert!(
            defs.len() >= 4,
            "the parent's and a partition's: {}",
            defs.len()
        );
        for d in &defs {
            let def: String = d.try_get(0).expect("indexdef");
            assert!(
                def.contains("WHERE (risk_level <> 'NO_RISK'::text)")
                    || def.contains("WHERE (rule_name <> ''::text)"),
                "not partial: {def}"
            );
        }
        // The listing's statements (values bound) are planned onto the partial indexes, with
        // the statistics autovacuum keeps (a never-analysed table of 60 rows ties the time
        // index with them).
        sqlx::query("ANALYZE dbss_sqls")
            .execute(store.pool())
            .await
            .expect("analyze");
        let risk = plan(
            &store,
            "SELECT COUNT(*) FROM dbss_sqls WHERE instance_id = $1 AND risk_level = $2",
            &instance,
            "HIGH",
        )
        .await;
        assert!(risk.contains("risk_level_start_time"), "{risk}");
        let rule = plan(
            &store,
            "SELECT COUNT(*) FROM dbss_sqls WHERE instance_id = $1 AND rule_name = $2",
            &instance,
            "Tautology",
        )
        .await;
        assert!(rule.contains("rule_name_start_time"), "{rule}");
    })
    .await;
}

/// SQLite: the risk and rule indexes are partial, and the statements the listing sends (the
/// filter with the index's condition repeated) are planned onto them.
async fn sqlite_partial_indexes_serve_the_listing(store: &Store) {
    for (name, cond) in [
        ("dbss_sqls_risk", "WHERE risk_level <> 'NO_RISK'"),
        ("dbss_sqls_rule", "WHERE rule_name <> ''"),
    ] {
        let def: String = sqlx::query("SELECT sql FROM sqlite_master WHERE name = $1")
            .bind(name)
            .fetch_one(store.pool())
            .await
            .expect("index definition")
            .try_get(0)
            .expect("sql");
        assert!(def.contains(cond), "not partial: {def}");
    }
    for (query, index) in [
        (
            "SELECT COUNT(*) FROM dbss_sqls WHERE instance_id = $1 AND risk_level = $2 \
             AND risk_level <> 'NO_RISK'",
            "dbss_sqls_risk",
        ),
        (
            "SELECT COUNT(*) FROM dbss_sqls WHERE instance_id = $1 AND rule_name = $2 \
             AND rule_name <> ''",
            "dbss_sqls_rule",
        ),
    ] {
        let rows = sqlx::query(&format!("EXPLAIN QUERY PLAN {query}"))
            .bind("i")
            .bind("HIGH")
            .fetch_all(store.pool())
            .await
            .expect("explain");
        let plan: Vec<String> = rows
            .iter()
            .map(|r| r.try_get::<String, _>(3).expect("detail"))
            .collect();
        assert!(plan.iter().any(|d| d.contains(index)), "{plan:?}");
    }
}

#[tokio::test]
async fn a_batch_partly_stored_already_stores_only_its_new_statements() {
    on_both(|store, _| async move {
        let instance = hex32();
        let now = now_micros();
        let rows: Vec<SqlRow> = (0..40)
            .map(|i| sql(&instance, i, now - i * 1000, i % 10 == 0))
            .collect();
        store.insert_audit_sqls(&rows[..25]).await.expect("first");
        // Sent again with the rest (new ids, as the server gives them): the first 25 are
        // skipped, the 15 others stored, and the transaction goes on to count them.
        let again: Vec<SqlRow> = rows
            .iter()
            .map(|r| SqlRow {
                id: dbss_database_id(),
                ..r.clone()
            })
            .collect();
        let stored = store.insert_audit_sqls(&again).await.expect("again");
        assert_eq!(stored, (0..40).map(|i| i >= 25).collect::<Vec<_>>());
        assert_eq!(listed(&store, &instance, |_| {}).await, (40, 40));
        assert_eq!(
            listed(&store, &instance, |f| f.risk_levels = vec!["HIGH".into()]).await,
            (4, 4)
        );
    })
    .await;
}

#[tokio::test]
async fn a_total_is_exact_whichever_side_of_a_partial_minute_is_counted() {
    on_both(|store, _| async move {
        let instance = hex32();
        const MIN: i64 = 60_000_000;
        const SEC: i64 = 1_000_000;
        // Ten minutes ago, whole: minutes m-3 … m. Every 5 s in m-3 and m, three rows in each
        // of m-2 and m-1; every other row HIGH.
        let m = now_micros().div_euclid(MIN) - 10;
        let mut times: Vec<i64> = (0..12).map(|k| (m - 3) * MIN + k * 5 * SEC).collect();
        times.extend((0..3).map(|k| (m - 2) * MIN + k * 20 * SEC));
        times.extend((0..3).map(|k| (m - 1) * MIN + k * 20 * SEC));
        times.extend((0..12).map(|k| m * MIN + k * 5 * SEC));
        let rows: Vec<SqlRow> = times
            .iter()
            .enumerate()
            .map(|(i, t)| sql(&instance, i as i64, *t, i % 2 == 0))
            .collect();
        store.insert_audit_sqls(&rows).await.expect("insert");
        let count = |from: i64, to: i64, high: bool| {
            rows.iter()
                .filter(|r| r.start_time >= from && r.start_time <= to)
                .filter(|r| !high || r.risk_level == "HIGH")
                .count()
        };
        // Windows whose ends fall early, late, on and beside minute boundaries: 10 s into a
        // minute is counted as the minute less its first 10 s, 50 s into it directly; the
        // window's end likewise.
        let ends = [
            ((m - 3) * MIN + 10 * SEC, m * MIN + 50 * SEC),
            ((m - 3) * MIN + 50 * SEC, m * MIN + 10 * SEC),
            ((m - 3) * MIN, (m + 1) * MIN - 1),
            ((m - 3) * MIN + 10 * SEC, m * MIN + 50 * SEC - 1),
            ((m - 3) * MIN + 10 * SEC + 1, m * MIN + 55 * SEC),
            ((m - 2) * MIN + 1, (m - 1) * MIN + 30 * SEC),
        ];
        for (from, to) in ends {
            for high in [false, true] {
                let window = |f: &mut SqlFilter| {
                    f.from = from;
                    f.to = to;
                    if high {
                        f.risk_levels = vec!["HIGH".into()];
                    }
                };
                let want = count(from, to, high);
                assert_eq!(
                    listed(&store, &instance, window).await,
                    (want, want as i64),
                    "[{from}, {to}] high={high}"
                );
            }
        }
    })
    .await;
}

#[tokio::test]
async fn statements_of_one_time_are_paged_in_sequence_order_from_the_time_index() {
    on_both(|store, backend| async move {
        let instance = hex32();
        // One millisecond's statements (the agent's order is their `seq`), ids not in that
        // order.
        let at = now_micros();
        let mut rows: Vec<SqlRow> = (0..30).map(|i| sql(&instance, i, at, false)).collect();
        rows.reverse();
        store.insert_audit_sqls(&rows).await.expect("insert");
        for ascending in [false, true] {
            let (page, total) = store
                .list_audit_sqls(&SqlFilter {
                    instance_id: instance.clone(),
                    from: at - 1,
                    to: at + 1,
                    ascending,
                    offset: 10,
                    limit: 5,
                    ..Default::default()
                })
                .await
                .expect("list");
            let seqs: Vec<i64> = page.iter().map(|r| r.seq).collect();
            let want: Vec<i64> = if ascending {
                (10..15).collect()
            } else {
                (15..20).rev().collect()
            };
            assert_eq!((seqs, total), (want, 30));
        }
        // The page is read in index order: no sort of the time's rows.
        let query = "SELECT id FROM dbss_sqls s WHERE s.instance_id = $1 AND s.start_time >= $2 \
                     AND s.start_time <= $3 ORDER BY s.start_time DESC, s.seq DESC, s.id DESC LIMIT 10";
        let explain = match backend {
            Backend::Sqlite => format!("EXPLAIN QUERY PLAN {query}"),
            Backend::Postgres => format!("EXPLAIN {query}"),
        };
        let mut tx = store.pool().begin().await.expect("begin");
        if backend == Backend::Postgres {
            sqlx::query("SET LOCAL enable_seqscan = off")
                .execute(&mut *tx)
                .await
                .expect("set");
        }
        let rows = sqlx::query(&explain)
            .persistent(false)
            .bind(&instance)
            .bind(at - 1)
            .bind(at + 1)
            .fetch_all(&mut *tx)
            .await
            .expect("explain");
        tx.rollback().await.expect("rollback");
        let column = if backend == Backend::Sqlite { 3 } else { 0 };
        let plan: Vec<String> = rows
            .iter()
            .map(|r| r.try_get::<String, _>(column).expect("plan line"))
            .collect();
        let plan = plan.join("\n");
        assert!(
            plan.contains("dbss_sqls_time") || plan.contains("start_time_seq_id"),
            "{plan}"
        );
        assert!(
            !plan.contains("Sort") && !plan.contains("TEMP B-TREE"),
            "{plan}"
        );
    })
    .await;
}
