//! The in-process application of the API tests: the real router (`plugboard_api::router`) over
//! the real services on a fresh SQLite store in a temporary directory, bootstrapped as the
//! binary does it, driven with `tower::ServiceExt::oneshot` (no socket, no process), and the
//! wire checks every module uses: the request id, the content type, exact bodies.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{HeaderMap, Request};
use axum::Router;
use plugboard_api::AppState;
use plugboard_core::config::{Config, Overrides};
use plugboard_core::secrets::MasterKey;
use plugboard_service::identity::seed;
use plugboard_store::testing::TestDb;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

/// What the first start hands the operator (`bootstrap.json`'s keys the tests use).
pub struct Bootstrap {
    pub domain_id: String,
    pub user_id: String,
    pub password: String,
    pub project_name: String,
    pub project_id: String,
    pub access_key: String,
    pub secret_key: String,
}

/// One answer: status, headers, the body as JSON (or as a JSON string when it is not JSON).
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The `X-Request-Id` header, checked to be 32 lower-case hex digits.
    pub fn request_id(&self) -> String {
        let id = self
            .headers
            .get("x-request-id")
            .unwrap_or_else(|| panic!("no X-Request-Id on {} {}", self.status, self.body))
            .to_str()
            .expect("ASCII request id")
            .to_string();
        assert!(plugboard_core::ids::is_hex32(&id), "request id {id:?}");
        id
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The status and the exact body; the request id is always present. JSON bodies carry the
    /// vendor's content type.
    pub fn is(&self, status: u16, body: Value) {
        self.request_id();
        assert_eq!(
            (self.status, &self.body),
            (status, &body),
            "answer (status, body)"
        );
        if !body.is_string() {
            assert_eq!(
                self.header("content-type"),
                Some("application/json;charset=UTF-8"),
                "content type of {body}"
            );
        }
    }
}

/// The application under test.
pub struct App {
    pub router: Router,
    pub state: AppState,
    pub boot: Bootstrap,
    db: Option<TestDb>,
    dir: tempfile::TempDir,
}

impl App {
    /// A fresh application: migrated SQLite store, system roles, the first identity.
    pub async fn new() -> App {
        Self::with_config("").await
    }

    /// A fresh application reading `toml` as its `plugboard.toml`.
    pub async fn with_config(toml: &str) -> App {
        let dir = tempfile::tempdir().expect("temp dir");
        let config_file = dir.path().join("plugboard.toml");
        std::fs::write(&config_file, toml).expect("config file");
        let config = Config::resolve(Overrides {
            data_dir: Some(dir.path().to_path_buf()),
            config: Some(config_file),
            ..Default::default()
        })
        .expect("config");
        let db = TestDb::new(plugboard_store::Backend::Sqlite).await;
        let store = db.store().await;
        let key = MasterKey::load_or_create(&dir.path().join("master.key")).expect("key");
        seed::seed_roles(&store).await.expect("roles");
        let first = seed::first_identity(&key, &config.region, "Passw0rd-for-tests!".into())
            .await
            .expect("first identity");
        assert!(store.bootstrap_once(&first.seed).await.expect("bootstrap"));
        let boot = Bootstrap {
            domain_id: first.seed.domain.id.clone(),
            user_id: first.seed.admin.id.clone(),
            password: first.password.clone(),
            project_name: first.seed.project.name.clone(),
            project_id: first.seed.project.id.clone(),
            access_key: first.seed.credential.access.clone(),
            secret_key: first.secret_key.clone(),
        };
        let identity = Arc::new(plugboard_auth::identity::Identity::new(
            store.clone(),
            key.clone(),
            config.iam.clone(),
        ));
        let services = plugboard_service::Services::new(&plugboard_service::Deps {
            config: config.clone(),
            store: store.clone(),
            key,
            network: Arc::new(Default::default()),
            job_waker: Arc::new(tokio::sync::Notify::new()),
            identity: identity.clone(),
            driver_program: "plugboard".into(),
        });
        let state = AppState::new(
            config,
            services,
            store,
            identity,
            "http://plugboard.test".into(),
            None,
        );
        App {
            router: plugboard_api::router(state.clone()),
            state,
            boot,
            db: Some(db),
            dir,
        }
    }

