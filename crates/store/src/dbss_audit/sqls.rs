//! Captured statements: inserted per batch in one statement on PostgreSQL (`UNNEST` of one
//! array per column) and in multi-row statements on SQLite (a conflict on the agent's
//! `(agent, db, seq)` inserts nothing: re-sent events are counted as duplicates; the new ones
//! bump the statistics counters ([`super::counters`]) and the per-day counts of
//! [`super::storage`] and [`super::sql_minutes`] in the same transaction), read one by one;
//! listed by [`super::listing`].

use super::qps::{QpsDraw, QpsOutcome};
use super::storage::{day_of, move_sql_days};
use crate::{Backend, Result, Store, StoreError};
use plugboard_core::time::Micros;
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::{BTreeMap, HashSet};

/// One captured statement (login, logout and failed login are statements too).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SqlRow {
    pub id: String,
    pub instance_id: String,
    pub db_id: String,
    pub agent_id: String,
    pub seq: i64,
    pub start_time: Micros,
    /// Duration in ms (0: unknown).
    pub execute_time: i64,
    pub client_ip: String,
    pub client_port: i64,
    pub client_name: String,
    pub db_user: String,
    pub db_service_name: String,
    pub db_session_id: String,
    pub query_id: String,
    pub query_type: String,
    /// JSON array of `{schema_name, table_name, object_type, sql_type}`.
    pub objects: String,
    pub object_name: String,
    pub object_type: String,
    pub schema_name: String,
    pub sql_statement: String,
    /// Rows affected, as text (`""`: unknown).
    pub lines: String,
    pub log_result: String,
    pub response_status: String,
    pub sql_response: String,
    pub sql_result: String,
    pub risk_level: String,
    pub rule_id: String,
    pub rule_name: String,
    pub rule_type: String,
    pub scope_id: String,
    pub scope_name: String,
    pub created_at: Micros,
}

/// The filters of a statement listing; empty/`None` = no filter.
#[derive(Debug, Clone, Default)]
pub struct SqlFilter {
    pub instance_id: String,
    /// `[from, to]` on `start_time`.
    pub from: Micros,
    pub to: Micros,
    pub risk_levels: Vec<String>,
    pub client_ip: Option<String>,
    pub client_name: Option<String>,
    /// Only these databases (from a `db_ip` filter).
    pub db_ids: Option<Vec<String>>,
    pub db_user: Option<String>,
    pub query_type: Option<String>,
    pub rule_name: Option<String>,
    /// Lower-cased substring of the statement.
    pub sql_contains: Option<String>,
    pub sql_response: Option<String>,
    pub ascending: bool,
    pub offset: i64,
    pub limit: i64,
}

pub(crate) const COLS: &str = "id, instance_id, db_id, agent_id, seq, start_time, execute_time, client_ip, client_port, client_name, db_user, db_service_name, db_session_id, query_id, query_type, objects, object_name, object_type, schema_name, sql_statement, sql_lower, lines, log_result, response_status, sql_response, sql_result, risk_level, rule_id, rule_name, rule_type, scope_id, scope_name, created_at";
const NCOLS: usize = 33;
/// Rows per SQLite INSERT (33 binds each: under SQLite's 32,766 parameters).
const CHUNK: usize = 990;

pub(crate) fn row_from(r: &AnyRow) -> Result<SqlRow> {
    Ok(SqlRow {
        id: r.try_get("id")?,
        instance_id: r.try_get("instance_id")?,
        db_id: r.try_get("db_id")?,
        agent_id: r.try_get("agent_id")?,
        seq: r.try_get("seq")?,
        start_time: r.try_get("start_time")?,
        execute_time: r.try_get("execute_time")?,
        client_ip: r.try_get("client_ip")?,
        client_port: r.try_get("client_port")?,
        client_name: r.try_get("client_name")?,
        db_user: r.try_get("db_user")?,
        db_service_name: r.try_get("db_service_name")?,
        db_session_id: r.try_get("db_session_id")?,
        query_id: r.try_get("query_id")?,
        query_type: r.try_get("query_type")?,
        objects: r.try_get("objects")?,
        object_name: r.try_get("object_name")?,
        object_type: r.try_get("object_type")?,
        schema_name: r.try_get("schema_name")?,
        sql_statement: r.try_get("sql_statement")?,
        lines: r.try_get("lines")?,
        log_result: r.try_get("log_result")?,
        response_status: r.try_get("response_status")?,
        sql_response: r.try_get("sql_response")?,
        sql_result: r.try_get("sql_result")?,
        risk_level: r.try_get("risk_level")?,
        rule_id: r.try_get("rule_id")?,
        rule_name: r.try_get("rule_name")?,
        rule_type: r.try_get("rule_type")?,
        scope_id: r.try_get("scope_id")?,
        scope_name: r.try_get("scope_name")?,
        created_at: r.try_get("created_at")?,
    })
}

