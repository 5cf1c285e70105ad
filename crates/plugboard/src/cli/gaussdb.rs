//! `plugboard instance ...` and `plugboard plugin ...`: GaussDB instances
//! (plugboard's admin API) and kernel plug-ins and their jobs (the vendor's GaussDB API,
//! docs/api-coverage.md). `plugin install --wait` follows the install job with a progress bar fed
//! by the job's progress and exits non-zero when the job fails.

use super::client::{self, path_id, Client, ConnectionArgs};
use super::output::{field, print_json, print_text, Table};
use super::{CliError, OutputFormat};
use clap::{ArgGroup, Subcommand};
use serde_json::{json, Value};
use std::io::Read;
use std::time::{Duration, Instant};

/// How often `--wait` looks at the job.
const POLL_INTERVAL: Duration = Duration::from_millis(300);

/// `plugboard instance`.
#[derive(clap::Args)]
pub struct InstanceArgs {
    #[command(subcommand)]
    command: InstanceCommand,
}

#[derive(Subcommand)]
enum InstanceCommand {
    /// Register a PostgreSQL-compatible server as a GaussDB instance (a connection test first).
    Register(RegisterArgs),
    /// List the project's instances.
    List,
    /// Show one instance.
    Show(IdArg),
    /// Forget an instance (files already installed stay on the server).
    Delete(IdArg),
}

#[derive(clap::Args)]
#[command(group(ArgGroup::new("mode").required(true).args(["pg_config", "sharedir", "simulated"])))]
struct RegisterArgs {
    /// Instance name (1 to 64 characters)
    #[arg(long)]
    name: String,
    /// Server host
    #[arg(long)]
    host: String,
    /// Server port
    #[arg(long, default_value_t = 5432)]
    port: u16,
    /// User plugboard connects as
    #[arg(long)]
    user: String,
    /// Read the password from standard input (one line)
    #[arg(long, conflicts_with = "password_env")]
    password_stdin: bool,
    /// Read the password from this environment variable
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
    /// Database to connect to
    #[arg(long, default_value = "postgres")]
    database: String,
    /// Mode local: where pg_config is on this host (it names sharedir and pkglibdir)
    #[arg(long, value_name = "PATH")]
    pg_config: Option<String>,
    /// Mode local: the server's sharedir, given explicitly (with --pkglibdir)
    #[arg(long, value_name = "DIR", requires = "pkglibdir")]
    sharedir: Option<String>,
    /// Mode local: the server's pkglibdir, given explicitly (with --sharedir)
    #[arg(long, value_name = "DIR", requires = "sharedir")]
    pkglibdir: Option<String>,
    /// Mode simulated: no server is touched; jobs walk their steps and record the result
    #[arg(long)]
    simulated: bool,
}

#[derive(clap::Args)]
struct IdArg {
    /// Instance id (32 hex characters and `in14`)
    #[arg(value_name = "ID")]
    id: String,
}

/// `plugboard plugin`.
#[derive(clap::Args)]
pub struct PluginArgs {
    #[command(subcommand)]
    command: PluginCommand,
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Install a kernel plug-in package; prints the job id, or follows the job with --wait.
    Install(InstallArgs),
    /// The plug-ins installed on an instance.
    List(InstanceFlag),
    /// The plug-ins the server accepts.
    Supported,
    /// Plug-in extensions: list them in a database, switch them on or off.
    #[command(subcommand)]
    Extension(ExtensionCommand),
}

#[derive(clap::Args)]
struct InstallArgs {
    /// Instance id
    #[arg(long, value_name = "ID")]
    instance: String,
    /// Plug-in name (e.g. postgis)
    #[arg(long)]
    name: String,
    /// Where the package is (an http(s) URL allowed by the server's [network] settings)
    #[arg(long)]
    url: String,
    /// SHA-256 of the package (64 hex characters)
    #[arg(long, value_name = "HEX")]
    sha256: String,
    /// Follow the job until it ends; exit 1 if it fails
    #[arg(long)]
    wait: bool,
    /// How long --wait waits, in seconds
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 3600,
        requires = "wait"
    )]
    timeout: u64,
}

