//! ZStack sessions on both back-ends (`plugboard_store::zstack`): a session is created, found
//! by its uuid's hash (expired ones too: the caller checks), deleted once; the per-account
//! bound counts only live sessions (expired ones of the account are removed on the way), is
//! per account, and holds under concurrent logins on separate pools; pruning removes exactly
//! the expired rows.

use crate::common::{backends, on_both};
use plugboard_core::ids::hex32;
use plugboard_store::testing::TestDb;
use plugboard_store::zstack::{CreateSessionError, SessionRow};
use plugboard_store::Store;

const NOW: i64 = 1_000_000_000;
const HOUR: i64 = 3_600_000_000;

fn session(user: &str, created_at: i64, expires_at: i64) -> SessionRow {
    SessionRow {
        uuid_hash: hex32(),
        user_id: user.into(),
        domain_id: "d0".into(),
        created_at,
        expires_at,
    }
}

async fn create(store: &Store, s: &SessionRow, max: i64, now: i64) {
    store
        .create_zstack_session(s, max, now)
        .await
        .unwrap_or_else(|e| panic!("create {}: {e}", s.uuid_hash));
}

#[tokio::test]
async fn sessions_are_created_found_and_deleted_once() {
    on_both(|store, _| async move {
        let s = session("u1", NOW, NOW + HOUR);
        create(&store, &s, 10, NOW).await;
        let found = store.get_zstack_session(&s.uuid_hash).await.expect("get");
        assert_eq!(found.as_ref(), Some(&s), "every column is kept as written");
        assert_eq!(store.get_zstack_session(&hex32()).await.expect("get"), None);

        // The same hash twice is a store error, not a second row.
        assert!(matches!(
            store.create_zstack_session(&s, 10, NOW).await,
            Err(CreateSessionError::Store(_))
        ));

        assert!(store
            .delete_zstack_session(&s.uuid_hash)
            .await
            .expect("delete"));
        assert!(!store
            .delete_zstack_session(&s.uuid_hash)
            .await
            .expect("again"));
        assert_eq!(
            store.get_zstack_session(&s.uuid_hash).await.expect("get"),
            None
        );
    })
    .await;
}

#[tokio::test]
async fn an_expired_session_is_still_found_until_pruned() {
    on_both(|store, _| async move {
        let expired = session("u1", NOW - 2 * HOUR, NOW - HOUR);
        let at_the_edge = session("u2", NOW - HOUR, NOW);
        let live = session("u3", NOW, NOW + HOUR);
        for s in [&expired, &at_the_edge, &live] {
            create(&store, s, 10, s.created_at).await;
        }
        // Found as stored: the caller compares expires_at with its clock.
        let found = store
            .get_zstack_session(&expired.uuid_hash)
            .await
            .expect("get");
        assert_eq!(found.map(|s| s.expires_at), Some(NOW - HOUR));

        // Pruning at NOW removes what expired at or before NOW, nothing else.
        assert_eq!(store.prune_zstack_sessions(NOW).await.expect("prune"), 2);
        assert_eq!(
            store
                .get_zstack_session(&expired.uuid_hash)
                .await
                .expect("get"),
            None
        );
        assert_eq!(
            store
                .get_zstack_session(&at_the_edge.uuid_hash)
                .await
                .expect("get"),
            None
        );
        assert!(store
            .get_zstack_session(&live.uuid_hash)
            .await
            .expect("get")
            .is_some());
        assert_eq!(store.prune_zstack_sessions(NOW).await.expect("again"), 0);
    })
    .await;
}

#[tokio::test]
async fn the_bound_is_per_account_and_counts_live_sessions_only() {
    on_both(|store, _| async move {
        let max = 3;
        let mut firsts = Vec::new();
        for _ in 0..max {
            let s = session("u1", NOW, NOW + HOUR);
            create(&store, &s, max, NOW).await;
            firsts.push(s);
        }
        // The fourth of u1 is refused with the count; nothing was written.
        let fourth = session("u1", NOW, NOW + HOUR);
        match store.create_zstack_session(&fourth, max, NOW).await {
            Err(CreateSessionError::TooMany(n)) => assert_eq!(n, max),
            other => panic!("expected TooMany({max}), got {other:?}"),
        }
        assert_eq!(
            store
                .get_zstack_session(&fourth.uuid_hash)
                .await
                .expect("get"),
            None
        );

        // Another account is not held back by u1's sessions.
        let other = session("u2", NOW, NOW + HOUR);
        create(&store, &other, max, NOW).await;

        // Still live half an hour on: still refused.
        assert!(matches!(
            store
                .create_zstack_session(&fourth, max, NOW + HOUR / 2)
                .await,
            Err(CreateSessionError::TooMany(3))
        ));
        // Once they expire they no longer count, and this login of u1 removes them.
        let mine = session("u1", NOW + HOUR, NOW + 2 * HOUR);
        create(&store, &mine, max, NOW + HOUR).await;
        for s in &firsts {
            assert_eq!(
                store.get_zstack_session(&s.uuid_hash).await.expect("get"),
                None
            );
        }
        assert!(store
            .get_zstack_session(&mine.uuid_hash)
            .await
            .expect("get")
            .is_some());
        // u2's expired session is left to the pruner: a login cleans only its own account.
        assert!(store
            .get_zstack_session(&other.uuid_hash)
            .await
            .expect("get")
            .is_some());
        assert_eq!(
            store
                .prune_zstack_sessions(NOW + HOUR)
                .await
                .expect("prune"),
            1
        );
        assert!(store
            .get_zstack_session(&mine.uuid_hash)
            .await
            .expect("get")
            .is_some());
    })
    .await;
}

#[tokio::test]
async fn a_deleted_session_makes_room_under_the_bound() {
    on_both(|store, _| async move {
        let a = session("u1", NOW, NOW + HOUR);
        let b = session("u1", NOW, NOW + HOUR);
        create(&store, &a, 2, NOW).await;
        create(&store, &b, 2, NOW).await;
        let c = session("u1", NOW, NOW + HOUR);
        assert!(matches!(
            store.create_zstack_session(&c, 2, NOW).await,
            Err(CreateSessionError::TooMany(2))
        ));
        assert!(store
            .delete_zstack_session(&a.uuid_hash)
            .await
            .expect("delete"));
        create(&store, &c, 2, NOW).await;
    })
    .await;
}

/// Logins of one account at once on separate pools (separate processes of a scale-out): never
/// more live sessions than the bound, and every refusal is `TooMany`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_logins_on_separate_pools_keep_the_bound() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let mut stores = Vec::new();
        for _ in 0..4 {
            stores.push(db.store().await);
        }
        let max = 5;
        let mut tasks = Vec::new();
        for (i, store) in stores.iter().enumerate() {
            for _ in 0..5 {
                let store = store.clone();
                tasks.push(tokio::spawn(async move {
                    let s = session("u1", NOW, NOW + HOUR);
                    (i, store.create_zstack_session(&s, max, NOW).await)
                }));
            }
        }
        let (mut made, mut refused) = (0, 0);
        for t in tasks {
            match t.await.expect("join") {
                (_, Ok(())) => made += 1,
                (_, Err(CreateSessionError::TooMany(n))) => {
                    assert_eq!(n, max, "{backend:?}: refused at the bound");
                    refused += 1;
                }
                (i, Err(e)) => panic!("{backend:?}: pool {i}: {e}"),
            }
        }
        assert_eq!((made, refused), (max, 20 - max), "{backend:?}");
        for s in stores {
            s.close().await;
        }
        db.cleanup().await;
    }
}
