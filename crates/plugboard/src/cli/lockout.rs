//! `plugboard lockout ...`: the users and access keys of the caller's domain locked after
//! failed attempts (plugboard's admin API, `GET /plugboard/v1/lockouts`), and lifting a lock
//! early (`DELETE /plugboard/v1/lockouts/users/{id}` or `.../access-keys/{ak}`). Domain owner
//! or `te_admin` only, as the rest of the admin API.

use super::client::{self, path_id, Client, ConnectionArgs};
use super::output::{field, print_json, print_text, Table};
use super::{CliError, OutputFormat};
use clap::{ArgGroup, Subcommand};
use serde_json::Value;

/// `plugboard lockout`.
#[derive(clap::Args)]
pub struct LockoutArgs {
    #[command(subcommand)]
    command: LockoutCommand,
}

#[derive(Subcommand)]
enum LockoutCommand {
    /// List the users and access keys with failed attempts or a lock.
    List,
    /// Lift a lock (and forget the failed attempts) of a user or an access key.
    Unlock(UnlockArgs),
}

#[derive(clap::Args)]
#[command(group(ArgGroup::new("subject").required(true).args(["user", "key"])))]
struct UnlockArgs {
    /// The user, by name or id
    #[arg(long, value_name = "NAME")]
    user: Option<String>,
    /// The access key to unlock (`--access-key` is the one this command signs with)
    #[arg(long, value_name = "AK")]
    key: Option<String>,
}

const LOCKOUTS: &str = "/plugboard/v1/lockouts";

fn table(items: &[Value]) -> Table {
    let mut t = Table::new(&[
        "TYPE",
        "USER",
        "USER ID",
        "ACCESS KEY",
        "FAILURES",
        "LOCKED UNTIL",
    ]);
    for i in items {
        let until = match i["locked_until"].as_str() {
            Some(u) => u.to_string(),
            None => "-".into(),
        };
        let ak = match i["access_key"].as_str() {
            Some(a) => a.to_string(),
            None => "-".into(),
        };
        t.row(vec![
            field(i, "type"),
            field(i, "user_name"),
            field(i, "user_id"),
            ak,
            field(i, "failures"),
            until,
        ]);
    }
    t
}

/// Run `plugboard lockout ...`.
pub async fn run(conn: ConnectionArgs, args: LockoutArgs) -> Result<(), CliError> {
    let client = Client::new(client::resolve(&conn)?)?;
    let out = conn.output();
    match args.command {
        LockoutCommand::List => {
            let reply = client.get(LOCKOUTS, &[]).await?;
            match out {
                OutputFormat::Json => print_json(&reply.text),
                OutputFormat::Table => table(
                    reply.json()?["lockouts"]
                        .as_array()
                        .map(Vec::as_slice)
                        .unwrap_or_default(),
                )
                .print(),
            }
        }
        LockoutCommand::Unlock(a) => {
            let (path, what) = match (&a.user, &a.key) {
                (Some(user), _) => {
                    let id = user_id(&client, user).await?;
                    (
                        format!("{LOCKOUTS}/users/{}", path_id("user id", &id)?),
                        format!("user {user}"),
                    )
                }
                (None, Some(ak)) => (
                    format!("{LOCKOUTS}/access-keys/{}", path_id("access key", ak)?),
                    format!("access key {ak}"),
                ),
                (None, None) => {
                    return Err(CliError::Other("give --user or --key".into()));
                }
            };
            let reply = client.delete(&path).await?;
            match out {
                OutputFormat::Json => print_json(&reply.text),
                OutputFormat::Table => print_text(&format!("Unlocked {what}\n")),
            }
        }
    }
    Ok(())
}

/// The id of the locked user named (or with the id) `user`, from the lockout listing.
async fn user_id(client: &Client, user: &str) -> Result<String, CliError> {
    let body = client.get(LOCKOUTS, &[]).await?.json()?;
    body["lockouts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"] == "user")
        .find(|e| e["user_name"] == user || e["user_id"] == user)
        .and_then(|e| e["user_id"].as_str().map(str::to_string))
        .ok_or_else(|| {
            CliError::Other(format!(
                "user {user} has no failed logins or lock (see `plugboard lockout list`)"
            ))
        })
}
