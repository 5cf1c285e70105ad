//! Processes on one PostgreSQL database: exactly one bootstraps and all serve; a process with
//! another master key refuses to start; `/readyz` tells when the database is gone.

#![allow(clippy::unwrap_used)]

use plugboard_store::testing::TestDb;
use plugboard_store::Backend;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `plugboard serve` on `dir` and the database at `db_url`, its output captured.
fn spawn(dir: &Path, db_url: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("PLUGBOARD_DATABASE_URL", db_url)
        .env("PLUGBOARD_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Wait until `dir/name` exists (a process writes `listen-addr` once it serves).
async fn wait_for(dir: &Path, name: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !dir.join(name).exists() {
        assert!(Instant::now() < deadline, "{name} never appeared");
        assert!(child.try_wait().unwrap().is_none(), "the process exited");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// SIGTERM; the process must exit 0.
fn stop(child: &mut Child) {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

fn base(dir: &Path) -> String {
    let addr = std::fs::read_to_string(dir.join("listen-addr")).unwrap();
    format!("http://{}", addr.trim())
}

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
            spawn(d.path(), &db.url)
        })
        .collect();
    for (d, c) in dirs.iter().zip(children.iter_mut()) {
        wait_for(d.path(), "listen-addr", c).await;
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
        let body = serde_json::json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"domain": {"name": "plugboard"}, "name": "admin", "password": b["password"]}}}, "scope": {"project": {"name": "local"}}}});
        let r = client
            .post(format!("{}/v3/auth/tokens", base(d.path())))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    for c in &mut children {
        stop(c);
    }
    db.cleanup().await;
}

#[tokio::test]
async fn a_process_with_another_master_key_refuses_to_start() {
    let db = TestDb::new(Backend::Postgres).await;
    let (first_dir, second_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut first = spawn(first_dir.path(), &db.url);
    wait_for(first_dir.path(), "listen-addr", &mut first).await;
    // the second data directory gets a master key of its own: it cannot open the store's secrets
    let second = spawn(second_dir.path(), &db.url)
        .wait_with_output()
        .unwrap();
    assert_ne!(second.status.code(), Some(0));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&second.stdout),
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(
        said.contains("does not open the secrets in this store"),
        "{said}"
    );
    assert!(!second_dir.path().join("listen-addr").exists());
    // with the first process's key it starts
    std::fs::copy(
        first_dir.path().join("master.key"),
        second_dir.path().join("master.key"),
    )
    .unwrap();
    let mut third = spawn(second_dir.path(), &db.url);
    wait_for(second_dir.path(), "listen-addr", &mut third).await;
    stop(&mut first);
    stop(&mut third);
    db.cleanup().await;
}

#[tokio::test]
async fn readyz_says_when_the_store_is_gone() {
    let db = TestDb::new(Backend::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn(dir.path(), &db.url);
    wait_for(dir.path(), "listen-addr", &mut child).await;
    let base = base(dir.path());
    let get = |path: &'static str| {
        let url = format!("{base}{path}");
        async move {
            let r = reqwest::get(url).await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<serde_json::Value>().await.unwrap())
        }
    };
    assert_eq!(
        get("/readyz").await,
        (200, serde_json::json!({"status": "ready"}))
    );
    // the database goes away under the running process
    db.cleanup().await;
    assert_eq!(
        get("/readyz").await,
        (503, serde_json::json!({"status": "store unreachable"}))
    );
    assert_eq!(get("/healthz").await.0, 200, "the process itself is up");
    stop(&mut child);
}

