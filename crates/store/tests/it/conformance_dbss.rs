//! Store conformance, DBSS: audit instances and databases, limits, paging and counters, probe
//! claims and outcomes; every case runs on SQLite and on PostgreSQL.

use crate::common;

use common::on_both;
use plugboard_core::ids::hex32;
use plugboard_core::time::now_micros;
use plugboard_store::dbss::*;
use plugboard_store::testing::TestDb;
use plugboard_store::StoreError;

fn instance(project: &str, limit: i64) -> AuditInstance {
    AuditInstance {
        id: hex32(),
        project_id: project.into(),
        name: "audit".into(),
        edition: "custom".into(),
        database_limit: limit,
        database_count: 0,
        on_count: 0,
        status: "ACTIVE".into(),
        created_at: now_micros(),
    }
}

fn database(instance: &str, name: &str, port: &str) -> AuditDatabase {
    AuditDatabase {
        id: plugboard_core::ids::dbss_database_id(),
        instance_id: instance.into(),
        db_classification: "ECS".into(),
        name: name.into(),
        db_type: "MYSQL".into(),
        version: "10".into(),
        charset: "UTF8".into(),
        ip: "127.0.0.1".into(),
        port: port.into(),
        os: "LINUX64".into(),
        instance_name: String::new(),
        status: "OFF".into(),
        audit_status: "SHUTOFF".into(),
        audit_reason: String::new(),
        probed_at: 0,
        created_at: now_micros(),
    }
}

#[tokio::test]
async fn limit_duplicates_paging_and_counters() {
    on_both(|store, _| async move {
        let project = hex32();
        let inst = instance(&project, 3);
        store.create_audit_instance(&inst).await.expect("instance");
        // Concurrent adds never pass the limit.
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let s = store.clone();
                let d = database(&inst.id, &format!("db{i}"), "3306");
                let p = project.clone();
                tokio::spawn(async move { s.add_audit_database(&p, &d).await })
            })
            .collect();
        let mut ok = 0;
        let mut limited = 0;
        for t in tasks {
            match t.await.expect("join") {
                Ok(()) => ok += 1,
                Err(AddDatabaseError::LimitReached) => limited += 1,
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert_eq!((ok, limited), (3, 5));
        let inst = store
            .get_audit_instance(&project, &inst.id)
            .await
            .expect("get");
        assert_eq!(inst.database_count, 3);
        let (page, total) = store
            .list_audit_databases(&inst, None, 0, 2)
            .await
            .expect("list");
        assert_eq!((page.len(), total), (2, 3));
        let (rest, _) = store
            .list_audit_databases(&inst, None, 2, 2)
            .await
            .expect("list");
        assert_eq!(rest.len(), 1);
        assert!(!page.iter().any(|d| d.id == rest[0].id));

        // Duplicate ip+port+name in one instance; and another project's view is empty.
        let big = instance(&project, 10);
        store.create_audit_instance(&big).await.expect("instance");
        let d = database(&big.id, "orders", "5432");
        store.add_audit_database(&project, &d).await.expect("add");
        assert!(matches!(
            store
                .add_audit_database(&project, &database(&big.id, "orders", "5432"))
                .await,
            Err(AddDatabaseError::Duplicate)
        ));
        assert!(matches!(
            store
                .add_audit_database(&hex32(), &database(&big.id, "x", "1"))
                .await,
            Err(AddDatabaseError::InstanceNotFound)
        ));
        let big_now = store
            .get_audit_instance(&project, &big.id)
            .await
            .expect("get");
        assert_eq!(big_now.database_count, 1, "a refused add is not counted");
        assert!(matches!(
            store.get_audit_instance(&hex32(), &big.id).await,
            Err(StoreError::NotFound)
        ));

        // Switch and delete keep the counters true.
        assert!(store
            .switch_audit_database(&big.id, &d.id, true)
            .await
            .expect("on"));
        assert!(!store
            .switch_audit_database(&big.id, &d.id, true)
            .await
            .expect("on again"));
        let big_now = store
            .get_audit_instance(&project, &big.id)
            .await
            .expect("get");
        assert_eq!(big_now.on_count, 1);
        let (on, on_total) = store
            .list_audit_databases(&big_now, Some("ON"), 0, 10)
            .await
            .expect("list");
        assert_eq!((on.len(), on_total), (1, 1));
        let (off, off_total) = store
            .list_audit_databases(&big_now, Some("OFF"), 0, 10)
            .await
            .expect("list");
        assert_eq!((off.len(), off_total), (0, 0));
        store
            .delete_audit_database(&big.id, &d.id)
            .await
            .expect("delete");
        let big_now = store
            .get_audit_instance(&project, &big.id)
            .await
            .expect("get");
        assert_eq!((big_now.database_count, big_now.on_count), (0, 0));
        assert!(matches!(
            store.delete_audit_database(&big.id, &d.id).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store.switch_audit_database(&big.id, &d.id, true).await,
            Err(StoreError::NotFound)
        ));

        store
            .delete_audit_instance(&project, &inst.id)
            .await
            .expect("delete instance");
        assert!(matches!(
            store.get_audit_database(&inst.id, &page[0].id).await,
            Err(StoreError::NotFound)
        ));
    })
    .await;
}

