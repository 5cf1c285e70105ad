//! `plugboard` as a client for people (docs/cli.md): `plugboard login`, `plugboard audit ...`,
//! `plugboard instance ...`, `plugboard plugin ...`, `plugboard job ...`, `plugboard lockout
//! ...`, `plugboard env ...`, `plugboard addon ...`, `plugboard driver ...`. Every command
//! talks to a plugboard server over the same public APIs as the SDKs, signing its requests with
//! the caller's AK/SK (`SDK-HMAC-SHA256`). Tables by default, `--output json` for scripts. Exit
//! codes: 0 success, 1 a failure (the server refused, the server could not be reached, no
//! credentials, an audit that ended in ERROR, a job that failed), 2 a usage error.

pub mod addon;
pub mod audit;
pub mod audit_capture;
pub mod audit_stats;
pub mod client;
pub mod driver;
pub mod env;
pub mod gaussdb;
pub mod job;
pub mod lockout;
pub mod login;
pub mod output;

pub use addon::AddonArgs;
pub use audit::AuditArgs;
pub use client::ConnectionArgs;
pub use driver::DriverArgs;
pub use env::EnvArgs;
pub use gaussdb::{InstanceArgs, PluginArgs};
pub use job::JobArgs;
pub use lockout::LockoutArgs;
pub use login::LoginArgs;

use std::fmt;
use std::future::Future;
use std::process::ExitCode;

/// Why a client command failed. Displayed after `error: ` on stderr.
#[derive(Debug)]
pub enum CliError {
    /// The server answered with an error envelope.
    Api {
        /// The vendor code (`DBSS.10000001`, `APIG.0301`, `401` for Keystone errors...).
        code: String,
        /// The vendor message.
        message: String,
    },
    /// The server could not be reached.
    Unreachable {
        /// The endpoint tried.
        endpoint: String,
        /// Why, as the network stack put it.
        detail: String,
    },
    /// Anything else, phrased for a person.
    Other(String),
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Api { code, message } => write!(f, "{code}: {message}"),
            Self::Unreachable { endpoint, detail } => {
                write!(f, "could not reach plugboard at {endpoint}: {detail}")
            }
            Self::Other(msg) => f.write_str(msg),
        }
    }
}

/// How results are printed.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutputFormat {
    /// Readable tables.
    #[default]
    Table,
    /// The server's JSON body, as received.
    Json,
}

/// The heading of the client flags' section in `plugboard --help`.
const CLIENT_FLAGS_HEADING: &str = "Client flags";

/// Document the global client flags once: listed after the root `--help` (generated from their
/// definitions, so the list cannot drift), and pointed at from the help of every client command,
/// which does not repeat them.
pub fn document_client_flags(command: clap::Command) -> clap::Command {
    let mut rows = Vec::new();
    for arg in command.get_arguments().filter(|a| a.is_global_set()) {
        let long = arg.get_long().unwrap_or_default();
        let short = arg
            .get_short()
            .map(|c| format!("-{c}, "))
            .unwrap_or_default();
        let value = arg
            .get_value_names()
            .and_then(|v| v.first().map(|n| format!(" <{n}>")))
            .unwrap_or_default();
        let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
        rows.push((format!("{short}--{long}{value}"), help));
    }
    let width = rows.iter().map(|(flag, _)| flag.len()).max().unwrap_or(0);
    let mut text = format!(
        "{CLIENT_FLAGS_HEADING} (every command but serve, before or after the command; each \
         falls back to its environment variable, then to the profile `plugboard login` saved):\n"
    );
    for (flag, help) in &rows {
        text.push_str(&format!("  {flag:<width$}  {help}\n"));
    }
    let footer =
        "Connection and output flags (--endpoint, --access-key, --secret-key, --project-id, \
                  -o/--output): see `plugboard --help`.";
    let mut command = command.after_help(text);
    let names: Vec<String> = command
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .filter(|n| n != "serve")
        .collect();
    for name in names {
        command = command.mut_subcommand(name, |c| with_footer(c, footer));
    }
    command
}

fn with_footer(command: clap::Command, footer: &'static str) -> clap::Command {
    let mut command = command.after_help(footer);
    let names: Vec<String> = command
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    for name in names {
        command = command.mut_subcommand(name, |c| with_footer(c, footer));
    }
    command
}

/// Run one client command on a fresh single-threaded runtime and turn its outcome into the
/// exit code, printing `error: ...` on failure.
pub fn run<F>(command: F) -> ExitCode
where
    F: Future<Output = Result<(), CliError>>,
{
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
