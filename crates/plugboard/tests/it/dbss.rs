//! DBSS and its admin API over the real binary: audit instances and databases with exact
//! response shapes, limits and errors, and other projects' instances invisible. The audit
//! monitor's probes: dbss_probes.rs.

#![allow(clippy::unwrap_used)]

use crate::common;

use common::Server;
use serde_json::{json, Value};

/// The body of `AddAuditDatabase` for a database on this machine.
pub(crate) fn database(name: &str, ty: &str, port: &str) -> Value {
    json!({"database": {"db_classification": "ECS", "name": name, "type": ty, "version": "15", "charset": "UTF8", "ip": "127.0.0.1", "port": port, "os": "LINUX64", "instance_name": "local"}})
}

#[tokio::test]
async fn admin_instances_shapes_and_errors() {
    let s = Server::start(None).await;
    let t = s.admin_token().await;
    let pid = s.b("project_id");
    let base = format!("/plugboard/v1/projects/{pid}/dbss/instances");
    let (st, i) = s
        .post(&t, &base, json!({"name": "audit-1", "edition": "basic"}))
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
        let (_, e) = s
            .post(&t, &base, json!({"name": edition, "edition": edition}))
            .await;
        assert_eq!(e["database_limit"], limit);
    }
    let (_, c) = s
        .post(&t, &base, json!({"name": "custom", "database_limit": 500}))
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
        let (st, e) = s.post(&t, &base, body.clone()).await;
        assert_eq!(st, 400, "{body}");
        assert_eq!(e["error_code"], "PLUGBOARD.0400");
        assert!(
            e["error_msg"].as_str().unwrap().contains(msg),
            "{body}: {e}"
        );
    }
    let (st, list) = s.get(&t, &base).await;
    assert_eq!(st, 200);
    assert_eq!(list["total"], 5, "refused creations stored nothing");
    let (st, one) = s.get(&t, &format!("{base}/{id}")).await;
    assert_eq!((st, one["name"].as_str()), (200, Some("audit-1")));
    let (st, e) = s
        .get(&t, &format!("{base}/{}", plugboard_core::ids::hex32()))
        .await;
    assert_eq!(
        (st, e["error_code"].as_str()),
        (404, Some("PLUGBOARD.0404"))
    );

    // The vendor's listing of the same instances.
    let (st, servers) = s.get(&t, &format!("/v1/{pid}/dbss/audit/instances")).await;
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

    let (st, _) = s.delete(&t, &format!("{base}/{id}")).await;
    assert_eq!(st, 204);
    let (st, _) = s.get(&t, &format!("{base}/{id}")).await;
    assert_eq!(st, 404);
}

