//! One representative success per operation family, pinned exactly on the wire: ids and times
//! are checked for their format and masked (`helpers::masked`), everything else is compared
//! whole, so a renamed, added or dropped field fails here before any SDK test runs.

use crate::helpers::{gaussdb_id, hex32, masked, millis, utc_time, uuid, App};
use serde_json::json;

#[tokio::test]
async fn system_health_and_readiness() {
    let app = App::new().await;
    let r = app.call("GET", "/healthz", None, None).await;
    r.is(200, json!({"status": "ok"}));
    let r = app.call("GET", "/readyz", None, None).await;
    r.is(200, json!({"status": "ready"}));
}

#[tokio::test]
async fn iam_token_and_its_projects() {
    let app = App::new().await;
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "domain": {"name": "plugboard"}, "name": "admin", "password": app.boot.password}}},
        "scope": {"project": {"name": "local"}}}});
    let r = app.call("POST", "/v3/auth/tokens", None, Some(body)).await;
    assert!(r.header("x-subject-token").is_some_and(|t| t.len() > 32));
    let (domain, project, user) = (&app.boot.domain_id, &app.boot.project_id, &app.boot.user_id);
    let endpoint = |i: usize, name: &str, kind: &str| {
        json!({"endpoints": [{"id": format!("{:032x}", 0x100 + i), "interface": "public",
            "region": "local", "region_id": "local", "url": "http://plugboard.test"}],
            "id": format!("{:032x}", i + 1), "name": name, "type": kind})
    };
    let body = masked(
        r.body.clone(),
        &[
            ("/token/expires_at", "time", utc_time),
            ("/token/issued_at", "time", utc_time),
            ("/token/roles/0/id", "role id", hex32),
        ],
    );
    let r = crate::helpers::Reply { body, ..r };
    r.is(
        201,
        json!({"token": {
            "catalog": [endpoint(0, "iam", "iam"), endpoint(1, "gaussdb", "gaussdbv3"),
                endpoint(2, "dbss", "dbss"), endpoint(3, "servicestage", "servicestage"),
                endpoint(4, "plugboard", "plugboard")],
            "expires_at": "<time>", "issued_at": "<time>", "methods": ["password"],
            "project": {"domain": {"id": domain, "name": "plugboard"}, "id": project, "name": "local"},
            "roles": [{"id": "<role id>", "name": "te_admin"}],
            "user": {"domain": {"id": domain, "name": "plugboard"}, "id": user, "name": "admin",
                "password_expires_at": ""}}}),
    );

    let token = app.token().await;
    let r = app
        .call("GET", "/v3/auth/projects", Some(&token), None)
        .await;
    r.is(
        200,
        json!({"links": {"next": null, "previous": null, "self": "http://plugboard.test/v3/auth/projects"},
            "projects": [{"description": "", "domain_id": domain, "enabled": true, "id": project,
                "is_domain": false, "links": {"self": format!("http://plugboard.test/v3/projects/{project}")},
                "name": "local", "parent_id": domain}]}),
    );
}

