//! Listings: one page of rows and the total that match, read in one read transaction (one
//! snapshot on both back-ends), so a page and its `total` agree under concurrent writes; and
//! [`Where`], the conditions of a listing with the values bound to their `$n` placeholders.
//! Every paged list of the store reads through [`Store::read_page`] (or, where its total comes
//! from elsewhere, [`Store::begin_read`] with [`page_rows`]).

use crate::{Result, Store};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Row, Transaction};

/// A value bound to one placeholder of a listing.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Text(String),
    Int(i64),
}

impl From<String> for Arg {
    fn from(v: String) -> Self {
        Self::Text(v)
    }
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Self::Text(v.to_string())
    }
}

impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Self::Text(v.clone())
    }
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}

/// The conditions of a listing, joined by `AND`, and the values of their placeholders in the
/// order they are numbered.
#[derive(Debug, Default)]
pub(crate) struct Where {
    conditions: Vec<String>,
    args: Vec<Arg>,
}

impl Where {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Bind `v` to the next placeholder and return it (`$n`), for a condition written out.
    pub(crate) fn mark(&mut self, v: impl Into<Arg>) -> String {
        self.args.push(v.into());
        format!("${}", self.args.len())
    }

    /// A condition as written, its placeholders from [`Where::mark`].
    pub(crate) fn and(&mut self, condition: impl Into<String>) -> &mut Self {
        self.conditions.push(condition.into());
        self
    }

    /// `column op $n`, `v` bound to `$n`.
    pub(crate) fn cmp(&mut self, column: &str, op: &str, v: impl Into<Arg>) -> &mut Self {
        let mark = self.mark(v);
        self.and(format!("{column} {op} {mark}"))
    }

    /// `column = $n`.
    pub(crate) fn eq(&mut self, column: &str, v: impl Into<Arg>) -> &mut Self {
        self.cmp(column, "=", v)
    }

    /// `column IN ($n, …)`, a placeholder for each of `values` (the caller answers an empty
    /// list itself: `IN ()` is not SQL).
    pub(crate) fn any(&mut self, column: &str, values: &[String]) -> &mut Self {
        let marks: Vec<String> = values.iter().map(|v| self.mark(v)).collect();
        self.and(format!("{column} IN ({})", marks.join(", ")))
    }

    /// The conditions as one SQL expression.
    fn clause(&self) -> String {
        if self.conditions.is_empty() {
            "1 = 1".to_string()
        } else {
            self.conditions.join(" AND ")
        }
    }

    /// `q` with every value bound, in order.
    fn bind<'q>(
        &'q self,
        mut q: Query<'q, Any, AnyArguments<'q>>,
    ) -> Query<'q, Any, AnyArguments<'q>> {
        for a in &self.args {
            q = match a {
                Arg::Text(t) => q.bind(t.as_str()),
                Arg::Int(i) => q.bind(*i),
            };
        }
        q
    }
}

/// `limit` rows of `table` from `offset` that `filter` selects, in `order_by` (an `ORDER BY`
/// list), read on `conn` (a read transaction's, for a page that agrees with its total).
pub(crate) async fn page_rows(
    conn: &mut AnyConnection,
    table: &str,
    cols: &str,
    filter: &Where,
    order_by: &str,
    offset: i64,
    limit: i64,
) -> Result<Vec<AnyRow>> {
    let n = filter.args.len();
    let sql = format!(
        "SELECT {cols} FROM {table} WHERE {} ORDER BY {order_by} LIMIT ${} OFFSET ${}",
        filter.clause(),
        n + 1,
        n + 2
    );
    let rows = filter
        .bind(sqlx::query(&sql))
        .bind(limit)
        .bind(offset)
        .fetch_all(conn)
        .await?;
    Ok(rows)
}

/// How many rows of `table` `filter` selects, read on `conn`.
pub(crate) async fn count_rows(
    conn: &mut AnyConnection,
    table: &str,
    filter: &Where,
) -> Result<i64> {
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE {}", filter.clause());
    let row = filter.bind(sqlx::query(&sql)).fetch_one(conn).await?;
    Ok(row.try_get(0)?)
}

impl Store {
    /// Begin a read-only transaction whose reads all see one snapshot of the database: on
    /// PostgreSQL `REPEATABLE READ READ ONLY` (which never fails to serialize); on SQLite a
    /// deferred transaction, whose first read fixes its snapshot in WAL mode until it ends.
    /// Cancellation-safe as [`Store::begin_write`] is.
    pub(crate) async fn begin_read(&self) -> Result<Transaction<'static, Any>> {
        self.begin_in_task(match self.backend() {
            crate::Backend::Sqlite => None,
            crate::Backend::Postgres => Some("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"),
        })
        .await
    }

    /// A page of the rows of `table` that `filter` selects ([`page_rows`]) and how many it
    /// selects in all, read in one read transaction: the total counts the rows the page was
    /// cut from, whatever commits meanwhile.
    pub(crate) async fn read_page(
        &self,
        table: &str,
        cols: &str,
        filter: &Where,
        order_by: &str,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<AnyRow>, i64)> {
        let mut tx = self.begin_read().await?;
        let rows = page_rows(&mut tx, table, cols, filter, order_by, offset, limit).await?;
        let total = count_rows(&mut tx, table, filter).await?;
        tx.commit().await?;
        Ok((rows, total))
    }
}