#[tokio::test]
async fn probe_claims_and_outcomes() {
    on_both(|store, _| async move {
        let project = hex32();
        let inst = instance(&project, 100);
        store.create_audit_instance(&inst).await.expect("instance");
        let mut ids = vec![];
        for i in 0..10 {
            let d = database(&inst.id, &format!("db{i}"), "3306");
            store.add_audit_database(&project, &d).await.expect("add");
            ids.push(d.id);
        }
        for id in &ids[..6] {
            store
                .switch_audit_database(&inst.id, id, true)
                .await
                .expect("on");
        }
        let now = now_micros();
        let first = store
            .claim_due_probes(now, now + 1_000_000, 4)
            .await
            .expect("claim");
        let second = store
            .claim_due_probes(now, now + 1_000_000, 4)
            .await
            .expect("claim");
        assert_eq!(
            (first.len(), second.len()),
            (4, 2),
            "only ON rows, each claimed once"
        );
        assert!(store
            .claim_due_probes(now, now + 1_000_000, 4)
            .await
            .expect("claim")
            .is_empty());
        let later = store
            .claim_due_probes(now + 2_000_000, now + 3_000_000, 10)
            .await
            .expect("claim");
        assert_eq!(later.len(), 6, "due again after the interval");

        // An outcome for a database switched OFF meanwhile does not overwrite SHUTOFF.
        let generation = |id: &str| {
            later
                .iter()
                .find(|p| p.id == id)
                .map(|p| p.generation)
                .expect("claimed")
        };
        store
            .switch_audit_database(&inst.id, &ids[0], false)
            .await
            .expect("off");
        let written = store
            .record_probes(&[
                ProbeOutcome {
                    id: ids[0].clone(),
                    generation: generation(&ids[0]),
                    audit_status: "ACTIVE",
                    audit_reason: String::new(),
                    probed_at: now,
                },
                ProbeOutcome {
                    id: ids[1].clone(),
                    generation: generation(&ids[1]),
                    audit_status: "ERROR",
                    audit_reason: "connection refused".into(),
                    probed_at: now,
                },
            ])
            .await
            .expect("record");
        assert_eq!(written, 1, "only the database still ON at its generation");
        let off = store
            .get_audit_database(&inst.id, &ids[0])
            .await
            .expect("get");
        assert_eq!(
            (off.status.as_str(), off.audit_status.as_str()),
            ("OFF", "SHUTOFF")
        );
        let err = store
            .get_audit_database(&inst.id, &ids[1])
            .await
            .expect("get");
        assert_eq!(
            (err.audit_status.as_str(), err.audit_reason.as_str()),
            ("ERROR", "connection refused")
        );
    })
    .await;
}

