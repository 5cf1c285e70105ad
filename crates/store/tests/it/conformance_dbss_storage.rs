//! Store conformance, DBSS audit storage: per-day counts that follow every insert and delete,
//! bounded deletes of the oldest statements, PostgreSQL's daily partitions (made with the
//! default partition's rows moved in, dropped whole with their counts), and the lease one
//! process holds at a time; every case runs on SQLite and on PostgreSQL.

use crate::common::on_both;
use plugboard_core::ids::{dbss_database_id, hex32};
use plugboard_core::time::now_micros;
use plugboard_store::dbss_audit::storage::{day_of, partition_name, DAY};
use plugboard_store::dbss_audit::*;
use plugboard_store::{Backend, Store};

fn sql(instance: &str, seq: i64, at: i64) -> SqlRow {
    SqlRow {
        id: dbss_database_id(),
        instance_id: instance.into(),
        db_id: "db1".into(),
        agent_id: "agent1".into(),
        seq,
        start_time: at,
        sql_statement: format!("select {seq}"),
        risk_level: "NO_RISK".into(),
        query_type: "SELECT".into(),
        objects: "[]".into(),
        sql_response: "SUCCESS".into(),
        ..Default::default()
    }
}

/// Every statement time of `instance` over all time, oldest first.
async fn times(store: &Store, instance: &str) -> Vec<i64> {
    let (rows, total) = store
        .list_audit_sqls(&SqlFilter {
            instance_id: instance.into(),
            from: i64::MIN,
            to: i64::MAX,
            ascending: true,
            limit: 10_000,
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(total as usize, rows.len());
    rows.iter().map(|r| r.start_time).collect()
}

#[tokio::test]
async fn counts_follow_inserts_and_the_oldest_go_first() {
    on_both(|store, _| async move {
        let (a, b) = (hex32(), hex32());
        let today = day_of(now_micros()) * DAY;
        let rows: Vec<SqlRow> = (0..30)
            .map(|i| sql(&a, i, today - (i % 3) * DAY + i))
            .chain((0..5).map(|i| sql(&b, 1000 + i, today + i)))
            .collect();
        store.insert_audit_sqls(&rows).await.expect("insert");
        assert_eq!(store.audit_sql_stored(&a).await.expect("a"), 30);
        // A re-sent batch stores nothing and counts nothing.
        let again: Vec<SqlRow> = rows
            .iter()
            .map(|r| SqlRow {
                id: dbss_database_id(),
                ..r.clone()
            })
            .collect();
        assert!(store
            .insert_audit_sqls(&again)
            .await
            .expect("again")
            .iter()
            .all(|new| !new));
        let totals = store.audit_sql_totals().await.expect("totals");
        let mut want = vec![
            StoredTotal {
                instance_id: a.clone(),
                edition: String::new(),
                database_limit: 0,
                stored: 30,
            },
            StoredTotal {
                instance_id: b.clone(),
                edition: String::new(),
                database_limit: 0,
                stored: 5,
            },
        ];
        want.sort_by(|x, y| x.instance_id.cmp(&y.instance_id));
        assert_eq!(totals, want);

        // The oldest first, at most `limit` at a time, only before the time given.
        let before = times(&store, &a).await;
        assert_eq!(
            store
                .delete_oldest_audit_sqls(&a, i64::MAX, 4)
                .await
                .expect("delete"),
            4
        );
        assert_eq!(times(&store, &a).await, before[4..]);
        assert_eq!(store.audit_sql_stored(&a).await.expect("a"), 26);
        assert_eq!(
            store
                .delete_oldest_audit_sqls(&a, today - DAY + 5, 1000)
                .await
                .expect("before"),
            8,
            "the 6 left of two days ago and the first 2 of yesterday"
        );
        assert!(times(&store, &a)
            .await
            .iter()
            .all(|t| *t >= today - DAY + 5));
        assert_eq!(store.audit_sql_stored(&a).await.expect("a"), 18);
        assert_eq!(store.audit_sql_stored(&b).await.expect("b untouched"), 5);
        assert_eq!(
            store
                .delete_oldest_audit_sqls(&a, i64::MAX, 1000)
                .await
                .expect("all"),
            18
        );
        assert_eq!(store.audit_sql_stored(&a).await.expect("a"), 0);
        assert_eq!(
            store.audit_sql_totals().await.expect("totals").len(),
            1,
            "an instance with nothing left has no counts"
        );
    })
    .await;
}

#[tokio::test]
async fn daily_partitions_take_their_rows_and_drop_whole() {
    on_both(|store, backend| async move {
        let inst = hex32();
        let today = day_of(now_micros());
        // Three days of statements before any partition of those days exists.
        let rows: Vec<SqlRow> = (0..9)
            .map(|i| sql(&inst, i, (today - 2 + i % 3) * DAY + i))
            .collect();
        store.insert_audit_sqls(&rows).await.expect("insert");
        if backend == Backend::Postgres {
            assert_eq!(
                store
                    .audit_default_partition_days()
                    .await
                    .expect("default days"),
                [today - 2, today - 1, today]
            );
            for day in [today - 2, today - 1, today, today + 1] {
                assert!(store.ensure_audit_partition(day).await.expect("make"));
            }
            assert!(!store
                .ensure_audit_partition(today)
                .await
                .expect("made already"));
            assert_eq!(
                store.audit_partitions().await.expect("partitions"),
                [today - 2, today - 1, today, today + 1]
            );
            assert!(store
                .audit_default_partition_days()
                .await
                .expect("default days")
                .is_empty());
        } else {
            assert!(!store.ensure_audit_partition(today).await.expect("sqlite"));
            assert!(store.audit_partitions().await.expect("none").is_empty());
        }
        // Every statement is still listed once, and a re-sent one is still a duplicate.
        assert_eq!(times(&store, &inst).await.len(), 9);
        let resent = SqlRow {
            id: dbss_database_id(),
            ..rows[0].clone()
        };
        assert_eq!(
            store.insert_audit_sqls(&[resent]).await.expect("resend"),
            [false]
        );
        // Retention: days before yesterday go (a partition drop on PostgreSQL).
        let dropped = store
            .drop_audit_partitions_before(today - 1)
            .await
            .expect("drop");
        if backend == Backend::Postgres {
            assert_eq!(dropped, [today - 2]);
            assert_eq!(store.audit_sql_stored(&inst).await.expect("count"), 6);
        } else {
            assert!(dropped.is_empty());
            assert_eq!(
                store
                    .delete_oldest_audit_sqls(&inst, (today - 1) * DAY, 1000)
                    .await
                    .expect("delete"),
                3
            );
        }
        let left = times(&store, &inst).await;
        assert_eq!(left.len(), 6);
        assert!(left.iter().all(|t| day_of(*t) >= today - 1), "{left:?}");
        assert_eq!(store.audit_sql_stored(&inst).await.expect("count"), 6);
        // A late statement of a dropped day lands again (the default partition on PostgreSQL)
        // and is counted, so the next round finds it.
        store
            .insert_audit_sqls(&[sql(&inst, 100, (today - 2) * DAY + 5)])
            .await
            .expect("late");
        assert_eq!(store.audit_sql_stored(&inst).await.expect("count"), 7);
        assert_eq!(
            store
                .delete_oldest_audit_sqls(&inst, (today - 1) * DAY, 1000)
                .await
                .expect("late one"),
            1
        );
    })
    .await;
}

#[tokio::test]
async fn one_holder_at_a_time_holds_a_lease() {
    on_both(|store, _| async move {
        let now = now_micros();
        assert!(store
            .claim_dbss_lease("duty", "a", now, now + 1000)
            .await
            .expect("a"));
        assert!(!store
            .claim_dbss_lease("duty", "b", now + 10, now + 2000)
            .await
            .expect("b while a holds it"));
        assert!(store
            .claim_dbss_lease("duty", "a", now + 20, now + 3000)
            .await
            .expect("a renews"));
        assert!(!store
            .claim_dbss_lease("duty", "b", now + 2500, now + 4000)
            .await
            .expect("the renewal counts"));
        assert!(store
            .claim_dbss_lease("other", "b", now, now + 1000)
            .await
            .expect("another duty"));
        assert!(store
            .claim_dbss_lease("duty", "b", now + 3001, now + 5000)
            .await
            .expect("b after a's lease ran out"));
        store.release_dbss_lease("duty", "a").await.expect("noop");
        assert!(!store
            .claim_dbss_lease("duty", "a", now + 3002, now + 6000)
            .await
            .expect("a's release of b's lease changed nothing"));
        store
            .release_dbss_lease("duty", "b")
            .await
            .expect("release");
        assert!(store
            .claim_dbss_lease("duty", "a", now + 3003, now + 6000)
            .await
            .expect("free again"));
    })
    .await;
}

/// A statement routed to the default partition while its day's partition is being attached
/// (the keeper holds the default partition meanwhile) is stored in the new partition, not
/// refused: PostgreSQL's check violation (23514) on the default partition reached an agent as
/// a 500 in a fresh-clone run, the keeper having started with the server.
#[tokio::test]
async fn a_statement_arriving_while_its_day_s_partition_is_attached_is_stored() {
    on_both(|store, backend| async move {
        if backend != Backend::Postgres {
            return;
        }
        let inst = hex32();
        let day = day_of(now_micros()) + 10;
        let name = partition_name(day);
        let mut keeper = store.pool().begin().await.expect("begin");
        for stmt in [
            "LOCK TABLE dbss_sqls_default IN EXCLUSIVE MODE".to_string(),
            format!("CREATE TABLE {name} (LIKE dbss_sqls INCLUDING DEFAULTS)"),
        ] {
            sqlx::query(&stmt)
                .execute(&mut *keeper)
                .await
                .expect("keeper");
        }
        let writer = {
            let (store, row) = (store.clone(), sql(&inst, 1, day * DAY + 5));
            tokio::spawn(async move { store.insert_audit_sqls(&[row]).await })
        };
        // The writer routes its row to the default partition and waits for the keeper.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        sqlx::query(&format!(
            "ALTER TABLE dbss_sqls ATTACH PARTITION {name} FOR VALUES FROM ({}) TO ({})",
            day * DAY,
            (day + 1) * DAY
        ))
        .execute(&mut *keeper)
        .await
        .expect("attach");
        keeper.commit().await.expect("commit");
        assert_eq!(writer.await.expect("join").expect("stored"), [true]);
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {name}"))
            .fetch_one(store.pool())
            .await
            .expect("count");
        assert_eq!(n, 1, "the statement is in its day's partition");
    })
    .await;
}
