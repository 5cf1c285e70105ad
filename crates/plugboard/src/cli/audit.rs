//! `plugboard audit ...`: DBSS audit instances (plugboard's admin API) and the databases they
//! audit (the vendor's DBSS API, docs/api-coverage.md): create and list instances, add a database,
//! list databases, switch audit on or off and, with `--wait`, follow the probe to its outcome.

use super::client::{self, path_id, Client, ConnectionArgs};
use super::output::{field, print_json, print_text, Table};
use super::{CliError, OutputFormat};
use clap::{ArgGroup, Subcommand};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// How often `audit on --wait` looks at the database.
const POLL_INTERVAL: Duration = Duration::from_millis(300);
/// The page size used to find one database in a listing (the API's maximum).
const FIND_PAGE: u64 = 10_000;

/// `plugboard audit`.
#[derive(clap::Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Create, list and delete audit instances.
    #[command(subcommand)]
    Instance(InstanceCommand),
    /// Add a self-built database to an audit instance; prints its id.
    AddDatabase(AddDatabaseArgs),
    /// List the databases of an audit instance.
    List(ListArgs),
    /// Switch audit ON for a database (plugboard then probes it).
    On(OnArgs),
    /// Switch audit OFF for a database.
    Off(OffArgs),
    /// Captured statements: who ran what, when, and how risky (ListAuditSqls).
    Sqls(super::audit_capture::SqlsArgs),
    /// The risk-operation rules, or with --injection the SQL-injection rules.
    Rules(super::audit_capture::RulesArgs),
    /// The alarm log.
    Alarms(super::audit_capture::AlarmsArgs),
    /// The agents of a database and whether they capture.
    Agents(super::audit_capture::AgentsArgs),
    /// Statistics: a trend bucket by bucket, or sessions per account or client.
    Stats(super::audit_stats::StatsArgs),
}

#[derive(Subcommand)]
enum InstanceCommand {
    /// Create an audit instance, sized by an edition or an explicit database limit.
    Create(CreateInstanceArgs),
    /// List the audit instances of the project.
    List(PageArgs),
    /// Delete an audit instance and the databases it audits.
    Delete(DeleteInstanceArgs),
}

#[derive(clap::Args)]
#[command(group(ArgGroup::new("size").required(true).args(["edition", "database_limit"])))]
struct CreateInstanceArgs {
    /// Instance name (1 to 64 characters)
    #[arg(long)]
    name: String,
    /// Edition: how many databases it audits (entry 1, basic 3, professional 6, advanced 30)
    #[arg(long, value_parser = ["entry", "basic", "professional", "advanced"])]
    edition: Option<String>,
    /// An explicit number of databases instead of an edition
    #[arg(long, value_name = "N")]
    database_limit: Option<i64>,
}

#[derive(clap::Args)]
struct PageArgs {
    /// Skip this many
    #[arg(long, value_name = "N")]
    offset: Option<u64>,
    /// Show at most this many
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
}

#[derive(clap::Args)]
struct DeleteInstanceArgs {
    /// Audit instance id
    #[arg(value_name = "ID")]
    id: String,
}

#[derive(clap::Args)]
struct AddDatabaseArgs {
    /// Audit instance id
    #[arg(long, value_name = "ID")]
    instance: String,
    /// Database name
    #[arg(long)]
    name: String,
    /// Database type: MYSQL, POSTGRESQL, ORACLE, SQLSERVER, GAUSSDBOPENGAUSS, ...
    #[arg(long = "type", value_name = "TYPE")]
    db_type: String,
    /// Database version (free text)
    #[arg(long)]
    version: String,
    /// IPv4 or IPv6 address plugboard reaches the database at
    #[arg(long)]
    ip: String,
    /// Port (1 to 65535)
    #[arg(long)]
    port: String,
    /// Character set: UTF8 or GBK
    #[arg(long, default_value = "UTF8")]
    charset: String,
    /// Operating system: LINUX64, WINDOWS64 or UNIX
    #[arg(long, default_value = "LINUX64")]
    os: String,
    /// ECS (self-built) or RDS
    #[arg(long, default_value = "ECS")]
    classification: String,
    /// Name of the database instance (optional label)
    #[arg(long, value_name = "NAME")]
    instance_name: Option<String>,
}

