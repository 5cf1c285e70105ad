//! The agent's TOML config (docs/dbss-audit.md → The agent): where plugboard is, who the agent
//! is, its keys (or `PLUGBOARD_AK` / `PLUGBOARD_SK`), where checkpoints live, and the logs to
//! tail. Every problem is one sentence naming the key.

use serde::Deserialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Where checkpoints live when the config does not say.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/plugboard-dbss-agent";
/// Source kinds this agent reads.
pub const KINDS: &[&str] = &["pgaudit-jsonlog", "mariadb-server-audit"];

/// The config as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    endpoint: Option<String>,
    project_id: Option<String>,
    instance_id: Option<String>,
    agent_id: Option<String>,
    access_key: Option<String>,
    secret_key: Option<String>,
    state_dir: Option<PathBuf>,
    /// PEM file of the CA that signed plugboard's certificate (HTTPS endpoints); the system's
    /// roots otherwise.
    ca_file: Option<PathBuf>,
    /// Events per batch (at most what plugboard takes, its heartbeat's `batch_max`).
    batch_events: Option<i64>,
    /// Batches on their way to plugboard at once, per source.
    in_flight: Option<i64>,
    /// The longest pause while the host is over the agent's thresholds (0: never pause).
    max_pause_seconds: Option<i64>,
    #[serde(default)]
    source: Vec<RawSource>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    db_id: Option<String>,
    kind: Option<String>,
    path: Option<PathBuf>,
}

/// One log to tail.
#[derive(Debug, Clone)]
pub struct Source {
    pub db_id: String,
    pub kind: String,
    pub path: PathBuf,
}

/// A usable config.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub endpoint: String,
    pub project_id: String,
    pub instance_id: String,
    pub agent_id: String,
    pub access_key: String,
    pub secret_key: String,
    pub state_dir: PathBuf,
    pub ca_file: Option<PathBuf>,
    /// Events per batch (capped by plugboard's `batch_max`).
    pub batch_events: usize,
    /// Batches in flight per source.
    pub in_flight: usize,
    /// The longest pause while the host is over the agent's thresholds (zero: never pause).
    pub max_pause: std::time::Duration,
    pub sources: Vec<Source>,
}

/// Events per batch when the config does not say.
pub const DEFAULT_BATCH_EVENTS: usize = 1000;
/// Batches in flight per source when the config does not say.
pub const DEFAULT_IN_FLIGHT: usize = 4;
/// The longest pause over the thresholds when the config does not say, seconds: with the
/// time to catch up, a statement is still listed within the 10 s the contract promises.
pub const DEFAULT_MAX_PAUSE_SECONDS: u64 = 5;

fn bounded(key: &str, v: Option<i64>, default: usize, max: i64) -> Result<usize, String> {
    match v {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n as usize),
        Some(n) => Err(format!("`{key}` must be from 1 to {max} (got {n})")),
    }
}

fn required(key: &str, v: Option<String>) -> Result<String, String> {
    match v.map(|s| s.trim().to_string()) {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(format!("`{key}` is missing or empty")),
    }
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Read and check the config at `path`.
pub fn load(path: &Path) -> Result<AgentConfig, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the config file {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("the config file {} cannot be used: {e}", path.display()))
}

