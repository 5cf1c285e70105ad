//! Store calls cancelled at any point (a client that hangs up drops the request future) must
//! never leave a pooled connection inside a transaction: on SQLite that connection would hold
//! the write lock and every later write would fail. Runs on SQLite and on PostgreSQL.

use plugboard_store::testing::TestDb;
use plugboard_store::{Backend, Store, StoreError};
use rand::Rng;
use std::time::Duration;

async fn on_both<F, Fut>(case: F)
where
    F: Fn(Store, Backend) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for backend in crate::common::backends() {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        case(store.clone(), backend).await;
        store.close().await;
        db.cleanup().await;
    }
}

/// One write in a transaction: begin, insert, commit.
async fn tx_write(store: &Store, id: String) -> Result<(), StoreError> {
    let mut tx = store.begin_write().await?;
    sqlx::query("INSERT INTO cancel_probe (id, n) VALUES ($1, $2)")
        .bind(id)
        .bind(1_i64)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// After the storm, writes must go through at once, from as many callers as the pool has
/// connections (so a leaked connection would be picked up by one of them).
async fn writes_still_work(store: &Store, backend: Backend) {
    let mut calls = Vec::new();
    for i in 0..24 {
        let store = store.clone();
        calls.push(tokio::spawn(async move {
            let id = format!("after-{i}");
            let write = async {
                tx_write(&store, id).await?;
                // A store call that begins a transaction and rolls it back (no such user).
                match store.delete_user("no-such-user").await {
                    Err(StoreError::NotFound) => Ok(()),
                    other => other,
                }
            };
            tokio::time::timeout(Duration::from_secs(3), write).await
        }));
    }
    for call in calls {
        match call.await.expect("task") {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("{backend:?}: a write after cancelled writes failed: {e}"),
            Err(_) => {
                panic!("{backend:?}: a write after cancelled writes hung (write lock leaked)")
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_cancelled_at_random_points_never_leak_a_transaction() {
    on_both(|store, backend| async move {
        sqlx::query("CREATE TABLE cancel_probe (id TEXT PRIMARY KEY, n BIGINT NOT NULL)")
            .execute(store.pool())
            .await
            .expect("probe table");
        let mut rng = rand::thread_rng();
        for round in 0..40 {
            // Ten writers at once (contention makes each await point last), each dropped
            // after a random 0–1.5 ms.
            let mut calls = Vec::new();
            for k in 0..10 {
                let store = store.clone();
                let after = Duration::from_micros(rng.gen_range(0..1500));
                let id = format!("r{round}-{k}");
                calls.push(tokio::spawn(async move {
                    let write = async {
                        if k % 2 == 0 {
                            tx_write(&store, id).await
                        } else {
                            store.delete_user(&id).await
                        }
                    };
                    let _ = tokio::time::timeout(after, write).await;
                }));
            }
            for call in calls {
                call.await.expect("task");
            }
        }
        writes_still_work(&store, backend).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_returned_inside_a_transaction_is_closed_not_reused() {
    on_both(|store, backend| async move {
        sqlx::query("CREATE TABLE cancel_probe (id TEXT PRIMARY KEY, n BIGINT NOT NULL)")
            .execute(store.pool())
            .await
            .expect("probe table");
        // Leave a connection inside a write transaction whatever way: here the transaction
        // value is forgotten, so nothing will ever roll it back.
        let mut conn = store.pool().acquire().await.expect("acquire");
        let begin = match backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        let tx = sqlx::Connection::begin_with(&mut *conn, begin)
            .await
            .expect("begin");
        std::mem::forget(tx);
        drop(conn);
        // The pool closed it (rolling back): every later write goes through at once.
        writes_still_work(&store, backend).await;
    })
    .await;
}
