//! The `plugboard` client commands run as a subprocess against the real server, end to end:
//! `audit ...` with tables and JSON and `audit on --wait` following the probe of the machine's
//! real MariaDB, and installing a plugin while following its job.

#![allow(clippy::unwrap_used)]

use crate::common;

use common::cli::{closed_port, Cli, Run, PROBE_LOOPBACK};
use common::{extension_package, serve_bytes, Server};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn create_instance(cli: &Cli, edition: &str) -> String {
    let i = cli
        .run(&[
            "audit",
            "instance",
            "create",
            "--name",
            "cli",
            "--edition",
            edition,
            "-o",
            "json",
        ])
        .json();
    i["id"].as_str().unwrap().to_string()
}

fn add_database(cli: &Cli, instance: &str, name: &str, port: &str) -> Run {
    cli.run(&[
        "audit",
        "add-database",
        "--instance",
        instance,
        "--name",
        name,
        "--type",
        "MYSQL",
        "--version",
        "10.11",
        "--ip",
        "127.0.0.1",
        "--port",
        port,
        "--instance-name",
        "local",
    ])
}

#[tokio::test]
async fn audit_a_real_mariadb_from_the_command_line() {
    let s = Server::start(Some(PROBE_LOOPBACK)).await;
    let cli = Cli::new();
    cli.login(&s);
    let inst = create_instance(&cli, "basic");

    // add-database prints the id, nothing else.
    let maria = add_database(&cli, &inst, "maria", "3306").ok();
    let maria = maria.trim().to_string();
    assert_eq!(maria.len(), 20, "{maria}");

    // on --wait: the probe reaches MariaDB; exit 0 and ACTIVE.
    let out = cli
        .run(&["audit", "on", "--instance", &inst, &maria, "--wait"])
        .ok();
    assert!(out.contains(&maria) && out.contains("ACTIVE"), "{out}");
    assert!(out.contains("127.0.0.1:3306"), "{out}");

    // A closed port: exit non-zero, the reason shown.
    let port = closed_port();
    let gone = add_database(&cli, &inst, "gone", &port).ok();
    let gone = gone.trim().to_string();
    let r = cli.run(&[
        "audit",
        "on",
        "--instance",
        &inst,
        &gone,
        "--wait",
        "--timeout",
        "20",
    ]);
    let err = r.fails(1);
    assert!(
        err.contains("ERROR") && err.contains("refused") && err.contains(&port),
        "{err}"
    );
    assert!(r.stdout().contains("ERROR"), "{}", r.stdout());

    // The listing, as JSON: the server's body with both databases.
    let list = cli
        .run(&["audit", "list", "--instance", &inst, "--output", "json"])
        .json();
    assert_eq!(list["total"], 2);
    let dbs: Vec<&Value> = list["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["database"])
        .collect();
    let by_id = |id: &str| *dbs.iter().find(|d| d["id"] == id).unwrap();
    assert_eq!(by_id(&maria)["audit_status"], "ACTIVE");
    assert_eq!(by_id(&maria)["port"], "3306");
    assert_eq!(by_id(&gone)["audit_status"], "ERROR");

    // As a table; --output before the subcommand works too.
    let table = cli
        .run(&["audit", "-o", "table", "list", "--instance", &inst])
        .ok();
    let header = table.lines().next().unwrap();
    let cols: Vec<&str> = header.split_whitespace().collect();
    assert_eq!(
        cols,
        ["ID", "NAME", "TYPE", "ADDRESS", "STATUS", "AUDIT", "REASON"]
    );
    assert_eq!(table.lines().count(), 3, "{table}");
    assert!(table.contains(&format!("127.0.0.1:{port}")), "{table}");
    let on = cli
        .run(&["audit", "list", "--instance", &inst, "--status", "on"])
        .ok();
    assert_eq!(on.lines().count(), 3, "{on}");

    // A bad field: the server's DBSS error, exit 1, nothing added.
    let r = add_database(&cli, &inst, "bad", "70000");
    let err = r.fails(1);
    assert!(err.starts_with("error: DBSS.10000001: "), "{err}");
    assert!(err.contains("database.port"), "{err}");
    assert_eq!(r.stdout(), "");
    // The instance is full (basic: 3): the vendor's limit error.
    add_database(&cli, &inst, "third", "3307").ok();
    let err = add_database(&cli, &inst, "fourth", "3308").fails(1);
    assert!(err.contains("DBSS.10020118"), "{err}");
    let list = cli
        .run(&["audit", "list", "--instance", &inst, "-o", "json"])
        .json();
    assert_eq!(list["total"], 3);

    // OFF, and the instance listing.
    let out = cli.run(&["audit", "off", "--instance", &inst, &gone]).ok();
    assert!(out.contains("OFF"), "{out}");
    let r = cli.run(&["audit", "off", "--instance", &inst, &gone, "-o", "json"]);
    assert_eq!(r.json()["status"], "SUCCESS");
    let table = cli.run(&["audit", "instance", "list"]).ok();
    assert!(table.starts_with("ID "), "{table}");
    assert!(table.contains(&inst) && table.contains("basic"), "{table}");
    let instances = cli.run(&["audit", "instance", "list", "-o", "json"]).json();
    assert_eq!(instances["instances"][0]["database_count"], 3);

    // Unknown ids: the server's 404 in its envelope.
    let other = plugboard_core::ids::hex32();
    let err = cli.run(&["audit", "list", "--instance", &other]).fails(1);
    assert!(err.starts_with("error: DBSS.10021004: "), "{err}");
    let err = cli
        .run(&["audit", "on", "--instance", &inst, "AAAAAAAAAAAAAAAAAAAA"])
        .fails(1);
    assert!(err.contains("DBSS.10021004"), "{err}");

    // Delete the instance (admin API, flat envelope on a second try).
    let out = cli.run(&["audit", "instance", "delete", &inst]).ok();
    assert!(out.contains(&inst), "{out}");
    let err = cli.run(&["audit", "instance", "delete", &inst]).fails(1);
    assert!(err.starts_with("error: PLUGBOARD.0404: "), "{err}");
}

fn pg_dir(flag: &str) -> PathBuf {
    let out = Command::new("pg_config").arg(flag).output().unwrap();
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

#[tokio::test]
async fn install_a_plugin_and_follow_its_job_from_the_command_line() {
    let name = format!("pbcli_{}", &plugboard_core::ids::hex32()[..6]);
    let (package, sha) = extension_package(&name);
    let base = serve_bytes(package);
    let config = format!(
        "[gaussdb]\nsupported_plugins = [\"postgis\", \"{name}\"]\n[network]\nallow = [\"{base}/\"]\nallow_private = true\n"
    );
    let mut s = Server::start(Some(&config)).await;
    let cli = Cli::new();
    cli.login(&s);
    let url = format!("{base}/{name}.tar.gz");
    let sharedir = pg_dir("--sharedir");
    let installed = [
        sharedir.join(format!("extension/{name}.control")),
        sharedir.join(format!("extension/{name}--1.0.sql")),
    ];

    // a simulated instance: register, install with --wait, list
    let sim = cli
        .run(&[
            "instance",
            "register",
            "--name",
            "sim",
            "--host",
            "db.example",
            "--port",
            "6000",
            "--user",
            "app",
            "--simulated",
            "-o",
            "json",
        ])
        .json();
    assert_eq!(sim["install"], serde_json::json!({"mode": "simulated"}));
    let sim_id = sim["id"].as_str().unwrap().to_string();
    let out = cli
        .run(&[
            "plugin",
            "install",
            "--instance",
            &sim_id,
            "--name",
            &name,
            "--url",
            &url,
            "--sha256",
            &sha,
            "--wait",
        ])
        .ok();
    assert!(out.contains("Completed") && out.contains("100%"), "{out}");
    // --wait -o json: the last job answer as the server sent it, `{"job": {...}}`.
    let body = cli
        .run(&[
            "plugin",
            "install",
            "--instance",
            &sim_id,
            "--name",
            &name,
            "--url",
            &url,
            "--sha256",
            &sha,
            "--wait",
            "-o",
            "json",
        ])
        .json();
    assert_eq!(body["job"]["status"], "Completed", "{body}");
    assert_eq!(body.as_object().map(|o| o.len()), Some(1), "{body}");
    assert_eq!(
        cli.run(&["plugin", "list", "--instance", &sim_id]).ok(),
        format!("{name}\n")
    );
    let supported = cli.run(&["plugin", "supported", "-o", "json"]).json();
    assert_eq!(supported, serde_json::json!(["postgis", name]));

    // a real (local) instance: a failing job exits 1 with its reason, a good one installs
    let pg_config = Command::new("which").arg("pg_config").output().unwrap();
    let pg_config = String::from_utf8(pg_config.stdout)
        .unwrap()
        .trim()
        .to_string();
    let local = cli
        .run(&[
            "instance",
            "register",
            "--name",
            "pg",
            "--host",
            "127.0.0.1",
            "--user",
            "postgres",
            "--pg-config",
            &pg_config,
            "-o",
            "json",
        ])
        .json();
    assert_eq!(local["status"], "ACTIVE");
    let local_id = local["id"].as_str().unwrap().to_string();
    let wrong = "0".repeat(64);
    let err = cli
        .run(&[
            "plugin",
            "install",
            "--instance",
            &local_id,
            "--name",
            &name,
            "--url",
            &url,
            "--sha256",
            &wrong,
            "--wait",
        ])
        .fails(1);
    assert!(err.contains("failed: sha_256 mismatch"), "{err}");
    assert!(!installed[0].exists());
    let job_id = cli
        .run(&[
            "plugin",
            "install",
            "--instance",
            &local_id,
            "--name",
            &name,
            "--url",
            &url,
            "--sha256",
            &sha,
        ])
        .ok()
        .trim()
        .to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let job = loop {
        // -o json prints the server's body as it came: `{"job": {...}}`.
        let body = cli.run(&["job", "show", &job_id, "-o", "json"]).json();
        assert_eq!(
            body.as_object().map(|o| o.keys().collect::<Vec<_>>()),
            Some(vec![&"job".to_string()]),
            "{body}"
        );
        let job = body["job"].clone();
        if job["status"] != "Running" || std::time::Instant::now() > deadline {
            break job;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(job["status"], "Completed", "{job}");
    assert!(installed.iter().all(|f| f.is_file()));
    let list = cli.run(&["job", "list", "--status", "Completed"]).ok();
    assert!(list.contains(&job_id), "{list}");
    cli.run(&[
        "plugin",
        "extension",
        "on",
        "--instance",
        &local_id,
        "--plugin",
        &name,
        "--extension",
        &name,
        "--db",
        "postgres",
    ])
    .ok();
    let ext = cli
        .run(&[
            "plugin",
            "extension",
            "list",
            "--instance",
            &local_id,
            "--plugin",
            &name,
            "--db",
            "postgres",
            "-o",
            "json",
        ])
        .json();
    assert_eq!(
        ext,
        serde_json::json!([{"extension_name": name, "status": "on"}])
    );
    cli.run(&[
        "plugin",
        "extension",
        "off",
        "--instance",
        &local_id,
        "--plugin",
        &name,
        "--extension",
        &name,
        "--db",
        "postgres",
    ])
    .ok();

    // refusals: the server's envelope and code, usage errors
    let err = cli
        .run(&[
            "plugin",
            "install",
            "--instance",
            &local_id,
            "--name",
            &name,
            "--url",
            &url,
            "--sha256",
            "abc",
        ])
        .fails(1);
    assert!(
        err.contains("DBS.200001") && err.contains("sha_256"),
        "{err}"
    );
    let err = cli
        .run(&[
            "instance",
            "register",
            "--name",
            "x",
            "--host",
            "h",
            "--user",
            "u",
            "--simulated",
            "--password-env",
            "PLUGBOARD_TEST_NO_SUCH_VARIABLE",
        ])
        .fails(1);
    assert!(
        err.contains("PLUGBOARD_TEST_NO_SUCH_VARIABLE is not set"),
        "{err}"
    );
    cli.run(&[
        "instance", "register", "--name", "x", "--host", "h", "--user", "u",
    ])
    .fails(2);

    for f in &installed {
        std::fs::remove_file(f).ok();
    }
    s.stop();
}
