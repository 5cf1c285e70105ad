//! Configuration over the real binary: errors reported with exit 2 before anything is
//! written, an unreachable database named, and the precedence of flags over the environment
//! over the config file (region, listen address, public URLs in the token's catalog).
#![allow(clippy::unwrap_used)]

use crate::common;

use common::process::Proc;
use common::status_json;
use serde_json::Value;
use std::collections::BTreeSet;

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

/// `plugboard serve` on a data directory that does not exist yet, with `args` and the
/// config file `toml` (kept outside the data directory); returns the exit code, stderr and
/// whether the data directory was created.
fn serve_bad(args: &[&str], toml: &str) -> (Option<i32>, String, bool) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("plugboard.toml");
    std::fs::write(&config, toml).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .arg("serve")
        .arg("--data-dir")
        .arg(&data)
        .arg("--config")
        .arg(&config)
        .args(args)
        .env_remove("PLUGBOARD_DATABASE_URL")
        .env_remove("PLUGBOARD_LISTEN")
        .env_remove("PLUGBOARD_PUBLIC_URL")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        data.exists(),
    )
}

#[test]
fn every_configuration_error_exits_2_with_one_message_before_anything_is_written() {
    let cases: [(&[&str], &str, &str); 8] = [
        (&["--listen", "nonsense"], "", "listen address `nonsense`"),
        (&["--listen", "127.0.0.1:99999"], "", "listen address"),
        (
            &[],
            "listen = \"localhost\"\n",
            "listen address `localhost`",
        ),
        (
            &[],
            "[network]\nprobe_allow = [\"10.0.0.0/33\"]\n",
            "probe_allow entry \"10.0.0.0/33\"",
        ),
        (
            &[],
            "[network]\nallow = [\"ftp://mirror.example.com/\"]\n",
            "allow entry \"ftp://mirror.example.com/\"",
        ),
        (
            &[],
            "[network]\nallow = [\"mirror.example.com/packages/\"]\n",
            "allow entry \"mirror.example.com/packages/\"",
        ),
        (
            &["--public-url", "plugboard.example.com"],
            "",
            "public URL `plugboard.example.com`",
        ),
        (
            &["--database-url", "postgres://u@db.example:99999/p"],
            "",
            "database URL",
        ),
    ];
    for (args, toml, wanted) in cases {
        let (code, err, written) = serve_bad(args, toml);
        assert_eq!(code, Some(2), "{args:?} {toml}: {err}");
        assert!(err.contains(wanted), "{args:?} {toml}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one message: {err}");
        assert!(!written, "{args:?} {toml}: the data directory was created");
    }
}

#[test]
fn an_unreachable_database_fails_fast_naming_host_and_port_without_colour() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("postgres://postgres@127.0.0.1:{port}/plugboard");
    let started = std::time::Instant::now();
    let (code, err, written) = serve_bad(&["--database-url", &url], "");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(6),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(code, Some(1), "{err}");
    let reach = format!("cannot reach PostgreSQL at 127.0.0.1:{port}");
    assert_eq!(err.matches(&reach).count(), 1, "{err}");
    assert!(!err.contains("pool timed out"), "{err}");
    assert!(
        !err.contains('\u{1b}'),
        "colour codes in a log that is not a terminal: {err:?}"
    );
    assert!(!written, "the data directory was created");
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

/// A password token (with its catalog) for `user`, scoped to the project named `project`.
async fn token(base: &str, user: &str, password: &str, project: &str) -> (u16, Value) {
    let body = serde_json::json!({"auth": {"identity": {"methods": ["password"],
        "password": {"user": {"domain": {"name": "plugboard"}, "name": user, "password": password}}},
        "scope": {"project": {"name": project}}}});
    let r = reqwest::Client::new()
        .post(format!("{base}/v3/auth/tokens"))
        .json(&body)
        .send()
        .await
        .unwrap();
    status_json(r).await
}