/// Like [`spawn`], logging at `warn` into `log`.
fn spawn_logged(dir: &Path, db_url: &str, log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("PLUGBOARD_DATABASE_URL", db_url)
        .env("PLUGBOARD_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn two_processes_share_one_lockout() {
    let db = TestDb::new(Backend::Postgres).await;
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let logs = [dirs[0].path().join("log"), dirs[1].path().join("log.txt")];
    let mut first = spawn_logged(dirs[0].path(), &db.url, &logs[0]);
    wait_for(dirs[0].path(), "listen-addr", &mut first).await;
    std::fs::copy(
        dirs[0].path().join("master.key"),
        dirs[1].path().join("master.key"),
    )
    .unwrap();
    let mut second = spawn_logged(dirs[1].path(), &db.url, &logs[1]);
    wait_for(dirs[1].path(), "listen-addr", &mut second).await;
    let b: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dirs[0].path().join("bootstrap.json")).unwrap(),
    )
    .unwrap();
    let client = reqwest::Client::new();
    let login = |dir: &Path, password: &str| {
        let url = format!("{}/v3/auth/tokens", base(dir));
        let body = serde_json::json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"domain": {"name": "plugboard"}, "name": "admin", "password": password}}}}});
        let client = client.clone();
        async move {
            client
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // Five wrong passwords in all, alternating between the processes (3 + 2): the threshold
    // is the deployment's, not each process's.
    for i in 0..5 {
        assert_eq!(login(dirs[i % 2].path(), "Wrong-passw0rd").await, 401);
    }
    let password = b["password"].as_str().unwrap();
    for d in &dirs {
        assert_eq!(
            login(d.path(), password).await,
            401,
            "locked on every process"
        );
    }
    // The process that counted the fifth failure said so, naming the user and no secret.
    let said = std::fs::read_to_string(&logs[0]).unwrap();
    let line = said
        .lines()
        .find(|l| l.contains("user locked"))
        .unwrap_or_else(|| panic!("no lock line in: {said}"));
    assert!(line.contains(b["user_id"].as_str().unwrap()), "{line}");
    assert!(!said.contains(password) && !said.contains("Wrong-passw0rd"));
    for c in [&mut first, &mut second] {
        stop(c);
    }
    db.cleanup().await;
}

/// An API-only process (`[jobs] max_concurrent = 0`) and a worker on one PostgreSQL database,
/// the worker's poll set to a minute: only a notification can start a job in time.
struct Pair {
    db: TestDb,
    dirs: [tempfile::TempDir; 2],
    children: [Child; 2],
    client: reqwest::Client,
    token: String,
    project: String,
}

