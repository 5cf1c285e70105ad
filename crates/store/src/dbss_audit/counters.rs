//! Audit statistics counters (docs/dbss-audit.md → Statistics): per-minute counters per
//! database, per-minute sessions and per-minute rule matches, bumped in the transaction that
//! stores the statements they count (a batch is summed in memory first: one upsert per
//! `(database, minute, …)` row, in key order so concurrent batches lock rows alike), keyed by
//! the statement's own time; and the sums the statistics operations read back from them.

use super::sqls::SqlRow;
use crate::{Result, Store};
use plugboard_core::time::Micros;
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::BTreeMap;

/// A minute in microseconds.
pub const MINUTE: Micros = 60 * 1_000_000;
/// Rows per upsert (at most 17 binds each).
const CHUNK: usize = 500;

/// The start of the minute holding `t`.
pub fn minute_of(t: Micros) -> Micros {
    t - t.rem_euclid(MINUTE)
}

/// Sums of the per-minute counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Statements other than login events.
    pub sql_num: i64,
    pub select_num: i64,
    /// INSERT and INSERT … SELECT.
    pub insert_num: i64,
    pub update_num: i64,
    pub delete_num: i64,
    /// Statements other than login events that are not SELECT/INSERT*/UPDATE/DELETE.
    pub other_num: i64,
    /// Every stored statement (login events too) by risk level.
    pub high_num: i64,
    pub medium_num: i64,
    pub low_num: i64,
    pub no_risk_num: i64,
    /// Successful logins.
    pub new_session_num: i64,
    /// Failed logins.
    pub fail_session_num: i64,
    /// Statements whose winning rule is an SQL-injection rule.
    pub injection_num: i64,
    /// Statements whose winning rule is a risk-operation rule.
    pub risk_operation_num: i64,
}

const COUNT_COLS: [&str; 14] = [
    "sql_num",
    "select_num",
    "insert_num",
    "update_num",
    "delete_num",
    "other_num",
    "high_num",
    "medium_num",
    "low_num",
    "no_risk_num",
    "new_session_num",
    "fail_session_num",
    "injection_num",
    "risk_operation_num",
];

impl Counts {
    fn values(&self) -> [i64; 14] {
        [
            self.sql_num,
            self.select_num,
            self.insert_num,
            self.update_num,
            self.delete_num,
            self.other_num,
            self.high_num,
            self.medium_num,
            self.low_num,
            self.no_risk_num,
            self.new_session_num,
            self.fail_session_num,
            self.injection_num,
            self.risk_operation_num,
        ]
    }

    fn from_values(v: &[i64]) -> Self {
        let g = |i: usize| v.get(i).copied().unwrap_or(0);
        Self {
            sql_num: g(0),
            select_num: g(1),
            insert_num: g(2),
            update_num: g(3),
            delete_num: g(4),
            other_num: g(5),
            high_num: g(6),
            medium_num: g(7),
            low_num: g(8),
            no_risk_num: g(9),
            new_session_num: g(10),
            fail_session_num: g(11),
            injection_num: g(12),
            risk_operation_num: g(13),
        }
    }

    /// Statements with a risk (HIGH, MEDIUM or LOW).
    pub fn risk_num(&self) -> i64 {
        self.high_num + self.medium_num + self.low_num
    }

    /// Every stored statement, login events too.
    pub fn stored_num(&self) -> i64 {
        self.risk_num() + self.no_risk_num
    }

    /// Count one stored statement.
    pub fn add(&mut self, r: &SqlRow) {
        if is_login_event(r) {
            match (r.log_result.as_str(), r.sql_statement.as_str()) {
                ("FAILED", _) => self.fail_session_num += 1,
                (_, "LOGIN") => self.new_session_num += 1,
                _ => {}
            }
        } else {
            self.sql_num += 1;
            match r.query_type.as_str() {
                "SELECT" | "SELECT_FOR_UPDATE" => self.select_num += 1,
                "INSERT" | "INSERT_SELECT" => self.insert_num += 1,
                "UPDATE" => self.update_num += 1,
                "DELETE" => self.delete_num += 1,
                _ => self.other_num += 1,
            }
        }
        match r.risk_level.as_str() {
            "HIGH" => self.high_num += 1,
            "MEDIUM" => self.medium_num += 1,
            "LOW" => self.low_num += 1,
            _ => self.no_risk_num += 1,
        }
        match r.rule_type.as_str() {
            "SQL_INJECTION" => self.injection_num += 1,
            "RISK_OPERATION" => self.risk_operation_num += 1,
            _ => {}
        }
    }

    fn merge(&mut self, o: &Counts) {
        let a = self.values();
        let b = o.values();
        let sum: Vec<i64> = a.iter().zip(b.iter()).map(|(x, y)| x + y).collect();
        *self = Counts::from_values(&sum);
    }
}

