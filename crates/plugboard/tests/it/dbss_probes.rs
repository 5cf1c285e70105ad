//! The DBSS audit monitor over the real binary: switching auditing on reaches the machine's
//! real MariaDB and PostgreSQL and reports errors, probes obey the network policy, and the
//! probes in flight are bounded.

#![allow(clippy::unwrap_used)]

use crate::common;
use crate::dbss::database;

use common::Server;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const PROBE_LOOPBACK: &str = "[network]\nprobe_allow = [\"127.0.0.0/8\"]\n[dbss]\nprobe_interval_seconds = 2\nprobe_timeout_ms = 1000\n";

async fn wait_for(s: &Server, token: &str, list: &str, id: &str, want: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, l) = s.get(token, list).await;
        let item = l["databases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["database"].clone())
            .find(|d| d["id"] == id)
            .unwrap();
        if item["audit_status"] == want {
            return item;
        }
        assert!(
            Instant::now() < deadline,
            "{id} never became {want}: {item}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn audit_on_reaches_real_databases_and_reports_errors() {
    let s = Server::start(Some(PROBE_LOOPBACK)).await;
    let t = s.admin_token().await;
    let pid = s.b("project_id");
    let inst = s
        .create_dbss_instance(&t, json!({"name": "a", "edition": "advanced"}))
        .await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port().to_string()
    };
    let mut ids = vec![];
    for (name, ty, port) in [
        ("maria", "MYSQL", "3306"),
        ("pg", "POSTGRESQL", "5432"),
        ("gone", "MYSQL", closed.as_str()),
    ] {
        let (_, a) = s
            .add_audit_database(&t, &inst, database(name, ty, port))
            .await;
        let id = a["id"].as_str().unwrap().to_string();
        let (st, r) = s
            .post(
                &t,
                &format!("/v2/{pid}/{inst}/audit/databases/switch"),
                json!({"id": id, "status": "ON"}),
            )
            .await;
        assert_eq!((st, r), (200, json!({"status": "SUCCESS"})));
        ids.push(id);
    }
    let list = format!("/v2/{pid}/audit/{inst}/databases");
    let started = Instant::now();
    let maria = wait_for(&s, &t, &list, &ids[0], "ACTIVE").await;
    let pg = wait_for(&s, &t, &list, &ids[1], "ACTIVE").await;
    let gone = wait_for(&s, &t, &list, &ids[2], "ERROR").await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(
        (maria["status"].as_str(), maria["audit_reason"].as_str()),
        (Some("ON"), Some(""))
    );
    assert_eq!(pg["audit_reason"], "");
    let reason = gone["audit_reason"].as_str().unwrap();
    assert!(
        reason.contains("refused") && reason.contains(&closed),
        "{reason}"
    );

    // OFF → SHUTOFF, and it stays so.
    s.switch_audit_database(&t, &inst, json!({"id": ids[2], "status": "OFF"}))
        .await;
    let off = wait_for(&s, &t, &list, &ids[2], "SHUTOFF").await;
    assert_eq!(
        (off["status"].as_str(), off["audit_reason"].as_str()),
        (Some("OFF"), Some(""))
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (_, l) = s.get(&t, &format!("{list}?status=ON")).await;
    assert_eq!(l["total"], 2);
    assert!(l["databases"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["database"]["audit_status"] == "ACTIVE"));
}

#[tokio::test]
async fn probes_obey_the_network_policy() {
    let s = Server::start(None).await;
    let t = s.admin_token().await;
    let pid = s.b("project_id");
    let inst = s
        .create_dbss_instance(&t, json!({"name": "a", "edition": "basic"}))
        .await;
    let (_, a) = s
        .add_audit_database(&t, &inst, database("maria", "MYSQL", "3306"))
        .await;
    let id = a["id"].as_str().unwrap();
    s.post(
        &t,
        &format!("/v2/{pid}/{inst}/audit/databases/switch"),
        json!({"id": id, "status": "ON"}),
    )
    .await;
    let item = wait_for(
        &s,
        &t,
        &format!("/v2/{pid}/audit/{inst}/databases"),
        id,
        "ERROR",
    )
    .await;
    let reason = item["audit_reason"].as_str().unwrap();
    assert!(
        reason.starts_with("not allowed") && reason.contains("probe_allow"),
        "{reason}"
    );
}

/// A loopback PostgreSQL look-alike that holds every connection for `hold` before answering
/// the SSLRequest with `N`, and counts how many connections it holds at once.
struct HoldingListener {
    port: u16,
    held_now: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    held_max: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl HoldingListener {
    async fn start(hold: Duration) -> HoldingListener {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        use std::sync::Arc;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let held_now = Arc::new(AtomicUsize::new(0));
        let held_max = Arc::new(AtomicUsize::new(0));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (now, max, count) = (held_now.clone(), held_max.clone(), accepted.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut conn, _)) = listener.accept().await else {
                    return;
                };
                count.fetch_add(1, SeqCst);
                let open = now.fetch_add(1, SeqCst) + 1;
                max.fetch_max(open, SeqCst);
                let now = now.clone();
                tokio::spawn(async move {
                    let mut request = [0u8; 8];
                    let read = tokio::time::timeout(hold, conn.read_exact(&mut request)).await;
                    tokio::time::sleep(hold).await;
                    // Counted out before answering: the prober holds its slot until it has
                    // read the answer, so everything counted here is a probe in flight.
                    now.fetch_sub(1, SeqCst);
                    if matches!(read, Ok(Ok(_))) {
                        conn.write_all(b"N").await.ok();
                        let mut rest = [0u8; 64];
                        tokio::time::timeout(Duration::from_secs(2), conn.read(&mut rest))
                            .await
                            .ok();
                    }
                });
            }
        });
        HoldingListener {
            port,
            held_now,
            held_max,
            accepted,
            task,
        }
    }
}