impl Pair {
    async fn start() -> Pair {
        let db = TestDb::new(Backend::Postgres).await;
        let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
        let key = dirs[0].path().join("shared.key");
        std::fs::write(&key, plugboard_core::ids::hex32().repeat(2)).unwrap();
        // simulated installs download nothing, but their URL is still checked at submit
        let common = format!(
            "master_key_file = \"{}\"\n[network]\nallow = [\"http://127.0.0.1:9/\"]\nallow_private = true\n",
            key.display()
        );
        std::fs::write(
            dirs[0].path().join("plugboard.toml"),
            format!("{common}[jobs]\nmax_concurrent = 0\n"),
        )
        .unwrap();
        std::fs::write(
            dirs[1].path().join("plugboard.toml"),
            format!("{common}[jobs]\nmax_concurrent = 4\npoll_interval_ms = 60000\n"),
        )
        .unwrap();
        let mut api = spawn(dirs[0].path(), &db.url);
        wait_for(dirs[0].path(), "listen-addr", &mut api).await;
        let mut worker = spawn(dirs[1].path(), &db.url);
        wait_for(dirs[1].path(), "listen-addr", &mut worker).await;
        let b: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dirs[0].path().join("bootstrap.json")).unwrap(),
        )
        .unwrap();
        let client = reqwest::Client::new();
        let project = b["project_id"].as_str().unwrap().to_string();
        let body = serde_json::json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"domain": {"name": b["domain_name"]}, "name": b["user_name"], "password": b["password"]}}}, "scope": {"project": {"id": project}}}});
        let r = client
            .post(format!("{}/v3/auth/tokens", base(dirs[0].path())))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let token = r.headers()["x-subject-token"].to_str().unwrap().to_string();
        Pair {
            db,
            dirs,
            children: [api, worker],
            client,
            token,
            project,
        }
    }

    /// Submit a simulated kernel plug-in install through the API-only process; its job id.
    async fn submit(&self, instance: &str) -> String {
        let url = format!(
            "{}/v3/{}/instances/{instance}/kernel-plugin",
            base(self.dirs[0].path()),
            self.project
        );
        let body = serde_json::json!({"plugin_name": "postgis", "url": "http://127.0.0.1:9/postgis.tar.gz", "sha_256": "a".repeat(64)});
        let r = self
            .client
            .post(url)
            .header("X-Auth-Token", &self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: serde_json::Value = r.json().await.unwrap();
        v["job_id"].as_str().unwrap().to_string()
    }

    async fn instances(&self, n: usize) -> Vec<String> {
        let mut ids = vec![];
        for i in 0..n {
            let url = format!(
                "{}/plugboard/v1/projects/{}/gaussdb/instances",
                base(self.dirs[0].path()),
                self.project
            );
            let body = serde_json::json!({"name": format!("sim{i}"), "host": "db.invalid", "port": 5432, "user": "app", "install": {"mode": "simulated"}});
            let r = self
                .client
                .post(url)
                .header("X-Auth-Token", &self.token)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
            let v: serde_json::Value = r.json().await.unwrap();
            ids.push(v["id"].as_str().unwrap().to_string());
        }
        ids
    }

    /// Wait (at most `within`) until job `id` has ended; its created → ended time.
    async fn ended(&self, store: &plugboard_store::Store, id: &str, within: Duration) -> Duration {
        let deadline = Instant::now() + within;
        loop {
            let row: (String, i64, i64) =
                sqlx::query_as("SELECT status, created_at, ended_at FROM jobs WHERE id = $1")
                    .bind(id)
                    .fetch_one(store.pool())
                    .await
                    .unwrap();
            if row.2 > 0 {
                assert_eq!(row.0, "completed");
                return Duration::from_micros((row.2 - row.1) as u64);
            }
            assert!(
                Instant::now() < deadline,
                "job {id} did not end within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn stop(mut self) {
        for c in &mut self.children {
            stop(c);
        }
        self.db.cleanup().await;
    }
}

#[tokio::test]
async fn a_job_submitted_on_an_api_only_node_runs_at_once_on_a_worker() {
    let pair = Pair::start().await;
    let store = plugboard_store::Store::connect(&pair.db.url).await.unwrap();
    let instances = pair.instances(20).await;
    let mut latencies = vec![];
    for instance in &instances {
        let job = pair.submit(instance).await;
        // The worker polls once a minute: within a second, only the notification started it.
        latencies.push(pair.ended(&store, &job, Duration::from_secs(1)).await);
    }
    latencies.sort();
    let median = latencies[latencies.len() / 2];
    eprintln!(
        "created → ended on the worker: median {median:?}, max {:?}",
        latencies[latencies.len() - 1]
    );
    assert!(
        median < Duration::from_millis(200),
        "median created → ended {median:?} ({latencies:?})"
    );
    store.close().await;
    pair.stop().await;
}

#[tokio::test]
async fn a_dropped_listener_connection_heals_without_losing_a_job() {
    let pair = Pair::start().await;
    let store = plugboard_store::Store::connect(&pair.db.url).await.unwrap();
    let instances = pair.instances(12).await;
    // Both processes listen (the API-only one for the driver registry's changes); only the
    // worker on the jobs channel.
    let listeners = "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%plugboard_jobs%'";
    let count = |sql: &'static str| {
        let store = store.clone();
        async move {
            let n: i64 = sqlx::query_scalar(sql)
                .fetch_one(store.pool())
                .await
                .unwrap();
            n
        }
    };
    // The worker's engine starts listening just after its HTTP side is up: wait for it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while count(listeners).await == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        count(listeners).await,
        1,
        "the worker listens, the API-only node does not"
    );
    let first = pair.submit(&instances[0]).await;
    pair.ended(&store, &first, Duration::from_secs(1)).await;
    assert_eq!(count(listeners).await, 1, "still only the worker");
    for round in 0..3 {
        let killed: Vec<bool> = sqlx::query_scalar("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%plugboard_jobs%'")
            .fetch_all(store.pool())
            .await
            .unwrap();
        assert_eq!(killed, vec![true], "round {round}");
        // Submitted while the listener is down or reconnecting: nothing is lost, the
        // reconnection looks for what it missed (the minute's poll would be far too late).
        let jobs = [
            pair.submit(&instances[1 + 3 * round]).await,
            pair.submit(&instances[2 + 3 * round]).await,
        ];
        for job in &jobs {
            pair.ended(&store, job, Duration::from_secs(5)).await;
        }
        // and, listening again, a new job starts at once
        let deadline = Instant::now() + Duration::from_secs(5);
        while count(listeners).await != 1 {
            assert!(Instant::now() < deadline, "the worker never listened again");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let job = pair.submit(&instances[3 + 3 * round]).await;
        pair.ended(&store, &job, Duration::from_secs(1)).await;
    }
    store.close().await;
    pair.stop().await;
}