#[derive(clap::Args)]
struct ListArgs {
    /// Audit instance id
    #[arg(long, value_name = "ID")]
    instance: String,
    /// Only databases whose audit is ON or OFF
    #[arg(long, value_parser = ["ON", "OFF", "on", "off"])]
    status: Option<String>,
    #[command(flatten)]
    page: PageArgs,
}

#[derive(clap::Args)]
struct OnArgs {
    /// Audit instance id
    #[arg(long, value_name = "ID")]
    instance: String,
    /// Database id (as printed by add-database)
    #[arg(value_name = "DB_ID")]
    id: String,
    /// Wait until plugboard has probed the database; exit 1 if its audit ends in ERROR
    #[arg(long)]
    wait: bool,
    /// How long --wait waits, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 30, requires = "wait")]
    timeout: u64,
}

#[derive(clap::Args)]
struct OffArgs {
    /// Audit instance id
    #[arg(long, value_name = "ID")]
    instance: String,
    /// Database id
    #[arg(value_name = "DB_ID")]
    id: String,
}

/// `plugboard audit ...`.
pub async fn run(conn: ConnectionArgs, args: AuditArgs) -> Result<(), CliError> {
    let client = Client::new(client::resolve(&conn)?)?;
    let out = conn.output();
    match args.command {
        AuditCommand::Instance(InstanceCommand::Create(a)) => {
            create_instance(&client, out, a).await
        }
        AuditCommand::Instance(InstanceCommand::List(a)) => list_instances(&client, out, a).await,
        AuditCommand::Instance(InstanceCommand::Delete(a)) => {
            delete_instance(&client, out, a).await
        }
        AuditCommand::AddDatabase(a) => add_database(&client, out, a).await,
        AuditCommand::List(a) => list_databases(&client, out, a).await,
        AuditCommand::On(a) => switch_on(&client, out, a).await,
        AuditCommand::Sqls(a) => super::audit_capture::sqls(&client, out, a).await,
        AuditCommand::Rules(a) => super::audit_capture::rules(&client, out, a).await,
        AuditCommand::Alarms(a) => super::audit_capture::alarms(&client, out, a).await,
        AuditCommand::Agents(a) => super::audit_capture::agents(&client, out, a).await,
        AuditCommand::Stats(a) => super::audit_stats::stats(&client, out, a).await,
        AuditCommand::Off(a) => {
            let reply = switch(&client, &a.instance, &a.id, "OFF").await?;
            match out {
                OutputFormat::Json => print_json(&reply),
                OutputFormat::Table => {
                    print_text(&format!("Audit switched OFF for database {}\n", a.id))
                }
            }
            Ok(())
        }
    }
}

fn instances_path(client: &Client) -> Result<String, CliError> {
    Ok(format!(
        "/plugboard/v1/projects/{}/dbss/instances",
        path_id("project id", client.project_id())?
    ))
}

fn databases_path(client: &Client, instance: &str) -> Result<String, CliError> {
    Ok(format!(
        "/v2/{}/audit/{}/databases",
        path_id("project id", client.project_id())?,
        path_id("audit instance id", instance)?
    ))
}

fn page_query(page: &PageArgs) -> Vec<(&'static str, String)> {
    let mut q = Vec::new();
    if let Some(o) = page.offset {
        q.push(("offset", o.to_string()));
    }
    if let Some(l) = page.limit {
        q.push(("limit", l.to_string()));
    }
    q
}