#[derive(clap::Args)]
struct InstanceFlag {
    /// Instance id
    #[arg(long, value_name = "ID")]
    instance: String,
}

#[derive(Subcommand)]
enum ExtensionCommand {
    /// The plug-in's extensions and whether each is on in a database.
    List(ExtensionListArgs),
    /// CREATE EXTENSION in the databases.
    On(ExtensionSwitchArgs),
    /// DROP EXTENSION in the databases.
    Off(ExtensionSwitchArgs),
}

#[derive(clap::Args)]
struct ExtensionListArgs {
    /// Instance id
    #[arg(long, value_name = "ID")]
    instance: String,
    /// Plug-in name
    #[arg(long)]
    plugin: String,
    /// Database
    #[arg(long, value_name = "NAME")]
    db: String,
}

#[derive(clap::Args)]
struct ExtensionSwitchArgs {
    /// Instance id
    #[arg(long, value_name = "ID")]
    instance: String,
    /// Plug-in name
    #[arg(long)]
    plugin: String,
    /// Extension name (one of the plug-in's control files)
    #[arg(long)]
    extension: String,
    /// Database (repeat for several, at most 10)
    #[arg(long = "db", value_name = "NAME", required = true)]
    dbs: Vec<String>,
}

fn project(client: &Client) -> Result<String, CliError> {
    path_id("project id", client.project_id())
}

fn admin_path(client: &Client) -> Result<String, CliError> {
    Ok(format!(
        "/plugboard/v1/projects/{}/gaussdb/instances",
        project(client)?
    ))
}

fn instance_path(client: &Client, instance: &str, tail: &str) -> Result<String, CliError> {
    Ok(format!(
        "/v3/{}/instances/{}/{tail}",
        project(client)?,
        path_id("instance id", instance)?
    ))
}

fn connect(conn: &ConnectionArgs) -> Result<(Client, OutputFormat), CliError> {
    Ok((Client::new(client::resolve(conn)?)?, conn.output()))
}

// -- instance -------------------------------------------------------------------------------------

fn instance_table(items: &[Value]) -> Table {
    let mut t = Table::new(&[
        "ID", "NAME", "ADDRESS", "MODE", "VERSION", "STATUS", "CREATED",
    ]);
    for i in items {
        t.row(vec![
            field(i, "id"),
            field(i, "name"),
            format!("{}:{}", field(i, "host"), field(i, "port")),
            field(&i["install"], "mode"),
            field(i, "version"),
            field(i, "status"),
            field(i, "created"),
        ]);
    }
    t
}

fn read_password(a: &RegisterArgs) -> Result<String, CliError> {
    if a.password_stdin {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|e| {
            CliError::Other(format!("cannot read the password from standard input: {e}"))
        })?;
        return Ok(text.lines().next().unwrap_or_default().to_string());
    }
    match &a.password_env {
        Some(var) => std::env::var(var).map_err(|_| {
            CliError::Other(format!(
                "--password-env: the environment variable {var} is not set"
            ))
        }),
        None => Ok(String::new()),
    }
}

