//! HTTPS served by the binary itself (`[http] tls_certificate_file`, `tls_key_file`), with
//! certificates made in the test by a CA of its own: clients trusting that CA are served, the
//! HTTP layer's limits and refusals hold over TLS, a handshake that never completes is closed,
//! SIGHUP serves a new pair and keeps the old one when the new one is broken, the console's
//! cookie is `Secure`, and `plugboard dbss-agent` ships over HTTPS with its `ca_file`, or
//! without one when the system's roots (here `SSL_CERT_FILE`) hold the server's CA — and ships
//! nothing when they do not.

#![allow(clippy::unwrap_used)]

use crate::common::Server;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};
use serde_json::{json, Value};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A CA of the test's own, and leaf certificates for 127.0.0.1 signed by it.
struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self { cert, key }
    }

    fn pem(&self) -> String {
        self.cert.pem()
    }

    /// A certificate for 127.0.0.1 and its key, as PEM.
    fn leaf(&self) -> (String, String) {
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params
            .subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(self.pem().as_bytes()).unwrap())
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap()
    }
}

struct Files {
    dir: PathBuf,
}

impl Files {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("pbtls-{}", plugboard_core::ids::hex32()));
        std::fs::create_dir_all(&dir).unwrap();
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Write the serving pair (atomically, as an operator's tooling would).
    fn serve(&self, (cert, key): &(String, String)) {
        for (name, text) in [("server.crt", cert), ("server.key", key)] {
            let tmp = self.path(&format!("{name}.tmp"));
            std::fs::write(&tmp, text).unwrap();
            std::fs::rename(&tmp, self.path(name)).unwrap();
        }
    }

    /// `top`: top-level keys; `http`: more `[http]` keys.
    fn config(&self, top: &str, http: &str) -> String {
        format!(
            "{top}[http]\ntls_certificate_file = \"{}\"\ntls_key_file = \"{}\"\n{http}",
            self.path("server.crt").display(),
            self.path("server.key").display()
        )
    }
}

/// Start a server on `files`' pair, its harness pointed at the HTTPS address with a client
/// trusting `ca`.
async fn start(files: &Files, ca: &Ca, top: &str, http: &str) -> Server {
    let mut s = Server::start(Some(&files.config(top, http))).await;
    s.base = s.base.replace("http://", "https://");
    s.client = ca.client();
    s
}

fn signal(s: &Server, sig: &str) {
    let pid = s.child.as_ref().unwrap().id().to_string();
    assert!(Command::new("kill")
        .args([sig, &pid])
        .status()
        .unwrap()
        .success());
}

/// Whether a client trusting `ca` gets `/healthz` over HTTPS.
async fn served_to(s: &Server, ca: &Ca) -> bool {
    matches!(ca.client().get(s.url("/healthz")).send().await, Ok(r) if r.status() == 200)
}

/// Wait (at most 20 s) until `check` holds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn https_is_served_with_the_same_limits_and_reloaded_on_sighup() {
    let (first, second) = (Ca::new("first CA"), Ca::new("second CA"));
    let files = Files::new();
    files.serve(&first.leaf());
    // The public URL says http (as behind a proxy that does not say): the console still
    // learns from the connection that it is TLS.
    let mut s = start(
        &files,
        &first,
        "public_url = \"http://plugboard.internal\"\n",
        "max_uri_bytes = 2048\nheader_read_timeout_seconds = 1\n",
    )
    .await;
    let r = s.client.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        !served_to(&s, &second).await,
        "a client trusting another CA is refused"
    );

    // The HTTP layer's refusals, over TLS: a target past max_uri_bytes.
    let long = format!("/healthz?{}", "a".repeat(3000));
    let r = s.client.get(s.url(&long)).send().await.unwrap();
    assert_eq!(r.status(), 414);
    let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error_code"], "APIG.0201", "{body}");
    assert_eq!(body["request_id"], id.as_str(), "{body}");

    // Plain HTTP on the TLS port gets no HTTP answer; a handshake that never completes is
    // closed (header_read_timeout_seconds = 1).
    let addr = s.base.trim_start_matches("https://").to_string();
    for hello in [
        &b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"\x16\x03\x01",
    ] {
        let mut c = std::net::TcpStream::connect(&addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        std::io::Write::write_all(&mut c, hello).unwrap();
        let mut answer = Vec::new();
        let read = c.read_to_end(&mut answer);
        assert!(
            read.is_ok()
                || matches!(read, Err(ref e) if e.kind() == std::io::ErrorKind::ConnectionReset),
            "the server closes the connection: {read:?}"
        );
        assert!(!answer.starts_with(b"HTTP/"), "{answer:?}");
    }

    // The console's cookie is Secure over TLS.
    let r = s.client.get(s.url("/console/signin")).send().await.unwrap();
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(
        !cookies.is_empty() && cookies.iter().all(|c| c.contains("; Secure")),
        "{cookies:?}"
    );

    // SIGHUP with a pair from the second CA: served from the next handshake on.
    files.serve(&second.leaf());
    signal(&s, "-HUP");
    eventually("the new certificate is served after SIGHUP", || {
        served_to(&s, &second)
    })
    .await;
    assert!(!served_to(&s, &first).await);

    // SIGHUP with broken pairs: the one being served stays.
    let (other_cert, _) = first.leaf();
    let (_, other_key) = first.leaf();
    for (cert, key) in [
        ("not a certificate".to_string(), "not a key".to_string()),
        (other_cert, other_key),
    ] {
        std::fs::write(files.path("server.crt"), cert).unwrap();
        std::fs::write(files.path("server.key"), key).unwrap();
        signal(&s, "-HUP");
        // Signals are handled in order: the good pair after it proves this one was read.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(served_to(&s, &second).await, "the previous pair is kept");
        assert!(!served_to(&s, &first).await);
    }
    files.serve(&first.leaf());
    signal(&s, "-HUP");
    eventually("a good pair after broken ones is served", || {
        served_to(&s, &first)
    })
    .await;
    assert_eq!(s.stop(), Some(0), "SIGTERM still stops it cleanly");
}

