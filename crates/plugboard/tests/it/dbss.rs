//! DBSS and its admin API over the real binary: exact response shapes, errors, and the audit
//! monitor reaching the machine's real MariaDB and PostgreSQL.

#![allow(clippy::unwrap_used)]

use crate::common;

use common::{call, Server};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const PROBE_LOOPBACK: &str = "[network]\nprobe_allow = [\"127.0.0.0/8\"]\n[dbss]\nprobe_interval_seconds = 2\nprobe_timeout_ms = 1000\n";

async fn audit_instance(s: &Server, token: &str, body: Value) -> String {
    let pid = s.b("project_id");
    let (st, i) = call(
        s,
        token,
        "POST",
        &format!("/plugboard/v1/projects/{pid}/dbss/instances"),
        Some(body),
    )
    .await;
    assert_eq!(st, 201, "{i}");
    i["id"].as_str().unwrap().to_string()
}

fn database(name: &str, ty: &str, port: &str) -> Value {
    json!({"database": {"db_classification": "ECS", "name": name, "type": ty, "version": "15", "charset": "UTF8", "ip": "127.0.0.1", "port": port, "os": "LINUX64", "instance_name": "local"}})
}

async fn wait_for(s: &Server, token: &str, list: &str, id: &str, want: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, l) = call(s, token, "GET", list, None).await;
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
async fn admin_instances_shapes_and_errors() {
    let s = Server::start(None).await;
    let t = s.admin_token().await;
    let pid = s.b("project_id");
    let base = format!("/plugboard/v1/projects/{pid}/dbss/instances");
    let (st, i) = call(
        &s,
        &t,
        "POST",
        &base,
        Some(json!({"name": "audit-1", "edition": "basic"})),
    )
    .await;
    assert_eq!(st, 201);
    let id = i["id"].as_str().unwrap().to_string();
    assert!(plugboard_core::ids::is_hex32(&id));
    let keys: Vec<&str> = i.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        vec![
            "created",
            "database_count",
            "database_limit",
            "edition",
            "id",
            "name",
            "project_id",
            "status"
        ]
    );
    assert_eq!(
        (
            i["database_limit"].as_i64(),
            i["database_count"].as_i64(),
            i["status"].as_str(),
            i["edition"].as_str()
        ),
        (Some(3), Some(0), Some("ACTIVE"), Some("basic"))
    );
    for (edition, limit) in [("entry", 1), ("professional", 6), ("advanced", 30)] {
        let (_, e) = call(
            &s,
            &t,
            "POST",
            &base,
            Some(json!({"name": edition, "edition": edition})),
        )
        .await;
        assert_eq!(e["database_limit"], limit);
    }
    let (_, c) = call(
        &s,
        &t,
        "POST",
        &base,
        Some(json!({"name": "custom", "database_limit": 500})),
    )
    .await;
    assert_eq!(
        (c["edition"].as_str(), c["database_limit"].as_i64()),
        (Some("custom"), Some(500))
    );

    for (body, msg) in [
        (
            json!({"name": "x", "edition": "platinum"}),
            "edition must be one of",
        ),
        (
            json!({"name": "x"}),
            "edition or database_limit is required",
        ),
        (
            json!({"name": "x", "edition": "basic", "database_limit": 3}),
            "not both",
        ),
        (
            json!({"name": "x", "database_limit": 0}),
            "database_limit must be from 1",
        ),
        (json!({"name": "", "edition": "basic"}), "name must be"),
        (
            json!({"name": "x", "edition": "basic", "extra": 1}),
            "unknown field `extra`",
        ),
    ] {
        let (st, e) = call(&s, &t, "POST", &base, Some(body.clone())).await;
        assert_eq!(st, 400, "{body}");
        assert_eq!(e["error_code"], "PLUGBOARD.0400");
        assert!(
            e["error_msg"].as_str().unwrap().contains(msg),
            "{body}: {e}"
        );
    }
    let (st, list) = call(&s, &t, "GET", &base, None).await;
    assert_eq!(st, 200);
    assert_eq!(list["total"], 5, "refused creations stored nothing");
    let (st, one) = call(&s, &t, "GET", &format!("{base}/{id}"), None).await;
    assert_eq!((st, one["name"].as_str()), (200, Some("audit-1")));
    let (st, e) = call(
        &s,
        &t,
        "GET",
        &format!("{base}/{}", plugboard_core::ids::hex32()),
        None,
    )
    .await;
    assert_eq!(
        (st, e["error_code"].as_str()),
        (404, Some("PLUGBOARD.0404"))
    );

    // The vendor's listing of the same instances.
    let (st, servers) = call(
        &s,
        &t,
        "GET",
        &format!("/v1/{pid}/dbss/audit/instances"),
        None,
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(servers["total"], 5);
    let first = &servers["servers"][0];
    assert_eq!(
        (
            first["id"].as_str(),
            first["database_limit"].as_i64(),
            first["config_num"].as_i64(),
            first["status"].as_str(),
            first["task"].as_str()
        ),
        (
            Some(id.as_str()),
            Some(3),
            Some(0),
            Some("ACTIVE"),
            Some("NO_TASK")
        )
    );
    assert!(first["effect"].is_i64() && first["cpu"].is_i64() && first["keep_days"].is_string());

    let (st, _) = call(&s, &t, "DELETE", &format!("{base}/{id}"), None).await;
    assert_eq!(st, 204);
    let (st, _) = call(&s, &t, "GET", &format!("{base}/{id}"), None).await;
    assert_eq!(st, 404);
}

