//! The `plugboard driver ...` client commands run as a subprocess against the real server
//! (SQLite or PostgreSQL, `PLUGBOARD_TEST_BACKEND`): the driver registry listed and refreshed,
//! a broken manifest reported, and a driver deleted only when nothing uses it.

#![allow(clippy::unwrap_used)]

use crate::common;

use common::cli::{env_with_cluster, header, Cli};
use common::Server;
use serde_json::{json, Value};

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
    cli.install_addon(&env, &["--wait"]).ok();
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
