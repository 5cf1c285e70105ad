//! Store conformance, DBSS audit statistics and budget: counters bumped with the statements
//! they count (duplicates not counted twice), keyed by the statement's time, surviving the
//! statements' deletion; the shared QPS bucket and its overflow alarm; the silent-agent alarm.
//! Every case runs on SQLite and on PostgreSQL, with explicit times (no clock in the asserts).

use crate::common::on_both;
use plugboard_core::ids::{dbss_database_id, hex32};
use plugboard_store::dbss_audit::counters::{minute_of, MINUTE};
use plugboard_store::dbss_audit::*;

const T0: i64 = 1_746_093_600_000_000; // 2025-05-01 10:00:00 UTC
const SEC: i64 = 1_000_000;

fn row(instance: &str, seq: i64, at: i64) -> SqlRow {
    SqlRow {
        id: dbss_database_id(),
        instance_id: instance.into(),
        db_id: "db1".into(),
        agent_id: "agent-1".into(),
        seq,
        start_time: at,
        query_type: "SELECT".into(),
        risk_level: "NO_RISK".into(),
        db_user: "app".into(),
        client_ip: "10.0.0.7".into(),
        db_session_id: "s1".into(),
        objects: "[]".into(),
        sql_statement: "select 1".into(),
        sql_response: "SUCCESS".into(),
        ..Default::default()
    }
}

fn scope(instance: &str, from: i64, to: i64) -> CounterScope {
    CounterScope {
        instance_id: instance.into(),
        db_ids: None,
        from,
        to,
    }
}

#[tokio::test]
async fn counters_follow_the_stored_statements_and_outlive_them() {
    on_both(|store, _| async move {
        let inst = hex32();
        let injected = SqlRow {
            query_type: "SELECT".into(),
            risk_level: "HIGH".into(),
            rule_id: "rule-inj".into(),
            rule_name: "SQL_Injection_Tautology".into(),
            rule_type: "SQL_INJECTION".into(),
            ..row(&inst, 2, T0 + 5 * SEC)
        };
        let batch = vec![
            SqlRow {
                query_type: "LOGIN".into(),
                log_result: "SUCCESS".into(),
                sql_statement: "LOGIN".into(),
                ..row(&inst, 1, T0)
            },
            injected,
            SqlRow {
                query_type: "INSERT_SELECT".into(),
                ..row(&inst, 3, T0 + 70 * SEC)
            },
            SqlRow {
                query_type: "LOGIN".into(),
                log_result: "FAILED".into(),
                sql_statement: "LOGIN FAILED".into(),
                risk_level: "MEDIUM".into(),
                rule_id: "rule-login".into(),
                rule_name: "Login_Failure_Detection".into(),
                rule_type: "RISK_OPERATION".into(),
                db_session_id: "s9".into(),
                ..row(&inst, 4, T0 + 71 * SEC)
            },
            // Late: an hour before the others, counted in its own minute.
            SqlRow {
                query_type: "DROP_TABLE".into(),
                db_session_id: "s2".into(),
                db_user: "ops".into(),
                ..row(&inst, 5, T0 - 3600 * SEC)
            },
        ];
        let first = store.insert_audit_sqls(&batch).await.expect("insert");
        assert_eq!(first, vec![true; 5]);
        // The same batch again stores nothing and counts nothing.
        let again: Vec<SqlRow> = batch
            .iter()
            .map(|r| SqlRow {
                id: dbss_database_id(),
                ..r.clone()
            })
            .collect();
        assert_eq!(
            store.insert_audit_sqls(&again).await.expect("again"),
            vec![false; 5]
        );

        let check = || async {
            let s = scope(&inst, minute_of(T0 - 3600 * SEC), T0 + 3600 * SEC);
            let total = store.audit_counter_totals(&s).await.expect("totals");
            assert_eq!(
                total,
                Counts {
                    sql_num: 3,
                    select_num: 1,
                    insert_num: 1,
                    other_num: 1,
                    high_num: 1,
                    medium_num: 1,
                    no_risk_num: 3,
                    new_session_num: 1,
                    fail_session_num: 1,
                    injection_num: 1,
                    risk_operation_num: 1,
                    ..Default::default()
                }
            );
            // Per minute from T0: the login and the injection in minute 0, the rest in minute 1.
            let b = store
                .audit_counter_buckets(&scope(&inst, T0, T0 + 10 * MINUTE), MINUTE)
                .await
                .expect("buckets");
            assert_eq!(b.len(), 2, "{b:?}");
            assert_eq!((b[0].0, b[0].1.sql_num, b[0].1.new_session_num), (0, 1, 1));
            assert_eq!(
                (b[1].0, b[1].1.insert_num, b[1].1.fail_session_num),
                (1, 1, 1)
            );
            // Active sessions: s1 has statements in minutes 0 and 1; the failed login none.
            let a = store
                .audit_active_session_buckets(&scope(&inst, T0, T0 + 10 * MINUTE), 10 * MINUTE)
                .await
                .expect("active");
            assert_eq!(a, vec![(0, 1)]);
            let by_user = store
                .audit_session_breakdown(&s, true)
                .await
                .expect("by user");
            let by_user: Vec<(String, i64)> =
                by_user.into_iter().map(|c| (c.key, c.sessions)).collect();
            assert_eq!(
                by_user,
                vec![("app".to_string(), 1), ("ops".to_string(), 1)]
            );
            let rules = store.audit_rule_counts(&s).await.expect("rules");
            let rules: Vec<(String, String, i64)> = rules
                .into_iter()
                .map(|r| (r.rule_name, r.rule_type, r.count))
                .collect();
            assert_eq!(
                rules,
                vec![
                    (
                        "SQL_Injection_Tautology".to_string(),
                        "SQL_INJECTION".to_string(),
                        1
                    ),
                    (
                        "Login_Failure_Detection".to_string(),
                        "RISK_OPERATION".to_string(),
                        1
                    ),
                ]
            );
            assert_eq!(
                store.audit_first_minute(&inst).await.expect("first"),
                Some(minute_of(T0 - 3600 * SEC))
            );
            // One database only: another has nothing.
            let other = CounterScope {
                db_ids: Some(vec!["db2".into()]),
                ..s.clone()
            };
            assert_eq!(
                store.audit_counter_totals(&other).await.expect("other"),
                Counts::default()
            );
        };
        check().await;
        // Retention deletes the statements: the statistics stay.
        sqlx::query("DELETE FROM dbss_sqls WHERE instance_id = $1")
            .bind(&inst)
            .execute(store.pool())
            .await
            .expect("delete");
        check().await;
        assert_eq!(
            store.audit_first_minute(&hex32()).await.expect("none"),
            None
        );
    })
    .await;
}