#[tokio::test]
async fn probe_concurrency_bounds_the_probes_in_flight() {
    use std::sync::atomic::Ordering::SeqCst;
    const DATABASES: usize = 40;
    const BOUND: usize = 4;
    let config = format!(
        "[network]\nprobe_allow = [\"127.0.0.0/8\"]\n[dbss]\nprobe_interval_seconds = 600\nprobe_timeout_ms = 5000\nprobe_concurrency = {BOUND}\n"
    );
    let s = Server::start(Some(&config)).await;
    let t = s.admin_token().await;
    let pid = s.b("project_id");
    let target = HoldingListener::start(Duration::from_millis(300)).await;
    let inst = s
        .create_dbss_instance(&t, json!({"name": "bounded", "database_limit": DATABASES}))
        .await;
    let mut ids = vec![];
    for i in 0..DATABASES {
        let (st, a) = s
            .add_audit_database(
                &t,
                &inst,
                database(&format!("held{i}"), "POSTGRESQL", &target.port.to_string()),
            )
            .await;
        assert_eq!(st, 200, "{a}");
        ids.push(a["id"].as_str().unwrap().to_string());
    }
    for id in &ids {
        let (st, r) = s
            .switch_audit_database(&t, &inst, json!({"id": id, "status": "ON"}))
            .await;
        assert_eq!((st, r), (200, json!({"status": "SUCCESS"})));
    }
    // 40 probes of 300 ms, 4 at a time: about 3 s.
    let list = format!("/v2/{pid}/audit/{inst}/databases?limit=100");
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let (st, l) = s.get(&t, &list).await;
        assert_eq!(st, 200, "{l}");
        let items = l["databases"].as_array().unwrap();
        assert_eq!(items.len(), DATABASES);
        let active = items
            .iter()
            .filter(|d| {
                d["database"]["status"] == "ON" && d["database"]["audit_status"] == "ACTIVE"
            })
            .count();
        if active == DATABASES {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {active} of {DATABASES} ACTIVE; others: {:?}",
            items
                .iter()
                .filter(|d| d["database"]["audit_status"] != "ACTIVE")
                .map(|d| (
                    &d["database"]["audit_status"],
                    &d["database"]["audit_reason"]
                ))
                .take(3)
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let max = target.held_max.load(SeqCst);
    assert!(
        target.accepted.load(SeqCst) >= DATABASES,
        "every database was probed"
    );
    assert!(
        max <= BOUND,
        "{max} probes were in flight at once; probe_concurrency is {BOUND}"
    );
    assert!(
        max >= 2,
        "probes never overlapped (max {max}), so the bound was not exercised"
    );
    assert_eq!(target.held_now.load(SeqCst), 0);
    target.task.abort();
}
