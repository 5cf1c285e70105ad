//! `plugboard audit sqls|rules|alarms|agents`: what DBSS captured and judged (docs/dbss-audit.md),
//! through the vendor's DBSS API: captured statements with their filters, the risk-operation
//! and SQL-injection rules, the alarm log, an instance's agents. `-o json` prints the server's
//! body as it came.

use super::client::{path_id, Client};
use super::output::{field, print_json, Table};
use super::{CliError, OutputFormat};
use serde_json::{json, Value};

/// `plugboard audit sqls`.
#[derive(clap::Args)]
pub struct SqlsArgs {
    /// Audit instance id
    #[arg(long, value_name = "ID")]
    instance: String,
    /// HALF_HOUR, HOUR, THREE_HOUR, TWELVE_HOUR, DAY, WEEK or MONTH
    #[arg(long, default_value = "DAY", value_name = "RANGE")]
    time_range: String,
    /// Only statements containing this text (case-insensitive)
    #[arg(long, value_name = "TEXT")]
    sql: Option<String>,
    /// Only these risk levels (comma list: HIGH,MEDIUM,LOW,NO_RISK)
    #[arg(long, value_name = "LEVELS")]
    risk: Option<String>,
    /// Only this database user
    #[arg(long, value_name = "USER")]
    user: Option<String>,
    /// Only this query type (SELECT, UPDATE, DROP_TABLE, LOGIN, ...)
    #[arg(long = "type", value_name = "TYPE")]
    query_type: Option<String>,
    /// Page (from 1)
    #[arg(long, default_value_t = 1)]
    page: u64,
    /// Statements per page (1 to 100)
    #[arg(long, default_value_t = 20)]
    size: u64,
}

/// `plugboard audit rules`.
#[derive(clap::Args)]
pub struct RulesArgs {
    /// Audit instance id
    #[arg(long, value_name = "ID")]
    instance: String,
    /// The SQL-injection rules instead of the risk-operation rules
    #[arg(long)]
    injection: bool,
}

/// `plugboard audit alarms`.
#[derive(clap::Args)]
pub struct AlarmsArgs {
    /// Audit instance id
    #[arg(long, value_name = "ID")]
    instance: String,
    /// HALF_HOUR, HOUR, THREE_HOUR, TWELVE_HOUR, DAY, WEEK or MONTH
    #[arg(long, default_value = "DAY", value_name = "RANGE")]
    time_range: String,
    /// Only UNDO (unconfirmed) or DONE (confirmed) alarms
    #[arg(long, value_parser = ["UNDO", "DONE"])]
    status: Option<String>,
    /// Alarms per page (1 to 100)
    #[arg(long, default_value_t = 50)]
    size: u64,
}

/// `plugboard audit agents`.
#[derive(clap::Args)]
pub struct AgentsArgs {
    /// Audit instance id
    #[arg(long, value_name = "ID")]
    instance: String,
    /// Database id whose agents to list
    #[arg(long = "db", value_name = "DB_ID")]
    db_id: String,
}

fn base(client: &Client, instance: &str) -> Result<(String, String), CliError> {
    Ok((
        path_id("project id", client.project_id())?,
        path_id("audit instance id", instance)?,
    ))
}

fn clip(s: &str, n: usize) -> String {
    let one_line = s.replace(['\n', '\r'], " ");
    if one_line.chars().count() > n {
        format!("{}…", one_line.chars().take(n).collect::<String>())
    } else {
        one_line
    }
}

/// `plugboard audit sqls`.
pub async fn sqls(client: &Client, out: OutputFormat, a: SqlsArgs) -> Result<(), CliError> {
    let (p, i) = base(client, &a.instance)?;
    let mut body = json!({"time": {"time_range": a.time_range}, "page": a.page, "size": a.size});
    for (k, v) in [
        ("sql_statement", &a.sql),
        ("risk_levels", &a.risk),
        ("db_user", &a.user),
        ("query_type", &a.query_type),
    ] {
        if let Some(v) = v {
            body[k] = Value::String(v.clone());
        }
    }
    let reply = client
        .post(&format!("/v2/{p}/audit/{i}/sqls"), &body)
        .await?;
    if out == OutputFormat::Json {
        print_json(&reply.text);
        return Ok(());
    }
    let v = reply.json()?;
    let mut t = Table::new(&[
        "TIME",
        "DATABASE",
        "USER",
        "CLIENT",
        "TYPE",
        "RISK",
        "RULE",
        "RESULT",
        "STATEMENT",
    ]);
    for item in v["sqls"].as_array().cloned().unwrap_or_default() {
        let s = &item["sql"];
        t.row(vec![
            field(s, "start_time"),
            field(s, "db_instance"),
            field(s, "db_user"),
            field(s, "client_ip"),
            field(s, "query_type"),
            field(s, "risk_level"),
            field(s, "rule_name"),
            field(s, "sql_response"),
            clip(&field(s, "sql_statement"), 80),
        ]);
    }
    t.print();
    super::output::print_text(&format!("({} of {} matching)\n", v["count"], v["total"]));
    Ok(())
}