#[tokio::test]
async fn the_qps_bucket_throttles_past_its_burst_and_a_long_overflow_alarms() {
    on_both(|store, _| async move {
        let inst = hex32();
        let budget = QpsBudget {
            rate: 20,
            burst_seconds: 10,
            overflow_after: 2 * SEC,
        };
        let take = |n: i64, at: i64| {
            let store = store.clone();
            let inst = inst.clone();
            async move {
                store
                    .take_audit_qps(&inst, n, at, budget, dbss_database_id)
                    .await
                    .expect("take")
            }
        };
        let open = || async {
            let (alarms, _) = store
                .list_audit_alarms(&AlarmFilter {
                    instance_id: inst.clone(),
                    from: 0,
                    to: i64::MAX,
                    alarm_type: Some("AUDIT_QPS_OVERFLOW".into()),
                    limit: 10,
                    ..Default::default()
                })
                .await
                .expect("alarms");
            alarms
        };
        // The burst: 200 statements.
        let a = take(150, T0).await;
        assert_eq!(
            (a.throttled, a.retry_after_ms, a.alarm_opened),
            (false, 0, false)
        );
        // 100 more at once: 50 owed at 20/s = 2.5 s to wait.
        let b = take(100, T0).await;
        assert_eq!(
            (b.throttled, b.retry_after_ms, b.alarm_opened),
            (true, 2500, false)
        );
        // A second later 20 came back; 10 more still leaves 40 owed.
        let c = take(10, T0 + SEC).await;
        assert_eq!((c.throttled, c.retry_after_ms), (true, 2000));
        assert!(open().await.is_empty());
        // Over budget since T0 for 2 s: the alarm opens, once.
        let d = take(10, T0 + 2 * SEC).await;
        assert!(d.throttled && d.alarm_opened, "{d:?}");
        let e = take(10, T0 + 3 * SEC).await;
        assert!(e.throttled && !e.alarm_opened, "{e:?}");
        let alarms = open().await;
        assert_eq!(alarms.len(), 1);
        assert_eq!(
            (
                alarms[0].life.as_str(),
                alarms[0].risk.as_str(),
                alarms[0].match_count,
                alarms[0].last_match_at
            ),
            ("ON", "HIGH", 2, T0 + 3 * SEC)
        );
        // The debt never exceeds one burst: at most 10 s to wait.
        let f = take(100_000, T0 + 3 * SEC).await;
        assert_eq!(f.retry_after_ms, 10_000);
        // Calm for 2 s (nothing taken): the alarm closes when read.
        store
            .close_calm_audit_qps_alarm(&inst, T0 + 4 * SEC, 2 * SEC)
            .await
            .expect("calm too early");
        assert_eq!(open().await[0].life, "ON");
        store
            .close_calm_audit_qps_alarm(&inst, T0 + 5 * SEC, 2 * SEC)
            .await
            .expect("calm");
        let closed = open().await;
        assert_eq!(
            (closed[0].life.as_str(), closed[0].fix_time),
            ("OFF", T0 + 5 * SEC)
        );
        // Refilled after a full burst's time: within budget again.
        let g = take(150, T0 + 30 * SEC).await;
        assert!(!g.throttled, "{g:?}");
    })
    .await;
}

