//! `plugboard login`: check an endpoint, an AK/SK and a project with one signed
//! `GET /v3/auth/projects`, then save them as the profile (mode 0600) and say who and where.
//! A failed check leaves the profile as it was.

use super::client::{self, Client, ConnectionArgs, Credentials};
use super::output::{print_text, Table};
use super::{CliError, OutputFormat};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Flags of `plugboard login` besides the global connection flags. Each value comes from its
/// flag, else the bootstrap file, else its environment variable.
#[derive(clap::Args)]
pub struct LoginArgs {
    /// Take endpoint, access_key, secret_key and project_id from a server's
    /// <data-dir>/bootstrap.json (a flag given as well wins over the file)
    #[arg(long, value_name = "PATH")]
    bootstrap_file: Option<PathBuf>,
}

/// The keys of `bootstrap.json` that make a profile.
#[derive(serde::Deserialize, Default)]
struct BootstrapKeys {
    endpoint: Option<String>,
    access_key: Option<String>,
    secret_key: Option<String>,
    project_id: Option<String>,
}

fn read_bootstrap(path: &Path) -> Result<BootstrapKeys, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::PermissionDenied {
            " (it is readable by the server's user only)"
        } else {
            ""
        };
        CliError::Other(format!(
            "cannot read the bootstrap file {}: {e}{hint}",
            path.display()
        ))
    })?;
    serde_json::from_str(&text).map_err(|e| {
        CliError::Other(format!(
            "the bootstrap file {} is not valid JSON: {e}",
            path.display()
        ))
    })
}

fn first(options: [Option<String>; 3]) -> Option<String> {
    options
        .into_iter()
        .flatten()
        .map(|s| s.trim().to_string())
        .find(|s| !s.is_empty())
}

fn credentials(conn: &ConnectionArgs, args: &LoginArgs) -> Result<Credentials, CliError> {
    let env = client::env_var;
    let boot = match &args.bootstrap_file {
        Some(p) => read_bootstrap(p)?,
        None => BootstrapKeys::default(),
    };
    let endpoint = first([
        conn.endpoint.clone(),
        boot.endpoint,
        env("PLUGBOARD_ENDPOINT"),
    ]);
    let access_key = first([
        conn.access_key.clone(),
        boot.access_key,
        env("PLUGBOARD_ACCESS_KEY"),
    ]);
    let secret_key = first([
        conn.secret_key.clone(),
        boot.secret_key,
        env("PLUGBOARD_SECRET_KEY"),
    ]);
    let project_id = first([
        conn.project_id.clone(),
        boot.project_id,
        env("PLUGBOARD_PROJECT_ID"),
    ]);
    match (endpoint, access_key, secret_key, project_id) {
        (Some(endpoint), Some(access_key), Some(secret_key), Some(project_id)) => Ok(Credentials {
            endpoint: client::normalize_endpoint(&endpoint)?,
            access_key,
            secret_key,
            project_id,
        }),
        (e, a, s, p) => {
            let missing: Vec<&str> = [
                (e.is_none(), "--endpoint"),
                (a.is_none(), "--access-key"),
                (s.is_none(), "--secret-key"),
                (p.is_none(), "--project-id"),
            ]
            .iter()
            .filter(|(m, _)| *m)
            .map(|(_, f)| *f)
            .collect();
            Err(CliError::Other(format!(
                "login needs {}: pass them, or --bootstrap-file <data-dir>/bootstrap.json",
                missing.join(", ")
            )))
        }
    }
}

/// `plugboard login`.
pub async fn run(conn: ConnectionArgs, args: LoginArgs) -> Result<(), CliError> {
    let creds = credentials(&conn, &args)?;
    let path = client::profile_path()?;
    let project_name = verify(&creds).await?;
    client::save_profile(&path, &creds)?;
    match conn.output() {
        OutputFormat::Json => {
            let summary: Value = json!({
                "endpoint": creds.endpoint,
                "access_key": creds.access_key,
                "project_id": creds.project_id,
                "project_name": project_name,
                "profile": path.display().to_string(),
            });
            print_text(&format!("{summary}\n"));
        }
        OutputFormat::Table => {
            let mut t = Table::new(&["ENDPOINT", "ACCESS KEY", "PROJECT", "PROJECT ID"]);
            t.row(vec![
                creds.endpoint.clone(),
                creds.access_key.clone(),
                project_name,
                creds.project_id.clone(),
            ]);
            print_text(&format!("Logged in; profile saved to {}\n", path.display()));
            t.print();
        }
    }
    Ok(())
}

/// One signed `GET /v3/auth/projects`; the name of the project the credentials name.
async fn verify(creds: &Credentials) -> Result<String, CliError> {
    let client = Client::new(creds.clone())?;
    let reply = client.get("/v3/auth/projects", &[]).await?;
    let body = reply.json()?;
    let projects = body["projects"].as_array().cloned().unwrap_or_default();
    let Some(project) = projects
        .iter()
        .find(|p| p["id"].as_str() == Some(creds.project_id.as_str()))
    else {
        let usable: Vec<String> = projects
            .iter()
            .map(|p| {
                format!(
                    "{} ({})",
                    p["id"].as_str().unwrap_or("?"),
                    p["name"].as_str().unwrap_or("?")
                )
            })
            .collect();
        return Err(CliError::Other(format!(
            "the keys work, but project {} is not one this access key can use (it can use: {})",
            creds.project_id,
            if usable.is_empty() {
                "none".to_string()
            } else {
                usable.join(", ")
            }
        )));
    };
    Ok(project["name"].as_str().unwrap_or_default().to_string())
}