#[tokio::test]
async fn databases_shapes_limits_and_errors() {
    let s = Server::start(None).await;
    let t = s.admin_token().await;
    let pid = s.b("project_id");
    let inst = audit_instance(&s, &t, json!({"name": "a", "edition": "entry"})).await;
    let (st, added) = call(
        &s,
        &t,
        "POST",
        &format!("/v1/{pid}/{inst}/audit/databases"),
        Some(database("orders", "MYSQL", "3306")),
    )
    .await;
    assert_eq!(st, 200);
    let id = added["id"].as_str().unwrap().to_string();
    assert_eq!(added, json!({"id": id}));
    assert_eq!(id.len(), 20);

    // Entry edition: one database. The vendor's limit error, in the nested envelope.
    let (st, e) = call(
        &s,
        &t,
        "POST",
        &format!("/v2/{pid}/audit/{inst}/databases"),
        Some(database("other", "MYSQL", "3307")),
    )
    .await;
    assert_eq!(st, 400);
    assert_eq!(
        e,
        json!({"error": {"error_code": "DBSS.10020118", "error_msg": "Failed to add database, exceeding the limit"}})
    );

    let (st, list) = call(
        &s,
        &t,
        "GET",
        &format!("/v2/{pid}/audit/{inst}/databases"),
        None,
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(
        list,
        json!({"total": 1, "databases": [{"database": {
        "id": id, "name": "orders", "type": "MYSQL", "version": "15", "charset": "UTF8", "ip": "127.0.0.1",
        "port": "3306", "os": "LINUX64", "status": "OFF", "instance_name": "local", "audit_status": "SHUTOFF",
        "audit_reason": "", "agent_url": [], "db_classification": "ECS", "rds_audit_switch_mismatch": false,
        "rds_id": "", "rds_obj_info": "", "dws_obj_info": "", "clouddb_obj_info": ""}}]})
    );
    let (_, v1) = call(
        &s,
        &t,
        "GET",
        &format!("/v1/{pid}/{inst}/dbss/audit/databases?status=OFF&offset=0&limit=10"),
        None,
    )
    .await;
    assert_eq!(v1, list);
    let (_, on) = call(
        &s,
        &t,
        "GET",
        &format!("/v1/{pid}/{inst}/dbss/audit/databases?status=ON"),
        None,
    )
    .await;
    assert_eq!(on, json!({"databases": [], "total": 0}));

    for (q, field) in [
        ("status=MAYBE", "status"),
        ("limit=0", "limit"),
        ("limit=10001", "limit"),
        ("offset=-1", "offset"),
        ("offset=x", "offset"),
    ] {
        let (st, e) = call(
            &s,
            &t,
            "GET",
            &format!("/v2/{pid}/audit/{inst}/databases?{q}"),
            None,
        )
        .await;
        assert_eq!(
            (st, e["error"]["error_code"].as_str()),
            (400, Some("DBSS.10000001")),
            "{q}"
        );
        assert!(
            e["error"]["error_msg"].as_str().unwrap().contains(field),
            "{q}: {e}"
        );
    }

    // Unknown and malformed ids.
    let other = plugboard_core::ids::hex32();
    let (st, e) = call(
        &s,
        &t,
        "GET",
        &format!("/v2/{pid}/audit/{other}/databases"),
        None,
    )
    .await;
    assert_eq!(
        (st, e["error"]["error_code"].as_str()),
        (404, Some("DBSS.10021004"))
    );
    let (st, e) = call(
        &s,
        &t,
        "GET",
        &format!("/v2/{pid}/audit/not-an-id/databases"),
        None,
    )
    .await;
    assert_eq!(
        (st, e["error"]["error_code"].as_str()),
        (400, Some("DBSS.10020021"))
    );
    let (st, e) = call(
        &s,
        &t,
        "POST",
        &format!("/v3/{pid}/audit/{inst}/databases/switch"),
        Some(json!({"id": "AAAAAAAAAAAAAAAAAAAA", "status": "ON"})),
    )
    .await;
    assert_eq!(
        (st, e["error"]["error_code"].as_str()),
        (404, Some("DBSS.10021004"))
    );
    let (st, e) = call(
        &s,
        &t,
        "POST",
        &format!("/v3/{pid}/audit/{inst}/databases/switch"),
        Some(json!({"id": id, "status": "on"})),
    )
    .await;
    assert_eq!(
        (st, e["error"]["error_code"].as_str()),
        (400, Some("DBSS.10000001"))
    );

    // Both delete shapes.
    let (st, r) = call(
        &s,
        &t,
        "DELETE",
        &format!("/v2/{pid}/{inst}/audit/databases/{id}"),
        None,
    )
    .await;
    assert_eq!((st, r), (200, json!({"result": "SUCCESS"})));
    let (st, _) = call(
        &s,
        &t,
        "DELETE",
        &format!("/v2/{pid}/{inst}/audit/databases/{id}"),
        None,
    )
    .await;
    assert_eq!(st, 404);
    let (_, added) = call(
        &s,
        &t,
        "POST",
        &format!("/v2/{pid}/audit/{inst}/databases"),
        Some(database("orders", "MYSQL", "3306")),
    )
    .await;
    let id = added["id"].as_str().unwrap();
    let (st, r) = call(
        &s,
        &t,
        "DELETE",
        &format!("/v3/{pid}/audit/{inst}/databases/{id}"),
        None,
    )
    .await;
    assert_eq!((st, r), (200, json!({"status": "SUCCESS"})));
}

#[tokio::test]
async fn audit_on_reaches_real_databases_and_reports_errors() {
    let s = Server::start(Some(PROBE_LOOPBACK)).await;
    let t = s.admin_token().await;
    let pid = s.b("project_id");
    let inst = audit_instance(&s, &t, json!({"name": "a", "edition": "advanced"})).await;
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
        let (_, a) = call(
            &s,
            &t,
            "POST",
            &format!("/v2/{pid}/audit/{inst}/databases"),
            Some(database(name, ty, port)),
        )
        .await;
        let id = a["id"].as_str().unwrap().to_string();
        let (st, r) = call(
            &s,
            &t,
            "POST",
            &format!("/v2/{pid}/{inst}/audit/databases/switch"),
            Some(json!({"id": id, "status": "ON"})),
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
    call(
        &s,
        &t,
        "POST",
        &format!("/v3/{pid}/audit/{inst}/databases/switch"),
        Some(json!({"id": ids[2], "status": "OFF"})),
    )
    .await;
    let off = wait_for(&s, &t, &list, &ids[2], "SHUTOFF").await;
    assert_eq!(
        (off["status"].as_str(), off["audit_reason"].as_str()),
        (Some("OFF"), Some(""))
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (_, l) = call(&s, &t, "GET", &format!("{list}?status=ON"), None).await;
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
    let inst = audit_instance(&s, &t, json!({"name": "a", "edition": "basic"})).await;
    let (_, a) = call(
        &s,
        &t,
        "POST",
        &format!("/v2/{pid}/audit/{inst}/databases"),
        Some(database("maria", "MYSQL", "3306")),
    )
    .await;
    let id = a["id"].as_str().unwrap();
    call(
        &s,
        &t,
        "POST",
        &format!("/v2/{pid}/{inst}/audit/databases/switch"),
        Some(json!({"id": id, "status": "ON"})),
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

#[tokio::test]
async fn other_projects_are_invisible() {
    let s = Server::start(None).await;
    let t = s.admin_token().await;
    let pid = s.b("project_id");
    let inst = audit_instance(&s, &t, json!({"name": "a", "edition": "basic"})).await;
    // A second project, and an instance in it.
    let (_, p2) = call(
        &s,
        &t,
        "POST",
        "/v3/projects",
        Some(json!({"project": {"name": "local_b"}})),
    )
    .await;
    let p2 = p2["project"]["id"].as_str().unwrap().to_string();
    let t2 = s
        .token("admin", &s.b("password"), Some("local_b"))
        .await
        .unwrap();
    // The instance of `local` under local_b's path: 404, not someone else's data.
    let (st, e) = call(
        &s,
        &t2,
        "GET",
        &format!("/v2/{p2}/audit/{inst}/databases"),
        None,
    )
    .await;
    assert_eq!(
        (st, e["error"]["error_code"].as_str()),
        (404, Some("DBSS.10021004"))
    );
    let (st, e) = call(
        &s,
        &t2,
        "POST",
        &format!("/v1/{p2}/{inst}/audit/databases"),
        Some(database("x", "MYSQL", "1")),
    )
    .await;
    assert_eq!(
        (st, e["error"]["error_code"].as_str()),
        (404, Some("DBSS.10021004"))
    );
    // local's path with a local_b token: the gateway refuses.
    let (st, e) = call(
        &s,
        &t2,
        "GET",
        &format!("/v2/{pid}/audit/{inst}/databases"),
        None,
    )
    .await;
    assert_eq!((st, e["error_code"].as_str()), (403, Some("APIG.0302")));
    let (_, l) = call(
        &s,
        &t,
        "GET",
        &format!("/v2/{pid}/audit/{inst}/databases"),
        None,
    )
    .await;
    assert_eq!(l["total"], 0, "nothing was added");
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
    let inst = audit_instance(
        &s,
        &t,
        json!({"name": "bounded", "database_limit": DATABASES}),
    )
    .await;
    let mut ids = vec![];
    for i in 0..DATABASES {
        let (st, a) = call(
            &s,
            &t,
            "POST",
            &format!("/v2/{pid}/audit/{inst}/databases"),
            Some(database(
                &format!("held{i}"),
                "POSTGRESQL",
                &target.port.to_string(),
            )),
        )
        .await;
        assert_eq!(st, 200, "{a}");
        ids.push(a["id"].as_str().unwrap().to_string());
    }
    for id in &ids {
        let (st, r) = call(
            &s,
            &t,
            "POST",
            &format!("/v3/{pid}/audit/{inst}/databases/switch"),
            Some(json!({"id": id, "status": "ON"})),
        )
        .await;
        assert_eq!((st, r), (200, json!({"status": "SUCCESS"})));
    }
    // 40 probes of 300 ms, 4 at a time: about 3 s.
    let list = format!("/v2/{pid}/audit/{inst}/databases?limit=100");
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let (st, l) = call(&s, &t, "GET", &list, None).await;
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