#[tokio::test]
async fn a_silent_agent_that_is_on_alarms_until_it_speaks() {
    on_both(|store, _| async move {
        let inst = hex32();
        let agent = Agent {
            id: dbss_database_id(),
            instance_id: inst.clone(),
            agent_type: "DB".into(),
            agent_os: "LINUX64_X86".into(),
            agent_ip: "10.0.0.5".into(),
            agent_nic: String::new(),
            cpu_threshold: 80,
            mem_threshold: 80,
            status: 1,
            heartbeat_at: 0,
            shipped_at: 0,
            last_error: String::new(),
            created_at: T0,
            db_ids: vec![],
        };
        store.add_audit_agent(&agent, "db1", 10).await.expect("add");
        let silence = 300 * SEC;
        let alarms = || async {
            store
                .list_audit_alarms(&AlarmFilter {
                    instance_id: inst.clone(),
                    from: 0,
                    to: i64::MAX,
                    alarm_type: Some("RISK_AGENT".into()),
                    limit: 10,
                    ..Default::default()
                })
                .await
                .expect("alarms")
                .0
        };
        // Never heard from, but only just added: no alarm.
        store
            .sync_audit_agent_alarms(&inst, T0 + 10 * SEC, silence, dbss_database_id)
            .await
            .expect("sync");
        assert!(alarms().await.is_empty());
        // Silent for 5 minutes: one alarm, dated when the silence reached 5 minutes.
        for at in [T0 + silence + SEC, T0 + silence + 60 * SEC] {
            store
                .sync_audit_agent_alarms(&inst, at, silence, dbss_database_id)
                .await
                .expect("sync");
        }
        let a = alarms().await;
        assert_eq!(a.len(), 1);
        assert_eq!(
            (
                a[0].life.as_str(),
                a[0].risk.as_str(),
                a[0].rule_id.as_str(),
                a[0].alarm_time
            ),
            ("ON", "MEDIUM", agent.id.as_str(), T0 + silence)
        );
        // A heartbeat closes it.
        let spoke = T0 + silence + 90 * SEC;
        store
            .audit_agent_heartbeat(&agent.id, spoke, "", None)
            .await
            .expect("heartbeat");
        store
            .close_audit_agent_alarm(&inst, &agent.id, spoke)
            .await
            .expect("close");
        let a = alarms().await;
        assert_eq!((a[0].life.as_str(), a[0].fix_time), ("OFF", spoke));
        // Switched off, it may be silent: nothing opens.
        store
            .switch_audit_agent(&inst, &agent.id, 0)
            .await
            .expect("off");
        store
            .sync_audit_agent_alarms(&inst, spoke + 2 * silence, silence, dbss_database_id)
            .await
            .expect("sync");
        assert_eq!(alarms().await.len(), 1);
    })
    .await;
}

/// Processes sharing the store share the budget: many batches at once through separate pools
/// (as separate plugboard processes would) take exactly the bucket, no more.
#[tokio::test]
async fn separate_pools_draw_from_one_bucket() {
    use plugboard_store::testing::TestDb;
    for backend in crate::common::backends() {
        let db = TestDb::new(backend).await;
        let mut pools = vec![];
        for _ in 0..4 {
            pools.push(db.store().await);
        }
        let inst = hex32();
        let budget = QpsBudget {
            rate: 20,
            burst_seconds: 10,
            overflow_after: 60 * SEC,
        };
        // 4 pools × 10 batches of 10 at the same instant: 400 statements against a bucket of 200.
        let tasks: Vec<_> = pools
            .iter()
            .cloned()
            .map(|s| {
                let inst = inst.clone();
                tokio::spawn(async move {
                    let mut throttled = 0;
                    for _ in 0..10 {
                        let o = s
                            .take_audit_qps(&inst, 10, T0, budget, dbss_database_id)
                            .await
                            .expect("take");
                        throttled += usize::from(o.throttled);
                    }
                    throttled
                })
            })
            .collect();
        let mut throttled = 0;
        for t in tasks {
            throttled += t.await.expect("task");
        }
        // The first 20 batches fit the burst exactly; the other 20 are over it, whoever sent them.
        assert_eq!(throttled, 20, "{backend:?}");
        for s in pools {
            s.close().await;
        }
        db.cleanup().await;
    }
}
