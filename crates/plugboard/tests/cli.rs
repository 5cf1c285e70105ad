//! The `plugboard` client commands (`login`, `audit ...`) run as a subprocess against the real
//! server: profile handling, signed requests, tables and JSON, error envelopes and exit codes,
//! and `audit on --wait` following the probe of the machine's real MariaDB.

#![allow(clippy::unwrap_used)]

mod common;

use common::{extension_package, serve_bytes, Server};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PROBE_LOOPBACK: &str = "[network]\nprobe_allow = [\"127.0.0.0/8\"]\n";

/// A client with its own profile file (not yet written) in a temporary directory.
struct Cli {
    dir: tempfile::TempDir,
}

impl Cli {
    fn new() -> Self {
        Cli {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn profile(&self) -> PathBuf {
        self.dir.path().join("conf").join("credentials.json")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_plugboard"));
        cmd.args(args)
            .env("PLUGBOARD_CLI_CONFIG", self.profile())
            .env("HOME", self.dir.path())
            .env_remove("XDG_CONFIG_HOME");
        for var in [
            "PLUGBOARD_ENDPOINT",
            "PLUGBOARD_ACCESS_KEY",
            "PLUGBOARD_SECRET_KEY",
            "PLUGBOARD_PROJECT_ID",
        ] {
            cmd.env_remove(var);
        }
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        Run(self.command(args).output().unwrap())
    }

    fn login(&self, s: &Server) {
        let boot = s.data_dir.join("bootstrap.json");
        let r = self.run(&["login", "--bootstrap-file", boot.to_str().unwrap()]);
        r.ok();
    }
}

struct Run(Output);

impl Run {
    fn code(&self) -> Option<i32> {
        self.0.status.code()
    }
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
    /// Assert exit 0; return stdout.
    fn ok(&self) -> String {
        assert_eq!(
            self.code(),
            Some(0),
            "stdout: {}\nstderr: {}",
            self.stdout(),
            self.stderr()
        );
        self.stdout()
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.ok()).unwrap()
    }
    /// Assert a failure with this exit code; return stderr.
    fn fails(&self, code: i32) -> String {
        assert_eq!(
            self.code(),
            Some(code),
            "stdout: {}\nstderr: {}",
            self.stdout(),
            self.stderr()
        );
        self.stderr()
    }
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn closed_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port().to_string()
}

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
