//! ListAuditSqls over millions of statements (docs/dbss-audit.md → Statements → How the list
//! stays fast): a page of statements matching a filter and how many match in all.
//!
//! - `total` without counting the window's rows: when every filter is one of the few-valued
//!   columns of `dbss_sql_minutes` ([`super::sql_minutes`]), the whole minutes of the window
//!   are summed there and only its two partial end minutes are counted in `dbss_sqls`; other
//!   filters are counted over their own index. A `total` of 0 (or a page past it) reads no page.
//! - The statement text filter narrows the rows through a text index first when the substring
//!   is not common ([`super::listing_text`]).

use super::listing_text::{like_escape, TextLookup};
use super::sql_minutes::{minute_of, MINUTE};
use super::sqls::{row_from, SqlFilter, SqlRow, COLS};
use crate::{Backend, Result, Store};
use plugboard_core::time::{now_micros, Micros};
use sqlx::{Any, Row, Transaction};

/// The filters summed in `dbss_sql_minutes` (every other filter is counted in `dbss_sqls`).
const MINUTE_COLUMNS: [&str; 6] = [
    "db_id",
    "risk_level",
    "query_type",
    "sql_response",
    "rule_name",
    "client_name",
];
pub(super) enum Arg {
    Text(String),
    Int(i64),
}

/// A statement's conditions and the values bound to them (`$1`, `$2`, … in order).
#[derive(Default)]
pub(super) struct Sql {
    pub(super) conds: Vec<String>,
    pub(super) args: Vec<Arg>,
}

impl Sql {
    pub(super) fn bind(&mut self, a: Arg) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }

    pub(super) fn text(&mut self, v: &str) -> String {
        self.bind(Arg::Text(v.to_string()))
    }

    pub(super) fn int(&mut self, v: i64) -> String {
        self.bind(Arg::Int(v))
    }

    /// `col = $n` or `col IN ($n, …)` for each attribute filter. On SQLite a filter on the
    /// risk level or the rule also repeats the condition of its partial index (migration 0064)
    /// when every value meets it: SQLite's planner uses a partial index only for a query that
    /// says its `WHERE` term itself (PostgreSQL proves it from the values).
    pub(super) fn attributes(
        &mut self,
        prefix: &str,
        attrs: &[(&'static str, Vec<String>)],
        backend: Backend,
    ) {
        for (col, values) in attrs {
            let marks: Vec<String> = values.iter().map(|v| self.text(v)).collect();
            self.conds.push(if marks.len() == 1 {
                format!("{prefix}{col} = {}", marks[0])
            } else {
                format!("{prefix}{col} IN ({})", marks.join(", "))
            });
            if backend == Backend::Sqlite {
                if let Some(cond) = partial_index_condition(col, values) {
                    self.conds.push(format!("{prefix}{cond}"));
                }
            }
        }
    }

    pub(super) fn query<'a>(
        &'a self,
        sql: &'a str,
    ) -> sqlx::query::Query<'a, sqlx::Any, sqlx::any::AnyArguments<'a>> {
        // Unnamed statements: PostgreSQL plans each with its values (a cached generic plan
        // cannot tell a rare value or substring from a common one).
        let mut q = sqlx::query(sql).persistent(false);
        for a in &self.args {
            q = match a {
                Arg::Text(t) => q.bind(t.as_str()),
                Arg::Int(i) => q.bind(*i),
            };
        }
        q
    }
}

/// The filters of `f` other than time and text, as `(column, values)`.
fn attributes(f: &SqlFilter) -> Vec<(&'static str, Vec<String>)> {
    let mut out = Vec::new();
    for (col, v) in [
        ("client_ip", &f.client_ip),
        ("client_name", &f.client_name),
        ("db_user", &f.db_user),
        ("query_type", &f.query_type),
        ("rule_name", &f.rule_name),
        ("sql_response", &f.sql_response),
    ] {
        if let Some(v) = v {
            out.push((col, vec![v.clone()]));
        }
    }
    if !f.risk_levels.is_empty() {
        out.push(("risk_level", f.risk_levels.clone()));
    }
    if let Some(ids) = &f.db_ids {
        out.push(("db_id", ids.clone()));
    }
    out
}

/// The `WHERE` term of the partial list index on `col` (both back-ends: risk level and rule,
/// migrations 0063 and 0064) when every one of `values` satisfies it.
fn partial_index_condition(col: &str, values: &[String]) -> Option<&'static str> {
    match col {
        "risk_level" if values.iter().all(|v| v != "NO_RISK") => Some("risk_level <> 'NO_RISK'"),
        "rule_name" if values.iter().all(|v| !v.is_empty()) => Some("rule_name <> ''"),
        _ => None,
    }
}

/// How a window's `total` is read from the per-minute counts: the minutes `[minutes.0,
/// minutes.1)` summed in `dbss_sql_minutes`, then each `(lo, hi, sign)` range of statement
/// time counted in `dbss_sqls` and added (`+`) or taken away (`-`). A partial minute at either
/// end of the window is counted directly or, when the rest of its minute is the shorter span
/// (statements are no newer than `now`), as its whole minute less that rest: a window ending
/// now counts the statements after its end (none) instead of every statement of the current
/// minute (at 30,000 statements/s up to 1.8 million rows, read one by one). Exact either way:
/// the minutes commit with their statements and are read in the same transaction.
#[derive(Debug, PartialEq)]
struct MinutePlan {
    minutes: (i64, i64),
    counts: Vec<(Micros, Micros, char)>,
}

