//! IAM over the real binary with tokens (curl-style): token shapes, users, groups, grants,
//! access keys, permission refusals and invalidation. The official-SDK flow is in tests/sdk.

#![allow(clippy::unwrap_used)]

use crate::common;

use common::{status_json, Server};
use serde_json::{json, Value};

#[tokio::test]
async fn token_shapes() {
    let s = Server::start(None).await;
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"domain": {"name": "plugboard"}, "name": "admin", "password": s.b("password")}}}, "scope": {"project": {"name": "local"}}}});
    let r = s
        .client
        .post(s.url("/v3/auth/tokens"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let token = r.headers()["x-subject-token"].to_str().unwrap().to_string();
    assert!(token.len() >= 43);
    let (_, t) = status_json(r).await;
    let t = &t["token"];
    assert_eq!(t["methods"], json!(["password"]));
    assert_eq!(
        t["project"],
        json!({"id": s.b("project_id"), "name": "local", "domain": {"id": s.b("domain_id"), "name": "plugboard"}})
    );
    assert_eq!(
        t["user"],
        json!({"id": s.b("user_id"), "name": "admin", "domain": {"id": s.b("domain_id"), "name": "plugboard"}, "password_expires_at": ""})
    );
    assert_eq!(t["roles"][0]["name"], "te_admin");
    assert!(t.get("domain").is_none());
    let issued = t["issued_at"].as_str().unwrap();
    assert_eq!(issued.len(), "2026-11-22T05:18:00.123000Z".len());
    assert!(issued.ends_with('Z'));
    let catalog = t["catalog"].as_array().unwrap();
    let types: Vec<&str> = catalog
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    for ty in ["iam", "gaussdbv3", "dbss", "servicestage"] {
        assert!(types.contains(&ty), "{types:?}");
    }
    assert_eq!(catalog[0]["endpoints"][0]["url"], s.base);
    // 24 h lifetime.
    let parse = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert_eq!(
        (parse(&t["expires_at"]) - parse(&t["issued_at"])).num_seconds(),
        86400
    );

    // nocatalog, and domain scope.
    let mut dom = body.clone();
    dom["auth"]["scope"] = json!({"domain": {"name": "plugboard"}});
    let r = s
        .client
        .post(s.url("/v3/auth/tokens?nocatalog=true"))
        .json(&dom)
        .send()
        .await
        .unwrap();
    let (st, t) = status_json(r).await;
    assert_eq!(st, 201);
    assert!(t["token"].get("catalog").is_none());
    assert_eq!(
        t["token"]["domain"],
        json!({"id": s.b("domain_id"), "name": "plugboard"})
    );
    assert!(t["token"].get("project").is_none());

    // Validate echoes the subject token.
    let r = s.subject_token("GET", &token, &token).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-subject-token"], token.as_str());

    // Wrong password, unknown user, unknown domain: one Keystone 401.
    for (domain, user, pw) in [
        ("plugboard", "admin", "wrong-password"),
        ("plugboard", "ghost", "x"),
        ("nodomain", "admin", "x"),
    ] {
        let bad = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"domain": {"name": domain}, "name": user, "password": pw}}}, "scope": {"project": {"name": "local"}}}});
        let (st, b) = status_json(
            s.client
                .post(s.url("/v3/auth/tokens"))
                .json(&bad)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(st, 401);
        assert_eq!(
            b,
            json!({"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}})
        );
    }
}

#[tokio::test]
async fn users_groups_grants_keys_and_permissions() {
    let s = Server::start(None).await;
    let admin = s.admin_token().await;
    let domain = s.b("domain_id");
    let pid = s.b("project_id");

    let (st, u) = s.create_user(&admin, json!({"user": {"name": "bob", "domain_id": domain, "password": "Bob-passw0rd", "email": "bob@example.com"}})).await;
    assert_eq!(st, 201, "{u}");
    let uid = u["user"]["id"].as_str().unwrap().to_string();
    assert_eq!(u["user"]["name"], "bob");
    assert_eq!(u["user"]["enabled"], true);
    assert_eq!(u["user"]["domain_id"], domain.as_str());
    assert!(u["user"].get("password").is_none());
    let (st, dup) = s
        .create_user(
            &admin,
            json!({"user": {"name": "bob", "domain_id": domain}}),
        )
        .await;
    assert_eq!(st, 409, "{dup}");
    let (st, weak) = s
        .create_user(
            &admin,
            json!({"user": {"name": "weak", "domain_id": domain, "password": "short"}}),
        )
        .await;
    assert_eq!(st, 400);
    assert!(weak["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("user.password"));

    let (st, g) = s
        .create_group(
            &admin,
            json!({"group": {"name": "readers", "description": "read only"}}),
        )
        .await;
    assert_eq!(st, 201);
    let gid = g["group"]["id"].as_str().unwrap().to_string();
    let (st, _) = s.add_user_to_group(&admin, &gid, &uid).await;
    assert_eq!(st, 204);
    let (st, roles) = s.get(&admin, "/v3/roles?name=readonly").await;
    assert_eq!(st, 200);
    assert_eq!(roles["roles"].as_array().unwrap().len(), 1);
    let readonly = roles["roles"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        roles["roles"][0]["policy"]["Statement"][0]["Effect"],
        "Allow"
    );

    // Before the grant bob cannot get a token for the project.
    assert!(s
        .token("bob", "Bob-passw0rd", Some("local"))
        .await
        .is_none());
    let (st, _) = s
        .grant_group_role(&admin, &format!("projects/{pid}"), &gid, &readonly)
        .await;
    assert_eq!(st, 204);
    let bob = s
        .token("bob", "Bob-passw0rd", Some("local"))
        .await
        .expect("bob token");

    // Read-only: list works, writes are refused by the gateway.
    let (st, list) = s
        .get(&bob, &format!("/v3/{pid}/instances/kernel-plugins"))
        .await;
    assert_eq!((st, list), (200, json!(["postgis"])));
    let (st, projects) = s.get(&bob, "/v3/auth/projects").await;
    assert_eq!(st, 200);
    assert_eq!(projects["projects"][0]["id"], pid.as_str());
    let (st, users) = s.get(&bob, "/v3/users").await;
    assert_eq!(st, 200, "{users}");
    let (st, denied) = s
        .create_group(&bob, json!({"group": {"name": "nope"}}))
        .await;
    assert_eq!(st, 403);
    assert_eq!(denied["error_code"], "APIG.0302");

    // Bob manages his own access keys; at most two.
    let (st, key) = s
        .create_credential(
            &bob,
            json!({"credential": {"user_id": uid, "description": "ci"}}),
        )
        .await;
    assert_eq!(st, 201, "{key}");
    let access = key["credential"]["access"].as_str().unwrap().to_string();
    assert_eq!(key["credential"]["secret"].as_str().unwrap().len(), 40);
    assert_eq!(key["credential"]["status"], "active");
    let (st, list) = s
        .get(
            &bob,
            &format!("/v3.0/OS-CREDENTIAL/credentials?user_id={uid}"),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(list["credentials"].as_array().unwrap().len(), 1);
    assert!(list["credentials"][0].get("secret").is_none());
    // Read-only may list the admin's keys (`*:*:list*`) but not create one for the admin.
    let (st, _) = s
        .get(
            &bob,
            &format!("/v3.0/OS-CREDENTIAL/credentials?user_id={}", s.b("user_id")),
        )
        .await;
    assert_eq!(st, 200);
    let (st, denied) = s
        .create_credential(&bob, json!({"credential": {"user_id": s.b("user_id")}}))
        .await;
    assert_eq!(
        (st, denied["error_code"].as_str()),
        (403, Some("APIG.0302"))
    );
    let (st, _) = s
        .create_credential(&bob, json!({"credential": {"user_id": uid}}))
        .await;
    assert_eq!(st, 201);
    let (st, third) = s
        .create_credential(&bob, json!({"credential": {"user_id": uid}}))
        .await;
    assert_eq!(st, 400, "{third}");

    // Disabling bob ends his token at once; deleting him removes his keys.
    let (st, _) = s
        .put(
            &admin,
            &format!("/v3.0/OS-USER/users/{uid}"),
            json!({"user": {"enabled": false}}),
        )
        .await;
    assert_eq!(st, 200);
    let (st, b) = s.get(&bob, "/v3/auth/projects").await;
    assert_eq!((st, b["error_code"].as_str()), (401, Some("APIG.0307")));
    let (st, _) = s.delete(&admin, &format!("/v3/users/{uid}")).await;
    assert_eq!(st, 204);
    let (st, _) = s
        .delete(&admin, &format!("/v3.0/OS-CREDENTIAL/credentials/{access}"))
        .await;
    assert_eq!(st, 404);
    let (st, gone) = s.get(&admin, &format!("/v3/users/{uid}")).await;
    assert_eq!(st, 404);
    assert_eq!(gone["error"]["code"], 404);
    // The domain owner cannot be deleted.
    let (st, _) = s
        .delete(&admin, &format!("/v3/users/{}", s.b("user_id")))
        .await;
    assert_eq!(st, 403);
}

#[tokio::test]
async fn password_change_ends_tokens_and_projects_resolve_by_name() {
    let s = Server::start(None).await;
    let admin = s.admin_token().await;
    let (st, p) = s.get(&admin, "/v3/projects?name=local").await;
    assert_eq!(st, 200);
    let projects = p["projects"].as_array().unwrap();
    assert_eq!(projects.len(), 1);
    assert_eq!(
        projects[0],
        json!({"id": s.b("project_id"), "name": "local", "domain_id": s.b("domain_id"), "parent_id": s.b("domain_id"), "enabled": true, "is_domain": false, "description": "", "links": {"self": format!("{}/v3/projects/{}", s.base, s.b("project_id"))}})
    );
    assert_eq!(p["links"]["self"], format!("{}/v3/projects", s.base));
    let (st, bad) = s
        .create_project(&admin, json!({"project": {"name": "elsewhere"}}))
        .await;
    assert_eq!(st, 400, "{bad}");

    let (st, _) = s
        .put(
            &admin,
            &format!("/v3.0/OS-USER/users/{}", s.b("user_id")),
            json!({"user": {"password": "N3w-admin-password"}}),
        )
        .await;
    assert_eq!(st, 200);
    let (st, b) = s.get(&admin, "/v3/auth/projects").await;
    assert_eq!((st, b["error_code"].as_str()), (401, Some("APIG.0307")));
    assert!(s
        .token("admin", "N3w-admin-password", Some("local"))
        .await
        .is_some());
}

#[tokio::test]
async fn repeated_wrong_passwords_lock_the_user() {
    let s = Server::start(Some(
        "[iam]\nuser_lockout_threshold = 3\nuser_lockout_seconds = 60\n",
    ))
    .await;
    let good = s.b("password");
    assert!(s.token("admin", &good, Some("local")).await.is_some());
    for _ in 0..3 {
        assert!(s
            .token("admin", "Wrong-passw0rd", Some("local"))
            .await
            .is_none());
    }
    assert!(
        s.token("admin", &good, Some("local")).await.is_none(),
        "the right password is refused while the user is locked"
    );
    // Signatures are not passwords: the admin's access key still works.
    let (st, _) = status_json(
        s.admin_signed("GET", "/v3/auth/projects", b"")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 200);
}

/// Create user `name` in a new group holding `role` on `scope` (`projects/<id>` or
/// `domains/<id>`); returns the user's project-scoped token.
async fn user_with_role(s: &Server, admin: &str, name: &str, role: &str, scope: &str) -> String {
    let domain = s.b("domain_id");
    let password = "Passw0rd-for-tests";
    let (st, u) = s
        .create_user(
            admin,
            json!({"user": {"name": name, "domain_id": domain, "password": password}}),
        )
        .await;
    assert_eq!(st, 201, "{u}");
    let uid = u["user"]["id"].as_str().unwrap().to_string();
    let (st, g) = s
        .create_group(admin, json!({"group": {"name": format!("{name}-group")}}))
        .await;
    assert_eq!(st, 201, "{g}");
    let gid = g["group"]["id"].as_str().unwrap().to_string();
    let (st, _) = s.add_user_to_group(admin, &gid, &uid).await;
    assert_eq!(st, 204);
    let (st, roles) = s.get(admin, &format!("/v3/roles?name={role}")).await;
    assert_eq!(st, 200);
    let rid = roles["roles"][0]["id"].as_str().unwrap().to_string();
    let (st, body) = s.grant_group_role(admin, scope, &gid, &rid).await;
    assert_eq!(st, 204, "{body}");
    s.token(name, password, Some("local"))
        .await
        .expect("user token")
}

#[tokio::test]
async fn admin_api_needs_the_domain_owner_or_te_admin() {
    let s = Server::start(None).await;
    let admin = s.admin_token().await;
    let pid = s.b("project_id");
    let domain = s.b("domain_id");
    let list = format!("/plugboard/v1/projects/{pid}/dbss/instances");
    let (st, created) = s
        .post(&admin, &list, json!({"name": "audit", "edition": "entry"}))
        .await;
    assert_eq!(st, 201, "{created}");
    let show = format!("{list}/{}", created["id"].as_str().unwrap());
    let gauss = format!("/plugboard/v1/projects/{pid}/gaussdb/instances");

    // readonly's `*:*:list*` / `*:*:get*` match `plugboard:*:list` / `get`: still refused.
    let projects = format!("projects/{pid}");
    let reader = user_with_role(&s, &admin, "reader", "readonly", &projects).await;
    let (st, ok) = s
        .get(&reader, &format!("/v3/{pid}/instances/kernel-plugins"))
        .await;
    assert_eq!(st, 200, "the reader can read elsewhere: {ok}");
    for path in [&list, &show, &gauss] {
        let (st, body) = s.get(&reader, path).await;
        assert_eq!(st, 403, "{path}: {body}");
        assert_eq!(body["error_code"], "APIG.0302", "{path}");
        assert_eq!(
            body["error_msg"],
            "The IAM user is not authorized to access the API."
        );
    }
    let domains = format!("domains/{domain}");
    let domain_reader = user_with_role(&s, &admin, "dreader", "readonly", &domains).await;
    let (st, body) = s.get(&domain_reader, &list).await;
    assert_eq!((st, &body["error_code"]), (403, &json!("APIG.0302")));
    // A service full-access role is not enough either.
    let gaussdb_admin =
        user_with_role(&s, &admin, "gaussops", "GaussDB FullAccess", &projects).await;
    let (st, body) = s.get(&gaussdb_admin, &gauss).await;
    assert_eq!((st, &body["error_code"]), (403, &json!("APIG.0302")));

    // te_admin on the domain, or on the path's project: allowed, reads and writes.
    let tenant_admin = user_with_role(&s, &admin, "tadmin", "te_admin", &domains).await;
    let project_admin = user_with_role(&s, &admin, "padmin", "te_admin", &projects).await;
    for who in [&tenant_admin, &project_admin] {
        let (st, body) = s.get(who, &list).await;
        assert_eq!(st, 200, "{body}");
        assert_eq!(body["total"], 1);
        let (st, body) = s.get(who, &show).await;
        assert_eq!(st, 200, "{body}");
        assert_eq!(body["id"], created["id"]);
        let (st, body) = s.get(who, &gauss).await;
        assert_eq!(st, 200, "{body}");
    }
    let (st, body) = s
        .post(
            &project_admin,
            &list,
            json!({"name": "second", "edition": "entry"}),
        )
        .await;
    assert_eq!(st, 201, "{body}");
}
