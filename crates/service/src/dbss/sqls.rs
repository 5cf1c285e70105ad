//! The captured statements' listing (ListAuditSqls) and detail (ShowSqlDetail), and the time
//! window every audit listing takes (`time_range`, or `start_time` + `end_time`).

use super::{check_id, Dbss, Error, Result};
use chrono::NaiveDateTime;
use plugboard_core::time::{self, Micros};
use plugboard_store::dbss::AuditDatabase;
use plugboard_store::dbss_audit::{SqlFilter, SqlRow};
use plugboard_store::StoreError;

const MINUTE: Micros = 60 * 1_000_000;
/// Statements stamped a little ahead of the server's clock (agent hosts drift) still count
/// as "in the last N".
const CLOCK_SLACK: Micros = 5 * MINUTE;
/// The deepest page a statement listing reaches (`page * size`).
pub const MAX_DEPTH: i64 = 10_000;

/// A time window as the caller gave it.
#[derive(Debug, Clone, Default)]
pub struct TimeWindow {
    pub time_range: Option<String>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
}

/// The length of a `time_range`.
pub fn range_length(range: &str) -> Option<Micros> {
    Some(match range {
        "HALF_HOUR" => 30 * MINUTE,
        "HOUR" => 60 * MINUTE,
        "THREE_HOUR" => 180 * MINUTE,
        "TWELVE_HOUR" => 720 * MINUTE,
        "DAY" => 1440 * MINUTE,
        "WEEK" => 7 * 1440 * MINUTE,
        "MONTH" => 30 * 1440 * MINUTE,
        _ => return None,
    })
}

fn parse_time(field: &str, s: &str) -> Result<Micros> {
    NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%d %H:%M:%S")
        .map(|t| t.and_utc().timestamp_micros())
        .map_err(|_| {
            Error::Invalid(format!(
                "{field} must be a time written yyyy-MM-dd HH:mm:ss (UTC) (got `{s}`)"
            ))
        })
}

/// `[from, to]` of a window (`field` prefixes the messages); none given = the last day.
pub fn resolve_window(
    field: &str,
    w: Option<&TimeWindow>,
    now: Micros,
) -> Result<(Micros, Micros)> {
    let w = w.cloned().unwrap_or_default();
    if let Some(r) = w.time_range.as_deref().filter(|r| !r.is_empty()) {
        let Some(len) = range_length(r) else {
            return Err(Error::Invalid(format!(
                "{field}.time_range must be one of HALF_HOUR, HOUR, THREE_HOUR, TWELVE_HOUR, DAY, WEEK, MONTH (got `{r}`)"
            )));
        };
        return Ok((now - len, now + CLOCK_SLACK));
    }
    match (
        w.start_time.as_deref().filter(|s| !s.is_empty()),
        w.end_time.as_deref().filter(|s| !s.is_empty()),
    ) {
        (None, None) => Ok((now - 1440 * MINUTE, now + CLOCK_SLACK)),
        (Some(s), Some(e)) => {
            let (from, to) = (
                parse_time(&format!("{field}.start_time"), s)?,
                parse_time(&format!("{field}.end_time"), e)?,
            );
            if from > to {
                return Err(Error::Invalid(format!(
                    "{field}.start_time must not be after {field}.end_time"
                )));
            }
            Ok((from, to + 999_999))
        }
        _ => Err(Error::Invalid(format!(
            "{field}: give start_time and end_time together, or time_range"
        ))),
    }
}

/// ListAuditSqls' body.
#[derive(Debug, Clone, Default)]
pub struct ListSqls {
    pub time: Option<TimeWindow>,
    pub risk_levels: Option<String>,
    pub client_ip: Option<String>,
    pub client_name: Option<String>,
    pub db_ip: Option<String>,
    pub db_user: Option<String>,
    pub query_type: Option<String>,
    pub rule_name: Option<String>,
    pub sql_statement: Option<String>,
    pub sql_response: Option<String>,
    pub page: Option<i64>,
    pub size: Option<i64>,
    pub time_order: Option<String>,
    /// One registry database (the console's filter; the API has none): narrows what `db_ip`
    /// selects.
    pub db_id: Option<String>,
}

/// A statement with the registry database it was captured on.
#[derive(Debug, Clone)]
pub struct SqlView {
    pub sql: SqlRow,
    pub database: Option<AuditDatabase>,
}

/// Query types the filter and the rules know.
pub const QUERY_TYPES: &[&str] = &[
    "LOGIN",
    "CREATE_TABLE",
    "CREATE_TABLESPACE",
    "DROP_TABLE",
    "DROP_TABLESPACE",
    "DELETE",
    "INSERT",
    "INSERT_SELECT",
    "SELECT",
    "SELECT_FOR_UPDATE",
    "UPDATE",
    "CREATE_USER",
    "DROP_USER",
    "GRANT",
    "OPERATE",
    "ALL",
];
/// Statement risk levels.
pub const LEVELS: &[&str] = &["HIGH", "MEDIUM", "LOW", "NO_RISK"];

