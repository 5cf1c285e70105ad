//! `plugboard driver list|refresh|delete`: the driver registry through plugboard's admin API
//! (`GET /plugboard/v1/drivers`, `POST /plugboard/v1/drivers/refresh`, `DELETE
//! /plugboard/v1/drivers/{uuid}`, the last an api-job like ZStack's DeletePluginDrivers,
//! followed at `GET /zstack/v1/api-jobs/{id}` with `--wait`). Manifests the registry could not
//! load are reported on stderr; they never make the command fail, since a broken manifest never
//! stops the other drivers.

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
    /// Delete a driver: `permissive` (refused while an add-on, instance or job uses it; else
    /// it takes no new work) or `enforcing` (removed, its running steps stopped).
    Delete {
        /// The driver's product key.
        uuid: String,
        #[arg(long, value_enum, default_value_t = DeleteMode::Permissive)]
        mode: DeleteMode,
        /// Follow the delete to its end (exit 1 if it fails).
        #[arg(long)]
        wait: bool,
        /// With --wait: give up after this many seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
}

/// `driver delete --mode`.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum DeleteMode {
    Permissive,
    Enforcing,
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

/// `driver delete`: submit, then (with `--wait`) poll the api-job until it ends.
async fn delete(
    client: &Client,
    conn: &ConnectionArgs,
    uuid: &str,
    mode: DeleteMode,
    wait: bool,
    timeout: u64,
) -> Result<(), CliError> {
    let mode = match mode {
        DeleteMode::Permissive => "permissive",
        DeleteMode::Enforcing => "enforcing",
    };
    let path = format!(
        "/plugboard/v1/drivers/{}",
        client::path_id("driver uuid", uuid)?
    );
    let reply = client
        .delete_with(&path, &[("mode", mode.to_string())])
        .await?;
    let body = reply.json()?;
    let job = field(&body, "job_id");
    if !wait {
        match conn.output() {
            OutputFormat::Json => print_json(&reply.text),
            OutputFormat::Table => println!("delete of driver {uuid} submitted: job {job}"),
        }
        return Ok(());
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(timeout);
    let poll = format!("/zstack/v1/api-jobs/{}", client::path_id("job id", &job)?);
    loop {
        let reply = client.get(&poll, &[]).await?;
        if reply.status == 200 {
            match conn.output() {
                OutputFormat::Json => print_json(&reply.text),
                OutputFormat::Table => println!("driver {uuid} deleted ({mode})"),
            }
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            return Err(CliError::Other(format!(
                "the delete (job {job}) did not end within {timeout} s"
            )));
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
}

/// `plugboard driver ...`.
pub async fn run(conn: ConnectionArgs, args: DriverArgs) -> Result<(), CliError> {
    let client = Client::new(client::resolve(&conn)?)?;
    let reply = match args.command {
        DriverCommand::List => client.get("/plugboard/v1/drivers", &[]).await?,
        DriverCommand::Refresh => client.post_empty("/plugboard/v1/drivers/refresh").await?,
        DriverCommand::Delete {
            uuid,
            mode,
            wait,
            timeout,
        } => return delete(&client, &conn, &uuid, mode, wait, timeout).await,
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
