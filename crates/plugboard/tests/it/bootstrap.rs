//! The first start over the real binary: the bootstrap file (exact keys, mode 0600, never
//! rewritten across restarts), credentials left aside by an interrupted first start, and
//! secrets never stored in clear.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{status_json, Server};
use std::collections::BTreeSet;

#[tokio::test]
async fn bootstrap_file_has_exactly_the_keys_and_mode_0600_and_is_never_rewritten() {
    let mut s = Server::start(None).await;
    let path = s.data_dir.join("bootstrap.json");
    let keys: BTreeSet<&str> = s
        .bootstrap
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let expected: BTreeSet<&str> = [
        "endpoint",
        "region",
        "domain_name",
        "domain_id",
        "user_name",
        "user_id",
        "password",
        "project_name",
        "project_id",
        "access_key",
        "secret_key",
    ]
    .into();
    assert_eq!(keys, expected);
    assert_eq!(s.b("endpoint"), s.base);
    assert_eq!(s.b("region"), "local");
    assert_eq!(s.b("project_name"), "local");
    assert_eq!(s.b("domain_name"), "plugboard");
    assert_eq!(s.b("user_name"), "admin");
    assert!(s.b("password").len() >= 20);
    assert!(plugboard_core::ids::is_access_key(&s.b("access_key")));
    assert_eq!(s.b("secret_key").len(), 40);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let key = s.data_dir.join("master.key");
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let before = std::fs::read(&path).unwrap();
    assert_eq!(s.stop(), Some(0), "SIGTERM exits 0");
    s.spawn().await;
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "restart never rewrites bootstrap.json"
    );
    // The same credentials still work after the restart (secrets survive, sealed at rest).
    let (st, _) = status_json(
        s.admin_signed("GET", "/v3/auth/projects", b"")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 200);
    assert!(s
        .token("admin", &s.b("password"), Some("local"))
        .await
        .is_some());
}

#[tokio::test]
async fn credentials_left_aside_by_an_interrupted_first_start_are_recovered() {
    let mut s = Server::start(None).await;
    let path = s.data_dir.join("bootstrap.json");
    let written = std::fs::read(&path).unwrap();
    assert_eq!(s.stop(), Some(0));
    // as if the first start had died after its bootstrap committed, before the rename
    let aside = s
        .data_dir
        .join(format!(".bootstrap.json.{}", plugboard_core::ids::hex32()));
    std::fs::rename(&path, &aside).unwrap();
    // a file aside from a bootstrap that never committed stays where it is
    let stranger = s.data_dir.join(".bootstrap.json.0000");
    std::fs::write(&stranger, r#"{"access_key": "AAAAAAAAAAAAAAAAAAAA"}"#).unwrap();
    s.spawn().await;
    assert_eq!(std::fs::read(&path).unwrap(), written);
    assert!(!aside.exists());
    assert!(stranger.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[tokio::test]
async fn secrets_are_not_stored_in_clear() {
    let s = Server::start(None).await;
    // a GaussDB instance's password is a secret too (simulated: nothing is connected to)
    let db_password = format!("Pw-{}", plugboard_core::ids::hex32());
    let pid = s.b("project_id");
    let body = serde_json::json!({"name": "sealed", "host": "db.example.internal", "port": 5432,
        "user": "app", "password": db_password, "install": {"mode": "simulated"}})
    .to_string();
    let r = s
        .admin_signed(
            "POST",
            &format!("/plugboard/v1/projects/{pid}/gaussdb/instances"),
            body.as_bytes(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let secrets = [s.b("secret_key"), s.b("password"), db_password];
    let db = s.db.as_ref().unwrap();
    if db.backend == plugboard_store::Backend::Sqlite {
        // every byte the store wrote: the database file and its write-ahead log
        let bytes = std::fs::read(s.data_dir.join("plugboard.db")).unwrap();
        let wal = std::fs::read(s.data_dir.join("plugboard.db-wal")).unwrap_or_default();
        for secret in &secrets {
            let needle = secret.as_bytes();
            for hay in [&bytes, &wal] {
                assert!(
                    !hay.windows(needle.len()).any(|w| w == needle),
                    "a secret is stored in clear"
                );
            }
        }
    } else {
        // every text value of every table, as PostgreSQL renders the rows
        let store = plugboard_store::Store::connect(&db.url).await.unwrap();
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        assert!(
            tables.iter().any(|t| t == "gaussdb_instances"),
            "{tables:?}"
        );
        for table in tables {
            let rows: Vec<String> =
                sqlx::query_scalar(&format!("SELECT t::text FROM \"{table}\" t"))
                    .fetch_all(store.pool())
                    .await
                    .unwrap();
            for row in rows {
                for secret in &secrets {
                    assert!(
                        !row.contains(secret.as_str()),
                        "{table} holds a secret in clear"
                    );
                }
            }
        }
        store.close().await;
    }
}