impl MinutePlan {
    /// `None` when `[from, to]` holds no whole minute (its rows are counted directly).
    fn of(from: Micros, to: Micros, now: Micros) -> Option<Self> {
        // Whole minutes: [first, end) (the minutes from `first` start at or after `from`; those
        // before `end` finish by `to`).
        let first = minute_of(from.saturating_add(MINUTE - 1));
        let end = minute_of(to.saturating_add(1));
        if first >= end {
            return None;
        }
        // How much statement time of `[lo, hi]` can hold statements (none after `now`).
        let span = |lo: Micros, hi: Micros| (i128::from(hi.min(now)) - i128::from(lo) + 1).max(0);
        let mut plan = MinutePlan {
            minutes: (first, end),
            counts: Vec::new(),
        };
        // The partial minute before `first`: `[from, head_end]`, the rest of its minute before.
        let head_end = first.saturating_mul(MINUTE) - 1;
        if from <= head_end {
            match (first - 1).checked_mul(MINUTE) {
                Some(start) if span(start, from - 1) < span(from, head_end) => {
                    plan.minutes.0 = first - 1;
                    plan.counts.push((start, from - 1, '-'));
                }
                _ => plan.counts.push((from, head_end, '+')),
            }
        }
        // The partial minute from `end`: `[tail_start, to]`, the rest of its minute after.
        let tail_start = end.saturating_mul(MINUTE);
        if tail_start <= to {
            match end.checked_add(1).and_then(|m| m.checked_mul(MINUTE)) {
                Some(next) if span(to + 1, next - 1) < span(tail_start, to) => {
                    plan.minutes.1 = end + 1;
                    plan.counts.push((to + 1, next - 1, '-'));
                }
                _ => plan.counts.push((tail_start, to, '+')),
            }
        }
        Some(plan)
    }
}

impl Store {
    /// A page of statements matching `f` and how many match in all.
    pub async fn list_audit_sqls(&self, f: &SqlFilter) -> Result<(Vec<SqlRow>, i64)> {
        if matches!(&f.db_ids, Some(ids) if ids.is_empty()) || f.from > f.to {
            return Ok((Vec::new(), 0));
        }
        let attrs = attributes(f);
        let text = match f.sql_contains.as_deref().filter(|s| !s.is_empty()) {
            Some(needle) => Some(TextLookup {
                needle,
                windows: self.rare_windows(f, needle).await?,
            }),
            None => None,
        };
        if let Some(t) = text.as_ref().filter(|t| !t.windows.is_empty()) {
            if let Some(answer) = self.list_by_keys(f, &attrs, t).await? {
                return Ok(answer);
            }
        }
        // The total and the page in one read transaction (`Store::begin_read`): statements
        // arrive while a list is read, and two reads apart gave `total` 30 with 20 statements
        // on a page of 100.
        let mut tx = self.begin_read().await?;
        let total = if text.is_none() && attrs.iter().all(|(c, _)| MINUTE_COLUMNS.contains(c)) {
            self.count_by_minutes(&mut tx, f, &attrs).await?
        } else {
            let (from, sql) = self.rows_of(f, &attrs, text.as_ref(), f.from, f.to);
            let stmt = format!("SELECT COUNT(*) {from} WHERE {}", sql.conds.join(" AND "));
            sql.query(&stmt).fetch_one(&mut *tx).await?.try_get(0)?
        };
        if total == 0 || f.offset >= total {
            tx.commit().await?;
            return Ok((Vec::new(), total));
        }
        let (from, mut sql) = self.rows_of(f, &attrs, text.as_ref(), f.from, f.to);
        let order = if f.ascending { "ASC" } else { "DESC" };
        let cols: Vec<String> = COLS.split(", ").map(|c| format!("s.{c}")).collect();
        let conds = sql.conds.join(" AND ");
        let (limit, offset) = (sql.int(f.limit), sql.int(f.offset));
        let stmt = format!(
            "SELECT {} {from} WHERE {conds} ORDER BY s.start_time {order}, s.seq {order}, s.id {order} \
             LIMIT {limit} OFFSET {offset}",
            cols.join(", ")
        );
        let rows = sql.query(&stmt).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok((rows.iter().map(row_from).collect::<Result<_>>()?, total))
    }

