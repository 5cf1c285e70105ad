//! The `plugboard` client commands run as a subprocess against the real server: `login` from
//! the bootstrap file and the private profile it writes, credentials from flags and environment
//! before the profile, error envelopes and exit codes, and the docs naming every command and
//! flag of `--help`.

#![allow(clippy::unwrap_used)]

use crate::common;

use common::cli::{closed_port, Cli, Run, PROBE_LOOPBACK};
use common::Server;
use serde_json::Value;
use std::path::Path;

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn login_from_the_bootstrap_file_writes_a_private_profile() {
    let s = Server::start(Some(PROBE_LOOPBACK)).await;
    let cli = Cli::new();
    let boot = s.data_dir.join("bootstrap.json");
    let r = cli.run(&["login", "--bootstrap-file", boot.to_str().unwrap()]);
    let out = r.ok();
    let secret = s.b("secret_key");
    assert!(!out.contains(&secret) && !r.stderr().contains(&secret));
    assert!(out.contains(&s.b("access_key")), "{out}");
    assert!(
        out.contains(&s.b("project_id")) && out.contains("local"),
        "{out}"
    );
    assert!(out.contains(&s.base), "{out}");
    assert!(out.contains(cli.profile().to_str().unwrap()), "{out}");

    assert_eq!(mode(&cli.profile()), 0o600);
    let profile: Value =
        serde_json::from_str(&std::fs::read_to_string(cli.profile()).unwrap()).unwrap();
    assert_eq!(profile["endpoint"], s.base.as_str());
    assert_eq!(profile["access_key"], s.b("access_key").as_str());
    assert_eq!(profile["secret_key"], secret.as_str());
    assert_eq!(profile["project_id"], s.b("project_id").as_str());

    // Explicit flags, JSON output; a second login rewrites the file, still 0600.
    let r = cli.run(&[
        "login",
        "--endpoint",
        &format!("{}/", s.base),
        "--access-key",
        &s.b("access_key"),
        "--secret-key",
        &secret,
        "--project-id",
        &s.b("project_id"),
        "--output",
        "json",
    ]);
    let j = r.json();
    assert_eq!(j["project_name"], "local");
    assert_eq!(j["endpoint"], s.base.as_str());
    assert!(!r.stdout().contains(&secret) && !r.stderr().contains(&secret));
    assert_eq!(mode(&cli.profile()), 0o600);

    // A wrong secret: the gateway's refusal, exit 1, the secret never echoed, and the
    // working profile left exactly as it was.
    let saved = std::fs::read(cli.profile()).unwrap();
    let wrong = "Wrong-secret-0123456789";
    let r = cli.run(&[
        "login",
        "--bootstrap-file",
        boot.to_str().unwrap(),
        "--secret-key",
        wrong,
    ]);
    let err = r.fails(1);
    assert!(err.contains("error: APIG.0301"), "{err}");
    assert!(!err.contains(wrong) && !r.stdout().contains(wrong));
    assert_eq!(
        std::fs::read(cli.profile()).unwrap(),
        saved,
        "profile changed"
    );
    assert!(!err.contains("saved"), "{err}");

    // An unreachable endpoint: the profile is still untouched, and still works.
    let dead = format!("http://127.0.0.1:{}", closed_port());
    let r = cli.run(&[
        "login",
        "--bootstrap-file",
        boot.to_str().unwrap(),
        "--endpoint",
        &dead,
    ]);
    assert!(r.fails(1).contains("could not reach plugboard"));
    assert_eq!(
        std::fs::read(cli.profile()).unwrap(),
        saved,
        "profile changed"
    );
    cli.run(&["audit", "instance", "list"]).ok();

    // A project the key cannot use: the gateway refuses the scope.
    let other = plugboard_core::ids::hex32();
    let r = cli.run(&[
        "login",
        "--bootstrap-file",
        boot.to_str().unwrap(),
        "--project-id",
        &other,
    ]);
    let err = r.fails(1);
    assert!(err.starts_with("error: APIG.0302: "), "{err}");
    assert_eq!(
        std::fs::read(cli.profile()).unwrap(),
        saved,
        "profile changed"
    );
}