/// The columns' PostgreSQL array types, in [`COLS`] order (for `UNNEST`).
const PG_TYPES: [&str; NCOLS] = [
    "text", "text", "text", "text", "bigint", "bigint", "bigint", "text", "bigint", "text", "text",
    "text", "text", "text", "text", "text", "text", "text", "text", "text", "text", "text", "text",
    "text", "text", "text", "text", "text", "text", "text", "text", "text", "bigint",
];

/// A PostgreSQL array literal of texts (`{"a","b\"c"}`), for one bind of a whole column.
fn text_array<'a>(values: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::from("{");
    for (i, v) in values.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        for c in v.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    }
    out.push('}');
    out
}

/// A PostgreSQL array literal of integers.
fn int_array(values: impl Iterator<Item = i64>) -> String {
    let mut out = String::from("{");
    for (i, v) in values.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&v.to_string());
    }
    out.push('}');
    out
}

/// `INSERT … VALUES` of `n` rows (SQLite), `ON CONFLICT … DO NOTHING`. The
/// parameters are anonymous `?`: SQLite keeps `$1`, `$2`, … as *named* parameters in a list it
/// searches from the start for each one (when the statement is parsed, and again when sqlx
/// binds by name), which is quadratic in the parameters — with 13,200 of them (400 rows) that
/// search was nine tenths of ingest.
fn values_insert(n: usize) -> String {
    let mut sql = format!("INSERT INTO dbss_sqls ({COLS}) VALUES ");
    let row = format!("({})", vec!["?"; NCOLS].join(", "));
    for i in 0..n {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&row);
    }
    sql.push_str(" ON CONFLICT (agent_id, db_id, seq) DO NOTHING");
    sql
}

/// The statement of a full SQLite chunk, built once.
fn full_chunk_insert() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| values_insert(CHUNK))
}

impl Store {
    /// Insert statements in one transaction, skipping those already stored (same agent,
    /// database and `seq`). Returns the rows inserted, in `rows` order (`true` = new).
    pub async fn insert_audit_sqls(&self, rows: &[SqlRow]) -> Result<Vec<bool>> {
        Ok(self.ingest_audit_sqls(rows, None).await?.0)
    }

    /// [`Self::insert_audit_sqls`], drawing the batch from its instance's QPS budget in the
    /// same transaction when `draw` is given (one write transaction per batch).
    pub async fn ingest_audit_sqls(
        &self,
        rows: &[SqlRow],
        draw: Option<&QpsDraw>,
    ) -> Result<(Vec<bool>, Option<QpsOutcome>)> {
        // On PostgreSQL a row is routed to its partition when the INSERT starts; when the
        // storage keeper attaches that day's partition meanwhile (it holds the default
        // partition while it moves the day's rows out), the row routed to the default
        // partition no longer fits it (23514). Run again, it is routed to the new partition.
        let mut tries = 0;
        loop {
            match self
                .retry_conflicts("store audit statements", || {
                    self.insert_audit_sqls_once(rows, draw)
                })
                .await
            {
                Err(StoreError::Db(e)) if tries < 3 && routed_before_a_new_partition(&e) => {
                    tries += 1;
                }
                other => return other,
            }
        }
    }