fn instance_table(items: &[Value]) -> Table {
    let mut t = Table::new(&[
        "ID",
        "NAME",
        "EDITION",
        "LIMIT",
        "DATABASES",
        "STATUS",
        "CREATED",
    ]);
    for i in items {
        t.row(vec![
            field(i, "id"),
            field(i, "name"),
            field(i, "edition"),
            field(i, "database_limit"),
            field(i, "database_count"),
            field(i, "status"),
            field(i, "created"),
        ]);
    }
    t
}

/// A footer when a listing shows fewer rows than exist.
fn more_note(shown: usize, total: Option<u64>) {
    if let Some(total) = total.filter(|t| *t > shown as u64) {
        print_text(&format!(
            "({shown} of {total} shown; use --offset and --limit for the rest)\n"
        ));
    }
}

async fn create_instance(
    client: &Client,
    out: OutputFormat,
    a: CreateInstanceArgs,
) -> Result<(), CliError> {
    let mut body = json!({"name": a.name});
    if let Some(e) = a.edition {
        body["edition"] = json!(e);
    }
    if let Some(l) = a.database_limit {
        body["database_limit"] = json!(l);
    }
    let reply = client.post(&instances_path(client)?, &body).await?;
    match out {
        OutputFormat::Json => print_json(&reply.text),
        OutputFormat::Table => instance_table(&[reply.json()?]).print(),
    }
    Ok(())
}

async fn list_instances(client: &Client, out: OutputFormat, a: PageArgs) -> Result<(), CliError> {
    let reply = client
        .get(&instances_path(client)?, &page_query(&a))
        .await?;
    if out == OutputFormat::Json {
        print_json(&reply.text);
        return Ok(());
    }
    let body = reply.json()?;
    let items = body["instances"].as_array().cloned().unwrap_or_default();
    instance_table(&items).print();
    more_note(items.len(), body["total"].as_u64());
    Ok(())
}

async fn delete_instance(
    client: &Client,
    out: OutputFormat,
    a: DeleteInstanceArgs,
) -> Result<(), CliError> {
    let path = format!(
        "{}/{}",
        instances_path(client)?,
        path_id("audit instance id", &a.id)?
    );
    let reply = client.delete(&path).await?;
    match out {
        OutputFormat::Json => print_json(&reply.text),
        OutputFormat::Table => print_text(&format!(
            "Deleted audit instance {} and its databases\n",
            a.id
        )),
    }
    Ok(())
}

async fn add_database(
    client: &Client,
    out: OutputFormat,
    a: AddDatabaseArgs,
) -> Result<(), CliError> {
    let mut database = json!({
        "db_classification": a.classification.to_ascii_uppercase(),
        "name": a.name,
        "type": a.db_type.to_ascii_uppercase(),
        "version": a.version,
        "charset": a.charset.to_ascii_uppercase(),
        "ip": a.ip,
        "port": a.port,
        "os": a.os.to_ascii_uppercase(),
    });
    if let Some(n) = a.instance_name {
        database["instance_name"] = json!(n);
    }
    let reply = client
        .post(
            &databases_path(client, &a.instance)?,
            &json!({"database": database}),
        )
        .await?;
    match out {
        OutputFormat::Json => print_json(&reply.text),
        OutputFormat::Table => {
            let id = field(&reply.json()?, "id");
            print_text(&format!("{id}\n"));
        }
    }
    Ok(())
}

