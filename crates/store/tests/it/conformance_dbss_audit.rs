//! Store conformance, DBSS audit: agents and their databases, statements stored once per
//! `(agent, db, seq)` and listed with every filter, rule versions, alarms opened, counted and
//! closed; every case runs on SQLite and on PostgreSQL.

use crate::common;

use common::on_both;
use plugboard_core::ids::{dbss_database_id, hex32};
use plugboard_core::time::now_micros;
use plugboard_store::dbss_audit::*;
use plugboard_store::StoreError;

fn agent(instance: &str) -> Agent {
    Agent {
        id: dbss_database_id(),
        instance_id: instance.into(),
        agent_type: "DB".into(),
        agent_os: "LINUX64_X86".into(),
        agent_ip: "127.0.0.1".into(),
        agent_nic: String::new(),
        cpu_threshold: 80,
        mem_threshold: 80,
        status: 1,
        heartbeat_at: 0,
        shipped_at: 0,
        last_error: String::new(),
        created_at: now_micros(),
        db_ids: vec![],
    }
}

fn sql(instance: &str, agent: &str, seq: i64, text: &str, level: &str, at: i64) -> SqlRow {
    SqlRow {
        id: dbss_database_id(),
        instance_id: instance.into(),
        db_id: "db1".into(),
        agent_id: agent.into(),
        seq,
        start_time: at,
        sql_statement: text.into(),
        risk_level: level.into(),
        query_type: "SELECT".into(),
        db_user: if seq % 2 == 0 { "even" } else { "odd" }.into(),
        objects: "[]".into(),
        sql_response: "SUCCESS".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn agents_attach_detach_and_go_with_their_last_database() {
    on_both(|store, _| async move {
        let inst = hex32();
        let a = agent(&inst);
        store.add_audit_agent(&a, "db1", 2).await.expect("add");
        let b = agent(&inst);
        store.add_audit_agent(&b, "db1", 2).await.expect("second");
        assert!(matches!(
            store.add_audit_agent(&agent(&inst), "db1", 2).await,
            Err(AddAgentError::LimitReached)
        ));
        store
            .attach_audit_agent(&inst, &a.id, "db2", 2, now_micros())
            .await
            .expect("attach");
        store
            .attach_audit_agent(&inst, &a.id, "db2", 2, now_micros())
            .await
            .expect("attach twice changes nothing");
        assert_eq!(
            store
                .get_audit_agent(&inst, &a.id)
                .await
                .expect("get")
                .db_ids,
            ["db1", "db2"]
        );
        assert_eq!(
            store
                .list_audit_agents(&inst, Some("db2"))
                .await
                .expect("list")
                .len(),
            1
        );
        assert!(matches!(
            store.get_audit_agent(&hex32(), &a.id).await,
            Err(StoreError::NotFound)
        ));
        store
            .detach_audit_agent(&inst, &a.id, "db1")
            .await
            .expect("detach");
        store
            .detach_audit_agent(&inst, &a.id, "db2")
            .await
            .expect("detach last");
        assert!(matches!(
            store.get_audit_agent(&inst, &a.id).await,
            Err(StoreError::NotFound)
        ));
        store
            .switch_audit_agent(&inst, &b.id, 0)
            .await
            .expect("switch");
        assert_eq!(
            store
                .get_audit_agent(&inst, &b.id)
                .await
                .expect("get")
                .status,
            0
        );
    })
    .await;
}

#[tokio::test]
async fn statements_are_stored_once_and_listed_by_every_filter() {
    on_both(|store, _| async move {
        let inst = hex32();
        let now = now_micros();
        let rows: Vec<SqlRow> = (0..450)
            .map(|i| {
                let level = if i % 3 == 0 { "HIGH" } else { "NO_RISK" };
                sql(
                    &inst,
                    "ag",
                    i,
                    &format!("SELECT * FROM Konto_{i} where x = '50%'"),
                    level,
                    now + i,
                )
            })
            .collect();
        let first = store.insert_audit_sqls(&rows).await.expect("insert");
        assert!(first.iter().all(|x| *x));
        // The same events again (new row ids, same seq): nothing stored twice.
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
            .all(|x| !*x));
        let base = SqlFilter {
            instance_id: inst.clone(),
            from: now,
            to: now + 1000,
            offset: 0,
            limit: 10,
            ..Default::default()
        };
        let (page, total) = store.list_audit_sqls(&base).await.expect("list");
        assert_eq!((page.len(), total), (10, 450));
        assert_eq!(page[0].seq, 449, "newest first");
        let f = SqlFilter {
            risk_levels: vec!["HIGH".into()],
            ascending: true,
            ..base.clone()
        };
        let (page, total) = store.list_audit_sqls(&f).await.expect("risk");
        assert_eq!((page[0].seq, total), (0, 150));
        let f = SqlFilter {
            sql_contains: Some("konto_12".into()),
            ..base.clone()
        };
        assert_eq!(
            store.list_audit_sqls(&f).await.expect("substring").1,
            11,
            "12, 120..129"
        );
        let f = SqlFilter {
            sql_contains: Some("50%".into()),
            ..base.clone()
        };
        assert_eq!(store.list_audit_sqls(&f).await.expect("literal %").1, 450);
        let f = SqlFilter {
            sql_contains: Some("5_%".into()),
            ..base.clone()
        };
        assert_eq!(store.list_audit_sqls(&f).await.expect("literal _").1, 0);
        let f = SqlFilter {
            db_user: Some("even".into()),
            ..base.clone()
        };
        assert_eq!(store.list_audit_sqls(&f).await.expect("user").1, 225);
        let f = SqlFilter {
            db_ids: Some(vec![]),
            ..base.clone()
        };
        assert_eq!(store.list_audit_sqls(&f).await.expect("no db").1, 0);
        let f = SqlFilter {
            from: now + 100,
            to: now + 199,
            ..base.clone()
        };
        assert_eq!(store.list_audit_sqls(&f).await.expect("window").1, 100);
        let one = store.get_audit_sql(&inst, &rows[7].id).await.expect("get");
        assert_eq!(one.sql_statement, rows[7].sql_statement);
        assert!(matches!(
            store.get_audit_sql(&hex32(), &rows[7].id).await,
            Err(StoreError::NotFound)
        ));
    })
    .await;
}

#[tokio::test]
async fn rule_versions_and_alarms() {
    on_both(|store, _| async move {
        let inst = hex32();
        let rule = RiskRule {
            id: dbss_database_id(),
            instance_id: inst.clone(),
            name: "r".into(),
            rule_type: "SYSTEM".into(),
            kind: "OPERATE".into(),
            status: "ON".into(),
            rank: 1,
            risk_level: "HIGH".into(),
            schemas: "[]".into(),
            affect_symbol: "NO_MATCH".into(),
            execution_symbol: "NO_MATCH".into(),
            ..Default::default()
        };
        assert_eq!(store.audit_rule_version(&inst).await.expect("v0"), 0);
        store
            .seed_audit_rules(std::slice::from_ref(&rule), &[])
            .await
            .expect("seed");
        store
            .seed_audit_rules(std::slice::from_ref(&rule), &[])
            .await
            .expect("seed again");
        assert_eq!(store.audit_rule_version(&inst).await.expect("v1"), 1);
        let custom = RiskRule {
            id: dbss_database_id(),
            name: "c".into(),
            rule_type: "CUSTOMIZE".into(),
            ..rule.clone()
        };
        assert!(store.add_audit_risk_rule(&custom, 1).await.expect("add"));
        assert!(!store
            .add_audit_risk_rule(
                &RiskRule {
                    id: dbss_database_id(),
                    name: "d".into(),
                    ..custom.clone()
                },
                1
            )
            .await
            .expect("limit"));
        let rules = store.list_audit_risk_rules(&inst).await.expect("list");
        assert_eq!(
            rules
                .iter()
                .map(|r| (r.name.as_str(), r.rank))
                .collect::<Vec<_>>(),
            [("r", 1), ("c", 2)]
        );
        assert_eq!(store.audit_rule_version(&inst).await.expect("v2"), 2);

        let now = now_micros();
        let quiet = 600_000_000;
        let m = AlarmMatch {
            rule_id: rule.id.clone(),
            rule_name: "r".into(),
            db_id: "db1".into(),
            db_label: "orders (10.0.0.5)".into(),
            risk: "HIGH".into(),
            count: 2,
            at: now,
        };
        store
            .raise_audit_alarms(
                &inst,
                std::slice::from_ref(&m),
                now,
                quiet,
                dbss_database_id,
            )
            .await
            .expect("raise");
        store
            .raise_audit_alarms(
                &inst,
                std::slice::from_ref(&m),
                now + 1,
                quiet,
                dbss_database_id,
            )
            .await
            .expect("count");
        let f = AlarmFilter {
            instance_id: inst.clone(),
            from: now - 1,
            to: now + quiet * 3,
            limit: 10,
            ..Default::default()
        };
        let (alarms, total) = store.list_audit_alarms(&f).await.expect("list");
        assert_eq!(
            (total, alarms[0].match_count, alarms[0].life.as_str()),
            (1, 4, "ON")
        );
        // Quiet for longer than the window: closed, and the next match opens a new one.
        store
            .close_quiet_audit_alarms(&inst, now + 1 + quiet + 1, quiet)
            .await
            .expect("close");
        store
            .raise_audit_alarms(&inst, &[m], now + 2 * quiet, quiet, dbss_database_id)
            .await
            .expect("new");
        let (alarms, total) = store.list_audit_alarms(&f).await.expect("list");
        assert_eq!(total, 2);
        assert_eq!(
            alarms.iter().map(|a| a.life.as_str()).collect::<Vec<_>>(),
            ["ON", "OFF"]
        );
        assert_eq!(alarms[1].fix_time, now + 1 + quiet);
    })
    .await;
}
