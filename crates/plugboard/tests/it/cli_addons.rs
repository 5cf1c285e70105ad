//! The `plugboard addon ...` client commands run as a subprocess against the real server
//! (SQLite or PostgreSQL, `PLUGBOARD_TEST_BACKEND`): add-ons installed, redeployed, failed on
//! purpose and uninstalled through the built-in `simulated` driver while `--wait` follows
//! their jobs.

#![allow(clippy::unwrap_used)]

use crate::common;

use common::cli::{env_with_cluster, header, Cli, MISSING_ENV};
use common::Server;
use serde_json::{json, Value};

fn simulated_settings(s: &Server, text: &str) {
    let folder = s.data_dir.join("plugins").join("simulated");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("simulated.toml"), text).unwrap();
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
    let r = cli.install_addon(&env, &["--wait"]);
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
    let err = cli.install_addon(&env, &[]).fails(1);
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
    let table = cli.install_addon(&env, &[]).ok();
    assert_eq!(header(&table), ["ID", "JOB"], "{table}");
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert!(row.len() == 2 && row[1].starts_with("JOB"), "{table}");
    let out = cli.run(&["addon", "job", row[1], "--wait"]).ok();
    assert!(
        out.contains(&format!("PROVISION of add-on {}): SUCCEEDED", row[0])),
        "{out}"
    );
}
