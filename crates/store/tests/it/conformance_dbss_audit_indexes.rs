//! Store conformance, the list indexes of captured statements as ingest pays for them: on
//! PostgreSQL the risk-level and rule indexes hold only statements with a risk / a matched rule
//! (migration 0063), and a listing filtered on a risk level or a rule still finds its page and
//! its count through them; on both back-ends the filters answer the same whatever the index.

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
        if backend != Backend::Postgres {
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
        // The listing's statements (values bound) are planned onto the partial indexes.
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
