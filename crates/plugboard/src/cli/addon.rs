//! `plugboard addon ...`: ServiceStage add-ons of an environment (the vendor's add-on pages,
//! docs/api-coverage.md → ServiceStage): the catalog the drivers provide, install, list, show,
//! restart/redeploy and uninstall. Install, action and uninstall each start a job the add-on's
//! driver runs; `--wait` follows it through `GET /v3/{project_id}/cas/jobs/{job_id}` with a
//! progress bar fed by the job's tasks (one per driver step) and exits non-zero when it fails.

use super::client::{self, path_id, Client, ConnectionArgs};
use super::env::environments_path;
use super::output::{field, items, print_json, print_text, Table};
use super::{CliError, OutputFormat};
use clap::Subcommand;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// How often `--wait` looks at the job.
const POLL_INTERVAL: Duration = Duration::from_millis(300);

/// `plugboard addon`.
#[derive(clap::Args)]
pub struct AddonArgs {
    #[command(subcommand)]
    command: AddonCommand,
}

#[derive(Subcommand)]
enum AddonCommand {
    /// The add-ons the drivers provide, with their latest versions.
    Catalog(EnvFlag),
    /// Install an add-on; prints its id and job id, or follows the job with --wait.
    Install(InstallArgs),
    /// An environment's add-ons.
    List(EnvFlag),
    /// Show an add-on.
    Show(AddonRef),
    /// Restart or redeploy an add-on; prints the job id, or follows the job with --wait.
    Action(ActionArgs),
    /// Uninstall an add-on (gone when its job succeeds); prints the job id, or follows it.
    Uninstall(UninstallArgs),
    /// Show an add-on job with its tasks, or follow it with --wait.
    Job(JobArgs),
}

#[derive(clap::Args)]
struct JobArgs {
    /// Job id (`JOB...`, as install, action and uninstall print it)
    #[arg(value_name = "JOB_ID")]
    id: String,
    #[command(flatten)]
    wait: WaitFlags,
}

#[derive(clap::Args)]
struct EnvFlag {
    /// Environment id
    #[arg(long = "env", value_name = "ID")]
    env: String,
}

#[derive(clap::Args)]
struct AddonRef {
    /// Environment id
    #[arg(long = "env", value_name = "ID")]
    env: String,
    /// Add-on id
    #[arg(value_name = "ADDON_ID")]
    addon: String,
}