/// A login, failed login or logout (ingest stores them with `log_result` set).
fn is_login_event(r: &SqlRow) -> bool {
    r.query_type == "LOGIN" && !r.log_result.is_empty()
}

/// The sessions of one minute: `(db, minute, session) → (user, client, statements)`.
type SessionKey = (String, Micros, String);
/// Rule matches of one minute: `(db, minute, rule) → (name, type, level, count)`.
type RuleKey = (String, Micros, String);

/// One batch's counts, summed in memory.
#[derive(Debug, Default)]
struct BatchCounts {
    counters: BTreeMap<(String, Micros), Counts>,
    sessions: BTreeMap<SessionKey, (String, String, i64)>,
    rules: BTreeMap<RuleKey, (String, String, String, i64)>,
}

impl BatchCounts {
    fn of<'a>(rows: impl IntoIterator<Item = &'a SqlRow>) -> Self {
        let mut b = BatchCounts::default();
        for r in rows {
            let minute = minute_of(r.start_time);
            b.counters
                .entry((r.db_id.clone(), minute))
                .or_default()
                .add(r);
            let failed_login = is_login_event(r) && r.log_result == "FAILED";
            if !r.db_session_id.is_empty() && !failed_login {
                let s = b
                    .sessions
                    .entry((r.db_id.clone(), minute, r.db_session_id.clone()))
                    .or_insert_with(|| (r.db_user.clone(), r.client_ip.clone(), 0));
                if !is_login_event(r) {
                    s.2 += 1;
                }
            }
            if !r.rule_id.is_empty() {
                b.rules
                    .entry((r.db_id.clone(), minute, r.rule_id.clone()))
                    .or_insert_with(|| {
                        (
                            r.rule_name.clone(),
                            r.rule_type.clone(),
                            r.risk_level.clone(),
                            0,
                        )
                    })
                    .3 += 1;
            }
        }
        b
    }
}

fn marks(next: &mut usize, n: usize) -> String {
    let m: Vec<String> = (0..n)
        .map(|_| {
            *next += 1;
            format!("${}", *next - 1)
        })
        .collect();
    format!("({})", m.join(", "))
}

