//! `plugboard audit stats`: an instance's audit statistics (docs/dbss-audit.md → Statistics)
//! through the vendor's DBSS API — one trend (`--trend`, bucket by bucket) or a session
//! breakdown (`--sessions account|client`). `-o json` prints the server's body as it came.

use super::client::{path_id, Client};
use super::output::{field, print_json, Table};
use super::{CliError, OutputFormat};
use serde_json::{json, Value};

/// `plugboard audit stats`.
#[derive(clap::Args)]
pub struct StatsArgs {
    /// Audit instance id
    #[arg(long, value_name = "ID")]
    instance: String,
    /// Only this database (default: every database of the instance)
    #[arg(long = "db", value_name = "DB_ID")]
    db_id: Option<String>,
    /// HALF_HOUR, HOUR, THREE_HOUR, TWELVE_HOUR, DAY, WEEK or MONTH
    #[arg(long, default_value = "DAY", value_name = "RANGE")]
    time_range: String,
    /// Which trend: statements by type, their count, risk levels, sessions, SQL-injection or
    /// risk-operation matches
    #[arg(long, default_value = "risk-level", value_parser = [
        "sql-type", "sql-count", "risk-level", "session", "sql-injection", "risk-operation",
    ], conflicts_with = "sessions")]
    trend: String,
    /// Sessions per database account or per client address instead of a trend
    #[arg(long, value_parser = ["account", "client"])]
    sessions: Option<String>,
}

/// Each trend's list key and its columns (header, item key).
fn columns(trend: &str) -> (&'static str, Vec<(&'static str, &'static str)>) {
    match trend {
        "sql-type" => (
            "sql_statistics",
            vec![
                ("SELECT", "select_num"),
                ("INSERT", "insert_num"),
                ("UPDATE", "update_num"),
                ("DELETE", "delete_num"),
                ("OTHER", "other_num"),
            ],
        ),
        "sql-count" => ("count_statistics", vec![("STATEMENTS", "sql_num")]),
        "session" => (
            "session_statistics",
            vec![
                ("NEW", "new_session_num"),
                ("ACTIVE", "active_session_num"),
                ("FAILED", "fail_session_num"),
            ],
        ),
        "sql-injection" => (
            "injection_statistics",
            vec![("INJECTIONS", "injection_num")],
        ),
        "risk-operation" => (
            "operation_statistics",
            vec![("RISK_OPERATIONS", "risk_operation_num")],
        ),
        _ => (
            "risk_statistics",
            vec![
                ("HIGH", "high_risk_num"),
                ("MEDIUM", "middle_risk_num"),
                ("LOW", "low_risk_num"),
                ("NO_RISK", "no_risk_num"),
            ],
        ),
    }
}

/// `plugboard audit stats`.
pub async fn stats(client: &Client, out: OutputFormat, a: StatsArgs) -> Result<(), CliError> {
    let p = path_id("project id", client.project_id())?;
    let i = path_id("audit instance id", &a.instance)?;
    let time = json!({"time_range": a.time_range});
    if let Some(kind) = &a.sessions {
        let which = if kind == "account" {
            "db-account"
        } else {
            "db-client"
        };
        let body = json!({"db_id": a.db_id.iter().collect::<Vec<_>>(), "time": time});
        let reply = client
            .post(
                &format!("/v1/{p}/audit/{i}/statistics/session/{which}"),
                &body,
            )
            .await?;
        if out == OutputFormat::Json {
            print_json(&reply.text);
            return Ok(());
        }
        let v = reply.json()?;
        let who = if kind == "account" {
            "ACCOUNT"
        } else {
            "CLIENT"
        };
        let mut t = Table::new(&["DATABASE", "DB_ID", who, "SESSIONS"]);
        for s in v.as_array().cloned().unwrap_or_default() {
            let key = if kind == "account" {
                field(&s, "db_user")
            } else {
                field(&s, "db_ip")
            };
            t.row(vec![
                field(&s, "db_name"),
                field(&s, "db_id"),
                key,
                field(&s, "session_num"),
            ]);
        }
        t.print();
        return Ok(());
    }
    let mut body = json!({"time": time});
    if let Some(db) = &a.db_id {
        body["db_id"] = Value::String(db.clone());
    }
    let reply = client
        .post(
            &format!("/v1/{p}/audit/{i}/statistics/trend/{}", a.trend),
            &body,
        )
        .await?;
    if out == OutputFormat::Json {
        print_json(&reply.text);
        return Ok(());
    }
    let v = reply.json()?;
    let (key, cols) = columns(&a.trend);
    let mut headers = vec!["PERIOD (UTC)"];
    headers.extend(cols.iter().map(|(h, _)| *h));
    let mut t = Table::new(&headers);
    for item in v[key].as_array().cloned().unwrap_or_default() {
        let mut row = vec![field(&item, "period")];
        row.extend(cols.iter().map(|(_, k)| field(&item, k)));
        t.row(row);
    }
    t.print();
    Ok(())
}
