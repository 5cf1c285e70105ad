//! Ingest (docs/dbss-audit.md → What plugboard does with a batch): an agent's batch of
//! captured events is checked whole before anything is stored (the agent must be of the
//! instance, on and serving the database; every event well formed) and drawn from the
//! instance's QPS budget (over it: stored all the same, answered `throttled`); then each event
//! becomes a statement — password literals masked, judged by the instance's compiled rules —
//! and the batch is stored in one transaction with its statistics counters and its draw from
//! the budget, re-sent events skipped by their sequence number; alarms are raised for the new
//! statements the alarm levels cover.

use super::engine::{self, Compiled, Subject};
use super::{shipped, Dbss, Error, Result};
use chrono::DateTime;
use plugboard_core::ids;
use plugboard_core::time::{self, Micros};
use plugboard_store::dbss_audit::{AlarmMatch, QpsDraw, QpsOutcome, SqlRow};
use plugboard_store::Backend;
use std::collections::BTreeMap;
use std::sync::Arc;

/// How long a RISK_RULE alarm stays open without a new match.
pub const ALARM_QUIET: Micros = 10 * 60 * 1_000_000;
/// Event kinds an agent may send.
pub const KINDS: &[&str] = &["QUERY", "LOGIN", "LOGIN_FAILED", "LOGOUT"];

/// An object an event touched.
#[derive(Debug, Clone, Default)]
pub struct EventObject {
    pub object_type: String,
    pub schema: String,
    pub name: String,
}

/// One captured event, as the agent sent it.
#[derive(Debug, Clone, Default)]
pub struct CapturedEvent {
    pub seq: i64,
    /// RFC 3339.
    pub ts: String,
    pub kind: String,
    pub session: String,
    pub statement_id: String,
    pub user: String,
    pub database: String,
    pub client_ip: String,
    pub client_port: i64,
    pub application: String,
    pub command: String,
    pub objects: Vec<EventObject>,
    pub sql: String,
    pub rows: Option<i64>,
    pub duration_ms: Option<f64>,
    /// `SUCCESS` / `FAILED`.
    pub result: String,
    pub code: String,
    pub error: String,
}

/// A batch of events for one database.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub batch_id: String,
    pub db_id: String,
    pub events: Vec<CapturedEvent>,
}

/// What became of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestOutcome {
    pub accepted: usize,
    pub duplicates: usize,
    pub throttled: bool,
    /// How long the agent should wait before its next batch (0 unless throttled).
    pub retry_after_ms: i64,
}

fn parse_ts(i: usize, ts: &str) -> Result<Micros> {
    DateTime::parse_from_rfc3339(ts)
        .map(|t| t.timestamp_micros())
        .map_err(|_| {
            Error::Invalid(format!(
                "events[{i}].ts must be an RFC 3339 time such as 2025-05-01T10:00:00.123Z (got `{ts}`)"
            ))
        })
}

fn check_event(i: usize, e: &CapturedEvent) -> Result<Micros> {
    if !KINDS.contains(&e.kind.as_str()) {
        return Err(Error::Invalid(format!(
            "events[{i}].kind must be one of {} (got `{}`)",
            KINDS.join(", "),
            e.kind
        )));
    }
    if e.seq < 0 {
        return Err(Error::Invalid(format!("events[{i}].seq must be 0 or more")));
    }
    if !(0..=65535).contains(&e.client_port) {
        return Err(Error::Invalid(format!(
            "events[{i}].client_port must be from 0 to 65535"
        )));
    }
    if !e.result.is_empty() && e.result != "SUCCESS" && e.result != "FAILED" {
        return Err(Error::Invalid(format!(
            "events[{i}].result must be SUCCESS or FAILED (got `{}`)",
            e.result
        )));
    }
    parse_ts(i, &e.ts)
}

fn cap(s: &str, n: usize) -> String {
    if s.len() <= n {
        // No more bytes than `n`: no more characters either.
        return s.to_string();
    }
    s.chars().take(n).collect()
}

impl Dbss {
    /// The instance's compiled rules, seeding the shipped rules first if need be and
    /// recompiling when the rule version moved.
    pub(crate) async fn engine(&self, instance_id: &str) -> Result<Arc<Compiled>> {
        self.ensure_rules(instance_id).await?;
        let version = self.store.audit_rule_version(instance_id).await?;
        if let Ok(cache) = self.engines.lock() {
            if let Some((v, c)) = cache.get(instance_id) {
                if *v == version {
                    return Ok(c.clone());
                }
            }
        }
        let sql = self.store.list_audit_sql_rules(instance_id).await?;
        let risk = self.store.list_audit_risk_rules(instance_id).await?;
        let scopes = self.store.list_audit_scopes(instance_id).await?;
        let compiled = Arc::new(Compiled::new(&sql, &risk).with_scopes(&scopes));
        if let Ok(mut cache) = self.engines.lock() {
            cache.insert(instance_id.to_string(), (version, compiled.clone()));
        }
        Ok(compiled)
    }

