//! The driver registry's cross-process signals on the real binary (processes on one
//! PostgreSQL database): a refresh made through one process is seen by the other at once, and
//! an Enforcing delete run by one process stops the driver's step running in another at once
//! (both by `NOTIFY plugboard_drivers`; the once-a-second check stays as the safety net, which
//! is what these bounds rule out).

#![allow(clippy::unwrap_used)]

use plugboard_store::testing::TestDb;
use plugboard_store::{Backend, Store};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What these tests allow between one process's change and the other's acting on it.
const BOUND: Duration = Duration::from_millis(200);

/// One `plugboard serve` process with its data directory.
struct Node {
    dir: tempfile::TempDir,
    child: Child,
}

impl Node {
    /// Start a process on `db_url` with the shared `key` and this `[jobs]` section; the
    /// drivers named are put in its plug-in folder first.
    async fn start(db_url: &str, key: &Path, jobs: &str, drivers: &[(&str, &str)]) -> Node {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("plugboard.toml"),
            format!("master_key_file = \"{}\"\n[jobs]\n{jobs}\n", key.display()),
        )
        .unwrap();
        for (name, uuid) in drivers {
            driver(dir.path(), name, uuid);
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_plugboard"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .env("PLUGBOARD_DATABASE_URL", db_url)
            .env("PLUGBOARD_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !dir.path().join("listen-addr").exists() {
            assert!(Instant::now() < deadline, "the process never served");
            assert!(child.try_wait().unwrap().is_none(), "the process exited");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Node { dir, child }
    }

    fn base(&self) -> String {
        let addr = std::fs::read_to_string(self.dir.path().join("listen-addr")).unwrap();
        format!("http://{}", addr.trim())
    }

    /// SIGTERM; the process must exit 0.
    fn stop(mut self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert_eq!(self.child.wait().unwrap().code(), Some(0));
    }
}

impl Drop for Node {
    /// A test that failed leaves no process behind (after `stop` this finds it gone).
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.child.kill().ok();
            self.child.wait().ok();
        }
    }
}

