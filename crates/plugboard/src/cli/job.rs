//! `plugboard job ...`: `job list` shows the jobs of every family in one table (plugboard's
//! admin API, `GET /plugboard/v1/jobs`: kind, target, state, created, ended, reason), filtered
//! with `--family` and `--state`; `job show` shows one GaussDB job (`GET /v3/{project_id}/jobs`).

use super::client::{self, Client, ConnectionArgs};
use super::output::{field, items, print_json, Table};
use super::{CliError, OutputFormat};
use clap::Subcommand;
use serde_json::Value;

/// `plugboard job`.
#[derive(clap::Args)]
pub struct JobArgs {
    #[command(subcommand)]
    command: JobCommand,
}

#[derive(Subcommand)]
enum JobCommand {
    /// Show a GaussDB job (kernel plug-in install), with its progress.
    Show(JobIdArg),
    /// List the jobs of every family (the domain's, and ZStack's api-jobs), newest first.
    List(JobListArgs),
}

#[derive(clap::Args)]
struct JobIdArg {
    /// Job id
    #[arg(value_name = "JOB_ID")]
    id: String,
}

#[derive(clap::Args)]
struct JobListArgs {
    /// Only the jobs of this family
    #[arg(long, value_parser = ["gaussdb", "servicestage", "zstack"])]
    family: Option<String>,
    /// Only jobs in this state (GaussDB's words Running/Completed/Failed are taken too)
    #[arg(long, alias = "status", value_name = "STATE", value_parser = parse_state)]
    state: Option<String>,
    /// Show at most this many (1 to 1000)
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=1000))]
    limit: u64,
}

/// The states the listing filters on, in any letter case.
fn parse_state(s: &str) -> Result<String, String> {
    let lower = s.to_ascii_lowercase();
    match lower.as_str() {
        "queued" | "running" | "completed" | "failed" => Ok(lower),
        _ => Err("one of queued, running, completed, failed".into()),
    }
}

const JOBS: &str = "/plugboard/v1/jobs";

fn table(jobs: &[Value]) -> Table {
    let mut t = Table::new(&[
        "ID", "FAMILY", "KIND", "TARGET", "STATE", "CREATED", "ENDED", "REASON",
    ]);
    for j in jobs {
        let ended = match j["ended"].as_str() {
            Some(e) => e.to_string(),
            None => "-".into(),
        };
        t.row(vec![
            field(j, "id"),
            field(j, "family"),
            field(j, "kind"),
            field(j, "target"),
            field(j, "state"),
            field(j, "created"),
            ended,
            field(j, "reason"),
        ]);
    }
    t
}

/// Run `plugboard job ...`.
pub async fn run(conn: ConnectionArgs, args: JobArgs) -> Result<(), CliError> {
    let client = Client::new(client::resolve(&conn)?)?;
    let out = conn.output();
    match args.command {
        JobCommand::Show(a) => super::gaussdb::show_job_by_id(&client, out, &a.id).await,
        JobCommand::List(a) => {
            let mut query = vec![("limit", a.limit.to_string())];
            if let Some(f) = a.family {
                query.push(("family", f));
            }
            if let Some(s) = a.state {
                query.push(("state", s));
            }
            let reply = client.get(JOBS, &query).await?;
            match out {
                OutputFormat::Json => print_json(&reply.text),
                OutputFormat::Table => table(items(&reply.json()?["jobs"])).print(),
            }
            Ok(())
        }
    }
}
