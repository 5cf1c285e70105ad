//! Process lifecycle over the real binary: bootstrap file, restarts, graceful shutdown,
//! configuration errors.

#![allow(clippy::unwrap_used)]

mod common;

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
async fn secrets_are_not_stored_in_clear() {
    let s = Server::start(None).await;
    if let Some(db) = &s.db {
        if db.backend == plugboard_store::Backend::Sqlite {
            let bytes = std::fs::read(s.data_dir.join("plugboard.db")).unwrap();
            let wal = std::fs::read(s.data_dir.join("plugboard.db-wal")).unwrap_or_default();
            for secret in [s.b("secret_key"), s.b("password")] {
                let needle = secret.as_bytes();
                for hay in [&bytes, &wal] {
                    assert!(
                        !hay.windows(needle.len()).any(|w| w == needle),
                        "a secret is stored in clear"
                    );
                }
            }
        }
    }
}

#[test]
fn bad_configuration_is_reported_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("plugboard.toml"),
        "[iam]\nno_such_key = 1\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .args(["serve", "--data-dir"])
        .arg(dir.path())
        .env_remove("PLUGBOARD_DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no_such_key"), "{err}");
}

#[tokio::test]
async fn env_sets_region_and_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--region",
            "flagregion",
            "--data-dir",
        ])
        .arg(dir.path())
        .env("PLUGBOARD_REGION", "envregion")
        .env("PLUGBOARD_LOG_FORMAT", "json")
        .env_remove("PLUGBOARD_DATABASE_URL")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !dir.path().join("listen-addr").exists() {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("bootstrap.json")).unwrap())
            .unwrap();
    assert_eq!(b["region"], "flagregion");
    assert_eq!(b["project_name"], "flagregion");
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let logs = String::from_utf8_lossy(&out.stderr);
    let line = logs
        .lines()
        .find(|l| l.contains("plugboard listening"))
        .expect("listening log line");
    let parsed: serde_json::Value = serde_json::from_str(line).expect("JSON log line");
    assert_eq!(parsed["level"], "INFO");
    assert!(
        !logs.contains(b["secret_key"].as_str().unwrap()),
        "secret key logged"
    );
    assert!(
        !logs.contains(b["password"].as_str().unwrap()),
        "password logged"
    );
}
