//! The `plugboard env ...`, `addon ...` and `driver ...` client commands run as a subprocess
//! against the real server (SQLite or PostgreSQL, `PLUGBOARD_TEST_BACKEND`): environments with
//! tables and JSON, add-ons installed, redeployed, failed on purpose and uninstalled through the
//! built-in `simulated` driver while `--wait` follows their jobs, and the driver registry with a
//! broken manifest.

#![allow(clippy::unwrap_used)]

use crate::common;

use common::cli::Cli;
use common::Server;
use serde_json::{json, Value};

/// The columns of a table's header line.
fn header(table: &str) -> Vec<String> {
    table
        .lines()
        .next()
        .unwrap_or_default()
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &plugboard_core::ids::hex32()[..8])
}

const MISSING_ENV: &str = "00000000-0000-4000-8000-000000000000";

#[tokio::test]
async fn environments_from_the_command_line() {
    let s = Server::start(None).await;
    let cli = Cli::new();
    cli.login(&s);

    // create, -o json: the server's view as it came
    let name = unique("env");
    let env = cli
        .run(&[
            "env",
            "create",
            "--name",
            &name,
            "--vpc-id",
            "vpc-1",
            "--description",
            "first",
            "--deploy-mode",
            "container",
            "--label",
            "team=a",
            "--label",
            "tier=web",
            "-o",
            "json",
        ])
        .json();
    let id = env["id"].as_str().unwrap().to_string();
    assert_eq!(
        (
            &env["name"],
            &env["vpc_id"],
            &env["description"],
            &env["deploy_mode"]
        ),
        (
            &json!(name),
            &json!("vpc-1"),
            &json!("first"),
            &json!("container")
        ),
        "{env}"
    );
    assert_eq!(
        env["labels"],
        json!([{"key": "team", "value": "a"}, {"key": "tier", "value": "web"}])
    );
    assert!(env.get("resources").is_none(), "{env}");

    // create as a table: the defaults filled in by the server
    let second = unique("env");
    let table = cli
        .run(&["env", "create", "--name", &second, "--vpc-id", "vpc-2"])
        .ok();
    assert_eq!(
        header(&table),
        [
            "ID",
            "NAME",
            "VPC",
            "MODE",
            "LABELS",
            "DESCRIPTION",
            "CREATED"
        ]
    );
    assert_eq!(table.lines().count(), 2, "{table}");
    let row = table.lines().nth(1).unwrap();
    assert!(
        row.contains(&second) && row.contains("vpc-2") && row.contains("mixed"),
        "{row}"
    );
    assert!(
        row.contains(&format!("{}", chrono::Utc::now().format("%Y-"))),
        "{row}"
    );

    // list: newest first; as JSON the server's body
    let table = cli.run(&["env", "list"]).ok();
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows.len(), 3, "{table}");
    assert!(
        rows[1].contains(&second) && rows[2].contains(&name),
        "{table}"
    );
    assert!(rows[2].contains("team=a,tier=web"), "{table}");
    let list = cli.run(&["env", "list", "-o", "json"]).json();
    assert_eq!(list["count"], 2, "{list}");
    assert_eq!(list["environments"][1]["id"], json!(id), "{list}");

    // show: with the resources column (none yet)
    let table = cli.run(&["env", "show", &id]).ok();
    assert_eq!(header(&table).last().map(String::as_str), Some("RESOURCES"));
    assert!(table.contains(&name) && table.contains("first"), "{table}");
    let shown = cli.run(&["env", "show", &id, "-o", "json"]).json();
    assert_eq!(shown["resources"], json!([]), "{shown}");

    // update: the name and the labels replaced, the description kept; then cleared
    let renamed = unique("renamed");
    let got = cli
        .run(&[
            "env", "update", &id, "--name", &renamed, "--label", "k=v", "-o", "json",
        ])
        .json();
    assert_eq!(
        (&got["name"], &got["description"], &got["labels"]),
        (
            &json!(renamed),
            &json!("first"),
            &json!([{"key": "k", "value": "v"}])
        ),
        "{got}"
    );
    let table = cli
        .run(&["env", "update", &id, "--clear-labels", "--description", ""])
        .ok();
    assert!(
        table.contains(&renamed) && !table.contains("k=v"),
        "{table}"
    );
    let got = cli.run(&["env", "show", &id, "-o", "json"]).json();
    assert_eq!(
        (&got["labels"], &got["description"]),
        (&json!([]), &json!(""))
    );
    // nothing to change, or both --label and --clear-labels: usage errors
    cli.run(&["env", "update", &id]).fails(2);
    cli.run(&["env", "update", &id, "--label", "a=b", "--clear-labels"])
        .fails(2);
    // a name already taken: the server's code and message
    let err = cli.run(&["env", "update", &id, "--name", &second]).fails(1);
    assert!(err.starts_with("error: SVCSTG.00100449: "), "{err}");
    assert!(err.contains(&second), "{err}");

    // bind: the list replaced as a whole; resources lists it
    let table = cli
        .run(&[
            "env",
            "bind",
            &id,
            "--resource",
            "cce=cce-1",
            "--resource",
            "cse=cse-1:engine",
        ])
        .ok();
    assert_eq!(
        table, "TYPE  ID     NAME\ncce   cce-1\ncse   cse-1  engine\n",
        "{table}"
    );
    let resources = cli.run(&["env", "resources", &id, "-o", "json"]).json();
    assert_eq!(
        resources,
        json!({"resources": [{"id": "cce-1", "name": "", "type": "cce"},
                             {"id": "cse-1", "name": "engine", "type": "cse"}]})
    );
    let table = cli.run(&["env", "show", &id]).ok();
    assert!(table.contains("cce=cce-1,cse=cse-1:engine"), "{table}");
    let got = cli
        .run(&["env", "bind", &id, "--resource", "rds=r1", "-o", "json"])
        .json();
    assert_eq!(
        got,
        json!({"resources": [{"id": "r1", "name": "", "type": "rds"}]})
    );
    // a type the server does not know: refused, nothing stored; a malformed flag: usage
    let err = cli
        .run(&["env", "bind", &id, "--resource", "k8s=x"])
        .fails(1);
    assert!(err.starts_with("error: SVCSTG.00100400: "), "{err}");
    assert!(err.contains("resources[0].type"), "{err}");
    cli.run(&["env", "bind", &id, "--resource", "cce"]).fails(2);
    cli.run(&["env", "bind", &id]).fails(2);
    assert_eq!(
        cli.run(&["env", "resources", &id]).ok(),
        "TYPE  ID  NAME\nrds   r1\n"
    );
    let got = cli
        .run(&["env", "bind", &id, "--clear", "-o", "json"])
        .json();
    assert_eq!(got, json!({"resources": []}));

    // refusals by the server: exit 1 with its code; usage errors: exit 2
    let err = cli.run(&["env", "show", MISSING_ENV]).fails(1);
    assert!(err.starts_with("error: SVCSTG.00100411: "), "{err}");
    let r = cli.run(&[
        "env", "create", "--name", "9bad", "--vpc-id", "v", "-o", "json",
    ]);
    let err = r.fails(1);
    assert!(
        err.contains("SVCSTG.00100400") && err.contains("name"),
        "{err}"
    );
    assert_eq!(r.stdout(), "");
    cli.run(&[
        "env",
        "create",
        "--name",
        "abcd",
        "--vpc-id",
        "v",
        "--deploy-mode",
        "kubernetes",
    ])
    .fails(2);
    cli.run(&["env", "create", "--name", "abcd"]).fails(2);
    cli.run(&[
        "env", "create", "--name", "abcd", "--vpc-id", "v", "--label", "x",
    ])
    .fails(2);

    // delete: a confirmation, nothing in JSON mode; then gone
    let out = cli.run(&["env", "delete", &id]).ok();
    assert_eq!(out, format!("Deleted environment {id}\n"));
    let err = cli.run(&["env", "delete", &id]).fails(1);
    assert!(err.contains("SVCSTG.00100411"), "{err}");
    let second_id = cli.run(&["env", "list", "-o", "json"]).json()["environments"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        cli.run(&["env", "delete", &second_id, "-o", "json"]).ok(),
        ""
    );
    assert_eq!(
        cli.run(&["env", "list", "-o", "json"]).json(),
        json!({"count": 0, "environments": []})
    );
}