fn catalog_urls(token: &Value) -> BTreeSet<String> {
    token["token"]["catalog"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["endpoints"].as_array().unwrap().iter())
        .map(|e| e["url"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn environment_sets_everything_and_beats_the_config_file() {
    let root = tempfile::tempdir().unwrap();
    let data_dir = root.path().join("data");
    let db_dir = root.path().join("db");
    std::fs::create_dir_all(&db_dir).unwrap();
    // The config file lives outside the data directory: only PLUGBOARD_CONFIG finds it.
    let config = root.path().join("elsewhere.toml");
    std::fs::write(
        &config,
        "listen = \"0.0.0.0:0\"\nregion = \"fileregion\"\npublic_url = \"http://file.example:1\"\n",
    )
    .unwrap();
    let database_url = format!("sqlite://{}/custom.db", db_dir.display());
    let password = "Env-Admin-passw0rd-42";
    let data = data_dir.to_str().unwrap();
    let p = Proc::start(
        &["--database-url", &database_url],
        &[
            ("PLUGBOARD_LISTEN", "127.0.0.1:0"),
            ("PLUGBOARD_DATA_DIR", data),
            ("PLUGBOARD_CONFIG", config.to_str().unwrap()),
            ("PLUGBOARD_PUBLIC_URL", "http://plugboard.example:9999/"),
            ("PLUGBOARD_ADMIN_PASSWORD", password),
            ("PLUGBOARD_LOG", "warn"),
        ],
        &data_dir,
    )
    .await;
    // PLUGBOARD_LISTEN beats the file's 0.0.0.0.
    assert!(p.addr.starts_with("127.0.0.1:"), "{}", p.addr);
    // The config file was read (region), PLUGBOARD_PUBLIC_URL beat its public_url.
    assert_eq!(p.b("region"), "fileregion");
    assert_eq!(p.b("project_name"), "fileregion");
    assert_eq!(p.b("endpoint"), "http://plugboard.example:9999");
    // PLUGBOARD_ADMIN_PASSWORD is the admin's password, and it works.
    assert_eq!(p.b("password"), password);
    let (st, t) = token(&p.url(""), "admin", password, "fileregion").await;
    assert_eq!(st, 201, "{t}");
    let urls = catalog_urls(&t);
    assert_eq!(
        urls,
        BTreeSet::from(["http://plugboard.example:9999".to_string()])
    );
    // --database-url: the store is where the flag says, not in the data directory.
    assert!(db_dir.join("custom.db").exists());
    assert!(!data_dir.join("plugboard.db").exists());
    let (code, took, _) = p.stop();
    assert_eq!(code, Some(0));
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
}

#[tokio::test]
async fn flags_beat_the_environment_and_wildcard_listen_gets_a_loopback_url() {
    let root = tempfile::tempdir().unwrap();
    let data_dir = root.path().join("data");
    let flag_config = root.path().join("flag.toml");
    let env_config = root.path().join("env.toml");
    std::fs::write(&flag_config, "region = \"flagfile\"\n").unwrap();
    std::fs::write(&env_config, "region = \"envfile\"\n").unwrap();
    let data = data_dir.to_str().unwrap();
    let p = Proc::start(
        &[
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data,
            "--config",
            flag_config.to_str().unwrap(),
            "--public-url",
            "https://flag.example",
        ],
        &[
            ("PLUGBOARD_LISTEN", "0.0.0.0:0"),
            (
                "PLUGBOARD_DATA_DIR",
                root.path().join("nope").to_str().unwrap(),
            ),
            ("PLUGBOARD_CONFIG", env_config.to_str().unwrap()),
            ("PLUGBOARD_PUBLIC_URL", "http://env.example"),
            ("PLUGBOARD_LOG", "warn"),
        ],
        &data_dir,
    )
    .await;
    assert!(p.addr.starts_with("127.0.0.1:"), "{}", p.addr);
    assert_eq!(p.b("region"), "flagfile");
    assert_eq!(p.b("endpoint"), "https://flag.example");
    assert!(!root.path().join("nope").exists());
    let (st, t) = token(&p.url(""), "admin", &p.b("password"), "flagfile").await;
    assert_eq!(st, 201);
    assert_eq!(
        catalog_urls(&t),
        BTreeSet::from(["https://flag.example".to_string()])
    );
    assert_eq!(p.stop().0, Some(0));

    // Listening on every IPv4 address without a public URL: the URL names 127.0.0.1.
    let wild_dir = root.path().join("wild");
    let p = Proc::start(
        &[
            "--listen",
            "0.0.0.0:0",
            "--data-dir",
            wild_dir.to_str().unwrap(),
        ],
        &[("PLUGBOARD_LOG", "warn")],
        &wild_dir,
    )
    .await;
    let port = p.addr.rsplit_once(':').unwrap().1.to_string();
    assert!(p.addr.starts_with("0.0.0.0:"), "{}", p.addr);
    assert_eq!(p.b("endpoint"), format!("http://127.0.0.1:{port}"));
    let (st, t) = token(&p.b("endpoint"), "admin", &p.b("password"), "local").await;
    assert_eq!(st, 201);
    assert_eq!(
        catalog_urls(&t),
        BTreeSet::from([format!("http://127.0.0.1:{port}")])
    );
    assert_eq!(p.stop().0, Some(0));
}