    /// The `FROM` clause and conditions of the statements of `f` in `[from, to]`.
    pub(super) fn rows_of(
        &self,
        f: &SqlFilter,
        attrs: &[(&'static str, Vec<String>)],
        text: Option<&TextLookup<'_>>,
        from: i64,
        to: i64,
    ) -> (&'static str, Sql) {
        let mut sql = Sql::default();
        let pg = self.backend() == Backend::Postgres;
        let mut source = "FROM dbss_sqls s";
        if let Some(t) = text.filter(|t| !t.windows.is_empty()) {
            if pg {
                for w in &t.windows {
                    let m = sql.text(&format!("%{}%", like_escape(w)));
                    sql.conds.push(format!("s.sql_lower LIKE {m} ESCAPE '\\'"));
                }
            } else {
                source =
                    "FROM dbss_sqls_fts CROSS JOIN dbss_sqls s ON s.rowid = dbss_sqls_fts.rowid";
                let phrase: Vec<String> = t
                    .windows
                    .iter()
                    .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
                    .collect();
                let m = sql.text(&phrase.join(" AND "));
                sql.conds.push(format!("dbss_sqls_fts MATCH {m}"));
            }
        }
        let i = sql.text(&f.instance_id);
        sql.conds.push(format!("s.instance_id = {i}"));
        let (lo, hi) = (sql.int(from), sql.int(to));
        sql.conds.push(format!("s.start_time >= {lo}"));
        sql.conds.push(format!("s.start_time <= {hi}"));
        sql.attributes("s.", attrs, self.backend());
        if let Some(t) = text {
            let n = sql.text(t.needle);
            sql.conds.push(if pg {
                format!("strpos(s.sql_lower, {n}) > 0")
            } else {
                format!("instr(s.sql_lower, {n}) > 0")
            });
        }
        (source, sql)
    }

    /// How many statements match `f` (no text filter, only `dbss_sql_minutes`' columns): the
    /// window's whole minutes summed there, its partial minutes at both ends counted — each
    /// either directly or as its whole minute less the rest of it ([`MinutePlan`]).
    async fn count_by_minutes(
        &self,
        tx: &mut Transaction<'static, Any>,
        f: &SqlFilter,
        attrs: &[(&'static str, Vec<String>)],
    ) -> Result<i64> {
        let Some(plan) = MinutePlan::of(f.from, f.to, now_micros()) else {
            let (from, sql) = self.rows_of(f, attrs, None, f.from, f.to);
            let stmt = format!("SELECT COUNT(*) {from} WHERE {}", sql.conds.join(" AND "));
            return Ok(sql.query(&stmt).fetch_one(&mut **tx).await?.try_get(0)?);
        };
        let mut sql = Sql::default();
        let i = sql.text(&f.instance_id);
        let (a, b) = (sql.int(plan.minutes.0), sql.int(plan.minutes.1));
        sql.conds.extend([
            format!("instance_id = {i}"),
            format!("minute >= {a}"),
            format!("minute < {b}"),
        ]);
        sql.attributes("", attrs, self.backend());
        let mut expr = format!(
            "(SELECT COALESCE(SUM(stored), 0) FROM dbss_sql_minutes WHERE {})",
            sql.conds.join(" AND ")
        );
        for (lo, hi, sign) in plan.counts {
            sql.conds.clear();
            let i = sql.text(&f.instance_id);
            let (l, h) = (sql.int(lo), sql.int(hi));
            sql.conds.extend([
                format!("instance_id = {i}"),
                format!("start_time >= {l}"),
                format!("start_time <= {h}"),
            ]);
            sql.attributes("", attrs, self.backend());
            expr.push_str(&format!(
                " {sign} (SELECT COUNT(*) FROM dbss_sqls WHERE {})",
                sql.conds.join(" AND ")
            ));
        }
        let stmt = format!("SELECT CAST({expr} AS BIGINT)");
        Ok(sql.query(&stmt).fetch_one(&mut **tx).await?.try_get(0)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_minute_is_counted_on_its_shorter_side() {
        let m = |k: i64| k * MINUTE;
        // A window ending now, 50 s into minute 10: its whole minute less what is after `to`
        // (nothing yet); starting 10 s into minute 2: minute 2 less its first 10 s.
        let now = m(10) + 50_000_000;
        assert_eq!(
            MinutePlan::of(m(2) + 10_000_000, now, now),
            Some(MinutePlan {
                minutes: (2, 11),
                counts: vec![(m(2), m(2) + 9_999_999, '-'), (now + 1, m(11) - 1, '-')],
            })
        );
        // Starting 50 s into minute 2, ending 5 s into minute 10 with `now` later: both counted.
        assert_eq!(
            MinutePlan::of(m(2) + 50_000_000, m(10) + 5_000_000, m(20)),
            Some(MinutePlan {
                minutes: (3, 10),
                counts: vec![
                    (m(2) + 50_000_000, m(3) - 1, '+'),
                    (m(10), m(10) + 5_000_000, '+')
                ],
            })
        );
        // Whole minutes only; a window inside one minute has none.
        assert_eq!(
            MinutePlan::of(m(2), m(5) - 1, m(9)),
            Some(MinutePlan {
                minutes: (2, 5),
                counts: vec![]
            })
        );
        assert_eq!(MinutePlan::of(m(2) + 1, m(3) + 5, m(9)), None);
        // All time: no overflow, the ends counted directly.
        let all = MinutePlan::of(i64::MIN, i64::MAX, m(9)).expect("whole minutes");
        assert!(
            all.counts.iter().all(|c| c.2 == '+' && c.0 <= c.1),
            "{all:?}"
        );
    }
}