#[tokio::test]
async fn an_https_server_refuses_to_start_on_an_unusable_pair() {
    let files = Files::new();
    std::fs::write(files.path("server.crt"), "garbage").unwrap();
    std::fs::write(files.path("server.key"), "garbage").unwrap();
    let data = files.path("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("plugboard.toml"), files.config("", "")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env_remove("PLUGBOARD_CONFIG")
        .env_remove("PLUGBOARD_DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("server.crt") && err.contains("no PEM certificate"),
        "{err}"
    );
    assert!(!data.join("master.key").exists(), "nothing written");
}

/// A `plugboard dbss-agent` process on `config`, its output in `log`; `roots`: the system
/// roots it sees (`SSL_CERT_FILE`), `None` for the host's own.
fn agent(config: &Path, log: &Path, roots: Option<&Path>) -> std::process::Child {
    let mut c = Command::new(env!("CARGO_BIN_EXE_plugboard"));
    c.env_remove("SSL_CERT_FILE").env_remove("SSL_CERT_DIR");
    if let Some(r) = roots {
        c.env("SSL_CERT_FILE", r);
    }
    c.args(["dbss-agent", "--config"])
        .arg(config)
        .env_remove("PLUGBOARD_AK")
        .env_remove("PLUGBOARD_SK")
        .env("PLUGBOARD_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn the_audit_agent_ships_over_https_only_to_a_server_its_ca_file_or_system_roots_vouch_for() {
    let (ca, other) = (Ca::new("plugboard CA"), Ca::new("someone else's CA"));
    let files = Files::new();
    files.serve(&ca.leaf());
    let s = start(&files, &ca, "", "").await;
    let token = s.admin_token().await;
    let pid = s.b("project_id");
    let iid = s
        .create_dbss_instance(&token, json!({"name": "tls", "database_limit": 10}))
        .await;
    let (st, db) = s.add_audit_database(&token, &iid, json!({
        "database": {"db_classification": "ECS", "name": "orders", "type": "POSTGRESQL", "version": "15",
                     "charset": "UTF8", "ip": "127.0.0.1", "port": "5432", "os": "LINUX64"}})).await;
    assert_eq!(st, 200, "{db}");
    let db_id = db["id"].as_str().unwrap().to_string();
    let (st, added) = s
        .post(
            &token,
            &format!("/v3/{pid}/audit/{iid}/agents"),
            json!({
        "db_id": db_id, "mode": 0, "agent_type": "DB", "agent_os": "LINUX64_X86",
        "cpu_threshold": 80, "mem_threshold": 80}),
        )
        .await;
    assert_eq!((st, &added), (200, &json!({"result": "SUCCESS"})));
    let (st, listed) = s
        .get(
            &token,
            &format!("/v3/{pid}/audit/{iid}/agents?db_id={db_id}"),
        )
        .await;
    assert_eq!(st, 200, "{listed}");
    let agent_id = listed["agents"][0]["agent_id"]
        .as_str()
        .unwrap()
        .to_string();

    // One statement in a pgaudit jsonlog file, stamped now.
    let marker = format!("tls_{}", &plugboard_core::ids::hex32()[..8]);
    let now = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S%.3f UTC");
    let line = |msg: String| {
        json!({"timestamp": now.to_string(), "user": "app", "dbname": "orders", "pid": 7,
               "remote_host": "10.0.0.7", "remote_port": 51514, "session_id": "s1",
               "error_severity": "LOG", "message": msg, "application_name": "psql"})
        .to_string()
    };
    std::fs::write(
        files.path("audit.json"),
        format!(
            "{}\n{}\n",
            line(format!("AUDIT: SESSION,1,1,DDL,DROP TABLE,TABLE,public.{marker},\"DROP TABLE {marker}\",<not logged>")),
            line("duration: 1.000 ms".into())
        ),
    )
    .unwrap();
    // `ca_pem`: the CA of `ca_file`; empty: no `ca_file` (the system's roots).
    let config = |name: &str, ca_pem: &str| {
        let ca_line = if ca_pem.is_empty() {
            String::new()
        } else {
            std::fs::write(files.path(&format!("{name}-ca.pem")), ca_pem).unwrap();
            format!(
                "ca_file = \"{}\"\n",
                files.path(&format!("{name}-ca.pem")).display()
            )
        };
        let text = format!(
            "endpoint = \"{}\"\nproject_id = \"{pid}\"\ninstance_id = \"{iid}\"\nagent_id = \"{agent_id}\"\n\
             access_key = \"{}\"\nsecret_key = \"{}\"\nstate_dir = \"{}\"\n{ca_line}\
             [[source]]\ndb_id = \"{db_id}\"\nkind = \"pgaudit-jsonlog\"\npath = \"{}\"\n",
            s.base,
            s.b("access_key"),
            s.b("secret_key"),
            files.path(&format!("{name}-state")).display(),
            files.path("audit.json").display(),
        );
        let path = files.path(&format!("{name}.toml"));
        std::fs::write(&path, text).unwrap();
        path
    };
    let listed_sqls = || async {
        let (st, body) = s
            .post(
                &token,
                &format!("/v2/{pid}/audit/{iid}/sqls"),
                json!({"time": {"time_range": "HALF_HOUR"}, "size": 100}),
            )
            .await;
        assert_eq!(st, 200, "{body}");
        body
    };

    // An agent whose CA did not sign the server's certificate: refused by its own TLS check,
    // and nothing is stored.
    let wrong_log = files.path("wrong.log");
    let mut wrong = agent(&config("wrong", &other.pem()), &wrong_log, None);
    eventually(
        "the agent with the wrong CA reports the certificate",
        || async {
            std::fs::read_to_string(&wrong_log)
                .unwrap_or_default()
                .contains("certificate")
        },
    )
    .await;
    assert_eq!(listed_sqls().await["total"], 0);
    wrong.kill().unwrap();
    wrong.wait().unwrap();

    // The agent with the server's CA ships it.
    let right_log = files.path("right.log");
    let mut right = agent(&config("right", &ca.pem()), &right_log, None);
    let mut body = Value::Null;
    let deadline = Instant::now() + Duration::from_secs(30);
    while body["total"] != 1 {
        assert!(
            Instant::now() < deadline,
            "not shipped: {body}\n{}",
            std::fs::read_to_string(&right_log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        body = listed_sqls().await;
    }
    assert_eq!(
        body["sqls"][0]["sql"]["sql_statement"],
        format!("DROP TABLE {marker}")
    );
    right.kill().unwrap();
    right.wait().unwrap();

    // No ca_file: the system's roots. Roots without the server's CA (SSL_CERT_FILE names
    // another CA's bundle): refused by the agent's TLS check, with what to do about it, and
    // nothing more is stored.
    std::fs::write(files.path("other-roots.pem"), other.pem()).unwrap();
    let untrusted_log = files.path("untrusted.log");
    let mut untrusted = agent(
        &config("untrusted", ""),
        &untrusted_log,
        Some(&files.path("other-roots.pem")),
    );
    eventually(
        "the agent without the server's CA in its roots says so",
        || async {
            std::fs::read_to_string(&untrusted_log)
                .unwrap_or_default()
                .contains("not signed by a CA this host trusts")
        },
    )
    .await;
    assert_eq!(listed_sqls().await["total"], 1);
    untrusted.kill().unwrap();
    untrusted.wait().unwrap();

    // Roots with no certificate at all: a sentence and exit 2 at start.
    std::fs::write(files.path("empty-roots.pem"), "").unwrap();
    let empty_log = files.path("empty.log");
    let mut empty = agent(
        &config("empty", ""),
        &empty_log,
        Some(&files.path("empty-roots.pem")),
    );
    let status = empty.wait().unwrap();
    let said = std::fs::read_to_string(&empty_log).unwrap_or_default();
    assert_eq!(status.code(), Some(2), "{said}");
    assert!(said.contains("no trusted root certificates"), "{said}");

    // The server's CA among the system's roots: shipped (a fresh state directory numbers its
    // events anew, so the statement is stored a second time).
    std::fs::write(
        files.path("roots.pem"),
        format!("{}{}", other.pem(), ca.pem()),
    )
    .unwrap();
    let system_log = files.path("system.log");
    let mut system = agent(
        &config("system", ""),
        &system_log,
        Some(&files.path("roots.pem")),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while body["total"] != 2 {
        assert!(
            Instant::now() < deadline,
            "not shipped with the system's roots: {body}\n{}",
            std::fs::read_to_string(&system_log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        body = listed_sqls().await;
    }
    system.kill().unwrap();
    system.wait().unwrap();
}