#[tokio::test]
async fn databases_shapes_limits_and_errors() {
    let s = Server::start(None).await;
    let t = s.admin_token().await;
    let pid = s.b("project_id");
    let inst = s
        .create_dbss_instance(&t, json!({"name": "a", "edition": "entry"}))
        .await;
    let (st, added) = s
        .post(
            &t,
            &format!("/v1/{pid}/{inst}/audit/databases"),
            database("orders", "MYSQL", "3306"),
        )
        .await;
    assert_eq!(st, 200);
    let id = added["id"].as_str().unwrap().to_string();
    assert_eq!(added, json!({"id": id}));
    assert_eq!(id.len(), 20);

    // Entry edition: one database. The vendor's limit error, in the nested envelope.
    let (st, e) = s
        .add_audit_database(&t, &inst, database("other", "MYSQL", "3307"))
        .await;
    assert_eq!(st, 400);
    assert_eq!(
        e,
        json!({"error": {"error_code": "DBSS.10020118", "error_msg": "Failed to add database, exceeding the limit"}})
    );

    let (st, list) = s.list_audit_databases(&t, &inst, "").await;
    assert_eq!(st, 200);
    assert_eq!(
        list,
        json!({"total": 1, "databases": [{"database": {
        "id": id, "name": "orders", "type": "MYSQL", "version": "15", "charset": "UTF8", "ip": "127.0.0.1",
        "port": "3306", "os": "LINUX64", "status": "OFF", "instance_name": "local", "audit_status": "SHUTOFF",
        "audit_reason": "", "agent_url": [], "db_classification": "ECS", "rds_audit_switch_mismatch": false,
        "rds_id": "", "rds_obj_info": "", "dws_obj_info": "", "clouddb_obj_info": ""}}]})
    );
    let (_, v1) = s
        .get(
            &t,
            &format!("/v1/{pid}/{inst}/dbss/audit/databases?status=OFF&offset=0&limit=10"),
        )
        .await;
    assert_eq!(v1, list);
    let (_, on) = s
        .get(
            &t,
            &format!("/v1/{pid}/{inst}/dbss/audit/databases?status=ON"),
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
        let (st, e) = s.list_audit_databases(&t, &inst, q).await;
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
    let (st, e) = s.list_audit_databases(&t, &other, "").await;
    assert_eq!(
        (st, e["error"]["error_code"].as_str()),
        (404, Some("DBSS.10021004"))
    );
    let (st, e) = s
        .get(&t, &format!("/v2/{pid}/audit/not-an-id/databases"))
        .await;
    assert_eq!(
        (st, e["error"]["error_code"].as_str()),
        (400, Some("DBSS.10020021"))
    );
    let (st, e) = s
        .switch_audit_database(
            &t,
            &inst,
            json!({"id": "AAAAAAAAAAAAAAAAAAAA", "status": "ON"}),
        )
        .await;
    assert_eq!(
        (st, e["error"]["error_code"].as_str()),
        (404, Some("DBSS.10021004"))
    );
    let (st, e) = s
        .switch_audit_database(&t, &inst, json!({"id": id, "status": "on"}))
        .await;
    assert_eq!(
        (st, e["error"]["error_code"].as_str()),
        (400, Some("DBSS.10000001"))
    );

    // Both delete shapes.
    let (st, r) = s
        .delete(&t, &format!("/v2/{pid}/{inst}/audit/databases/{id}"))
        .await;
    assert_eq!((st, r), (200, json!({"result": "SUCCESS"})));
    let (st, _) = s
        .delete(&t, &format!("/v2/{pid}/{inst}/audit/databases/{id}"))
        .await;
    assert_eq!(st, 404);
    let (_, added) = s
        .add_audit_database(&t, &inst, database("orders", "MYSQL", "3306"))
        .await;
    let id = added["id"].as_str().unwrap();
    let (st, r) = s
        .delete(&t, &format!("/v3/{pid}/audit/{inst}/databases/{id}"))
        .await;
    assert_eq!((st, r), (200, json!({"status": "SUCCESS"})));
}

#[tokio::test]
async fn other_projects_are_invisible() {
    let s = Server::start(None).await;
    let t = s.admin_token().await;
    let inst = s
        .create_dbss_instance(&t, json!({"name": "a", "edition": "basic"}))
        .await;
    // A second project, and an instance in it.
    let (_, p2) = s
        .create_project(&t, json!({"project": {"name": "local_b"}}))
        .await;
    let p2 = p2["project"]["id"].as_str().unwrap().to_string();
    let t2 = s
        .token("admin", &s.b("password"), Some("local_b"))
        .await
        .unwrap();
    // The instance of `local` under local_b's path: 404, not someone else's data.
    let (st, e) = s
        .get(&t2, &format!("/v2/{p2}/audit/{inst}/databases"))
        .await;
    assert_eq!(
        (st, e["error"]["error_code"].as_str()),
        (404, Some("DBSS.10021004"))
    );
    let (st, e) = s
        .post(
            &t2,
            &format!("/v1/{p2}/{inst}/audit/databases"),
            database("x", "MYSQL", "1"),
        )
        .await;
    assert_eq!(
        (st, e["error"]["error_code"].as_str()),
        (404, Some("DBSS.10021004"))
    );
    // local's path with a local_b token: the gateway refuses.
    let (st, e) = s.list_audit_databases(&t2, &inst, "").await;
    assert_eq!((st, e["error_code"].as_str()), (403, Some("APIG.0302")));
    let (_, l) = s.list_audit_databases(&t, &inst, "").await;
    assert_eq!(l["total"], 0, "nothing was added");
}
