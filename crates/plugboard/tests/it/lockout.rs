//! Lockout against the real binary: wrong passwords and bad signatures lock with the vendor's
//! 401, the domain owner lists and lifts locks over the admin API, and made-up names or keys
//! leave no lockout state.

#![allow(clippy::unwrap_used)]

use crate::common;

use common::*;
use plugboard_store::Backend;
use serde_json::{json, Value};

async fn login(s: &Server, user: &str, password: &str) -> (u16, Value) {
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "domain": {"name": "plugboard"}, "name": user, "password": password}}}}});
    let r = s
        .client
        .post(s.url("/v3/auth/tokens?nocatalog=true"))
        .json(&body)
        .send()
        .await;
    status_json(r.unwrap()).await
}

/// Rows in the server's lockout table.
async fn lockout_rows(s: &Server) -> i64 {
    sqlx::any::install_default_drivers();
    let url = match backend() {
        Backend::Postgres => s.db.as_ref().unwrap().url.clone(),
        Backend::Sqlite => format!("sqlite://{}/plugboard.db", s.data_dir.display()),
    };
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    let row = sqlx::query("SELECT COUNT(*) FROM lockouts")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    sqlx::Row::try_get(&row, 0).unwrap()
}

#[tokio::test]
async fn wrong_passwords_lock_a_user_until_the_owner_unlocks() {
    let s = Server::start(None).await;
    let admin = s.admin_token().await;
    let domain = s.b("domain_id");
    let (st, carol) = s
        .create_user(
            &admin,
            json!({"user": {"name": "carol", "domain_id": domain, "password": "Carol-passw0rd"}}),
        )
        .await;
    assert_eq!(st, 201, "{carol}");
    let carol_id = carol["user"]["id"].as_str().unwrap().to_string();
    let (st, _) = s
        .create_user(
            &admin,
            json!({"user": {"name": "dave", "domain_id": domain, "password": "Dave-passw0rd"}}),
        )
        .await;
    assert_eq!(st, 201);

    let (_, wrong) = login(&s, "carol", "Wrong-passw0rd").await;
    for _ in 1..5 {
        assert_eq!(login(&s, "carol", "Wrong-passw0rd").await.0, 401);
    }
    // Locked: the right password gets the very answer a wrong one does.
    let (st, locked) = login(&s, "carol", "Carol-passw0rd").await;
    assert_eq!((st, &locked), (401, &wrong));

    let (st, list) = s.get(&admin, "/plugboard/v1/lockouts").await;
    assert_eq!(st, 200, "{list}");
    let entries = list["lockouts"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{list}");
    let e = &entries[0];
    assert_eq!(
        (
            e["type"].as_str(),
            e["user_id"].as_str(),
            e["user_name"].as_str(),
            e["failures"].as_i64(),
            e["locked"].as_bool()
        ),
        (
            Some("user"),
            Some(carol_id.as_str()),
            Some("carol"),
            Some(5),
            Some(true)
        )
    );
    assert!(e["locked_until"].as_str().unwrap().ends_with('Z'), "{e}");
    assert!(e.get("access_key").is_none());

    // Not for anyone but the domain owner or a te_admin.
    let dave = s.token("dave", "Dave-passw0rd", None).await.unwrap();
    let (st, body) = s.get(&dave, "/plugboard/v1/lockouts").await;
    assert_eq!(st, 403, "{body}");
    let (st, _) = s
        .delete(&dave, &format!("/plugboard/v1/lockouts/users/{carol_id}"))
        .await;
    assert_eq!(st, 403);

    let (st, _) = s
        .delete(&admin, &format!("/plugboard/v1/lockouts/users/{carol_id}"))
        .await;
    assert_eq!(st, 204);
    assert_eq!(login(&s, "carol", "Carol-passw0rd").await.0, 201);
    let (st, again) = s
        .delete(&admin, &format!("/plugboard/v1/lockouts/users/{carol_id}"))
        .await;
    assert_eq!(st, 404);
    assert_eq!(again["error_code"], "PLUGBOARD.0404", "{again}");
    assert!(again["error_msg"].as_str().unwrap().contains(&carol_id));
    let (_, list) = s.get(&admin, "/plugboard/v1/lockouts").await;
    assert_eq!(list, json!({"lockouts": []}));
}

#[tokio::test]
async fn bad_signatures_lock_an_access_key_until_the_owner_unlocks() {
    let s = Server::start(None).await;
    let admin = s.admin_token().await;
    let (ak, pid) = (s.b("access_key"), s.b("project_id"));
    let path = format!("/v3/{pid}/instances/kernel-plugins");
    let signed = |sk: &str| s.signed("GET", &path, b"", &ak, sk, Some(&pid)).send();
    assert_eq!(signed(&s.b("secret_key")).await.unwrap().status(), 200);
    for _ in 0..5 {
        assert_eq!(
            signed("not-the-secret-key-at-all-00000000000000")
                .await
                .unwrap()
                .status(),
            401
        );
    }
    assert_eq!(
        signed(&s.b("secret_key")).await.unwrap().status(),
        401,
        "locked"
    );

    let (st, list) = s.get(&admin, "/plugboard/v1/lockouts").await;
    assert_eq!(st, 200);
    let e = &list["lockouts"][0];
    assert_eq!(
        (
            e["type"].as_str(),
            e["access_key"].as_str(),
            e["user_name"].as_str(),
            e["locked"].as_bool()
        ),
        (
            Some("access_key"),
            Some(ak.as_str()),
            Some("admin"),
            Some(true)
        ),
        "{list}"
    );
    let (st, _) = s
        .delete(&admin, &format!("/plugboard/v1/lockouts/access-keys/{ak}"))
        .await;
    assert_eq!(st, 204);
    assert_eq!(signed(&s.b("secret_key")).await.unwrap().status(), 200);
    let (st, e) = s
        .delete(
            &admin,
            "/plugboard/v1/lockouts/access-keys/NOSUCHKEY0000000000X",
        )
        .await;
    assert_eq!(
        (st, e["error_code"].as_str()),
        (404, Some("PLUGBOARD.0404")),
        "{e}"
    );
}

#[tokio::test]
async fn made_up_names_and_keys_leave_no_lockout_state() {
    let s = Server::start(None).await;
    let pid = s.b("project_id");
    for i in 0..20 {
        assert_eq!(
            login(&s, &format!("nobody-{i}"), "Wrong-passw0rd").await.0,
            401
        );
        let ak = format!("FAKEKEY{i:013}");
        let r = s.signed(
            "GET",
            &format!("/v3/{pid}/instances/kernel-plugins"),
            b"",
            &ak,
            "x",
            Some(&pid),
        );
        assert_eq!(r.send().await.unwrap().status(), 401);
    }
    assert_eq!(lockout_rows(&s).await, 0);
    assert_eq!(login(&s, &s.b("user_name"), "Wrong-passw0rd").await.0, 401);
    assert_eq!(lockout_rows(&s).await, 1);
}

/// `plugboard <args>` with a profile made from the server's bootstrap file; (exit code,
/// stdout, stderr).
fn cli(s: &Server, home: &std::path::Path, args: &[&str]) -> (Option<i32>, String, String) {
    let run = |args: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_plugboard"));
        cmd.args(args)
            .env("PLUGBOARD_CLI_CONFIG", home.join("credentials.json"))
            .env("HOME", home);
        for var in [
            "PLUGBOARD_ENDPOINT",
            "PLUGBOARD_ACCESS_KEY",
            "PLUGBOARD_SECRET_KEY",
            "PLUGBOARD_PROJECT_ID",
        ] {
            cmd.env_remove(var);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    if !home.join("credentials.json").exists() {
        let boot = s.data_dir.join("bootstrap.json");
        let login = run(&["login", "--bootstrap-file", boot.to_str().unwrap()]);
        assert_eq!(login.0, Some(0), "{login:?}");
    }
    run(args)
}

#[tokio::test]
async fn the_cli_lists_and_unlocks() {
    let s = Server::start(None).await;
    let home = tempfile::tempdir().unwrap();
    let admin = s.admin_token().await;
    let (st, _) = s.create_user(&admin, json!({"user": {"name": "erin", "domain_id": s.b("domain_id"), "password": "Erin-passw0rd"}})).await;
    assert_eq!(st, 201);
    for _ in 0..5 {
        assert_eq!(login(&s, "erin", "Wrong-passw0rd").await.0, 401);
    }
    let (code, out, err) = cli(&s, home.path(), &["lockout", "list"]);
    assert_eq!(code, Some(0), "{err}");
    let row = out
        .lines()
        .find(|l| l.contains("erin"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(row.starts_with("user") && row.contains(" 5 "), "{out}");
    let (code, out, err) = cli(&s, home.path(), &["lockout", "list", "-o", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let body: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(body["lockouts"][0]["user_name"], "erin");

    let (code, out, err) = cli(&s, home.path(), &["lockout", "unlock", "--user", "erin"]);
    assert_eq!(
        (code, out.as_str()),
        (Some(0), "Unlocked user erin\n"),
        "{err}"
    );
    assert_eq!(login(&s, "erin", "Erin-passw0rd").await.0, 201);
    let (code, _, err) = cli(&s, home.path(), &["lockout", "unlock", "--user", "erin"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("user erin has no failed logins or lock"),
        "{err}"
    );
    let (code, _, err) = cli(
        &s,
        home.path(),
        &["lockout", "unlock", "--key", "AAAAAAAAAAAAAAAAAAAA"],
    );
    assert_eq!(code, Some(1));
    assert!(err.contains("PLUGBOARD.0404"), "{err}");
    let (code, _, _) = cli(&s, home.path(), &["lockout", "unlock"]);
    assert_eq!(code, Some(2), "usage error without --user or --key");
}