    /// Make sure the instance's shipped rules are stored.
    pub(crate) async fn ensure_rules(&self, instance_id: &str) -> Result<()> {
        if self
            .seeded
            .lock()
            .map(|s| s.contains(instance_id))
            .unwrap_or(false)
        {
            return Ok(());
        }
        let (risk, sql) = shipped::rules(instance_id, time::now_micros());
        self.store.seed_audit_rules(&risk, &sql).await?;
        let mut scope = super::scopes::full_audit(instance_id);
        scope.created_at = time::now_micros();
        self.store.seed_audit_scope(&scope).await?;
        if let Ok(mut s) = self.seeded.lock() {
            s.insert(instance_id.to_string());
        }
        Ok(())
    }

    /// Store an agent's batch (see the module doc).
    pub async fn ingest(
        &self,
        project: &str,
        instance_id: &str,
        agent_id: &str,
        batch: Batch,
    ) -> Result<IngestOutcome> {
        let agent = self.calling_agent(project, instance_id, agent_id).await?;
        if agent.status != 1 {
            return Err(Error::Refused(format!("agent {agent_id} is off")));
        }
        if batch.batch_id.is_empty() || batch.batch_id.chars().count() > 128 {
            return Err(Error::Invalid(
                "batch_id must be 1 to 128 characters".into(),
            ));
        }
        if !agent.db_ids.contains(&batch.db_id) {
            return Err(Error::Refused(format!(
                "agent {agent_id} does not serve database `{}`",
                batch.db_id
            )));
        }
        if batch.events.len() > super::agents::BATCH_MAX {
            return Err(Error::Invalid(format!(
                "events: at most {} per batch (got {})",
                super::agents::BATCH_MAX,
                batch.events.len()
            )));
        }
        let times: Vec<Micros> = batch
            .events
            .iter()
            .enumerate()
            .map(|(i, e)| check_event(i, e))
            .collect::<Result<_>>()?;
        let db = self.database_of(&agent.instance_id, &batch.db_id).await?;
        let inst = self.instance(project, &agent.instance_id).await?;
        let engine = self.engine(&agent.instance_id).await?;
        let now = time::now_micros();
        // Statement ids made later sort later: the stores' indexes on them grow at their end.
        let mut ids = ids::dbss_statement_ids(now, batch.events.len()).into_iter();
        let rows: Vec<SqlRow> = batch
            .events
            .iter()
            .zip(times)
            .filter_map(|(e, start)| {
                let id = ids.next().unwrap_or_else(ids::dbss_database_id);
                let (query_type, statement, log_result) = match e.kind.as_str() {
                    "LOGIN" => ("LOGIN", "LOGIN".to_string(), "SUCCESS"),
                    "LOGIN_FAILED" => ("LOGIN", "LOGIN FAILED".to_string(), "FAILED"),
                    "LOGOUT" => ("LOGIN", "LOGOUT".to_string(), "SUCCESS"),
                    _ => (
                        engine::query_type(&e.command, &e.sql),
                        engine::sanitize_statement(&e.sql),
                        "",
                    ),
                };
                // At most a year (a duration past that is not one).
                let duration = e.duration_ms.map(|d| d.clamp(0.0, 3.2e10).round() as i64);
                let objects: Vec<(&str, &str)> = e
                    .objects
                    .iter()
                    .map(|o| (o.schema.as_str(), o.name.as_str()))
                    .collect();
                let subject = Subject {
                    query_type,
                    db_id: &db.id,
                    client_ip: &e.client_ip,
                    objects,
                    sql: &statement,
                    rows: e.rows,
                    duration_ms: duration,
                    log_result,
                    client_port: e.client_port,
                    database: &e.database,
                    user: &e.user,
                };
                // Not admitted by an ON scope: not audited (dropped before the rules).
                let (scope_id, scope_name) = engine.admit(&subject)?;
                let verdict = engine.judge(&subject);
                let objs: Vec<serde_json::Value> = e
                    .objects
                    .iter()
                    .map(|o| {
                        serde_json::json!({
                            "schema_name": o.schema, "table_name": o.name,
                            "object_type": o.object_type, "sql_type": query_type,
                        })
                    })
                    .collect();
                let first = e.objects.first();
                let failed = e.result == "FAILED" || e.kind == "LOGIN_FAILED";
                Some(SqlRow {
                    id,
                    instance_id: agent.instance_id.clone(),
                    db_id: db.id.clone(),
                    agent_id: agent.id.clone(),
                    seq: e.seq,
                    start_time: start,
                    execute_time: duration.unwrap_or(0),
                    client_ip: cap(&e.client_ip, 255),
                    client_port: e.client_port,
                    client_name: cap(&e.application, 255),
                    db_user: cap(&e.user, 255),
                    db_service_name: cap(&e.database, 255),
                    db_session_id: cap(&e.session, 255),
                    query_id: cap(&e.statement_id, 64),
                    query_type: query_type.to_string(),
                    objects: serde_json::Value::Array(objs).to_string(),
                    object_name: first
                        .map(|o| {
                            if o.schema.is_empty() {
                                o.name.clone()
                            } else {
                                format!("{}.{}", o.schema, o.name)
                            }
                        })
                        .unwrap_or_default(),
                    object_type: first.map(|o| o.object_type.clone()).unwrap_or_default(),
                    schema_name: first.map(|o| o.schema.clone()).unwrap_or_default(),
                    sql_statement: statement,
                    lines: e.rows.map(|r| r.to_string()).unwrap_or_default(),
                    log_result: log_result.to_string(),
                    response_status: if e.code.is_empty() {
                        if failed {
                            "1".into()
                        } else {
                            "0".into()
                        }
                    } else if e.code == "00000" {
                        "0".into()
                    } else {
                        cap(&e.code, 32)
                    },
                    sql_response: if failed { "FAILED" } else { "SUCCESS" }.into(),
                    sql_result: cap(&e.error, 4096),
                    risk_level: verdict.risk_level,
                    rule_id: verdict.rule_id,
                    rule_name: verdict.rule_name,
                    rule_type: verdict.rule_type.into(),
                    scope_id,
                    scope_name,
                    created_at: now,
                })
            })
            .collect();
        let dropped = batch.events.len() - rows.len();
        // One write transaction: the statements, their counters and the batch's draw from
        // the QPS budget (over it the batch is still stored, the agent told to wait). On
        // SQLite one batch at a time: batches that arrive together queue here, in order,
        // rather than in SQLite's busy handler, which sleeps.
        let draw = QpsDraw {
            instance_id: inst.id.clone(),
            n: batch.events.len() as i64,
            now,
            budget: self.qps_budget(&inst),
            new_id: ids::dbss_database_id,
        };
        let (inserted, qps) = {
            let _turn = match self.store.backend() {
                Backend::Sqlite => Some(self.ingest_turn.lock().await),
                Backend::Postgres => None,
            };
            self.store.ingest_audit_sqls(&rows, Some(&draw)).await?
        };
        let qps = qps.unwrap_or(QpsOutcome {
            throttled: false,
            retry_after_ms: 0,
            alarm_opened: false,
        });
        self.note_qps(&inst.id, draw.budget.rate, &qps);
        let accepted = inserted.iter().filter(|x| **x).count();
        // Alarms for the new statements the alarm config's levels cover, one per (rule,
        // database).
        let levels: Vec<String> = if inserted.iter().any(|x| *x) {
            self.alarm_config_of(&agent.instance_id)
                .await?
                .alarm_risk
                .iter()
                .map(|r| r.to_ascii_uppercase())
                .collect()
        } else {
            Vec::new()
        };
        let mut matches: BTreeMap<String, AlarmMatch> = BTreeMap::new();
        for (row, new) in rows.iter().zip(&inserted) {
            if !new || row.rule_id.is_empty() || !levels.contains(&row.risk_level) {
                continue;
            }
            let m = matches
                .entry(row.rule_id.clone())
                .or_insert_with(|| AlarmMatch {
                    rule_id: row.rule_id.clone(),
                    rule_name: row.rule_name.clone(),
                    db_id: db.id.clone(),
                    db_label: format!("{} ({})", db.name, db.ip),
                    risk: row.risk_level.clone(),
                    count: 0,
                    at: row.start_time,
                });
            m.count += 1;
            m.at = m.at.max(row.start_time);
        }
        if !matches.is_empty() {
            let list: Vec<AlarmMatch> = matches.into_values().collect();
            self.store
                .raise_audit_alarms(
                    &agent.instance_id,
                    &list,
                    now,
                    ALARM_QUIET,
                    ids::dbss_database_id,
                )
                .await?;
        }
        Ok(IngestOutcome {
            accepted: accepted + dropped,
            duplicates: rows.len() - accepted,
            throttled: qps.throttled,
            retry_after_ms: qps.retry_after_ms,
        })
    }
}