    /// The ids of the rows inserted, SQLite: multi-row `INSERT … VALUES` of [`CHUNK`] rows;
    /// when a chunk stored fewer rows than it holds, the ids are looked up.
    async fn insert_values(
        conn: &mut sqlx::AnyConnection,
        rows: &[SqlRow],
    ) -> Result<HashSet<String>> {
        let mut ids = HashSet::with_capacity(rows.len());
        for chunk in rows.chunks(CHUNK) {
            let partial;
            let sql = if chunk.len() == CHUNK {
                full_chunk_insert()
            } else {
                partial = values_insert(chunk.len());
                partial.as_str()
            };
            let mut q = sqlx::query(sql);
            for r in chunk {
                q = q
                    .bind(&r.id)
                    .bind(&r.instance_id)
                    .bind(&r.db_id)
                    .bind(&r.agent_id)
                    .bind(r.seq)
                    .bind(r.start_time)
                    .bind(r.execute_time)
                    .bind(&r.client_ip)
                    .bind(r.client_port)
                    .bind(&r.client_name)
                    .bind(&r.db_user)
                    .bind(&r.db_service_name)
                    .bind(&r.db_session_id)
                    .bind(&r.query_id)
                    .bind(&r.query_type)
                    .bind(&r.objects)
                    .bind(&r.object_name)
                    .bind(&r.object_type)
                    .bind(&r.schema_name)
                    .bind(&r.sql_statement)
                    .bind(r.sql_statement.to_lowercase())
                    .bind(&r.lines)
                    .bind(&r.log_result)
                    .bind(&r.response_status)
                    .bind(&r.sql_response)
                    .bind(&r.sql_result)
                    .bind(&r.risk_level)
                    .bind(&r.rule_id)
                    .bind(&r.rule_name)
                    .bind(&r.rule_type)
                    .bind(&r.scope_id)
                    .bind(&r.scope_name)
                    .bind(r.created_at);
            }
            let stored = q.execute(&mut *conn).await?.rows_affected();
            if stored == chunk.len() as u64 {
                ids.extend(chunk.iter().map(|r| r.id.clone()));
                continue;
            }
            // Some were stored already (a batch sent again): which of the new ids are in.
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!("SELECT id FROM dbss_sqls WHERE id IN ({marks})");
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q.bind(&r.id);
            }
            for row in q.fetch_all(&mut *conn).await? {
                ids.insert(row.try_get::<String, _>(0)?);
            }
        }
        Ok(ids)
    }

    /// The ids of the rows inserted, PostgreSQL: the whole batch in one plain `INSERT` inside
    /// a savepoint, and only when it breaks a unique key (a batch sent again after an agent's
    /// restart or a lost acknowledgement) again with `ON CONFLICT … DO NOTHING`, which skips
    /// the rows stored already. `ON CONFLICT` looks each row up in the `(agent, db, seq)` key
    /// before inserting it (a speculative insertion): 2–4 µs of the backend's CPU a row that
    /// a batch of new statements — nearly every batch — does not need.
    async fn insert_unnest(
        conn: &mut sqlx::AnyConnection,
        rows: &[SqlRow],
    ) -> Result<HashSet<String>> {
        sqlx::query("SAVEPOINT dbss_sqls_batch")
            .execute(&mut *conn)
            .await?;
        match Self::insert_unnest_as(conn, rows, false).await {
            Ok(ids) => {
                sqlx::query("RELEASE SAVEPOINT dbss_sqls_batch")
                    .execute(&mut *conn)
                    .await?;
                Ok(ids)
            }
            Err(StoreError::Db(sqlx::Error::Database(e))) if e.is_unique_violation() => {
                sqlx::query("ROLLBACK TO SAVEPOINT dbss_sqls_batch")
                    .execute(&mut *conn)
                    .await?;
                Self::insert_unnest_as(conn, rows, true).await
            }
            Err(e) => Err(e),
        }
    }

    /// One `INSERT … SELECT FROM UNNEST(…)` of the whole batch, each column bound once as an
    /// array (33 parameters, not 33 a row); `skip_stored`: `ON CONFLICT … DO NOTHING`.
    async fn insert_unnest_as(
        conn: &mut sqlx::AnyConnection,
        rows: &[SqlRow],
        skip_stored: bool,
    ) -> Result<HashSet<String>> {
        static SQL: [std::sync::OnceLock<String>; 2] =
            [std::sync::OnceLock::new(), std::sync::OnceLock::new()];
        let sql = SQL[usize::from(skip_stored)].get_or_init(|| {
            let arrays: Vec<String> = PG_TYPES
                .iter()
                .enumerate()
                .map(|(i, t)| format!("${}::{t}[]", i + 1))
                .collect();
            let conflict = if skip_stored {
                " ON CONFLICT (agent_id, db_id, seq, start_time) DO NOTHING"
            } else {
                ""
            };
            format!(
                "INSERT INTO dbss_sqls ({COLS}) SELECT * FROM UNNEST({}){conflict} RETURNING id",
                arrays.join(", ")
            )
        });
        let t = |f: fn(&SqlRow) -> &str| text_array(rows.iter().map(f));
        let n = |f: fn(&SqlRow) -> i64| int_array(rows.iter().map(f));
        let lower: Vec<String> = rows
            .iter()
            .map(|r| r.sql_statement.to_lowercase())
            .collect();
        let q = sqlx::query(sql)
            .bind(t(|r| &r.id))
            .bind(t(|r| &r.instance_id))
            .bind(t(|r| &r.db_id))
            .bind(t(|r| &r.agent_id))
            .bind(n(|r| r.seq))
            .bind(n(|r| r.start_time))
            .bind(n(|r| r.execute_time))
            .bind(t(|r| &r.client_ip))
            .bind(n(|r| r.client_port))
            .bind(t(|r| &r.client_name))
            .bind(t(|r| &r.db_user))
            .bind(t(|r| &r.db_service_name))
            .bind(t(|r| &r.db_session_id))
            .bind(t(|r| &r.query_id))
            .bind(t(|r| &r.query_type))
            .bind(t(|r| &r.objects))
            .bind(t(|r| &r.object_name))
            .bind(t(|r| &r.object_type))
            .bind(t(|r| &r.schema_name))
            .bind(t(|r| &r.sql_statement))
            .bind(text_array(lower.iter().map(String::as_str)))
            .bind(t(|r| &r.lines))
            .bind(t(|r| &r.log_result))
            .bind(t(|r| &r.response_status))
            .bind(t(|r| &r.sql_response))
            .bind(t(|r| &r.sql_result))
            .bind(t(|r| &r.risk_level))
            .bind(t(|r| &r.rule_id))
            .bind(t(|r| &r.rule_name))
            .bind(t(|r| &r.rule_type))
            .bind(t(|r| &r.scope_id))
            .bind(t(|r| &r.scope_name))
            .bind(n(|r| r.created_at));
        let mut ids = HashSet::with_capacity(rows.len());
        for row in q.fetch_all(&mut *conn).await? {
            ids.insert(row.try_get::<String, _>(0)?);
        }
        Ok(ids)
    }

    async fn insert_audit_sqls_once(
        &self,
        rows: &[SqlRow],
        draw: Option<&QpsDraw>,
    ) -> Result<(Vec<bool>, Option<QpsOutcome>)> {
        let mut tx = self.begin_ingest_write().await?;
        let ids = if rows.is_empty() {
            HashSet::new()
        } else {
            match self.backend() {
                Backend::Sqlite => Self::insert_values(&mut tx, rows).await?,
                Backend::Postgres => Self::insert_unnest(&mut tx, rows).await?,
            }
        };
        let inserted: Vec<bool> = rows.iter().map(|r| ids.contains(&r.id)).collect();
        let mut days = BTreeMap::new();
        for (r, new) in rows.iter().zip(&inserted) {
            if *new {
                *days
                    .entry((r.instance_id.clone(), day_of(r.start_time)))
                    .or_insert(0) += 1;
            }
        }
        move_sql_days(&mut tx, &days, 1).await?;
        // The statistics counters of the statements just stored, in the same transaction.
        let new: Vec<&SqlRow> = rows
            .iter()
            .zip(&inserted)
            .filter(|(_, n)| **n)
            .map(|(r, _)| r)
            .collect();
        super::counters::bump(&mut tx, &new).await?;
        super::sql_minutes::move_sql_minutes(&mut tx, &super::sql_minutes::tally(new), 1).await?;
        // Last, so concurrent batches on PostgreSQL wait for the budget's row only briefly.
        let qps = match draw {
            Some(d) => Some(super::qps::draw(&mut tx, self.backend(), d).await?),
            None => None,
        };
        tx.commit().await?;
        Ok((inserted, qps))
    }

    /// One statement of an instance.
    pub async fn get_audit_sql(&self, instance_id: &str, id: &str) -> Result<SqlRow> {
        let row = sqlx::query(&format!(
            "SELECT {COLS} FROM dbss_sqls WHERE id = $1 AND instance_id = $2"
        ))
        .bind(id)
        .bind(instance_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        row_from(&row)
    }
}

/// Whether `e` is a row that was routed to the default partition before its day's partition
/// was attached (PostgreSQL's check violation on `dbss_sqls_default`).
fn routed_before_a_new_partition(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db)
        if db.code().as_deref() == Some("23514") && db.message().contains("dbss_sqls_default"))
}
