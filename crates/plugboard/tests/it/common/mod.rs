//! Test harness: [`TestApp`] starts the real `plugboard` binary (port 0, fresh data directory,
//! SQLite or a fresh PostgreSQL database) and talks to it over HTTP, signing requests the way
//! the official SDK does; its helper methods per endpoint are in `endpoints.rs`, the CLI's
//! client in `cli.rs`, a hand-started `plugboard serve` in `process.rs`.
#![allow(dead_code)]

pub mod cli;
mod endpoints;
pub mod process;

use hmac::{Hmac, Mac};
use plugboard_store::testing::TestDb;
use plugboard_store::Backend;
use serde_json::Value;
use sha2::Sha256;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Which back-end the test server uses: `PLUGBOARD_TEST_BACKEND=postgres` selects PostgreSQL.
pub fn backend() -> Backend {
    match std::env::var("PLUGBOARD_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

/// The real binary, started for one test (zero2prod's `TestApp`).
pub struct TestApp {
    pub child: Option<Child>,
    pub data_dir: PathBuf,
    pub base: String,
    pub bootstrap: Value,
    pub db: Option<TestDb>,
    pub client: reqwest::Client,
    config: Option<String>,
}

impl TestApp {
    /// Start a server with an optional `plugboard.toml`.
    pub async fn start(config: Option<&str>) -> TestApp {
        let db = TestDb::new(backend()).await;
        let data_dir = std::env::temp_dir().join(format!("pbsrv-{}", plugboard_core::ids::hex32()));
        std::fs::create_dir_all(&data_dir).expect("data dir");
        let mut server = TestApp {
            child: None,
            data_dir,
            base: String::new(),
            bootstrap: Value::Null,
            db: Some(db),
            client: reqwest::Client::new(),
            config: config.map(str::to_string),
        };
        if let Some(cfg) = config {
            std::fs::write(server.data_dir.join("plugboard.toml"), cfg).expect("config");
        }
        server.spawn().await;
        server
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_plugboard"));
        cmd.arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .env_remove("PLUGBOARD_LISTEN")
            .env_remove("PLUGBOARD_CONFIG")
            .env("PLUGBOARD_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        match &self.db {
            Some(db) if db.backend == Backend::Postgres => {
                cmd.env("PLUGBOARD_DATABASE_URL", &db.url);
            }
            _ => {
                cmd.env_remove("PLUGBOARD_DATABASE_URL");
            }
        }
        cmd
    }

    /// (Re)start the process on the same data directory and database.
    pub async fn spawn(&mut self) {
        std::fs::remove_file(self.data_dir.join("listen-addr")).ok();
        let child = self.command().spawn().expect("spawn plugboard");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        let addr = loop {
            if let Ok(text) = std::fs::read_to_string(self.data_dir.join("listen-addr")) {
                if text.ends_with('\n') {
                    break text.trim().to_string();
                }
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("plugboard exited early: {status}");
            }
            assert!(Instant::now() < deadline, "plugboard did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        self.base = format!("http://{addr}");
        let text =
            std::fs::read_to_string(self.data_dir.join("bootstrap.json")).expect("bootstrap.json");
        self.bootstrap = serde_json::from_str(&text).expect("bootstrap json");
    }

    /// Send SIGTERM and wait; returns the exit code.
    pub fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let pid = child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            if Instant::now() > deadline {
                child.kill().ok();
                panic!("plugboard did not stop within 15 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn b(&self, key: &str) -> String {
        self.bootstrap[key]
            .as_str()
            .unwrap_or_else(|| panic!("bootstrap.{key}"))
            .to_string()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A project-scoped token for the bootstrap admin.
    pub async fn admin_token(&self) -> String {
        self.token(
            &self.b("user_name"),
            &self.b("password"),
            Some(&self.b("project_name")),
        )
        .await
        .expect("admin token")
    }

    /// A ZStack session of the bootstrap admin (REST login with the password's SHA-512 hex).
    pub async fn zstack_session(&self) -> String {
        use sha2::{Digest, Sha512};
        let digest = hex::encode(Sha512::digest(self.b("password").as_bytes()));
        let body =
            serde_json::json!({"logInByAccount": {"accountName": "admin", "password": digest}});
        let r = self
            .client
            .put(self.url("/zstack/v1/accounts/login"))
            .json(&body)
            .send()
            .await
            .expect("zstack login");
        let answer: serde_json::Value = r.json().await.expect("login answer");
        answer["inventory"]["uuid"]
            .as_str()
            .expect("session uuid")
            .to_string()
    }

    /// A password token; `None` on 401.
    pub async fn token(&self, user: &str, password: &str, project: Option<&str>) -> Option<String> {
        let mut body = serde_json::json!({"auth": {"identity": {"methods": ["password"],
            "password": {"user": {"domain": {"name": "plugboard"}, "name": user, "password": password}}}}});
        if let Some(p) = project {
            body["auth"]["scope"] = serde_json::json!({"project": {"name": p}});
        }
        let r = self
            .client
            .post(self.url("/v3/auth/tokens?nocatalog=true"))
            .json(&body)
            .send()
            .await
            .expect("send");
        if r.status() != 201 {
            return None;
        }
        Some(
            r.headers()["x-subject-token"]
                .to_str()
                .expect("token")
                .to_string(),
        )
    }

    /// A request signed with SDK-HMAC-SHA256 as the official SDK signs it.
    pub fn signed(
        &self,
        method: &str,
        path_and_query: &str,
        body: &[u8],
        ak: &str,
        sk: &str,
        project: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        sign_at(
            &self.client,
            &self.base,
            method,
            path_and_query,
            body,
            ak,
            sk,
            project,
            &date,
        )
    }

    /// Admin AK/SK signed request.
    pub fn admin_signed(
        &self,
        method: &str,
        path_and_query: &str,
        body: &[u8],
    ) -> reqwest::RequestBuilder {
        self.signed(
            method,
            path_and_query,
            body,
            &self.b("access_key"),
            &self.b("secret_key"),
            Some(&self.b("project_id")),
        )
    }
}

/// The name the test modules were written with.
pub type Server = TestApp;

#[allow(clippy::too_many_arguments)]
pub fn sign_at(
    client: &reqwest::Client,
    base: &str,
    method: &str,
    path_and_query: &str,
    body: &[u8],
    ak: &str,
    sk: &str,
    project: Option<&str>,
    date: &str,
) -> reqwest::RequestBuilder {
    let host = base.trim_start_matches("http://").to_string();
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "content-type",
        "application/json;charset=utf-8".parse().expect("h"),
    );
    headers.insert("host", host.parse().expect("h"));
    headers.insert("x-sdk-date", date.parse().expect("h"));
    let mut signed = vec!["content-type", "host", "x-sdk-date"];
    if let Some(p) = project {
        headers.insert("x-project-id", p.parse().expect("h"));
        signed.insert(2, "x-project-id");
    }
    let signed_raw = signed.join(";");
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_and_query, None),
    };
    let auth = plugboard_auth::signing::Authorization {
        access: ak.into(),
        signed_headers_raw: (&signed_raw).into(),
        signature: "".into(),
    };
    let parts = plugboard_auth::signing::RequestParts {
        method,
        path,
        query,
        headers: &headers,
        body,
    };
    let canonical = plugboard_auth::signing::canonical_request(&parts, &auth).expect("canonical");
    let to_sign = plugboard_auth::signing::string_to_sign(date, &canonical);
    let mut mac = Hmac::<Sha256>::new_from_slice(sk.as_bytes()).expect("key");
    mac.update(to_sign.as_bytes());
    let signature = hex::encode(mac.finalize().into_bytes());
    let mut req = client
        .request(
            method.parse().expect("method"),
            format!("{base}{path_and_query}"),
        )
        .header("content-type", "application/json;charset=utf-8")
        .header("x-sdk-date", date)
        .header(
            "authorization",
            format!(
                "SDK-HMAC-SHA256 Access={ak}, SignedHeaders={signed_raw}, Signature={signature}"
            ),
        )
        .body(body.to_vec());
    if let Some(p) = project {
        req = req.header("x-project-id", p);
    }
    req
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
        std::fs::remove_dir_all(&self.data_dir).ok();
        if let Some(db) = self.db.take() {
            // Best effort: drop the test database on a fresh runtime thread.
            std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(db.cleanup());
                }
            })
            .join()
            .ok();
        }
    }
}