fn simulated_settings(s: &Server, text: &str) {
    let folder = s.data_dir.join("plugins").join("simulated");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("simulated.toml"), text).unwrap();
}

/// An environment with `cce-1` and `cse-1` bound; its id.
fn env_with_cluster(cli: &Cli) -> String {
    let env = cli
        .run(&[
            "env",
            "create",
            "--name",
            &unique("env"),
            "--vpc-id",
            "vpc-1",
            "-o",
            "json",
        ])
        .json();
    let id = env["id"].as_str().unwrap().to_string();
    cli.run(&[
        "env",
        "bind",
        &id,
        "--resource",
        "cce=cce-1",
        "--resource",
        "cse=cse-1",
    ])
    .ok();
    id
}

fn task_names(job: &Value) -> Vec<&str> {
    job["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["task_name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn addons_and_their_jobs_from_the_command_line() {
    let s = Server::start(None).await;
    let cli = Cli::new();
    cli.login(&s);
    let env = env_with_cluster(&cli);

    // the catalog the drivers provide
    assert_eq!(
        cli.run(&["addon", "catalog", "--env", &env]).ok(),
        "NAME             LATEST VERSION\nsermantInjector  1.3.1.0\n"
    );
    assert_eq!(
        cli.run(&["addon", "catalog", "--env", &env, "-o", "json"])
            .json(),
        json!({"addons": [{"name": "sermantInjector", "latest_version": "1.3.1.0"}]})
    );

    // install --wait: exit 0, the job's tasks on stdout, its progress line by line on stderr
    let r = cli.run(&[
        "addon",
        "install",
        "--env",
        &env,
        "--name",
        "sermantInjector",
        "--cce-id",
        "cce-1",
        "--cse-id",
        "cse-1",
        "--wait",
    ]);
    let out = r.ok();
    let first = out.lines().next().unwrap();
    assert!(
        first.starts_with("Job JOB")
            && first.contains("PROVISION")
            && first.ends_with(": SUCCEEDED"),
        "{out}"
    );
    assert_eq!(
        header(out.lines().nth(1).unwrap()),
        ["#", "TASK", "STATUS", "UPDATED", "MESSAGES"]
    );
    for (i, task) in ["prepare", "deploy", "verify"].iter().enumerate() {
        let row = out.lines().nth(i + 2).unwrap();
        assert!(
            row.starts_with(&format!("{i}  {task}")) && row.contains("SUCCEEDED"),
            "{out}"
        );
        assert!(row.contains("simulated: install"), "{out}");
    }
    let progress = r.stderr();
    assert!(
        progress
            .lines()
            .last()
            .unwrap()
            .ends_with(": SUCCEEDED 3/3"),
        "{progress}"
    );
    assert!(
        progress.lines().all(|l| l.starts_with("job JOB")),
        "{progress}"
    );

    // list and show
    let list = cli
        .run(&["addon", "list", "--env", &env, "-o", "json"])
        .json();
    let addon = list["addons"][0].clone();
    assert_eq!(list["addons"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(
        (
            &addon["name"],
            &addon["version"],
            &addon["status"],
            &addon["cce_id"],
            &addon["cse_id"]
        ),
        (
            &json!("sermantInjector"),
            &json!("1.3.1.0"),
            &json!("SUCCEEDED"),
            &json!("cce-1"),
            &json!("cse-1")
        ),
        "{addon}"
    );
    let addon_id = addon["id"].as_str().unwrap().to_string();
    let table = cli.run(&["addon", "list", "--env", &env]).ok();
    assert_eq!(
        header(&table),
        ["ID", "NAME", "VERSION", "STATUS", "CCE", "CSE", "LAST JOB"]
    );
    assert!(
        table.contains(&addon_id) && table.contains("SUCCEEDED"),
        "{table}"
    );
    let shown = cli
        .run(&["addon", "show", "--env", &env, &addon_id, "-o", "json"])
        .json();
    assert_eq!(shown, addon);
    let table = cli.run(&["addon", "show", "--env", &env, &addon_id]).ok();
    assert_eq!(table.lines().count(), 2, "{table}");
    // one add-on of a name per environment: the server's refusal
    let err = cli
        .run(&[
            "addon",
            "install",
            "--env",
            &env,
            "--name",
            "sermantInjector",
            "--cce-id",
            "cce-1",
            "--cse-id",
            "cse-1",
        ])
        .fails(1);
    assert!(err.starts_with("error: SVCSTG.00100400: "), "{err}");

    // redeploy --wait -o json: the last job body as the server sent it
    let body = cli
        .run(&[
            "addon", "action", "--env", &env, &addon_id, "redeploy", "--wait", "-o", "json",
        ])
        .json();
    let mut keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["job", "task_count", "tasks"]);
    assert_eq!(
        (&body["job"]["execution_status"], &body["job"]["job_type"]),
        (&json!("SUCCEEDED"), &json!("DAILY_OPERATION"))
    );
    assert_eq!(task_names(&body), ["deploy", "verify"]);

    // restart without --wait: the job id alone; `addon job` shows and follows it
    let job = cli
        .run(&["addon", "action", "--env", &env, &addon_id, "restart"])
        .ok();
    let job = job.trim();
    assert!(
        job.starts_with("JOB") && !job.contains(char::is_whitespace),
        "{job}"
    );
    let out = cli.run(&["addon", "job", job, "--wait"]).ok();
    assert!(
        out.contains("restart") && out.contains(": SUCCEEDED"),
        "{out}"
    );
    let body = cli.run(&["addon", "job", job, "-o", "json"]).json();
    assert_eq!(task_names(&body), ["restart", "verify"]);
    assert_eq!(
        cli.run(&["addon", "show", "--env", &env, &addon_id, "-o", "json"])
            .json()["job_id"],
        json!(job)
    );

    // a scripted failure: --wait exits 1 with the failed task's messages on stderr
    simulated_settings(
        &s,
        "[[fail]]\naction = \"redeploy\"\nmessage = \"scripted\"\n",
    );
    let r = cli.run(&[
        "addon", "action", "--env", &env, &addon_id, "redeploy", "--wait",
    ]);
    let err = r.fails(1);
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error: ")).count(),
        1,
        "{err}"
    );
    let last = err.lines().last().unwrap();
    assert!(
        last.starts_with("error: job JOB") && last.ends_with(" failed: deploy: scripted"),
        "{err}"
    );
    assert!(
        r.stdout().lines().next().unwrap().ends_with(": FAILED"),
        "{}",
        r.stdout()
    );
    assert!(r.stdout().contains("SKIPPED"), "{}", r.stdout());
    let shown = cli
        .run(&["addon", "show", "--env", &env, &addon_id, "-o", "json"])
        .json();
    assert_eq!(shown["status"], "FAILED", "{shown}");
    // -o json with --wait still prints the body, and still exits 1
    let r = cli.run(&[
        "addon", "action", "--env", &env, &addon_id, "redeploy", "--wait", "-o", "json",
    ]);
    assert!(r.fails(1).contains("scripted"));
    let body: Value = serde_json::from_str(&r.stdout()).unwrap();
    assert_eq!(body["job"]["execution_status"], "FAILED", "{body}");
    // the cause gone, a redeploy heals it
    simulated_settings(&s, "");
    cli.run(&[
        "addon", "action", "--env", &env, &addon_id, "redeploy", "--wait",
    ])
    .ok();

    // --timeout: a slow step outlives it; exit 1 naming the state and how to follow on
    simulated_settings(&s, "step_delay_ms = 1500\n");
    let r = cli.run(&[
        "addon",
        "action",
        "--env",
        &env,
        &addon_id,
        "restart",
        "--wait",
        "--timeout",
        "0",
    ]);
    let err = r.fails(1);
    assert!(
        err.contains("is still") && err.contains("addon job"),
        "{err}"
    );
    let job = r.stdout().split_whitespace().nth(1).unwrap().to_string();
    simulated_settings(&s, "");
    let out = cli.run(&["addon", "job", &job, "--wait"]).ok();
    assert!(out.contains(": SUCCEEDED"), "{out}");
    cli.run(&["addon", "job", "--timeout", "5", &job]).fails(2);

    // uninstall --wait: the add-on is gone when its job succeeds
    let out = cli
        .run(&["addon", "uninstall", "--env", &env, &addon_id, "--wait"])
        .ok();
    assert!(
        out.contains("DEPROVISION") && out.contains(": SUCCEEDED"),
        "{out}"
    );
    assert_eq!(
        cli.run(&["addon", "list", "--env", &env, "-o", "json"])
            .json(),
        json!({"addons": []})
    );
    let err = cli
        .run(&["addon", "show", "--env", &env, &addon_id])
        .fails(1);
    assert!(err.starts_with("error: SVCSTG.00100430: "), "{err}");

    // refusals: an unknown environment, a cluster not bound, an unknown job; usage errors
    let err = cli
        .run(&["addon", "catalog", "--env", MISSING_ENV])
        .fails(1);
    assert!(err.starts_with("error: SVCSTG.00100411: "), "{err}");
    let r = cli.run(&[
        "addon",
        "install",
        "--env",
        &env,
        "--name",
        "sermantInjector",
        "--cce-id",
        "cce-9",
        "--cse-id",
        "cse-1",
        "--wait",
    ]);
    let err = r.fails(1);
    assert!(
        err.contains("SVCSTG.00100400") && err.contains("cce_id"),
        "{err}"
    );
    assert_eq!(r.stdout(), "");
    let err = cli
        .run(&["addon", "job", "JOB00000000-0000-4000-8000-000000000000"])
        .fails(1);
    assert!(err.starts_with("error: SVCSTG.00100429: "), "{err}");
    cli.run(&["addon", "action", "--env", &env, &addon_id, "upgrade"])
        .fails(2);
    cli.run(&[
        "addon",
        "install",
        "--env",
        &env,
        "--name",
        "sermantInjector",
    ])
    .fails(2);
    cli.run(&["addon", "list"]).fails(2);

    // install without --wait: the add-on's id and its job's, as a table
    let table = cli
        .run(&[
            "addon",
            "install",
            "--env",
            &env,
            "--name",
            "sermantInjector",
            "--cce-id",
            "cce-1",
            "--cse-id",
            "cse-1",
        ])
        .ok();
    assert_eq!(header(&table), ["ID", "JOB"], "{table}");
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert!(row.len() == 2 && row[1].starts_with("JOB"), "{table}");
    let out = cli.run(&["addon", "job", row[1], "--wait"]).ok();
    assert!(
        out.contains(&format!("PROVISION of add-on {}): SUCCEEDED", row[0])),
        "{out}"
    );
}

#[tokio::test]
async fn the_driver_registry_from_the_command_line() {
    let s = Server::start(None).await;
    let cli = Cli::new();
    cli.login(&s);

    let r = cli.run(&["driver", "list"]);
    let table = r.ok();
    assert_eq!(
        header(&table),
        ["NAME", "UUID", "TYPE", "SOURCE", "VERSION", "ADD-ONS", "DELETED"]
    );
    let simulated = table
        .lines()
        .find(|l| l.starts_with("simulated "))
        .unwrap_or_else(|| panic!("{table}"));
    let cells: Vec<&str> = simulated
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(cells[1], "5d3c3f0f3b2a4c1d9e8f7a6b5c4d3e2f", "{simulated}");
    assert_eq!((cells[2], cells[3]), ("addon", "builtin"), "{simulated}");
    assert_eq!(cells[5..], ["sermantInjector 1.3.1.0", "no"], "{simulated}");
    assert_eq!(r.stderr(), "");
    let body = cli.run(&["driver", "list", "-o", "json"]).json();
    assert_eq!(body["errors"], json!([]), "{body}");
    assert!(
        body["drivers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "simulated" && d["source"] == "builtin"),
        "{body}"
    );

    // a broken manifest: refresh still succeeds, lists the drivers, and reports it on stderr
    let broken = s.data_dir.join("plugins").join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("driver.toml"), "name = [unclosed\n").unwrap();
    let r = cli.run(&["driver", "refresh"]);
    let table = r.ok();
    assert!(
        table.lines().any(|l| l.starts_with("simulated ")),
        "{table}"
    );
    let err = r.stderr();
    let manifest = broken.join("driver.toml").display().to_string();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("warning: driver manifest {manifest}: ")),
        "{err}"
    );
    // list shows what the refresh found; -o json has it in `errors`
    let r = cli.run(&["driver", "list", "-o", "json"]);
    let body: Value = serde_json::from_str(&r.ok()).unwrap();
    assert_eq!(body["errors"][0]["path"], json!(manifest), "{body}");
    assert!(r.stderr().contains(&manifest), "{}", r.stderr());
    let r = cli.run(&["driver", "refresh", "-o", "json"]);
    assert_eq!(
        serde_json::from_str::<Value>(&r.ok()).unwrap()["errors"][0]["path"],
        json!(manifest)
    );

    cli.run(&["driver", "frobnicate"]).fails(2);
    cli.run(&["driver", "list", "--all"]).fails(2);
}