#[tokio::test]
async fn gaussdb_instances_as_registered_and_as_listed() {
    let app = App::new().await;
    let token = app.token().await;
    let project = app.boot.project_id.clone();
    let r = app
        .call(
            "POST",
            &app.p("/plugboard/v1/projects/{p}/gaussdb/instances"),
            Some(&token),
            Some(
                json!({"name": "sim", "host": "db.example", "port": 6000, "user": "app",
                "password": "", "database": "postgres", "install": {"mode": "simulated"}}),
            ),
        )
        .await;
    let registered = crate::helpers::Reply {
        body: masked(
            r.body.clone(),
            &[
                ("/id", "id", gaussdb_id),
                ("/created", "time", utc_time),
                ("/updated", "time", utc_time),
            ],
        ),
        ..r
    };
    registered.is(
        201,
        json!({"created": "<time>", "database": "postgres", "host": "db.example", "id": "<id>",
            "install": {"mode": "simulated"}, "name": "sim", "port": 6000, "project_id": project,
            "status": "ACTIVE", "updated": "<time>", "user": "app", "version": "15.0"}),
    );

    let r = app
        .call("GET", &app.p("/v3/{p}/instances"), Some(&token), None)
        .await;
    let listed = crate::helpers::Reply {
        body: masked(
            r.body.clone(),
            &[
                ("/instances/0/id", "id", gaussdb_id),
                ("/instances/0/nodes/0/id", "node id", gaussdb_id),
                ("/instances/0/created", "time", |s| s.ends_with(" UTC")),
                ("/instances/0/updated", "time", |s| s.ends_with(" UTC")),
            ],
        ),
        ..r
    };
    listed.is(
        200,
        json!({"instances": [{"backup_strategy": {}, "backup_used_space": "0",
            "charge_info": {"charge_mode": "postPaid"}, "created": "<time>",
            "datastore": {"type": "GaussDB", "version": "15.0"}, "db_user_name": "app",
            "disk_encryption_id": "", "enterprise_project_id": "0", "flavor_info": {},
            "flavor_ref": "", "ha": {"consistency": "strong", "mode": "centralization_standard",
                "replication_mode": "sync"},
            "id": "<id>", "instance_mode": "", "maintenance_window": "02:00-06:00", "name": "sim",
            "nodes": [{"availability_zone": "local", "id": "<node id>", "name": "sim_node_1",
                "role": "master", "status": "ACTIVE"}],
            "port": 6000, "private_ips": ["db.example"], "public_ips": [], "region": "local",
            "replica_num": 0, "security_group_id": "", "status": "ACTIVE", "subnet_id": "",
            "switch_strategy": "reliability", "tags": [], "time_zone": "UTC",
            "type": "centralization_standard", "updated": "<time>", "volume": {}, "vpc_id": ""}],
            "total_count": 1}),
    );
}

#[tokio::test]
async fn dbss_audit_instances_listed() {
    let app = App::new().await;
    let token = app.token().await;
    let r = app
        .call(
            "GET",
            &app.p("/v1/{p}/dbss/audit/instances"),
            Some(&token),
            None,
        )
        .await;
    r.is(200, json!({"servers": [], "total": 0}));
}

#[tokio::test]
async fn servicestage_environment_created() {
    let app = App::new().await;
    let token = app.token().await;
    let r = app
        .call(
            "POST",
            &app.p("/v3/{p}/cas/environments"),
            Some(&token),
            Some(json!({"name": "e1", "vpc_id": "v", "enterprise_project_id": "0"})),
        )
        .await;
    let created = crate::helpers::Reply {
        body: masked(
            r.body.clone(),
            &[
                ("/id", "id", uuid),
                ("/create_time", "ms", millis),
                ("/update_time", "ms", millis),
            ],
        ),
        ..r
    };
    created.is(
        200,
        json!({"create_time": "<ms>", "creator": "admin", "deploy_mode": "mixed",
            "description": "", "enterprise_project_id": "0", "id": "<id>", "labels": [],
            "name": "e1", "project_id": app.boot.project_id, "update_time": "<ms>", "vpc_id": "v"}),
    );
    let r = app
        .call(
            "GET",
            &app.p("/v3/{p}/cas/environments"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!((r.status, &r.body["count"]), (200, &json!(1)), "{}", r.body);
}

#[tokio::test]
async fn zstack_session_and_plugin_drivers() {
    let app = App::new().await;
    let session = app.zstack_session().await;
    let r = app
        .call(
            "GET",
            &format!("/zstack/v1/accounts/sessions/{session}/valid"),
            None,
            None,
        )
        .await;
    r.is(200, json!({"valid": true}));
    let request = axum::http::Request::get("/zstack/v1/external/plugins")
        .header("authorization", format!("OAuth {session}"))
        .body(axum::body::Body::empty())
        .expect("request");
    let r = app.send(request).await;
    r.is(200, json!({"inventories": []}));
}

#[tokio::test]
async fn admin_jobs_listed() {
    let app = App::new().await;
    let token = app.token().await;
    let r = app
        .call("GET", "/plugboard/v1/jobs", Some(&token), None)
        .await;
    r.is(200, json!({"jobs": [], "total": 0}));
}