/// `plugboard instance ...`.
pub async fn run_instance(conn: ConnectionArgs, args: InstanceArgs) -> Result<(), CliError> {
    let (client, out) = connect(&conn)?;
    match args.command {
        InstanceCommand::Register(a) => {
            let install = if a.simulated {
                json!({"mode": "simulated"})
            } else if let Some(pg_config) = &a.pg_config {
                json!({"mode": "local", "pg_config": pg_config})
            } else {
                json!({"mode": "local", "sharedir": a.sharedir, "pkglibdir": a.pkglibdir})
            };
            let body = json!({
                "name": a.name, "host": a.host, "port": a.port, "user": a.user,
                "password": read_password(&a)?, "database": a.database, "install": install,
            });
            let reply = client.post(&admin_path(&client)?, &body).await?;
            match out {
                OutputFormat::Json => print_json(&reply.text),
                OutputFormat::Table => instance_table(&[reply.json()?]).print(),
            }
        }
        InstanceCommand::List => {
            let reply = client
                .get(&admin_path(&client)?, &[("limit", "1000".into())])
                .await?;
            match out {
                OutputFormat::Json => print_json(&reply.text),
                OutputFormat::Table => {
                    let body = reply.json()?;
                    instance_table(
                        body["instances"]
                            .as_array()
                            .map(Vec::as_slice)
                            .unwrap_or_default(),
                    )
                    .print();
                }
            }
        }
        InstanceCommand::Show(a) => {
            let path = format!(
                "{}/{}",
                admin_path(&client)?,
                path_id("instance id", &a.id)?
            );
            let reply = client.get(&path, &[]).await?;
            match out {
                OutputFormat::Json => print_json(&reply.text),
                OutputFormat::Table => instance_table(&[reply.json()?]).print(),
            }
        }
        InstanceCommand::Delete(a) => {
            let path = format!(
                "{}/{}",
                admin_path(&client)?,
                path_id("instance id", &a.id)?
            );
            let reply = client.delete(&path).await?;
            match out {
                OutputFormat::Json => print_json(&reply.text),
                OutputFormat::Table => print_text(&format!("Forgot instance {}\n", a.id)),
            }
        }
    }
    Ok(())
}

// -- plugin ---------------------------------------------------------------------------------------

fn names(out: OutputFormat, text: &str, body: &Value) {
    match out {
        OutputFormat::Json => print_json(text),
        OutputFormat::Table => {
            for n in body.as_array().map(Vec::as_slice).unwrap_or_default() {
                print_text(&format!("{}\n", n.as_str().unwrap_or_default()));
            }
        }
    }
}

/// `plugboard plugin ...`.
pub async fn run_plugin(conn: ConnectionArgs, args: PluginArgs) -> Result<(), CliError> {
    let (client, out) = connect(&conn)?;
    match args.command {
        PluginCommand::Install(a) => install(&client, out, a).await,
        PluginCommand::List(a) => {
            let reply = client
                .get(&instance_path(&client, &a.instance, "kernel-plugins")?, &[])
                .await?;
            names(out, &reply.text, &reply.json()?);
            Ok(())
        }
        PluginCommand::Supported => {
            let path = format!("/v3/{}/instances/kernel-plugins", project(&client)?);
            let reply = client.get(&path, &[]).await?;
            names(out, &reply.text, &reply.json()?);
            Ok(())
        }
        PluginCommand::Extension(ExtensionCommand::List(a)) => {
            let reply = client
                .get(
                    &instance_path(&client, &a.instance, "plugin-extensions")?,
                    &[("db_name", a.db.clone()), ("plugin_name", a.plugin.clone())],
                )
                .await?;
            match out {
                OutputFormat::Json => print_json(&reply.text),
                OutputFormat::Table => {
                    let body = reply.json()?;
                    let mut t = Table::new(&["EXTENSION", "STATUS"]);
                    for e in body.as_array().map(Vec::as_slice).unwrap_or_default() {
                        t.row(vec![field(e, "extension_name"), field(e, "status")]);
                    }
                    t.print();
                }
            }
            Ok(())
        }
        PluginCommand::Extension(ExtensionCommand::On(a)) => switch(&client, out, a, "on").await,
        PluginCommand::Extension(ExtensionCommand::Off(a)) => switch(&client, out, a, "off").await,
    }
}

async fn switch(
    client: &Client,
    out: OutputFormat,
    a: ExtensionSwitchArgs,
    action: &str,
) -> Result<(), CliError> {
    let body = json!({"plugin_name": a.plugin, "db_list": a.dbs, "extension_name": a.extension, "extension_action": action});
    let reply = client
        .post(
            &instance_path(client, &a.instance, "config-plugin-extensions")?,
            &body,
        )
        .await?;
    match out {
        OutputFormat::Json => print_json(&reply.text),
        OutputFormat::Table => print_text(&format!(
            "Extension {} is {action} in {}\n",
            a.extension,
            a.dbs.join(", ")
        )),
    }
    Ok(())
}