#[tokio::test]
async fn driver_delete_from_the_command_line() {
    let s = Server::start(None).await;
    let cli = Cli::new();
    cli.login(&s);
    const SIMULATED: &str = "5d3c3f0f3b2a4c1d9e8f7a6b5c4d3e2f";
    // permissive, while an add-on uses the driver: the delete fails and changes nothing
    let env = env_with_cluster(&cli);
    cli.run(&[
        "addon",
        "install",
        "--env",
        &env,
        "--name",
        "sermantInjector",
        "--cce-id",
        "cce-1",
        "--cse-id",
        "cse-1",
        "--wait",
    ])
    .ok();
    let r = cli.run(&["driver", "delete", SIMULATED, "--wait"]);
    let err = r.fails(1);
    assert!(
        err.contains("SYS.1006") && err.contains("1 add-ons"),
        "{err}"
    );
    let listed = cli.run(&["driver", "list", "-o", "json"]).json();
    let simulated = |body: &Value| {
        body["drivers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["uuid"] == SIMULATED)
            .cloned()
    };
    assert_eq!(simulated(&listed).unwrap()["deleted"], false, "{listed}");
    // enforcing: gone from the registry until a refresh brings it back
    let out = cli
        .run(&[
            "driver",
            "delete",
            SIMULATED,
            "--mode",
            "enforcing",
            "--wait",
        ])
        .ok();
    assert!(out.contains("deleted (enforcing)"), "{out}");
    assert!(simulated(&cli.run(&["driver", "list", "-o", "json"]).json()).is_none());
    cli.run(&["driver", "refresh"]).ok();
    assert!(simulated(&cli.run(&["driver", "list", "-o", "json"]).json()).is_some());
    // without --wait: the job is named
    let body = cli
        .run(&[
            "driver",
            "delete",
            "0c2f1e3d4b5a4c6d8e7f9a0b1c2d3e4f",
            "-o",
            "json",
        ])
        .json();
    assert!(body["job_id"].as_str().unwrap().len() == 32, "{body}");
    let err = cli.run(&["driver", "delete", "not-a-uuid"]).fails(1);
    assert!(
        err.contains("PLUGBOARD.0400") && err.contains("not-a-uuid"),
        "{err}"
    );
    cli.run(&["driver", "delete", SIMULATED, "--mode", "gently"])
        .fails(2);
}