    /// Send one request through the router.
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router always answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
            .await
            .expect("body");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            headers,
            body,
        }
    }

    /// `method path` with `X-Auth-Token: token` when given and `body` as JSON when given.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            request = request.header("x-auth-token", t);
        }
        let body = match body {
            Some(b) => {
                request = request.header("content-type", "application/json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).expect("request")).await
    }

    /// `method path` with a raw body and content type (malformed input).
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        token: &str,
        content_type: &str,
        body: &str,
    ) -> Reply {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("x-auth-token", token)
            .header("content-type", content_type)
            .body(Body::from(body.to_string()))
            .expect("request");
        self.send(request).await
    }

    /// A password token of the bootstrap admin, scoped to its project.
    pub async fn token(&self) -> String {
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "domain": {"name": "plugboard"}, "name": "admin", "password": self.boot.password}}},
            "scope": {"project": {"name": self.boot.project_name}}}});
        let reply = self.call("POST", "/v3/auth/tokens", None, Some(body)).await;
        assert_eq!(reply.status, 201, "token: {}", reply.body);
        reply
            .header("x-subject-token")
            .expect("X-Subject-Token")
            .to_string()
    }

    /// A ZStack session of the bootstrap admin (REST login with the password's SHA-512 hex).
    pub async fn zstack_session(&self) -> String {
        use sha2::{Digest, Sha512};
        let digest = hex::encode(Sha512::digest(self.boot.password.as_bytes()));
        let body = json!({"logInByAccount": {"accountName": "admin", "password": digest}});
        let reply = self
            .call("PUT", "/zstack/v1/accounts/login", None, Some(body))
            .await;
        assert_eq!(reply.status, 200, "login: {}", reply.body);
        reply.body["inventory"]["uuid"]
            .as_str()
            .expect("session uuid")
            .to_string()
    }

    /// `/v3/<project>/...` style paths: `{p}` is replaced by the bootstrap project's id.
    pub fn p(&self, path: &str) -> String {
        path.replace("{p}", &self.boot.project_id)
    }
}

impl Drop for App {
    fn drop(&mut self) {
        // The SQLite database lives in a directory of its own (TestDb): remove it with ours.
        if let Some(db) = self.db.take() {
            if let Some(path) = db.url.strip_prefix("sqlite://") {
                if let Some(parent) = std::path::Path::new(path).parent() {
                    std::fs::remove_dir_all(parent).ok();
                }
            }
        }
        let _ = self.dir.path();
    }
}

/// What [`masked`] replaces: a JSON pointer, the name of what is there, its format check.
pub type Mask<'a> = (&'a str, &'a str, fn(&str) -> bool);

/// `value` with every string or number at the JSON pointers `paths` replaced by `"<what>"` after
/// `check` accepted it: for ids and times, whose format is checked and whose value is not.
pub fn masked(mut value: Value, paths: &[Mask]) -> Value {
    for (pointer, what, check) in paths {
        let slot = value
            .pointer_mut(pointer)
            .unwrap_or_else(|| panic!("no {pointer}"));
        let text = match slot {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => panic!("{pointer} is neither a string nor a number: {other}"),
        };
        assert!(check(&text), "{pointer} = {text:?} is not {what}");
        *slot = Value::String(format!("<{what}>"));
    }
    value
}

/// 32 lower-case hex digits (ids of plugboard's rows).
pub fn hex32(s: &str) -> bool {
    plugboard_core::ids::is_hex32(s)
}

/// An RFC 3339 / ISO 8601 UTC time as the vendors write it (`...Z` or `+0000`).
pub fn utc_time(s: &str) -> bool {
    s.len() >= 19
        && s.as_bytes()[4] == b'-'
        && s.as_bytes()[10] == b'T'
        && (s.ends_with('Z') || s.ends_with("+0000") || s.ends_with("+00:00"))
}

/// A UUID with dashes (36 characters).
pub fn uuid(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4
}

/// Milliseconds since the epoch, as ServiceStage writes times (after 2020).
pub fn millis(s: &str) -> bool {
    s.parse::<i64>().is_ok_and(|n| n > 1_577_836_800_000)
}

/// A GaussDB id: 32 hex digits and a four-character kind (`in14`, `no14`).
pub fn gaussdb_id(s: &str) -> bool {
    s.len() == 36 && hex32(&s[..32])
}
