//! `plugboard env ...`: ServiceStage environments through the vendor's v3 API
//! (`/v3/{project_id}/cas/environments`, docs/api-coverage.md → ServiceStage): create, list,
//! show, update, delete, and the resources bound to one (listed, or replaced as a whole).

use super::client::{self, path_id, Client, ConnectionArgs};
use super::output::{field, items, print_json, print_text, Table};
use super::{CliError, OutputFormat};
use clap::{ArgGroup, Subcommand};
use serde_json::{json, Map, Value};

/// `plugboard env`.
#[derive(clap::Args)]
pub struct EnvArgs {
    #[command(subcommand)]
    command: EnvCommand,
}

#[derive(Subcommand)]
enum EnvCommand {
    /// Create an environment.
    Create(CreateArgs),
    /// List the project's environments, newest first.
    List,
    /// Show an environment with its resources.
    Show(EnvId),
    /// Change an environment's name, description or labels.
    Update(UpdateArgs),
    /// Delete an environment (refused while it has add-ons).
    Delete(EnvId),
    /// The resources bound to an environment.
    Resources(EnvId),
    /// Replace the resources bound to an environment with the ones given.
    Bind(BindArgs),
}

#[derive(clap::Args)]
struct CreateArgs {
    /// Environment name (2 to 64 characters: a letter first, then letters, digits, `-` or `_`)
    #[arg(long)]
    name: String,
    /// The VPC the environment's resources are in
    #[arg(long, value_name = "VPC_ID")]
    vpc_id: String,
    /// Description (at most 128 characters)
    #[arg(long)]
    description: Option<String>,
    /// Deploy mode [server default: mixed]
    #[arg(long, value_name = "MODE", value_parser = ["virtualmachine", "container", "mixed"])]
    deploy_mode: Option<String>,
    /// A label (repeat for several, at most 20)
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_label)]
    labels: Vec<(String, String)>,
}

#[derive(clap::Args)]
#[command(group(ArgGroup::new("change").required(true).multiple(true)
    .args(["name", "description", "labels", "clear_labels"])))]
struct UpdateArgs {
    /// Environment id
    #[arg(value_name = "ID")]
    id: String,
    /// New name
    #[arg(long)]
    name: Option<String>,
    /// New description (`""` clears it)
    #[arg(long)]
    description: Option<String>,
    /// Replace the labels with these (repeat for several)
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_label,
          conflicts_with = "clear_labels")]
    labels: Vec<(String, String)>,
    /// Remove every label
    #[arg(long)]
    clear_labels: bool,
}

#[derive(clap::Args)]
#[command(group(ArgGroup::new("list").required(true).args(["resources", "clear"])))]
struct BindArgs {
    /// Environment id
    #[arg(value_name = "ID")]
    id: String,
    /// A resource: its type (vpc, eip, elb, cce, ecs, as, cse, dcs, rds), its id and an
    /// optional name (repeat for several)
    #[arg(long = "resource", value_name = "TYPE=ID[:NAME]", value_parser = parse_resource)]
    resources: Vec<Resource>,
    /// Unbind every resource
    #[arg(long, conflicts_with = "resources")]
    clear: bool,
}

#[derive(clap::Args)]
struct EnvId {
    /// Environment id
    #[arg(value_name = "ID")]
    id: String,
}

/// A resource as given on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Resource {
    kind: String,
    id: String,
    name: String,
}

fn parse_label(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) => Ok((k.to_string(), v.to_string())),
        None => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

fn parse_resource(s: &str) -> Result<Resource, String> {
    let Some((kind, rest)) = s.split_once('=') else {
        return Err(format!("`{s}` is not TYPE=ID[:NAME]"));
    };
    let (id, name) = rest.split_once(':').unwrap_or((rest, ""));
    if kind.is_empty() || id.is_empty() {
        return Err(format!("`{s}` is not TYPE=ID[:NAME]"));
    }
    Ok(Resource {
        kind: kind.to_string(),
        id: id.to_string(),
        name: name.to_string(),
    })
}

fn labels_json(labels: &[(String, String)]) -> Value {
    Value::Array(
        labels
            .iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect(),
    )
}

/// `/v3/{project_id}/cas/environments`, and `/{id}{tail}` when given an id.
pub fn environments_path(
    client: &Client,
    id: Option<&str>,
    tail: &str,
) -> Result<String, CliError> {
    let mut path = format!(
        "/v3/{}/cas/environments",
        path_id("project id", client.project_id())?
    );
    if let Some(id) = id {
        path.push('/');
        path.push_str(&path_id("environment id", id)?);
    }
    path.push_str(tail);
    Ok(path)
}