/// `plugboard audit rules`.
pub async fn rules(client: &Client, out: OutputFormat, a: RulesArgs) -> Result<(), CliError> {
    let (p, i) = base(client, &a.instance)?;
    let reply = if a.injection {
        client
            .post(&format!("/v1/{p}/audit/{i}/rule/sqls"), &json!({}))
            .await?
    } else {
        client
            .get(
                &format!("/v1/{p}/audit/{i}/rule/risk"),
                &[("limit", "1000".to_string())],
            )
            .await?
    };
    if out == OutputFormat::Json {
        print_json(&reply.text);
        return Ok(());
    }
    let v = reply.json()?;
    let mut t = Table::new(&["RANK", "ID", "NAME", "ORIGIN", "LEVEL", "STATUS", "FEATURE"]);
    for r in v["rules"].as_array().cloned().unwrap_or_default() {
        let origin = if a.injection {
            field(&r, "type")
        } else {
            field(&r, "rule_type")
        };
        t.row(vec![
            field(&r, "rank"),
            field(&r, "id"),
            field(&r, "name"),
            origin,
            field(&r, "risk_level"),
            field(&r, "status"),
            clip(&field(&r, "feature"), 60),
        ]);
    }
    t.print();
    Ok(())
}

/// `plugboard audit alarms`.
pub async fn alarms(client: &Client, out: OutputFormat, a: AlarmsArgs) -> Result<(), CliError> {
    let (p, i) = base(client, &a.instance)?;
    let mut body = json!({"time": {"time_range": a.time_range}, "page": 1, "size": a.size});
    if let Some(s) = &a.status {
        body["status"] = Value::String(s.clone());
    }
    let reply = client
        .post(&format!("/v2/{p}/audit/{i}/alarm-log"), &body)
        .await?;
    if out == OutputFormat::Json {
        print_json(&reply.text);
        return Ok(());
    }
    let v = reply.json()?;
    let mut t = Table::new(&[
        "TIME",
        "ID",
        "RISK",
        "TYPE",
        "STATUS",
        "OPEN",
        "DESCRIPTION",
    ]);
    for al in v["alarm_log"].as_array().cloned().unwrap_or_default() {
        t.row(vec![
            field(&al, "alarm_time"),
            field(&al, "id"),
            field(&al, "alarm_risk"),
            field(&al, "alarm_type"),
            field(&al, "alarm_status"),
            field(&al, "alarm_life"),
            clip(&field(&al, "alarm_description"), 80),
        ]);
    }
    t.print();
    Ok(())
}

/// `plugboard audit agents`.
pub async fn agents(client: &Client, out: OutputFormat, a: AgentsArgs) -> Result<(), CliError> {
    let (p, i) = base(client, &a.instance)?;
    let db = path_id("database id", &a.db_id)?;
    let reply = client
        .get(&format!("/v3/{p}/audit/{i}/agents"), &[("db_id", db)])
        .await?;
    if out == OutputFormat::Json {
        print_json(&reply.text);
        return Ok(());
    }
    let v = reply.json()?;
    let mut t = Table::new(&["AGENT_ID", "DATABASE", "TYPE", "IP", "SWITCH", "CAPTURE"]);
    for ag in v["agents"].as_array().cloned().unwrap_or_default() {
        let capture = match ag["datacap_status"].as_i64() {
            Some(1) => "running",
            Some(2) => "sleeping",
            Some(3) => "stopped",
            _ => "abnormal",
        };
        t.row(vec![
            field(&ag, "agent_id"),
            field(&ag, "db_name"),
            field(&ag, "agent_type"),
            field(&ag, "agent_ip"),
            if ag["status"].as_i64() == Some(1) {
                "on"
            } else {
                "off"
            }
            .into(),
            capture.into(),
        ]);
    }
    t.print();
    Ok(())
}
