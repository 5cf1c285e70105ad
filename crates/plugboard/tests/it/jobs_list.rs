//! Every family's jobs in one list, over the real binary (SQLite or PostgreSQL,
//! `PLUGBOARD_TEST_BACKEND`): `GET /plugboard/v1/jobs` (docs/contract.md → Admin API → Jobs)
//! and `plugboard job list` (docs/cli.md) with a GaussDB install, a ServiceStage add-on and a
//! ZStack refresh — every field of a job, `--family`, `--state`, `-o json`, and bad filters.

#![allow(clippy::unwrap_used)]

use crate::common;

use common::cli::{env_with_cluster, Cli};
use common::{extension_package, serve_bytes, status_json, Server};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A simulated GaussDB instance named `sim` and a kernel plug-in install on it; the job id.
async fn gaussdb_job(s: &Server, plugin: &str, base: &str, sha: &str) -> String {
    let pid = s.b("project_id");
    let body = serde_json::to_vec(&json!({"name": "sim", "host": "db.example", "port": 6000,
        "user": "app", "password": "", "database": "postgres", "install": {"mode": "simulated"}}))
    .unwrap();
    let path = format!("/plugboard/v1/projects/{pid}/gaussdb/instances");
    let (st, inst) = status_json(s.admin_signed("POST", &path, &body).send().await.unwrap()).await;
    assert_eq!(st, 201, "{inst}");
    let iid = inst["id"].as_str().unwrap();
    let body = serde_json::to_vec(
        &json!({"plugin_name": plugin, "url": format!("{base}/{plugin}.tar.gz"), "sha_256": sha}),
    )
    .unwrap();
    let path = format!("/v3/{pid}/instances/{iid}/kernel-plugin");
    let (st, job) = status_json(s.admin_signed("POST", &path, &body).send().await.unwrap()).await;
    assert!(st == 200 || st == 202, "{st} {job}");
    job["job_id"].as_str().unwrap().to_string()
}

/// A ServiceStage add-on installed through the built-in simulated driver; the job id.
fn servicestage_job(cli: &Cli) -> String {
    let env = env_with_cluster(cli);
    let r = cli.install_addon(&env, &["-o", "json"]).json();
    r["job_id"].as_str().unwrap().to_string()
}