/// An external add-on driver in `<data-dir>/plugins/<name>/` whose one install step saves its
/// child's pid in `<data-dir>/plugins/<name>/step.pid` and waits for it (ten minutes).
fn driver(data_dir: &Path, name: &str, uuid: &str) {
    let folder = data_dir.join("plugins").join(name);
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("driver.toml"),
        format!(
            "uuid = \"{uuid}\"\nname = \"{name}\"\ntype = \"addon\"\nexecutable = \"driver\"\n\
             timeout_seconds = 900\n[[addons]]\nname = \"{name}\"\nversions = [\"1.0\"]\n\
             [steps]\ninstall = [\"only\"]\n"
        ),
    )
    .unwrap();
    let exe = folder.join("driver");
    std::fs::write(
        &exe,
        format!(
            "#!/bin/sh\ncat >/dev/null\nsleep 600 &\necho $! > {}\nwait\n",
            folder.join("step.pid").display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A driver product key: a version-4 UUID without its hyphens.
fn product_key() -> String {
    plugboard_core::ids::uuid().replace('-', "")
}

/// The shared key file and the database of a scale-out.
async fn database() -> (TestDb, tempfile::TempDir, PathBuf) {
    let db = TestDb::new(Backend::Postgres).await;
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("shared.key");
    std::fs::write(&key, plugboard_core::ids::hex32().repeat(2)).unwrap();
    (db, keys, key)
}

/// The bootstrap admin's project and a token for it, from the process that bootstrapped.
async fn login(client: &reqwest::Client, node: &Node) -> (String, String) {
    let b: Value = serde_json::from_str(
        &std::fs::read_to_string(node.dir.path().join("bootstrap.json")).unwrap(),
    )
    .unwrap();
    let project = b["project_id"].as_str().unwrap().to_string();
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"domain": {"name": b["domain_name"]}, "name": b["user_name"], "password": b["password"]}}}, "scope": {"project": {"id": project}}}});
    let r = client
        .post(format!("{}/v3/auth/tokens", node.base()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let token = r.headers()["x-subject-token"].to_str().unwrap().to_string();
    (project, token)
}

async fn call(
    client: &reqwest::Client,
    token: &str,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = client.request(method, url).header("X-Auth-Token", token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The driver names `node` lists.
async fn listed(client: &reqwest::Client, token: &str, node: &Node) -> Vec<String> {
    let (status, v) = call(
        client,
        token,
        reqwest::Method::GET,
        format!("{}/plugboard/v1/drivers", node.base()),
        None,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    v["drivers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_string())
        .collect()
}

/// Refresh through `from`, then read `to` until it lists `name`: how long that took.
async fn seen_after_refresh(
    client: &reqwest::Client,
    token: &str,
    from: &Node,
    to: &Node,
    name: &str,
) -> Duration {
    // `to` has just checked the registry's generation (its reads check it at most once a
    // second): without the notification it would go on answering from its old view.
    for _ in 0..3 {
        assert!(!listed(client, token, to).await.contains(&name.to_string()));
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let (status, v) = call(
        client,
        token,
        reqwest::Method::POST,
        format!("{}/plugboard/v1/drivers/refresh", from.base()),
        None,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let refreshed = Instant::now();
    loop {
        if listed(client, token, to).await.contains(&name.to_string()) {
            return refreshed.elapsed();
        }
        assert!(
            refreshed.elapsed() < Duration::from_secs(5),
            "{name} never listed"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_driver_refresh_through_one_process_is_seen_by_the_other_at_once() {
    let (db, _keys, key) = database().await;
    let api = Node::start(&db.url, &key, "max_concurrent = 0", &[]).await;
    let worker = Node::start(
        &db.url,
        &key,
        "max_concurrent = 4\npoll_interval_ms = 60000",
        &[],
    )
    .await;
    let client = reqwest::Client::new();
    let (_, token) = login(&client, &api).await;
    // Both processes have the driver's folder (each scans its own), neither has recorded it.
    let uuids = [product_key(), product_key()];
    for node in [&api, &worker] {
        driver(node.dir.path(), "first", &uuids[0]);
    }
    // through the API-only process, seen by the worker
    let to_worker = seen_after_refresh(&client, &token, &api, &worker, "first").await;
    // through the worker, seen by the API-only process
    for node in [&api, &worker] {
        driver(node.dir.path(), "second", &uuids[1]);
    }
    let to_api = seen_after_refresh(&client, &token, &worker, &api, "second").await;
    eprintln!(
        "refresh seen by the other process after {to_worker:?} (worker) and {to_api:?} (API-only)"
    );
    assert!(
        to_worker < BOUND,
        "the worker saw the refresh after {to_worker:?}"
    );
    assert!(
        to_api < BOUND,
        "the API-only process saw the refresh after {to_api:?}"
    );
    api.stop();
    worker.stop();
    db.cleanup().await;
}

/// A job row's status, fail reason and end (0 while it runs).
async fn job_row(store: &Store, id: &str) -> (String, String, i64) {
    sqlx::query_as("SELECT status, fail_reason, ended_at FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_one(store.pool())
        .await
        .unwrap()
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().next())
                != Some("Z")
        })
        .unwrap_or(false)
}

#[tokio::test]
async fn an_enforcing_delete_run_by_one_process_stops_the_step_in_another_at_once() {
    let (db, _keys, key) = database().await;
    let uuid = product_key();
    // The step's process: one work slot, so with the step running and a second job claimed
    // ahead it takes no other job, and the delete can only run in the other process.
    let step_node = Node::start(
        &db.url,
        &key,
        "max_concurrent = 1\npoll_interval_ms = 60000",
        &[("slow", &uuid)],
    )
    .await;
    let client = reqwest::Client::new();
    let (project, token) = login(&client, &step_node).await;
    let base = step_node.base();
    let mut jobs = vec![];
    for i in 0..2 {
        let (status, env) = call(
            &client,
            &token,
            reqwest::Method::POST,
            format!("{base}/v3/{project}/cas/environments"),
            Some(json!({"name": format!("env{i}"), "vpc_id": "vpc-1"})),
        )
        .await;
        assert_eq!(status, 200, "{env}");
        let env = env["id"].as_str().unwrap().to_string();
        let (status, v) = call(
            &client,
            &token,
            reqwest::Method::PUT,
            format!("{base}/v3/{project}/cas/environments/{env}/resources"),
            Some(json!({"resources": [{"id": "cce-1", "type": "cce"}]})),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        let (status, v) = call(
            &client,
            &token,
            reqwest::Method::POST,
            format!("{base}/v3/{project}/cas/environments/{env}/addons"),
            Some(json!({"name": "slow", "cce_id": "cce-1"})),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        jobs.push(v["job_id"].as_str().unwrap().to_string());
    }
    let store = Store::connect(&db.url).await.unwrap();
    let pid_file = step_node.dir.path().join("plugins/slow/step.pid");
    let deadline = Instant::now() + Duration::from_secs(20);
    let step = loop {
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
        {
            break pid;
        }
        assert!(Instant::now() < deadline, "the step never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // The second job is claimed ahead once its notification is heard, which may come after
    // the first job's step has started.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let owners: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT lease_owner FROM jobs WHERE kind = 'ServiceStageAddon' AND ended_at = 0",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        if owners.len() == 1 && !owners[0].is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "both add-on jobs held by the step's process: {owners:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The other process, which runs the delete.
    let other = Node::start(
        &db.url,
        &key,
        "max_concurrent = 4\npoll_interval_ms = 60000",
        &[("slow", &uuid)],
    )
    .await;
    let (status, v) = call(
        &client,
        &token,
        reqwest::Method::DELETE,
        format!(
            "{}/plugboard/v1/drivers/{uuid}?mode=enforcing",
            other.base()
        ),
        None,
    )
    .await;
    assert_eq!(status, 202, "{v}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let deleted_at: i64 = loop {
        let row: Option<i64> = sqlx::query_scalar(
            "SELECT ended_at FROM jobs WHERE kind = 'ZStackDeletePluginDrivers' AND status = 'completed'",
        )
        .fetch_optional(store.pool())
        .await
        .unwrap();
        if let Some(r) = row {
            break r;
        }
        assert!(Instant::now() < deadline, "the delete never completed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let (status, reason, stopped_at) = loop {
        let row = job_row(&store, &jobs[0]).await;
        if row.2 > 0 {
            break row;
        }
        assert!(Instant::now() < deadline, "the step was never stopped");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let after = Duration::from_micros(stopped_at.saturating_sub(deleted_at).max(0) as u64);
    eprintln!("the step stopped {after:?} after the delete ended in the other process");
    assert_eq!(status, "failed");
    assert!(
        reason.contains("was deleted while the step ran"),
        "{reason}"
    );
    assert!(after < BOUND, "the step stopped {after:?} after the delete");
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(step) {
        assert!(
            Instant::now() < deadline,
            "the step's process is still alive"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // the job claimed ahead then finds its driver gone
    let deadline = Instant::now() + Duration::from_secs(20);
    while job_row(&store, &jobs[1]).await.2 == 0 {
        assert!(Instant::now() < deadline, "the second job never ended");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(job_row(&store, &jobs[1]).await.0, "failed");
    store.close().await;
    other.stop();
    step_node.stop();
    db.cleanup().await;
}