fn address(d: &Value) -> String {
    let ip = field(d, "ip");
    let port = field(d, "port");
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

fn database_table(items: &[Value]) -> Table {
    let mut t = Table::new(&["ID", "NAME", "TYPE", "ADDRESS", "STATUS", "AUDIT", "REASON"]);
    for item in items {
        let d = &item["database"];
        t.row(vec![
            field(d, "id"),
            field(d, "name"),
            field(d, "type"),
            address(d),
            field(d, "status"),
            field(d, "audit_status"),
            field(d, "audit_reason"),
        ]);
    }
    t
}

async fn list_databases(client: &Client, out: OutputFormat, a: ListArgs) -> Result<(), CliError> {
    let mut query = Vec::new();
    if let Some(s) = &a.status {
        query.push(("status", s.to_ascii_uppercase()));
    }
    query.extend(page_query(&a.page));
    let reply = client
        .get(&databases_path(client, &a.instance)?, &query)
        .await?;
    if out == OutputFormat::Json {
        print_json(&reply.text);
        return Ok(());
    }
    let body = reply.json()?;
    let items = body["databases"].as_array().cloned().unwrap_or_default();
    database_table(&items).print();
    more_note(items.len(), body["total"].as_u64());
    Ok(())
}

/// `POST /v3/{project_id}/audit/{instance_id}/databases/switch`; returns the body.
async fn switch(
    client: &Client,
    instance: &str,
    id: &str,
    status: &str,
) -> Result<String, CliError> {
    let path = format!(
        "/v3/{}/audit/{}/databases/switch",
        path_id("project id", client.project_id())?,
        path_id("audit instance id", instance)?
    );
    let reply = client
        .post(&path, &json!({"id": id, "status": status}))
        .await?;
    Ok(reply.text)
}

/// One database's list item (`{"database": {...}}`), looked up page by page.
async fn find_database(
    client: &Client,
    instance: &str,
    id: &str,
) -> Result<Option<Value>, CliError> {
    let path = databases_path(client, instance)?;
    let mut offset = 0u64;
    loop {
        let query = [
            ("offset", offset.to_string()),
            ("limit", FIND_PAGE.to_string()),
        ];
        let body = client.get(&path, &query).await?.json()?;
        let items = body["databases"].as_array().cloned().unwrap_or_default();
        if let Some(item) = items.iter().find(|i| i["database"]["id"] == id) {
            return Ok(Some(item.clone()));
        }
        offset += items.len() as u64;
        let total = body["total"].as_u64().unwrap_or(0);
        if items.is_empty() || offset >= total {
            return Ok(None);
        }
    }
}

async fn switch_on(client: &Client, out: OutputFormat, a: OnArgs) -> Result<(), CliError> {
    let reply = switch(client, &a.instance, &a.id, "ON").await?;
    if !a.wait {
        match out {
            OutputFormat::Json => print_json(&reply),
            OutputFormat::Table => print_text(&format!(
                "Audit switched ON for database {}; `plugboard audit list --instance {}` shows the outcome of the probe\n",
                a.id, a.instance
            )),
        }
        return Ok(());
    }
    let deadline = Instant::now() + Duration::from_secs(a.timeout);
    let item = loop {
        let Some(item) = find_database(client, &a.instance, &a.id).await? else {
            return Err(CliError::Other(format!(
                "database {} disappeared from audit instance {} while waiting",
                a.id, a.instance
            )));
        };
        let d = &item["database"];
        if d["status"] != "ON" {
            show_database(out, &item);
            return Err(CliError::Other(format!(
                "audit of database {} was switched OFF while waiting",
                a.id
            )));
        }
        if d["audit_status"] != "SHUTOFF" || Instant::now() >= deadline {
            break item;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    };
    show_database(out, &item);
    let d = &item["database"];
    match d["audit_status"].as_str().unwrap_or_default() {
        "ACTIVE" => Ok(()),
        "SHUTOFF" => Err(CliError::Other(format!(
            "database {} was not probed within {} s; its audit is ON, see `plugboard audit list --instance {}`",
            a.id, a.timeout, a.instance
        ))),
        status => Err(CliError::Other(format!(
            "audit of database {} is {status}: {}",
            a.id,
            field(d, "audit_reason")
        ))),
    }
}

fn show_database(out: OutputFormat, item: &Value) {
    match out {
        OutputFormat::Json => print_text(&format!("{item}\n")),
        OutputFormat::Table => database_table(std::slice::from_ref(item)).print(),
    }
}
