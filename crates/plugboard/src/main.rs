//! The `plugboard` binary: `plugboard serve` runs the server; `plugboard login`, `audit`,
//! `instance`, `plugin`, `job`, `lockout`, `env`, `addon` and `driver` are its client for people
//! (`cli`).

mod bootstrap;
mod cli;
mod datadir;
mod dbss_agent;
mod driver_step;
mod serve;
mod signals;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::PathBuf;

/// mimalloc instead of the C library's allocator: a request allocates and frees a few dozen
/// small objects, and glibc's `malloc`/`free` were a tenth of the server's CPU time under load
/// (docs/benchmarks.md → Authentication).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "plugboard",
    version,
    about = "A self-hosted control plane for plug-ins and add-ons"
)]
struct Cli {
    /// The client's connection and output flags (global; hidden from each command's help and
    /// listed once, after the root help, by `cli::document_client_flags`).
    #[command(flatten)]
    client: cli::ConnectionArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Check an endpoint, access key and project, then save them as the client profile.
    Login(cli::LoginArgs),
    /// DBSS: audit instances, audited databases, audit on and off.
    Audit(cli::AuditArgs),
    /// GaussDB instances plugboard manages: register, list, show, delete.
    Instance(cli::InstanceArgs),
    /// Kernel plug-ins: install (with --wait), list, extensions on and off.
    Plugin(cli::PluginArgs),
    /// Jobs of every family: list them (--family, --state); show a GaussDB job.
    Job(cli::JobArgs),
    /// Run one step of a built-in driver through the step protocol (used by the server).
    #[command(hide = true)]
    DriverStep {
        /// The driver: `local-process`.
        driver: String,
    },
    /// Users and access keys locked after failed attempts: list them, unlock one.
    Lockout(cli::LockoutArgs),
    /// ServiceStage environments: create, list, show, update, delete, bind resources.
    Env(cli::EnvArgs),
    /// ServiceStage add-ons: catalog, install, list, show, restart/redeploy, uninstall (--wait).
    Addon(cli::AddonArgs),
    /// The driver registry: list it, rescan the plug-in folder.
    Driver(cli::DriverArgs),
    /// The DBSS audit agent: tails a database's audit log on its host and ships the
    /// statements to plugboard (runs in the foreground).
    DbssAgent(dbss_agent::AgentArgs),
}

/// Flags of `plugboard serve`; each has an environment variable and falls back to the config
/// file, then to the default.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "PLUGBOARD_LISTEN")]
    listen: Option<String>,
    /// Data directory [default: ./plugboard-data]
    #[arg(long, env = "PLUGBOARD_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL: sqlite://... or postgres://... [default: sqlite://<data-dir>/plugboard.db]
    #[arg(long, env = "PLUGBOARD_DATABASE_URL")]
    database_url: Option<String>,
    /// Config file [default: <data-dir>/plugboard.toml if present]
    #[arg(long, env = "PLUGBOARD_CONFIG")]
    config: Option<PathBuf>,
    /// Region name [default: local]
    #[arg(long, env = "PLUGBOARD_REGION")]
    region: Option<String>,
    /// Public URL [default: derived from the listen address]
    #[arg(long, env = "PLUGBOARD_PUBLIC_URL")]
    public_url: Option<String>,
    /// Log format: human or json [default: human]
    #[arg(long, env = "PLUGBOARD_LOG_FORMAT")]
    log_format: Option<String>,
}

fn main() -> std::process::ExitCode {
    let command = cli::document_client_flags(Cli::command());
    let matches = command.clone().get_matches();
    let cli =
        Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut command.clone()).exit());
    let conn = cli.client;
    match cli.command {
        Command::Serve(args) => {
            if conn.any_given() {
                let mut command = command;
                command
                    .error(
                        clap::error::ErrorKind::ArgumentConflict,
                        "the client flags (--endpoint, --access-key, --secret-key, --project-id, --output) do not apply to `plugboard serve`; see `plugboard serve --help`",
                    )
                    .exit();
            }
            serve::run(args)
        }
        Command::Login(args) => cli::run(cli::login::run(conn, args)),
        Command::Audit(args) => cli::run(cli::audit::run(conn, args)),
        Command::Instance(args) => cli::run(cli::gaussdb::run_instance(conn, args)),
        Command::Plugin(args) => cli::run(cli::gaussdb::run_plugin(conn, args)),
        Command::Job(args) => cli::run(cli::job::run(conn, args)),
        Command::Lockout(args) => cli::run(cli::lockout::run(conn, args)),
        Command::Env(args) => cli::run(cli::env::run(conn, args)),
        Command::Addon(args) => cli::run(cli::addon::run(conn, args)),
        Command::Driver(args) => cli::run(cli::driver::run(conn, args)),
        Command::DriverStep { driver } => driver_step::run(&driver),
        Command::DbssAgent(args) => dbss_agent::run(args),
    }
}