/// Check a config's text.
pub fn parse(text: &str) -> Result<AgentConfig, String> {
    let raw: RawConfig = toml::from_str(text).map_err(|e| e.message().to_string())?;
    let endpoint = required("endpoint", raw.endpoint)?;
    let url = reqwest::Url::parse(&endpoint)
        .map_err(|e| format!("`endpoint` is not a URL ({e}): {endpoint}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "`endpoint` must be an http:// or https:// URL with a host: {endpoint}"
        ));
    }
    let access_key = match raw.access_key.filter(|s| !s.trim().is_empty()) {
        Some(k) => k,
        None => {
            env_nonempty("PLUGBOARD_AK").ok_or("`access_key` is missing (or set PLUGBOARD_AK)")?
        }
    };
    let secret_key = match raw.secret_key.filter(|s| !s.trim().is_empty()) {
        Some(k) => k,
        None => {
            env_nonempty("PLUGBOARD_SK").ok_or("`secret_key` is missing (or set PLUGBOARD_SK)")?
        }
    };
    if raw.source.is_empty() {
        return Err("no [[source]] table: name at least one log to tail".into());
    }
    let mut sources = Vec::new();
    let mut seen = HashSet::new();
    for (i, s) in raw.source.into_iter().enumerate() {
        let n = i + 1;
        let db_id = required(&format!("source {n}: db_id"), s.db_id)?;
        let kind = required(&format!("source {n}: kind"), s.kind)?;
        if !KINDS.contains(&kind.as_str()) {
            return Err(format!(
                "source {n}: kind `{kind}` is not one this agent reads ({})",
                KINDS.join(", ")
            ));
        }
        let Some(path) = s.path.filter(|p| !p.as_os_str().is_empty()) else {
            return Err(format!("source {n}: `path` is missing or empty"));
        };
        if !seen.insert(db_id.clone()) {
            return Err(format!(
                "source {n}: database {db_id} is named by two sources"
            ));
        }
        sources.push(Source { db_id, kind, path });
    }
    let batch_events = bounded(
        "batch_events",
        raw.batch_events,
        DEFAULT_BATCH_EVENTS,
        100_000,
    )?;
    let in_flight = bounded("in_flight", raw.in_flight, DEFAULT_IN_FLIGHT, 64)?;
    let max_pause = match raw.max_pause_seconds {
        None => DEFAULT_MAX_PAUSE_SECONDS,
        Some(n) if (0..=3600).contains(&n) => n as u64,
        Some(n) => {
            return Err(format!(
                "`max_pause_seconds` must be from 0 to 3600 (got {n})"
            ))
        }
    };
    let trim_end = endpoint.trim_end_matches('/').to_string();
    Ok(AgentConfig {
        endpoint: trim_end,
        project_id: required("project_id", raw.project_id)?,
        instance_id: required("instance_id", raw.instance_id)?,
        agent_id: required("agent_id", raw.agent_id)?,
        access_key,
        secret_key,
        state_dir: raw
            .state_dir
            .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR)),
        ca_file: raw.ca_file,
        batch_events,
        in_flight,
        max_pause: std::time::Duration::from_secs(max_pause),
        sources,
    })
}

#[cfg(test)]
mod tests {
    use super::parse;

    const GOOD: &str = r#"
endpoint = "http://127.0.0.1:8080/"
project_id = "p"
instance_id = "i"
agent_id = "a"
access_key = "AK"
secret_key = "SK"
state_dir = "/tmp/x"
[[source]]
db_id = "d1"
kind = "pgaudit-jsonlog"
path = "/var/log/postgresql"
"#;

    #[test]
    fn a_good_config_and_the_sentences_of_bad_ones() {
        let c = parse(GOOD).expect("good");
        assert_eq!(c.endpoint, "http://127.0.0.1:8080");
        assert_eq!(c.sources.len(), 1);
        assert_eq!((c.batch_events, c.in_flight), (1000, 4));
        assert_eq!(c.max_pause.as_secs(), 5);
        let tuned = parse(&GOOD.replace(
            "[[source]]",
            "batch_events = 500\nin_flight = 2\n[[source]]",
        ))
        .expect("tuned");
        assert_eq!((tuned.batch_events, tuned.in_flight), (500, 2));
        for (text, says) in [
            (GOOD.replace("pgaudit-jsonlog", "tcpdump"), "kind `tcpdump` is not one"),
            (GOOD.replace("endpoint = \"http://127.0.0.1:8080/\"", ""), "`endpoint` is missing"),
            (GOOD.replace("http://127.0.0.1:8080/", "ftp://x"), "http:// or https://"),
            (GOOD.replace("[[source]]", "[[sources]]"), "unknown field"),
            (GOOD.replace("agent_id = \"a\"", "agent_id = \"\""), "`agent_id` is missing"),
            (GOOD.replace("[[source]]", "in_flight = 0\n[[source]]"), "`in_flight` must be from 1 to 64"),
            (GOOD.replace("[[source]]", "batch_events = -3\n[[source]]"), "`batch_events` must be from 1"),
            (GOOD.replace("[[source]]", "max_pause_seconds = 7200\n[[source]]"), "`max_pause_seconds` must be from 0 to 3600"),
            (format!("{GOOD}[[source]]\ndb_id = \"d1\"\nkind = \"mariadb-server-audit\"\npath = \"/x\"\n"), "named by two sources"),
        ] {
            let e = parse(&text).expect_err(says);
            assert!(e.contains(says), "{e}");
        }
    }
}
