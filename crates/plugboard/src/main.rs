//! The `plugboard` binary: `plugboard serve` runs the server; `plugboard login`, `audit`,
//! `instance`, `plugin` and `job` are its client for people (`cli`).

mod bootstrap;
mod cli;
mod serve;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "plugboard",
    version,
    about = "A self-hosted control plane for plug-ins and add-ons"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Save an endpoint, access key and project as the client profile, and check them.
    Login(cli::LoginArgs),
    /// DBSS: audit instances, audited databases, audit on and off.
    Audit(cli::AuditArgs),
    /// GaussDB instances plugboard manages: register, list, show, delete.
    Instance(cli::InstanceArgs),
    /// Kernel plug-ins: install (with --wait), list, extensions on and off.
    Plugin(cli::PluginArgs),
    /// Jobs: show one, list them.
    Job(cli::JobArgs),
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
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Login(args) => cli::run(cli::login::run(args)),
        Command::Audit(args) => cli::run(cli::audit::run(args)),
        Command::Instance(args) => cli::run(cli::gaussdb::run_instance(args)),
        Command::Plugin(args) => cli::run(cli::gaussdb::run_plugin(args)),
        Command::Job(args) => cli::run(cli::gaussdb::run_job(args)),
    }
}
