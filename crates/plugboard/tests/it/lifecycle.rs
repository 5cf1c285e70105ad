//! Process lifecycle over the real binary: bootstrap file, restarts, graceful shutdown (and its
//! bound), flags / environment / config file precedence, request logging, configuration errors.

#![allow(clippy::unwrap_used)]

use crate::common;

use common::{status_json, Server};
use serde_json::Value;
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

/// A `plugboard serve` started by a test with its own flags and environment.
struct Proc {
    child: std::process::Child,
    addr: String,
    bootstrap: serde_json::Value,
}

impl Proc {
    /// Start `plugboard serve <args>` with `env` (and nothing inherited from PLUGBOARD_*);
    /// `data_dir` is where it is expected to write `listen-addr` and `bootstrap.json`.
    async fn start(args: &[&str], env: &[(&str, &str)], data_dir: &std::path::Path) -> Proc {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_plugboard"));
        cmd.arg("serve").args(args);
        for (k, _) in std::env::vars() {
            if k.starts_with("PLUGBOARD_") {
                cmd.env_remove(k);
            }
        }
        cmd.envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let addr = loop {
            if let Ok(text) = std::fs::read_to_string(data_dir.join("listen-addr")) {
                if text.ends_with('\n') {
                    break text.trim().to_string();
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("plugboard exited early: {status}");
            }
            assert!(
                std::time::Instant::now() < deadline,
                "plugboard did not start"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        let bootstrap = serde_json::from_str(
            &std::fs::read_to_string(data_dir.join("bootstrap.json")).unwrap(),
        )
        .unwrap();
        Proc {
            child,
            addr,
            bootstrap,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn b(&self, key: &str) -> String {
        self.bootstrap[key].as_str().unwrap().to_string()
    }

    fn term(&self) {
        std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
    }

    /// SIGTERM, then the exit code, the time it took and stderr.
    fn stop(self) -> (Option<i32>, std::time::Duration, String) {
        let at = std::time::Instant::now();
        self.term();
        let out = self.child.wait_with_output().unwrap();
        (
            out.status.code(),
            at.elapsed(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
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

#[tokio::test]
async fn every_request_is_logged_with_its_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let p = Proc::start(
        &[
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data,
            "--log-format",
            "json",
        ],
        &[("PLUGBOARD_LOG", "info")],
        dir.path(),
    )
    .await;
    let client = reqwest::Client::new();
    let r = client.get(p.url("/healthz")).send().await.unwrap();
    let ok_id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    let r = client
        .get(p.url("/v3/no/such/route?secret=hidden"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let missing_id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    let (code, _, logs) = p.stop();
    assert_eq!(code, Some(0));
    let lines: Vec<Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    let find = |id: &str| {
        let found: Vec<&Value> = lines
            .iter()
            .filter(|l| l["fields"]["request_id"] == id)
            .collect();
        assert_eq!(found.len(), 1, "one line for {id} in {logs}");
        found[0].clone()
    };
    let ok = find(&ok_id);
    assert_eq!(ok["level"], "INFO");
    assert_eq!(ok["fields"]["message"], "request");
    assert_eq!(ok["fields"]["method"], "GET");
    assert_eq!(ok["fields"]["route"], "/healthz");
    assert_eq!(ok["fields"]["status"], 200);
    assert!(ok["fields"]["latency_ms"].as_f64().unwrap() >= 0.0);
    let missing = find(&missing_id);
    assert_eq!(missing["fields"]["route"], "/v3/no/such/route");
    assert_eq!(missing["fields"]["status"], 404);
    assert!(!logs.contains("hidden"), "query strings are not logged");
}

/// Send the head and the first part of a POST /v3/auth/tokens body, then (after `pause`)
/// the rest; returns the status line and body of the answer.
async fn slow_token_request(
    addr: String,
    password: String,
    started: tokio::sync::oneshot::Sender<()>,
    pause: std::time::Duration,
) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = serde_json::json!({"auth": {"identity": {"methods": ["password"],
        "password": {"user": {"domain": {"name": "plugboard"}, "name": "admin", "password": password}}},
        "scope": {"project": {"name": "local"}}}})
    .to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /v3/auth/tokens?nocatalog=true HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(first.as_bytes()).await.unwrap();
    conn.flush().await.unwrap();
    started.send(()).ok();
    tokio::time::sleep(pause).await;
    conn.write_all(rest.as_bytes()).await.ok();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).await.ok();
    let status = answer.lines().next().unwrap_or_default().to_string();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn sigterm_finishes_a_request_in_flight_then_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let p = Proc::start(
        &["--listen", "127.0.0.1:0", "--data-dir", data],
        &[("PLUGBOARD_LOG", "warn")],
        dir.path(),
    )
    .await;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let pause = std::time::Duration::from_millis(1500);
    let request = tokio::spawn(slow_token_request(
        p.addr.clone(),
        p.b("password"),
        tx,
        pause,
    ));
    rx.await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // The server is told to stop while half of the body is still to come.
    let at = std::time::Instant::now();
    p.term();
    let (status, body) = request.await.unwrap();
    assert!(status.starts_with("HTTP/1.1 201"), "{status} {body}");
    assert!(body.contains("\"token\""), "{body}");
    let out = p.child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(at.elapsed() < std::time::Duration::from_secs(10));
    // New connections are no longer accepted.
    assert!(std::net::TcpStream::connect(&p.addr).is_err());
}

#[tokio::test]
async fn a_stuck_request_does_not_hold_up_shutdown_beyond_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("plugboard.toml"),
        "[http]\nshutdown_timeout_seconds = 1\n",
    )
    .unwrap();
    let data = dir.path().to_str().unwrap();
    let p = Proc::start(
        &["--listen", "127.0.0.1:0", "--data-dir", data],
        &[("PLUGBOARD_LOG", "warn")],
        dir.path(),
    )
    .await;
    let (tx, rx) = tokio::sync::oneshot::channel();
    // The client never sends the rest of its body (within the test's life).
    let request = tokio::spawn(slow_token_request(
        p.addr.clone(),
        p.b("password"),
        tx,
        std::time::Duration::from_secs(60),
    ));
    rx.await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (code, took, logs) = p.stop();
    request.abort();
    assert_eq!(code, Some(0), "{logs}");
    assert!(
        took >= std::time::Duration::from_millis(900) && took < std::time::Duration::from_secs(6),
        "{took:?}"
    );
    assert!(logs.contains("did not finish in time"), "{logs}");
}