/// Epoch milliseconds as an RFC 3339 UTC time to the second (`""` when absent).
pub fn millis(v: &Value) -> String {
    v.as_i64()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn label_cell(e: &Value) -> String {
    items(&e["labels"])
        .iter()
        .map(|l| format!("{}={}", field(l, "key"), field(l, "value")))
        .collect::<Vec<_>>()
        .join(",")
}

fn resource_cell(r: &Value) -> String {
    let name = field(r, "name");
    if name.is_empty() {
        format!("{}={}", field(r, "type"), field(r, "id"))
    } else {
        format!("{}={}:{name}", field(r, "type"), field(r, "id"))
    }
}

/// Environments as a table; with a RESOURCES column when the answer has them (show, update).
fn env_table(envs: &[Value], with_resources: bool) -> Table {
    let mut headers = vec![
        "ID",
        "NAME",
        "VPC",
        "MODE",
        "LABELS",
        "DESCRIPTION",
        "CREATED",
    ];
    if with_resources {
        headers.push("RESOURCES");
    }
    let mut t = Table::new(&headers);
    for e in envs {
        let mut row = vec![
            field(e, "id"),
            field(e, "name"),
            field(e, "vpc_id"),
            field(e, "deploy_mode"),
            label_cell(e),
            field(e, "description"),
            millis(&e["create_time"]),
        ];
        if with_resources {
            row.push(
                items(&e["resources"])
                    .iter()
                    .map(resource_cell)
                    .collect::<Vec<_>>()
                    .join(","),
            );
        }
        t.row(row);
    }
    t
}

fn resource_table(body: &Value) -> Table {
    let mut t = Table::new(&["TYPE", "ID", "NAME"]);
    for r in items(&body["resources"]) {
        t.row(vec![field(r, "type"), field(r, "id"), field(r, "name")]);
    }
    t
}

fn show(
    out: OutputFormat,
    text: &str,
    table: impl FnOnce() -> Result<Table, CliError>,
) -> Result<(), CliError> {
    match out {
        OutputFormat::Json => print_json(text),
        OutputFormat::Table => table()?.print(),
    }
    Ok(())
}

/// `plugboard env ...`.
pub async fn run(conn: ConnectionArgs, args: EnvArgs) -> Result<(), CliError> {
    let client = Client::new(client::resolve(&conn)?)?;
    let out = conn.output();
    match args.command {
        EnvCommand::Create(a) => {
            let mut body = Map::new();
            body.insert("name".into(), json!(a.name));
            body.insert("vpc_id".into(), json!(a.vpc_id));
            if let Some(d) = a.description {
                body.insert("description".into(), json!(d));
            }
            if let Some(m) = a.deploy_mode {
                body.insert("deploy_mode".into(), json!(m));
            }
            if !a.labels.is_empty() {
                body.insert("labels".into(), labels_json(&a.labels));
            }
            let reply = client
                .post(&environments_path(&client, None, "")?, &Value::Object(body))
                .await?;
            show(out, &reply.text, || Ok(env_table(&[reply.json()?], false)))
        }
        EnvCommand::List => {
            let reply = client
                .get(&environments_path(&client, None, "")?, &[])
                .await?;
            if out == OutputFormat::Json {
                print_json(&reply.text);
                return Ok(());
            }
            let body = reply.json()?;
            let envs = items(&body["environments"]);
            let mut text = env_table(envs, false).render();
            let total = body["count"].as_u64().unwrap_or(0);
            if total > envs.len() as u64 {
                text.push_str(&format!("({} of {total} shown)\n", envs.len()));
            }
            print_text(&text);
            Ok(())
        }
        EnvCommand::Show(a) => {
            let reply = client
                .get(&environments_path(&client, Some(&a.id), "")?, &[])
                .await?;
            show(out, &reply.text, || Ok(env_table(&[reply.json()?], true)))
        }
        EnvCommand::Update(a) => {
            let mut body = Map::new();
            if let Some(n) = a.name {
                body.insert("name".into(), json!(n));
            }
            if let Some(d) = a.description {
                body.insert("description".into(), json!(d));
            }
            if a.clear_labels {
                body.insert("labels".into(), json!([]));
            } else if !a.labels.is_empty() {
                body.insert("labels".into(), labels_json(&a.labels));
            }
            let reply = client
                .put(
                    &environments_path(&client, Some(&a.id), "")?,
                    &Value::Object(body),
                )
                .await?;
            show(out, &reply.text, || Ok(env_table(&[reply.json()?], true)))
        }
        EnvCommand::Delete(a) => {
            let reply = client
                .delete(&environments_path(&client, Some(&a.id), "")?)
                .await?;
            match out {
                OutputFormat::Json => print_json(&reply.text),
                OutputFormat::Table => print_text(&format!("Deleted environment {}\n", a.id)),
            }
            Ok(())
        }
        EnvCommand::Resources(a) => {
            let reply = client
                .get(&environments_path(&client, Some(&a.id), "/resources")?, &[])
                .await?;
            show(out, &reply.text, || Ok(resource_table(&reply.json()?)))
        }
        EnvCommand::Bind(a) => {
            let resources: Vec<Value> = a
                .resources
                .iter()
                .map(|r| json!({"type": r.kind, "id": r.id, "name": r.name}))
                .collect();
            let reply = client
                .put(
                    &environments_path(&client, Some(&a.id), "/resources")?,
                    &json!({ "resources": resources }),
                )
                .await?;
            show(out, &reply.text, || Ok(resource_table(&reply.json()?)))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn resources_and_labels_parse() {
        assert_eq!(
            parse_resource("cce=c1").unwrap(),
            Resource {
                kind: "cce".into(),
                id: "c1".into(),
                name: "".into()
            }
        );
        let r = parse_resource("cse=s1:engine:a").unwrap();
        assert_eq!((r.id.as_str(), r.name.as_str()), ("s1", "engine:a"));
        assert!(parse_resource("cce").is_err() && parse_resource("=c1").is_err());
        assert!(parse_resource("cce=").is_err());
        assert_eq!(
            parse_label("team=a=b").unwrap(),
            ("team".into(), "a=b".into())
        );
        assert!(parse_label("team").is_err());
        assert_eq!(millis(&json!(0)), "1970-01-01T00:00:00Z");
        assert_eq!(millis(&Value::Null), "");
    }
}