/// Response status and JSON body.
pub async fn status_json(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A request with `X-Auth-Token: token` (and `body` as JSON); the status and JSON body.
pub async fn call(
    s: &Server,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = s
        .client
        .request(method.parse().expect("method"), s.url(path))
        .header("x-auth-token", token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    status_json(r.send().await.expect("response")).await
}

/// Serve `body` to every GET on a loopback port (one thread); returns the base URL.
pub fn serve_bytes(body: Vec<u8>) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
        }
    });
    base
}

/// A valid extension package, built with tar; returns (bytes, sha256 hex).
pub fn extension_package(name: &str) -> (Vec<u8>, String) {
    use sha2::Digest;
    let dir = tempfile::tempdir().unwrap();
    let ext = dir.path().join("share/extension");
    std::fs::create_dir_all(&ext).unwrap();
    std::fs::write(
        ext.join(format!("{name}.control")),
        "default_version = '1.0'\nrelocatable = true\n",
    )
    .unwrap();
    std::fs::write(
        ext.join(format!("{name}--1.0.sql")),
        format!("CREATE FUNCTION {name}_one() RETURNS int LANGUAGE sql AS 'SELECT 1';\n"),
    )
    .unwrap();
    let archive = dir.path().join("p.tar.gz");
    let status = std::process::Command::new("tar")
        .arg("-C")
        .arg(dir.path())
        .arg("-czf")
        .arg(&archive)
        .arg("share")
        .status()
        .unwrap();
    assert!(status.success());
    let bytes = std::fs::read(&archive).unwrap();
    let sha = hex::encode(sha2::Sha256::digest(&bytes));
    (bytes, sha)
}