/// `--wait` and its `--timeout`.
#[derive(clap::Args)]
struct WaitFlags {
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
struct InstallArgs {
    /// Environment id
    #[arg(long = "env", value_name = "ID")]
    env: String,
    /// Add-on name (one of `addon catalog`)
    #[arg(long)]
    name: String,
    /// A `cce` resource bound to the environment
    #[arg(long, value_name = "ID")]
    cce_id: String,
    /// A `cse` resource bound to the environment (sermantInjector needs one)
    #[arg(long, value_name = "ID")]
    cse_id: Option<String>,
    #[command(flatten)]
    wait: WaitFlags,
}

#[derive(clap::Args)]
struct ActionArgs {
    /// Environment id
    #[arg(long = "env", value_name = "ID")]
    env: String,
    /// Add-on id
    #[arg(value_name = "ADDON_ID")]
    addon: String,
    /// What to do
    #[arg(value_name = "ACTION", value_parser = ["restart", "redeploy"])]
    action: String,
    #[command(flatten)]
    wait: WaitFlags,
}

#[derive(clap::Args)]
struct UninstallArgs {
    /// Environment id
    #[arg(long = "env", value_name = "ID")]
    env: String,
    /// Add-on id
    #[arg(value_name = "ADDON_ID")]
    addon: String,
    #[command(flatten)]
    wait: WaitFlags,
}

fn addons_path(client: &Client, env: &str, tail: &str) -> Result<String, CliError> {
    environments_path(client, Some(env), &format!("/addons{tail}"))
}

fn addon_path(client: &Client, env: &str, addon: &str, tail: &str) -> Result<String, CliError> {
    addons_path(
        client,
        env,
        &format!("/{}{tail}", path_id("add-on id", addon)?),
    )
}

fn addon_table(addons: &[Value]) -> Table {
    let mut t = Table::new(&["ID", "NAME", "VERSION", "STATUS", "CCE", "CSE", "LAST JOB"]);
    for a in addons {
        t.row(vec![
            field(a, "id"),
            field(a, "name"),
            field(a, "version"),
            field(a, "status"),
            field(a, "cce_id"),
            field(a, "cse_id"),
            field(a, "job_id"),
        ]);
    }
    t
}

/// `plugboard addon ...`.
pub async fn run(conn: ConnectionArgs, args: AddonArgs) -> Result<(), CliError> {
    let client = Client::new(client::resolve(&conn)?)?;
    let out = conn.output();
    match args.command {
        AddonCommand::Catalog(a) => {
            let reply = client
                .get(
                    &environments_path(&client, Some(&a.env), "/addons-metadata")?,
                    &[],
                )
                .await?;
            match out {
                OutputFormat::Json => print_json(&reply.text),
                OutputFormat::Table => {
                    let mut t = Table::new(&["NAME", "LATEST VERSION"]);
                    for a in items(&reply.json()?["addons"]) {
                        t.row(vec![field(a, "name"), field(a, "latest_version")]);
                    }
                    t.print();
                }
            }
            Ok(())
        }
        AddonCommand::Install(a) => {
            let mut body = json!({"name": a.name, "cce_id": a.cce_id});
            if let Some(cse) = &a.cse_id {
                body["cse_id"] = json!(cse);
            }
            let reply = client
                .post(&addons_path(&client, &a.env, "")?, &body)
                .await?;
            let answer = reply.json()?;
            let job_id = field(&answer, "job_id");
            if !a.wait.wait {
                match out {
                    OutputFormat::Json => print_json(&reply.text),
                    OutputFormat::Table => {
                        let mut t = Table::new(&["ID", "JOB"]);
                        t.row(vec![field(&answer, "id"), job_id]);
                        t.print();
                    }
                }
                return Ok(());
            }
            wait(&client, out, &job_id, a.wait.timeout).await
        }
        AddonCommand::List(a) => {
            let reply = client.get(&addons_path(&client, &a.env, "")?, &[]).await?;
            match out {
                OutputFormat::Json => print_json(&reply.text),
                OutputFormat::Table => addon_table(items(&reply.json()?["addons"])).print(),
            }
            Ok(())
        }
        AddonCommand::Show(a) => {
            let reply = client
                .get(&addon_path(&client, &a.env, &a.addon, "")?, &[])
                .await?;
            match out {
                OutputFormat::Json => print_json(&reply.text),
                OutputFormat::Table => addon_table(&[reply.json()?]).print(),
            }
            Ok(())
        }
        AddonCommand::Action(a) => {
            let reply = client
                .post(
                    &addon_path(&client, &a.env, &a.addon, "/action")?,
                    &json!({"action": a.action}),
                )
                .await?;
            job_started(&client, out, &reply, &a.wait).await
        }
        AddonCommand::Uninstall(a) => {
            let reply = client
                .delete(&addon_path(&client, &a.env, &a.addon, "")?)
                .await?;
            job_started(&client, out, &reply, &a.wait).await
        }
        AddonCommand::Job(a) => {
            if a.wait.wait {
                return wait(&client, out, &a.id, a.wait.timeout).await;
            }
            let (body, text) = get_job(&client, &a.id).await?;
            match out {
                OutputFormat::Json => print_json(&text),
                OutputFormat::Table => print_text(&job_text(&body)),
            }
            Ok(())
        }
    }
}

/// After an action or an uninstall (`{"job_id"}`): print the job id, or follow the job.
async fn job_started(
    client: &Client,
    out: OutputFormat,
    reply: &client::Reply,
    flags: &WaitFlags,
) -> Result<(), CliError> {
    let job_id = field(&reply.json()?, "job_id");
    if !flags.wait {
        match out {
            OutputFormat::Json => print_json(&reply.text),
            OutputFormat::Table => print_text(&format!("{job_id}\n")),
        }
        return Ok(());
    }
    wait(client, out, &job_id, flags.timeout).await
}

/// Follow a job to its end, print it (the tasks table, or with `-o json` the last body), and
/// turn its outcome into the command's.
async fn wait(
    client: &Client,
    out: OutputFormat,
    job_id: &str,
    timeout: u64,
) -> Result<(), CliError> {
    let (body, text) = follow(client, job_id, Duration::from_secs(timeout)).await?;
    match out {
        OutputFormat::Json => print_json(&text),
        OutputFormat::Table => print_text(&job_text(&body)),
    }
    let job = &body["job"];
    match job["execution_status"].as_str().unwrap_or_default() {
        "SUCCEEDED" => Ok(()),
        "FAILED" => {
            let failed = items(&body["tasks"])
                .iter()
                .find(|t| t["task_status"] == "FAILED");
            Err(CliError::Other(match failed {
                Some(t) => failure(job_id, &field(t, "task_name"), &field(t, "messages")),
                None => format!("job {job_id} failed"),
            }))
        }
        "UNKNOWN" => Err(CliError::Other(format!(
            "job {job_id} ended in an unknown state"
        ))),
        status => Err(CliError::Other(format!(
            "job {job_id} is still {status} after {timeout} s; \
             `plugboard addon job {job_id} --wait` follows it"
        ))),
    }
}

/// Why a job failed: its failed task's messages (what the driver logged, then `step: reason`,
/// then the driver's stderr), on the same line when they are one line, indented below if not.
fn failure(job_id: &str, task: &str, messages: &str) -> String {
    let lines: Vec<&str> = messages.lines().filter(|l| !l.trim().is_empty()).collect();
    match lines.as_slice() {
        [] => format!("job {job_id} failed at task {task}"),
        [one] => format!("job {job_id} failed: {one}"),
        many => {
            let mut text = format!("job {job_id} failed at task {task}:");
            for line in many {
                text.push_str("\n  ");
                text.push_str(line);
            }
            text
        }
    }
}

/// `GET /v3/{project_id}/cas/jobs/{job_id}`: the body as JSON and as the server sent it.
async fn get_job(client: &Client, id: &str) -> Result<(Value, String), CliError> {
    let path = format!(
        "/v3/{}/cas/jobs/{}",
        path_id("project id", client.project_id())?,
        path_id("job id", id)?
    );
    let reply = client.get(&path, &[]).await?;
    Ok((reply.json()?, reply.text))
}

/// Whether a job's state is final.
fn ended(status: &str) -> bool {
    matches!(status, "SUCCEEDED" | "FAILED" | "UNKNOWN")
}

/// Tasks done, and the name of the one running (else of the next to run).
fn progress(body: &Value) -> (u64, String) {
    let tasks = items(&body["tasks"]);
    let done = tasks
        .iter()
        .filter(|t| t["task_status"] == "SUCCEEDED")
        .count() as u64;
    let current = tasks
        .iter()
        .find(|t| t["task_status"] == "RUNNING")
        .or_else(|| tasks.iter().find(|t| t["task_status"] == "SUBMITTED"))
        .map(|t| field(t, "task_name"))
        .unwrap_or_default();
    (done, current)
}

/// Poll a job until it ends (or `timeout`), showing its tasks: a bar on a terminal (n done of
/// `task_count`, the running task's name), a line per change otherwise (both on stderr).
async fn follow(client: &Client, id: &str, timeout: Duration) -> Result<(Value, String), CliError> {
    let (bar, terminal) =
        super::output::stderr_bar(None, "{spinner} {msg} [{wide_bar}] {pos}/{len} tasks");
    let deadline = Instant::now() + timeout;
    let mut last = None;
    let (body, text) = loop {
        let (body, text) = get_job(client, id).await?;
        let status = field(&body["job"], "execution_status");
        let (done, current) = progress(&body);
        bar.set_length(body["task_count"].as_u64().unwrap_or(0));
        bar.set_position(done);
        bar.set_message(if current.is_empty() {
            format!("job {id}")
        } else {
            format!("job {id}: {current}")
        });
        let state = (status.clone(), done, current.clone());
        if !terminal && last.as_ref() != Some(&state) {
            let len = body["task_count"].as_u64().unwrap_or(0);
            let line = format!("job {id}: {status} {done}/{len} {current}");
            eprintln!("{}", line.trim_end());
        }
        last = Some(state);
        if ended(&status) || Instant::now() >= deadline {
            break (body, text);
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    };
    bar.finish_and_clear();
    Ok((body, text))
}

/// A job as text: one line naming it, then its tasks.
fn job_text(body: &Value) -> String {
    let job = &body["job"];
    let mut text = format!(
        "Job {} ({} of add-on {}): {}\n",
        field(job, "job_id"),
        field(job, "job_type"),
        field(job, "service_instance_id"),
        field(job, "execution_status"),
    );
    let mut t = Table::new(&["#", "TASK", "STATUS", "UPDATED", "MESSAGES"]);
    for task in items(&body["tasks"]) {
        t.row(vec![
            field(task, "task_index"),
            field(task, "task_name"),
            field(task, "task_status"),
            field(task, "update_at"),
            field(task, "messages"),
        ]);
    }
    text.push_str(&t.render());
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn progress_counts_done_tasks_and_names_the_running_one() {
        let body = json!({"task_count": 3, "job": {"execution_status": "RUNNING"}, "tasks": [
            {"task_name": "prepare", "task_status": "SUCCEEDED"},
            {"task_name": "deploy", "task_status": "RUNNING"},
            {"task_name": "verify", "task_status": "SUBMITTED"},
        ]});
        assert_eq!(progress(&body), (1, "deploy".into()));
        let queued = json!({"tasks": [{"task_name": "prepare", "task_status": "SUBMITTED"}]});
        assert_eq!(progress(&queued), (0, "prepare".into()));
        assert!(ended("FAILED") && ended("UNKNOWN") && !ended("SUBMITTED"));
        assert_eq!(
            failure("J", "deploy", "deploy: no\n"),
            "job J failed: deploy: no"
        );
        assert_eq!(
            failure("J", "deploy", "pulled\ndeploy: no"),
            "job J failed at task deploy:\n  pulled\n  deploy: no"
        );
        assert_eq!(failure("J", "deploy", ""), "job J failed at task deploy");
    }
}