fn nonempty(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl Dbss {
    async fn with_databases(&self, instance_id: &str, rows: Vec<SqlRow>) -> Result<Vec<SqlView>> {
        let mut cache: std::collections::HashMap<String, Option<AuditDatabase>> =
            Default::default();
        let mut out = Vec::with_capacity(rows.len());
        for sql in rows {
            if !cache.contains_key(&sql.db_id) {
                let d = match self.store.get_audit_database(instance_id, &sql.db_id).await {
                    Ok(d) => Some(d),
                    Err(StoreError::NotFound) => None,
                    Err(e) => return Err(e.into()),
                };
                cache.insert(sql.db_id.clone(), d);
            }
            let database = cache.get(&sql.db_id).cloned().flatten();
            out.push(SqlView { sql, database });
        }
        Ok(out)
    }

    /// ListAuditSqls: a page of the instance's statements and how many match.
    pub async fn list_sqls(
        &self,
        project: &str,
        instance_id: &str,
        q: ListSqls,
    ) -> Result<(Vec<SqlView>, i64)> {
        let inst = self.instance(project, instance_id).await?;
        let (from, to) = resolve_window("time", q.time.as_ref(), time::now_micros())?;
        let mut risk_levels = Vec::new();
        if let Some(levels) = nonempty(&q.risk_levels) {
            for l in levels.split(',').map(str::trim).filter(|l| !l.is_empty()) {
                super::rules::one_of("risk_levels", l, LEVELS)?;
                risk_levels.push(l.to_string());
            }
        }
        let query_type = match nonempty(&q.query_type) {
            Some(t) => {
                super::rules::one_of("query_type", &t, QUERY_TYPES)?;
                (t != "ALL").then_some(t)
            }
            None => None,
        };
        let sql_response = match nonempty(&q.sql_response) {
            Some(r) => {
                super::rules::one_of("sql_response", &r, &["SUCCESS", "FAILED"])?;
                Some(r)
            }
            None => None,
        };
        let ascending = match nonempty(&q.time_order).as_deref() {
            None | Some("DESC") => false,
            Some("ASC") => true,
            Some(o) => {
                return Err(Error::Invalid(format!(
                    "time_order must be one of DESC, ASC (got `{o}`)"
                )))
            }
        };
        let page = q.page.unwrap_or(1);
        let size = q.size.unwrap_or(10);
        if page < 1 {
            return Err(Error::Invalid(format!(
                "page must be 1 or more (got {page})"
            )));
        }
        if !(1..=100).contains(&size) {
            return Err(Error::Invalid(format!(
                "size must be from 1 to 100 (got {size})"
            )));
        }
        if page.saturating_mul(size) > MAX_DEPTH {
            return Err(Error::Invalid(format!(
                "page * size must be at most {MAX_DEPTH} (got {page} * {size})"
            )));
        }
        let db_ids = match nonempty(&q.db_ip) {
            Some(ip) => {
                let ip = super::rules::canonical_ip(&ip).unwrap_or(ip);
                let (dbs, _) = self
                    .store
                    .list_audit_databases(&inst, None, 0, 100_000)
                    .await?;
                Some(
                    dbs.into_iter()
                        .filter(|d| d.ip == ip)
                        .map(|d| d.id)
                        .collect::<Vec<String>>(),
                )
            }
            None => None,
        };
        let db_ids = match nonempty(&q.db_id) {
            Some(id) => {
                let d = self.database_of(&inst.id, &id).await?;
                Some(match db_ids {
                    Some(ids) => ids.into_iter().filter(|i| *i == d.id).collect(),
                    None => vec![d.id],
                })
            }
            None => db_ids,
        };
        let filter = SqlFilter {
            instance_id: inst.id.clone(),
            from,
            to,
            risk_levels,
            client_ip: nonempty(&q.client_ip),
            client_name: nonempty(&q.client_name),
            db_ids,
            db_user: nonempty(&q.db_user),
            query_type,
            rule_name: nonempty(&q.rule_name),
            sql_contains: nonempty(&q.sql_statement).map(|s| s.to_lowercase()),
            sql_response,
            ascending,
            offset: (page - 1) * size,
            limit: size,
        };
        let (rows, total) = self.store.list_audit_sqls(&filter).await?;
        Ok((self.with_databases(&inst.id, rows).await?, total))
    }

    /// ShowSqlDetail: one statement.
    pub async fn show_sql(&self, project: &str, instance_id: &str, id: &str) -> Result<SqlView> {
        let inst = self.instance(project, instance_id).await?;
        check_id("sql_id", id)?;
        let row = match self.store.get_audit_sql(&inst.id, id).await {
            Ok(r) => r,
            Err(StoreError::NotFound) => {
                return Err(Error::NotFound(format!(
                    "The statement {id} does not exist."
                )))
            }
            Err(e) => return Err(e.into()),
        };
        self.with_databases(&inst.id, vec![row])
            .await?
            .pop()
            .ok_or_else(|| Error::NotFound(format!("The statement {id} does not exist.")))
    }
}
