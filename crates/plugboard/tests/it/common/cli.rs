//! The client side of the `plugboard` command tests (`cli_*.rs`): a client with its own profile
//! in a temporary directory, run as a subprocess, and what a run printed and exited with.

#![allow(clippy::unwrap_used)]

use super::Server;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

pub const PROBE_LOOPBACK: &str = "[network]\nprobe_allow = [\"127.0.0.0/8\"]\n";

/// A client with its own profile file (not yet written) in a temporary directory.
pub struct Cli {
    dir: tempfile::TempDir,
}

impl Cli {
    pub fn new() -> Self {
        Cli {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn profile(&self) -> PathBuf {
        self.dir.path().join("conf").join("credentials.json")
    }

    pub fn command(&self, args: &[&str]) -> Command {
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

    pub fn run(&self, args: &[&str]) -> Run {
        Run(self.command(args).output().unwrap())
    }

    /// `plugboard addon install --env env` of the built-in simulated driver's add-on
    /// (`sermantInjector` on `cce-1` and `cse-1`, as [`env_with_cluster`] binds them), then
    /// `extra`.
    pub fn install_addon(&self, env: &str, extra: &[&str]) -> Run {
        let mut args = vec![
            "addon",
            "install",
            "--env",
            env,
            "--name",
            "sermantInjector",
            "--cce-id",
            "cce-1",
            "--cse-id",
            "cse-1",
        ];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    pub fn login(&self, s: &Server) {
        let boot = s.data_dir.join("bootstrap.json");
        let r = self.run(&["login", "--bootstrap-file", boot.to_str().unwrap()]);
        r.ok();
    }
}

pub struct Run(pub Output);

impl Run {
    pub fn code(&self) -> Option<i32> {
        self.0.status.code()
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
    /// Assert exit 0; return stdout.
    pub fn ok(&self) -> String {
        assert_eq!(
            self.code(),
            Some(0),
            "stdout: {}\nstderr: {}",
            self.stdout(),
            self.stderr()
        );
        self.stdout()
    }
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.ok()).unwrap()
    }
    /// Assert a failure with this exit code; return stderr.
    pub fn fails(&self, code: i32) -> String {
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

pub fn closed_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port().to_string()
}

/// The columns of a table's header line.
pub fn header(table: &str) -> Vec<String> {
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

/// `prefix` and eight random hex digits: a name no other test uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &plugboard_core::ids::hex32()[..8])
}

/// A ServiceStage environment id that names no environment.
pub const MISSING_ENV: &str = "00000000-0000-4000-8000-000000000000";

/// An environment created with `cli`, `cce-1` and `cse-1` bound to it; its id.
pub fn env_with_cluster(cli: &Cli) -> String {
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