/// Bump the counters of the statements just stored, inside their transaction. `instance_id`
/// of every row is the same (one batch).
pub(crate) async fn bump(conn: &mut sqlx::AnyConnection, rows: &[&SqlRow]) -> Result<()> {
    let Some(first) = rows.first() else {
        return Ok(());
    };
    let instance = first.instance_id.clone();
    let b = BatchCounts::of(rows.iter().copied());
    let counters: Vec<_> = b.counters.into_iter().collect();
    for chunk in counters.chunks(CHUNK) {
        let mut next = 1;
        let values: Vec<String> = chunk
            .iter()
            .map(|_| marks(&mut next, 3 + COUNT_COLS.len()))
            .collect();
        let set: Vec<String> = COUNT_COLS
            .iter()
            .map(|c| format!("{c} = dbss_audit_counters.{c} + excluded.{c}"))
            .collect();
        let sql = format!(
            "INSERT INTO dbss_audit_counters (instance_id, db_id, minute, {}) VALUES {} ON CONFLICT (instance_id, db_id, minute) DO UPDATE SET {}",
            COUNT_COLS.join(", "),
            values.join(", "),
            set.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for ((db, minute), c) in chunk {
            q = q.bind(&instance).bind(db).bind(*minute);
            for v in c.values() {
                q = q.bind(v);
            }
        }
        q.execute(&mut *conn).await?;
    }
    let sessions: Vec<_> = b.sessions.into_iter().collect();
    for chunk in sessions.chunks(CHUNK) {
        let mut next = 1;
        let values: Vec<String> = chunk.iter().map(|_| marks(&mut next, 7)).collect();
        let sql = format!(
            "INSERT INTO dbss_audit_session_minutes (instance_id, db_id, minute, session_id, db_user, client_ip, queries) VALUES {} ON CONFLICT (instance_id, db_id, minute, session_id) DO UPDATE SET queries = dbss_audit_session_minutes.queries + excluded.queries",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for ((db, minute, session), (user, client, n)) in chunk {
            q = q
                .bind(&instance)
                .bind(db)
                .bind(*minute)
                .bind(session)
                .bind(user)
                .bind(client)
                .bind(*n);
        }
        q.execute(&mut *conn).await?;
    }
    let rules: Vec<_> = b.rules.into_iter().collect();
    for chunk in rules.chunks(CHUNK) {
        let mut next = 1;
        let values: Vec<String> = chunk.iter().map(|_| marks(&mut next, 8)).collect();
        let sql = format!(
            "INSERT INTO dbss_audit_rule_counters (instance_id, db_id, minute, rule_id, rule_name, rule_type, risk_level, count) VALUES {} ON CONFLICT (instance_id, db_id, minute, rule_id) DO UPDATE SET count = dbss_audit_rule_counters.count + excluded.count, rule_name = excluded.rule_name, risk_level = excluded.risk_level",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for ((db, minute, rule), (name, kind, level, n)) in chunk {
            q = q
                .bind(&instance)
                .bind(db)
                .bind(*minute)
                .bind(rule)
                .bind(name)
                .bind(kind)
                .bind(level)
                .bind(*n);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Which counters a read covers.
#[derive(Debug, Clone, Default)]
pub struct CounterScope {
    pub instance_id: String,
    /// Only these databases (`None`: all of the instance's).
    pub db_ids: Option<Vec<String>>,
    /// Minutes in `[from, to)` (minute starts).
    pub from: Micros,
    pub to: Micros,
}

impl CounterScope {
    /// The WHERE clause (binds from `$1`) and the values after `instance_id, from, to`.
    fn filter(&self) -> (String, Vec<String>) {
        let mut wh = "instance_id = $1 AND minute >= $2 AND minute < $3".to_string();
        let mut args = Vec::new();
        if let Some(ids) = &self.db_ids {
            let mut next = 4;
            let m = marks(&mut next, ids.len().max(1));
            wh.push_str(&format!(" AND db_id IN {m}"));
            args = if ids.is_empty() {
                vec![String::new()]
            } else {
                ids.clone()
            };
        }
        (wh, args)
    }
}

fn sums() -> String {
    COUNT_COLS
        .iter()
        .map(|c| format!("CAST(COALESCE(SUM({c}), 0) AS BIGINT) AS {c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn counts_from(r: &AnyRow) -> Result<Counts> {
    let mut v = Vec::with_capacity(COUNT_COLS.len());
    for c in COUNT_COLS {
        v.push(r.try_get::<i64, _>(c)?);
    }
    Ok(Counts::from_values(&v))
}

/// Matches of one rule on one database in a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleCount {
    pub instance_id: String,
    pub db_id: String,
    pub rule_id: String,
    /// The name the newest match was counted under.
    pub rule_name: String,
    pub rule_type: String,
    pub count: i64,
}

/// Sessions of one database and one account (or client address) in a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCount {
    pub db_id: String,
    /// The account, or the client address.
    pub key: String,
    pub sessions: i64,
}

impl Store {
    /// The counters of `scope` summed per bucket of `bucket` microseconds from `scope.from`:
    /// `(bucket index, sums)`, buckets without counters left out.
    pub async fn audit_counter_buckets(
        &self,
        scope: &CounterScope,
        bucket: Micros,
    ) -> Result<Vec<(i64, Counts)>> {
        let (wh, args) = scope.filter();
        let next = 4 + args.len();
        let sql = format!(
            "SELECT (minute - $2) / ${next} AS b, {} FROM dbss_audit_counters WHERE {wh} GROUP BY 1 ORDER BY 1",
            sums()
        );
        let mut q = sqlx::query(&sql)
            .bind(&scope.instance_id)
            .bind(scope.from)
            .bind(scope.to);
        for a in &args {
            q = q.bind(a);
        }
        let rows = q.bind(bucket.max(1)).fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| Ok((r.try_get::<i64, _>("b")?, counts_from(r)?)))
            .collect()
    }

    /// The counters of `scope` summed per database.
    pub async fn audit_counters_by_database(
        &self,
        scope: &CounterScope,
    ) -> Result<Vec<(String, Counts)>> {
        let (wh, args) = scope.filter();
        let sql = format!(
            "SELECT db_id, {} FROM dbss_audit_counters WHERE {wh} GROUP BY db_id ORDER BY db_id",
            sums()
        );
        let mut q = sqlx::query(&sql)
            .bind(&scope.instance_id)
            .bind(scope.from)
            .bind(scope.to);
        for a in &args {
            q = q.bind(a);
        }
        let rows = q.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| Ok((r.try_get::<String, _>("db_id")?, counts_from(r)?)))
            .collect()
    }

    /// The counters of `scope` summed.
    pub async fn audit_counter_totals(&self, scope: &CounterScope) -> Result<Counts> {
        let mut total = Counts::default();
        for (_, c) in self.audit_counters_by_database(scope).await? {
            total.merge(&c);
        }
        Ok(total)
    }

    /// Distinct sessions with at least one statement per bucket of `bucket` microseconds.
    pub async fn audit_active_session_buckets(
        &self,
        scope: &CounterScope,
        bucket: Micros,
    ) -> Result<Vec<(i64, i64)>> {
        let (wh, args) = scope.filter();
        let next = 4 + args.len();
        let sql = format!(
            "SELECT (minute - $2) / ${next} AS b, COUNT(DISTINCT db_id || '/' || session_id) AS n FROM dbss_audit_session_minutes WHERE {wh} AND queries > 0 GROUP BY 1 ORDER BY 1"
        );
        let mut q = sqlx::query(&sql)
            .bind(&scope.instance_id)
            .bind(scope.from)
            .bind(scope.to);
        for a in &args {
            q = q.bind(a);
        }
        let rows = q.bind(bucket.max(1)).fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| Ok((r.try_get::<i64, _>("b")?, r.try_get::<i64, _>("n")?)))
            .collect()
    }

    /// Distinct sessions (logins or statements) in `scope`.
    pub async fn audit_session_total(&self, scope: &CounterScope) -> Result<i64> {
        let (wh, args) = scope.filter();
        let sql = format!(
            "SELECT COUNT(DISTINCT db_id || '/' || session_id) FROM dbss_audit_session_minutes WHERE {wh}"
        );
        let mut q = sqlx::query(&sql)
            .bind(&scope.instance_id)
            .bind(scope.from)
            .bind(scope.to);
        for a in &args {
            q = q.bind(a);
        }
        Ok(q.fetch_one(self.pool()).await?.try_get(0)?)
    }

    /// Distinct sessions per database and account (`by_account`) or client address.
    pub async fn audit_session_breakdown(
        &self,
        scope: &CounterScope,
        by_account: bool,
    ) -> Result<Vec<SessionCount>> {
        let (wh, args) = scope.filter();
        let col = if by_account { "db_user" } else { "client_ip" };
        let sql = format!(
            "SELECT db_id, {col} AS k, COUNT(DISTINCT session_id) AS n FROM dbss_audit_session_minutes WHERE {wh} GROUP BY db_id, {col} ORDER BY db_id, {col}"
        );
        let mut q = sqlx::query(&sql)
            .bind(&scope.instance_id)
            .bind(scope.from)
            .bind(scope.to);
        for a in &args {
            q = q.bind(a);
        }
        let rows = q.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(SessionCount {
                    db_id: r.try_get("db_id")?,
                    key: r.try_get("k")?,
                    sessions: r.try_get("n")?,
                })
            })
            .collect()
    }

    /// Matches per database and rule in `scope`.
    pub async fn audit_rule_counts(&self, scope: &CounterScope) -> Result<Vec<RuleCount>> {
        let (wh, args) = scope.filter();
        let sql = format!(
            "SELECT db_id, rule_id, MAX(rule_name) AS rule_name, MAX(rule_type) AS rule_type, CAST(COALESCE(SUM(count), 0) AS BIGINT) AS n FROM dbss_audit_rule_counters WHERE {wh} GROUP BY db_id, rule_id ORDER BY db_id, rule_id"
        );
        let mut q = sqlx::query(&sql)
            .bind(&scope.instance_id)
            .bind(scope.from)
            .bind(scope.to);
        for a in &args {
            q = q.bind(a);
        }
        let rows = q.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(RuleCount {
                    instance_id: scope.instance_id.clone(),
                    db_id: r.try_get("db_id")?,
                    rule_id: r.try_get("rule_id")?,
                    rule_name: r.try_get("rule_name")?,
                    rule_type: r.try_get("rule_type")?,
                    count: r.try_get("n")?,
                })
            })
            .collect()
    }

    /// The first minute the instance counted a statement in (`None`: never).
    pub async fn audit_first_minute(&self, instance_id: &str) -> Result<Option<Micros>> {
        let row = sqlx::query("SELECT MIN(minute) FROM dbss_audit_counters WHERE instance_id = $1")
            .bind(instance_id)
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get::<Option<i64>, _>(0)?)
    }

    /// Record that a trend statistic of the instance (database `db_id`, `""` = all) was
    /// generated at `at`.
    pub async fn record_audit_stat_run(
        &self,
        instance_id: &str,
        db_id: &str,
        statistics_type: &str,
        at: Micros,
    ) -> Result<()> {
        sqlx::query("INSERT INTO dbss_audit_stat_runs (instance_id, db_id, statistics_type, generate_time) VALUES ($1, $2, $3, $4) ON CONFLICT (instance_id, db_id, statistics_type) DO UPDATE SET generate_time = excluded.generate_time")
            .bind(instance_id)
            .bind(db_id)
            .bind(statistics_type)
            .bind(at)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The instance's generated trend statistics: `(db_id, type, generate_time)`, newest first.
    pub async fn list_audit_stat_runs(
        &self,
        instance_id: &str,
    ) -> Result<Vec<(String, String, Micros)>> {
        let rows = sqlx::query("SELECT db_id, statistics_type, generate_time FROM dbss_audit_stat_runs WHERE instance_id = $1 ORDER BY generate_time DESC, db_id, statistics_type")
            .bind(instance_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("db_id")?,
                    r.try_get("statistics_type")?,
                    r.try_get("generate_time")?,
                ))
            })
            .collect()
    }
}