async fn install(client: &Client, out: OutputFormat, a: InstallArgs) -> Result<(), CliError> {
    let body = json!({"plugin_name": a.name, "url": a.url, "sha_256": a.sha256});
    let reply = client
        .post(&instance_path(client, &a.instance, "kernel-plugin")?, &body)
        .await?;
    let job_id = field(&reply.json()?, "job_id");
    if !a.wait {
        match out {
            OutputFormat::Json => print_json(&reply.text),
            OutputFormat::Table => print_text(&format!("{job_id}\n")),
        }
        return Ok(());
    }
    let (job, text) = follow(client, &job_id, Duration::from_secs(a.timeout)).await?;
    show_job(out, &job, &text);
    match job["status"].as_str().unwrap_or_default() {
        "Completed" => Ok(()),
        "Running" => Err(CliError::Other(format!(
            "job {job_id} is still running after {} s; `plugboard job show {job_id}` follows it",
            a.timeout
        ))),
        _ => Err(CliError::Other(format!(
            "job {job_id} failed: {}",
            field(&job, "fail_reason")
        ))),
    }
}

/// `GET /v3/{project_id}/jobs?id=`: the job object, and the body as the server sent it
/// (`{"job": {...}}`), which `-o json` prints unchanged.
async fn get_job(client: &Client, id: &str) -> Result<(Value, String), CliError> {
    let path = format!("/v3/{}/jobs", project(client)?);
    let reply = client.get(&path, &[("id", id.to_string())]).await?;
    let job = reply.json()?["job"].clone();
    Ok((job, reply.text))
}

fn percent(job: &Value) -> u64 {
    field(job, "progress")
        .trim_end_matches('%')
        .parse()
        .unwrap_or(0)
}

/// Poll a job until it ends (or `timeout`), showing its progress: a bar on a terminal, a line
/// per change otherwise (both on stderr).
async fn follow(client: &Client, id: &str, timeout: Duration) -> Result<(Value, String), CliError> {
    let (bar, terminal) =
        super::output::stderr_bar(Some(100), "{spinner} {msg} [{bar:40}] {pos:>3}%");
    let deadline = Instant::now() + timeout;
    let mut last = None;
    let (job, text) = loop {
        let (job, text) = get_job(client, id).await?;
        let p = percent(&job);
        bar.set_position(p);
        bar.set_message(format!("job {id}"));
        if !terminal && last != Some(p) {
            eprintln!("job {id}: {} {p}%", field(&job, "status"));
        }
        last = Some(p);
        if job["status"] != "Running" || Instant::now() >= deadline {
            break (job, text);
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    };
    bar.finish_and_clear();
    Ok((job, text))
}

fn job_table(jobs: &[Value]) -> Table {
    let mut t = Table::new(&[
        "ID",
        "NAME",
        "STATUS",
        "PROGRESS",
        "INSTANCE",
        "CREATED",
        "ENDED",
        "FAIL REASON",
    ]);
    for j in jobs {
        t.row(vec![
            field(j, "id"),
            field(j, "name"),
            field(j, "status"),
            field(j, "progress"),
            field(&j["instance"], "name"),
            field(j, "created"),
            field(j, "ended"),
            field(j, "fail_reason"),
        ]);
    }
    t
}

fn show_job(out: OutputFormat, job: &Value, text: &str) {
    match out {
        OutputFormat::Json => print_json(text),
        OutputFormat::Table => job_table(std::slice::from_ref(job)).print(),
    }
}

/// `plugboard job show ID`: one GaussDB job, as a table or the server's body.
pub async fn show_job_by_id(client: &Client, out: OutputFormat, id: &str) -> Result<(), CliError> {
    let (job, text) = get_job(client, id).await?;
    show_job(out, &job, &text);
    Ok(())
}