#[tokio::test]
async fn credentials_come_from_flags_and_environment_before_the_profile() {
    let s = Server::start(None).await;
    let cli = Cli::new();

    // No profile, no flags: a clear message, exit 1.
    let err = cli.run(&["audit", "instance", "list"]).fails(1);
    assert!(
        err.contains("no credentials") && err.contains("plugboard login"),
        "{err}"
    );
    assert!(err.contains(cli.profile().to_str().unwrap()), "{err}");

    // Flags alone are enough.
    let flags = [
        "--endpoint".to_string(),
        s.base.clone(),
        "--access-key".into(),
        s.b("access_key"),
        "--secret-key".into(),
        s.b("secret_key"),
        "--project-id".into(),
        s.b("project_id"),
    ];
    let mut args: Vec<&str> = vec!["audit", "instance", "list", "-o", "json"];
    args.extend(flags.iter().map(String::as_str));
    assert_eq!(cli.run(&args).json()["total"], 0);

    // A profile pointing at a dead endpoint; the environment wins over it.
    cli.login(&s);
    let mut profile: Value =
        serde_json::from_str(&std::fs::read_to_string(cli.profile()).unwrap()).unwrap();
    let dead = format!("http://127.0.0.1:{}", closed_port());
    profile["endpoint"] = Value::String(dead.clone());
    std::fs::write(cli.profile(), profile.to_string()).unwrap();
    let err = cli.run(&["audit", "instance", "list"]).fails(1);
    assert!(
        err.contains(&format!("could not reach plugboard at {dead}")),
        "{err}"
    );
    let r = Run(cli
        .command(&["audit", "instance", "list", "-o", "json"])
        .env("PLUGBOARD_ENDPOINT", &s.base)
        .output()
        .unwrap());
    assert_eq!(r.json()["total"], 0);

    // A wrong secret in the environment beats the right one in the profile.
    let r = Run(cli
        .command(&["audit", "instance", "list"])
        .env("PLUGBOARD_ENDPOINT", &s.base)
        .env("PLUGBOARD_SECRET_KEY", "not-the-secret")
        .output()
        .unwrap());
    let err = r.fails(1);
    assert!(err.starts_with("error: APIG.0301: "), "{err}");
    assert!(!err.contains("not-the-secret") && !err.contains(&s.b("secret_key")));

    // Usage errors are clap's: exit 2.
    let base = ["--endpoint", s.base.as_str()];
    for args in [
        vec!["audit", "instance", "create", "--name", "x"],
        vec![
            "audit",
            "instance",
            "create",
            "--name",
            "x",
            "--edition",
            "basic",
            "--database-limit",
            "3",
        ],
        vec![
            "audit",
            "instance",
            "create",
            "--name",
            "x",
            "--edition",
            "platinum",
        ],
        vec!["audit", "list"],
        vec!["audit", "on", "--instance", "x"],
        vec!["audit", "off", "--instance", "x", "y", "--wait"],
        vec!["audit", "list", "--instance", "x", "--output", "yaml"],
    ] {
        let mut full = args.clone();
        full.extend(base);
        cli.run(&full).fails(2);
    }
    // The connection flags are documented once, in the root help, which never shows the
    // secret from the environment; each command's help points there instead of repeating them.
    let r = Run(cli
        .command(&["--help"])
        .env("PLUGBOARD_SECRET_KEY", "help-secret")
        .output()
        .unwrap());
    let help = r.ok();
    for flag in [
        "--endpoint <URL>",
        "--access-key <AK>",
        "--secret-key <SK>",
        "--project-id <ID>",
        "-o, --output <FORMAT>",
        "PLUGBOARD_ENDPOINT",
        "PLUGBOARD_SECRET_KEY",
    ] {
        assert!(help.contains(flag), "{flag}: {help}");
    }
    assert!(!help.contains("help-secret"), "{help}");
    for group in [
        vec!["audit", "--help"],
        vec!["audit", "on", "--help"],
        vec!["instance", "--help"],
        vec!["plugin", "install", "--help"],
        vec!["job", "show", "--help"],
        vec!["login", "--help"],
    ] {
        let help = cli.run(&group).ok();
        assert!(
            !help.contains("--secret-key <SK>") && !help.contains("PLUGBOARD_ENDPOINT"),
            "{group:?}: {help}"
        );
        assert!(help.contains("see `plugboard --help`"), "{group:?}: {help}");
        assert!(help.lines().count() < 30, "{group:?}: {help}");
    }
    // `serve` takes none of them.
    let err = cli.run(&["serve", "--endpoint", s.base.as_str()]).fails(2);
    assert!(err.contains("do not apply to `plugboard serve`"), "{err}");
}

/// The lines of one section of a `--help` text (`Commands:`, `Options:`, …), up to the next
/// blank line.
fn help_section<'a>(help: &'a str, heading: &str) -> Vec<&'a str> {
    help.lines()
        .skip_while(|l| l.trim() != heading)
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .collect()
}

#[test]
fn the_docs_name_every_command_and_every_flag_of_the_help() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/");
    let cli_md = std::fs::read_to_string(format!("{root}cli.md")).unwrap();
    let configuration_md = std::fs::read_to_string(format!("{root}configuration.md")).unwrap();
    let cli = Cli::new();
    let mut stack: Vec<Vec<String>> = vec![vec![]];
    let mut leaves = Vec::new();
    while let Some(path) = stack.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let help = cli.run(&args).ok();
        let subcommands: Vec<String> = help_section(&help, "Commands:")
            .iter()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|name| *name != "help")
            .map(str::to_string)
            .collect();
        if !subcommands.is_empty() {
            for sub in subcommands {
                let mut next = path.clone();
                next.push(sub);
                stack.push(next);
            }
            continue;
        }
        // serve is documented in configuration.md, every client command in cli.md.
        let (doc, name) = if path[0] == "serve" {
            (&configuration_md, "configuration.md")
        } else {
            (&cli_md, "cli.md")
        };
        let command = path.join(" ");
        assert!(
            path[0] == "serve" || doc.contains(&command),
            "docs/{name} does not mention `{command}`"
        );
        for line in help_section(&help, "Options:") {
            let flag = line
                .split_whitespace()
                .find(|w| w.starts_with("--"))
                .map(|w| w.trim_end_matches(','))
                .unwrap_or_default();
            if flag.is_empty() || flag == "--help" {
                continue;
            }
            // The flag as a whole word: `--pkglibdir` is not mentioned by `--pkglibdir-x`.
            let whole = doc.match_indices(flag).any(|(i, _)| {
                !doc[i + flag.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-')
            });
            assert!(whole, "docs/{name} does not mention {flag} of `{command}`");
        }
        leaves.push(command);
    }
    // The root help's client flags, documented once, in cli.md.
    let root = cli.run(&["--help"]).ok();
    for flag in [
        "--endpoint",
        "--access-key",
        "--secret-key",
        "--project-id",
        "--output",
    ] {
        assert!(root.contains(flag) && cli_md.contains(flag), "{flag}");
    }
    assert!(leaves.len() >= 21, "{leaves:?}");
}
