//! Several processes on one PostgreSQL database: exactly one bootstraps, all serve.

#![allow(clippy::unwrap_used)]

use plugboard_store::testing::TestDb;
use plugboard_store::Backend;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test]
async fn processes_starting_at_once_bootstrap_exactly_once() {
    let db = TestDb::new(Backend::Postgres).await;
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    // One master key shared by every process: secrets sealed by one are opened by the others.
    let key = dirs[0].path().join("shared.key");
    std::fs::write(&key, plugboard_core::ids::hex32().repeat(2)).unwrap();
    let config = format!("master_key_file = \"{}\"\n", key.display());
    let mut children: Vec<_> = dirs
        .iter()
        .map(|d| {
            std::fs::write(d.path().join("plugboard.toml"), &config).unwrap();
            Command::new(env!("CARGO_BIN_EXE_plugboard"))
                .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
                .arg(d.path())
                .env("PLUGBOARD_DATABASE_URL", &db.url)
                .env("PLUGBOARD_LOG", "warn")
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    for d in &dirs {
        while !d.path().join("listen-addr").exists() {
            assert!(Instant::now() < deadline, "a process did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let files: Vec<_> = dirs
        .iter()
        .filter(|d| d.path().join("bootstrap.json").exists())
        .collect();
    assert_eq!(files.len(), 1, "exactly one process writes bootstrap.json");
    let b: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(files[0].path().join("bootstrap.json")).unwrap(),
    )
    .unwrap();
    // Every process accepts the one admin's password and the bootstrap access key's token.
    let client = reqwest::Client::new();
    for d in &dirs {
        let addr = std::fs::read_to_string(d.path().join("listen-addr")).unwrap();
        let body = serde_json::json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"domain": {"name": "plugboard"}, "name": "admin", "password": b["password"]}}}, "scope": {"project": {"name": "local"}}}});
        let r = client
            .post(format!("http://{}/v3/auth/tokens", addr.trim()))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    for c in &mut children {
        Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status()
            .unwrap();
        assert_eq!(c.wait().unwrap().code(), Some(0));
    }
    db.cleanup().await;
}
