//! The `plugboard env ...` client commands run as a subprocess against the real server
//! (SQLite or PostgreSQL, `PLUGBOARD_TEST_BACKEND`): environments created, listed as tables
//! and JSON, shown, updated, bound to resources and deleted.

#![allow(clippy::unwrap_used)]

use crate::common;

use common::cli::{header, unique, Cli, MISSING_ENV};
use common::Server;
use serde_json::json;

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
