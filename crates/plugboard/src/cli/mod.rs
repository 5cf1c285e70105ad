//! `plugboard` as a client for people (`spec/plugboard.md` → CLI): `plugboard login`,
//! `plugboard audit ...`, `plugboard instance ...`, `plugboard plugin ...`, `plugboard job ...`, `plugboard lockout ...`. Every command talks to a plugboard server over the same public APIs
//! as the SDKs, signing its requests with the caller's AK/SK (`SDK-HMAC-SHA256`). Tables by
//! default, `--output json` for scripts. Exit codes: 0 success, 1 a failure (the server
//! refused, the server could not be reached, no credentials, an audit that ended in ERROR),
//! 2 a usage error.

pub mod audit;
pub mod client;
pub mod gaussdb;
pub mod lockout;
pub mod login;
pub mod output;

pub use audit::AuditArgs;
pub use gaussdb::{InstanceArgs, JobArgs, PluginArgs};
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
    /// Already reported on stderr; exit 1 without another message.
    Reported,
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Api { code, message } => write!(f, "{code}: {message}"),
            Self::Unreachable { endpoint, detail } => {
                write!(f, "could not reach plugboard at {endpoint}: {detail}")
            }
            Self::Other(msg) => f.write_str(msg),
            Self::Reported => Ok(()),
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
        Err(CliError::Reported) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