/// A ZStack RefreshPluginDrivers api-job (no project); the job id.
async fn zstack_job(s: &Server) -> String {
    let session = s.zstack_session().await;
    let id = plugboard_core::ids::hex32();
    let r = s
        .client
        .put(s.url("/zstack/v1/external/plugins"))
        .header("authorization", format!("OAuth {session}"))
        .header("x-job-uuid", &id)
        .json(&json!({"refreshPluginDrivers": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    id
}

/// `job list -o json` once no job is queued or running.
async fn settled(cli: &Cli) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let body = cli.run(&["job", "list", "-o", "json"]).json();
        let busy = body["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["state"] == "queued" || j["state"] == "running");
        if !busy {
            return body;
        }
        assert!(Instant::now() < deadline, "jobs still running: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn job_list_shows_every_familys_jobs_and_filters_them() {
    let plugin = format!("pbjobs_{}", &plugboard_core::ids::hex32()[..6]);
    let (package, sha) = extension_package(&plugin);
    let base = serve_bytes(package);
    let config = format!(
        "[gaussdb]\nsupported_plugins = [\"{plugin}\"]\n[network]\nallow = [\"{base}/\"]\nallow_private = true\n"
    );
    let s = Server::start(Some(&config)).await;
    let cli = Cli::new();
    cli.login(&s);
    let gauss = gaussdb_job(&s, &plugin, &base, &sha).await;
    let stage = servicestage_job(&cli);
    let zstack = zstack_job(&s).await;

    let body = settled(&cli).await;
    assert_eq!(body["total"], 3, "{body}");
    let jobs = body["jobs"].as_array().unwrap();
    let by_id = |id: &str| jobs.iter().find(|j| j["id"] == id).unwrap().clone();
    for job in jobs {
        let keys: Vec<&str> = job
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "created",
                "ended",
                "family",
                "id",
                "kind",
                "progress",
                "project_id",
                "reason",
                "state",
                "target"
            ],
            "{job}"
        );
        assert_eq!(job["state"], "completed", "{job}");
        assert_eq!(job["reason"], "", "{job}");
        assert_eq!(job["progress"], 100, "{job}");
        let (created, ended) = (
            job["created"].as_str().unwrap(),
            job["ended"].as_str().unwrap(),
        );
        assert!(created.ends_with('Z') && created <= ended, "{job}");
    }
    let pid = s.b("project_id");
    let g = by_id(&gauss);
    assert_eq!(
        (&g["family"], &g["kind"], &g["target"], &g["project_id"]),
        (
            &json!("gaussdb"),
            &json!("InstallKernelPlugin"),
            &json!("sim"),
            &json!(pid)
        )
    );
    let a = by_id(&stage);
    assert_eq!(
        (&a["family"], &a["kind"], &a["project_id"]),
        (
            &json!("servicestage"),
            &json!("ServiceStageAddon"),
            &json!(pid)
        )
    );
    let z = by_id(&zstack);
    assert_eq!(
        (&z["family"], &z["kind"], &z["target"], &z["project_id"]),
        (
            &json!("zstack"),
            &json!("ZStackRefreshPluginDrivers"),
            &json!("*"),
            &json!("")
        )
    );

    // --family, --state (GaussDB's `--status Completed` still works), --limit
    for (family, id) in [
        ("gaussdb", &gauss),
        ("servicestage", &stage),
        ("zstack", &zstack),
    ] {
        let body = cli
            .run(&["job", "list", "--family", family, "-o", "json"])
            .json();
        assert_eq!(body["total"], 1, "{family}: {body}");
        assert_eq!(&body["jobs"][0]["id"], &json!(id), "{family}");
    }
    let failed = cli
        .run(&["job", "list", "--state", "failed", "-o", "json"])
        .json();
    assert_eq!(failed, json!({"jobs": [], "total": 0}));
    let done = cli
        .run(&["job", "list", "--status", "Completed", "-o", "json"])
        .json();
    assert_eq!(done["total"], 3);
    let one = cli
        .run(&["job", "list", "--limit", "1", "-o", "json"])
        .json();
    assert_eq!(
        (one["total"].as_i64(), one["jobs"].as_array().unwrap().len()),
        (Some(3), 1)
    );

    // the table: one row a job, newest first
    let table = cli.run(&["job", "list"]).ok();
    let lines: Vec<&str> = table.lines().collect();
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        ["ID", "FAMILY", "KIND", "TARGET", "STATE", "CREATED", "ENDED", "REASON"]
    );
    assert_eq!(lines.len(), 4, "{table}");
    for (line, job) in lines[1..].iter().zip(jobs) {
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            cells,
            [
                job["id"].as_str().unwrap(),
                job["family"].as_str().unwrap(),
                job["kind"].as_str().unwrap(),
                job["target"].as_str().unwrap(),
                "completed",
                job["created"].as_str().unwrap(),
                job["ended"].as_str().unwrap(),
            ],
            "{table}"
        );
    }

    // bad filters: the CLI refuses them (exit 2), the API answers 400 naming the parameter
    let err = cli.run(&["job", "list", "--family", "dbss"]).fails(2);
    assert!(err.contains("--family"), "{err}");
    let err = cli.run(&["job", "list", "--state", "done"]).fails(2);
    assert!(err.contains("--state"), "{err}");
    let token = s.admin_token().await;
    for (query, named) in [
        (
            "family=dbss",
            "family must be one of gaussdb, servicestage, zstack (got `dbss`)",
        ),
        (
            "state=Completed",
            "state must be one of queued, running, completed, failed (got `Completed`)",
        ),
        ("limit=0", "limit must be from 1 to 1000 (got 0)"),
        ("offset=-1", "offset must be ≥ 0 (got -1)"),
    ] {
        let (st, body) = s.get(&token, &format!("/plugboard/v1/jobs?{query}")).await;
        assert_eq!(
            (st, body),
            (
                400,
                json!({"error_code": "PLUGBOARD.0400", "error_msg": named})
            ),
            "{query}"
        );
    }
}
