//! `plugboard driver list|refresh`: the driver registry through plugboard's admin API
//! (`GET /plugboard/v1/drivers`, `POST /plugboard/v1/drivers/refresh`). Manifests the
//! registry could not load are reported on stderr; they never make the command fail, since a
//! broken manifest never stops the other drivers.

use super::client::{self, Client, ConnectionArgs};
use super::output::{field, items, print_json, Table};
use super::{CliError, OutputFormat};
use clap::Subcommand;
use serde_json::Value;

/// `plugboard driver`.
#[derive(clap::Args)]
pub struct DriverArgs {
    #[command(subcommand)]
    command: DriverCommand,
}

#[derive(Subcommand)]
enum DriverCommand {
    /// The registry: built-in and external drivers, and the manifests it could not load.
    List,
    /// Rescan the plug-in folder (every process of a scale-out sees the result), then list.
    Refresh,
}

/// The drivers as a table; add-ons as `name latest`, comma-separated.
fn driver_table(body: &Value) -> Table {
    let mut t = Table::new(&[
        "NAME", "UUID", "TYPE", "SOURCE", "VERSION", "ADD-ONS", "DELETED",
    ]);
    for d in items(&body["drivers"]) {
        let addons = items(&d["addons"])
            .iter()
            .map(|a| {
                let latest = field(a, "latest_version");
                if latest.is_empty() {
                    field(a, "name")
                } else {
                    format!("{} {latest}", field(a, "name"))
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        t.row(vec![
            field(d, "name"),
            field(d, "uuid"),
            field(d, "type"),
            field(d, "source"),
            field(d, "version"),
            addons,
            if d["deleted"] == true { "yes" } else { "no" }.into(),
        ]);
    }
    t
}

/// `plugboard driver ...`.
pub async fn run(conn: ConnectionArgs, args: DriverArgs) -> Result<(), CliError> {
    let client = Client::new(client::resolve(&conn)?)?;
    let reply = match args.command {
        DriverCommand::List => client.get("/plugboard/v1/drivers", &[]).await?,
        DriverCommand::Refresh => client.post_empty("/plugboard/v1/drivers/refresh").await?,
    };
    let body = reply.json()?;
    match conn.output() {
        OutputFormat::Json => print_json(&reply.text),
        OutputFormat::Table => driver_table(&body).print(),
    }
    for e in items(&body["errors"]) {
        // One line per manifest: a parser's reason can span several.
        let reason = field(e, "reason");
        let reason: Vec<&str> = reason
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        eprintln!(
            "warning: driver manifest {}: {}",
            field(e, "path"),
            reason.join(" ")
        );
    }
    Ok(())
}