/// A probe claimed before OFF → ON (or ON → OFF → ON) answers a generation that is gone:
/// its outcome is dropped, and only the probe claimed after the last switch is recorded.
#[tokio::test]
async fn stale_probe_after_off_and_on_is_not_recorded() {
    on_both(|store, backend| async move {
        let project = hex32();
        let inst = instance(&project, 10);
        store.create_audit_instance(&inst).await.expect("instance");
        let d = database(&inst.id, "orders", "3306");
        store.add_audit_database(&project, &d).await.expect("add");
        assert!(store
            .switch_audit_database(&inst.id, &d.id, true)
            .await
            .expect("on"));
        let now = now_micros();
        let [stale] = <[DueProbe; 1]>::try_from(
            store
                .claim_due_probes(now, now + 60_000_000, 10)
                .await
                .expect("claim"),
        )
        .expect("one claim");
        assert_eq!(stale.id, d.id);

        // While that probe runs, the database is switched OFF and ON again.
        assert!(store
            .switch_audit_database(&inst.id, &d.id, false)
            .await
            .expect("off"));
        assert!(store
            .switch_audit_database(&inst.id, &d.id, true)
            .await
            .expect("on again"));
        let outcome = |p: &DueProbe, status: &'static str, reason: &str| ProbeOutcome {
            id: p.id.clone(),
            generation: p.generation,
            audit_status: status,
            audit_reason: reason.into(),
            probed_at: now_micros(),
        };
        // The stale probe's result arrives: dropped, the database waits for its new probe.
        let written = store
            .record_probes(&[outcome(&stale, "ERROR", "connection refused")])
            .await
            .expect("record");
        assert_eq!(written, 0, "{backend:?}: a stale outcome is not written");
        let seen = store
            .get_audit_database(&inst.id, &d.id)
            .await
            .expect("get");
        assert_eq!(
            (
                seen.status.as_str(),
                seen.audit_status.as_str(),
                seen.audit_reason.as_str(),
                seen.probed_at
            ),
            ("ON", "SHUTOFF", "", 0),
            "{backend:?}"
        );

        // Switched ON again, it is due at once, under a new generation; that probe counts.
        let [fresh] = <[DueProbe; 1]>::try_from(
            store
                .claim_due_probes(now, now + 60_000_000, 10)
                .await
                .expect("claim"),
        )
        .expect("due again after ON");
        assert_ne!(fresh.generation, stale.generation);
        let written = store
            .record_probes(&[outcome(&fresh, "ACTIVE", "")])
            .await
            .expect("record");
        assert_eq!(written, 1);
        // ... and a late stale result after it does not overwrite it either.
        store
            .record_probes(&[outcome(&stale, "ERROR", "late")])
            .await
            .expect("record");
        let seen = store
            .get_audit_database(&inst.id, &d.id)
            .await
            .expect("get");
        assert_eq!(
            (seen.audit_status.as_str(), seen.audit_reason.as_str()),
            ("ACTIVE", ""),
            "{backend:?}"
        );

        // Re-probes of an unchanged database keep its generation and are recorded.
        let [again] = <[DueProbe; 1]>::try_from(
            store
                .claim_due_probes(now + 120_000_000, now + 180_000_000, 10)
                .await
                .expect("claim"),
        )
        .expect("re-probe");
        assert_eq!(again.generation, fresh.generation);
        let written = store
            .record_probes(&[outcome(&again, "ERROR", "connection refused")])
            .await
            .expect("record");
        assert_eq!(written, 1);
    })
    .await;
}

#[tokio::test]
async fn concurrent_claims_on_separate_pools_do_not_overlap() {
    for backend in crate::common::backends() {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let project = hex32();
        let inst = instance(&project, 1000);
        store.create_audit_instance(&inst).await.expect("instance");
        for i in 0..300 {
            let d = database(&inst.id, &format!("db{i}"), "1");
            store.add_audit_database(&project, &d).await.expect("add");
            store
                .switch_audit_database(&inst.id, &d.id, true)
                .await
                .expect("on");
        }
        let mut pools = vec![];
        for _ in 0..3 {
            pools.push(db.store().await);
        }
        let now = now_micros();
        let tasks: Vec<_> = pools
            .iter()
            .cloned()
            .map(|s| {
                tokio::spawn(async move {
                    let mut got = vec![];
                    loop {
                        let batch = s
                            .claim_due_probes(now, now + 60_000_000, 25)
                            .await
                            .expect("claim");
                        if batch.is_empty() {
                            break got;
                        }
                        got.extend(batch.into_iter().map(|p| p.id));
                    }
                })
            })
            .collect();
        let mut all = vec![];
        for t in tasks {
            all.extend(t.await.expect("join"));
        }
        let unique: std::collections::HashSet<_> = all.iter().collect();
        assert_eq!(all.len(), 300, "{backend:?}: every due row claimed");
        assert_eq!(unique.len(), 300, "{backend:?}: no row claimed twice");
        for p in pools {
            p.close().await;
        }
        store.close().await;
        db.cleanup().await;
    }
}
