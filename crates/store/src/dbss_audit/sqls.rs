//! Captured statements: inserted in multi-row statements per batch (a conflict on the agent's
//! `(agent, db, seq)` inserts nothing: re-sent events are counted as duplicates; the new ones
//! bump the statistics counters ([`super::counters`]) and the per-day counts of
//! [`super::storage`] and [`super::sql_minutes`] in the same transaction), read one by one;
//! listed by [`super::listing`].

use super::storage::{day_of, move_sql_days};
use crate::{Backend, Result, Store, StoreError};
use plugboard_core::time::Micros;
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::BTreeMap;

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
/// Rows per INSERT (33 binds each: under SQLite's 32,766 and PostgreSQL's 65,535 parameters).
const CHUNK: usize = 400;

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

impl Store {
    /// Insert statements in one transaction, skipping those already stored (same agent,
    /// database and `seq`). Returns the rows inserted, in `rows` order (`true` = new).
    pub async fn insert_audit_sqls(&self, rows: &[SqlRow]) -> Result<Vec<bool>> {
        // On PostgreSQL a row is routed to its partition when the INSERT starts; when the
        // storage keeper attaches that day's partition meanwhile (it holds the default
        // partition while it moves the day's rows out), the row routed to the default
        // partition no longer fits it (23514). Run again, it is routed to the new partition.
        let mut tries = 0;
        loop {
            match self
                .retry_conflicts("store audit statements", || {
                    self.insert_audit_sqls_once(rows)
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

    async fn insert_audit_sqls_once(&self, rows: &[SqlRow]) -> Result<Vec<bool>> {
        let mut inserted = Vec::with_capacity(rows.len());
        // On PostgreSQL the table is partitioned by `start_time`, which every unique key holds.
        let conflict = match self.backend() {
            Backend::Sqlite => "(agent_id, db_id, seq)",
            Backend::Postgres => "(agent_id, db_id, seq, start_time)",
        };
        let mut tx = self.begin_write().await?;
        for chunk in rows.chunks(CHUNK) {
            let mut sql = format!("INSERT INTO dbss_sqls ({COLS}) VALUES ");
            for i in 0..chunk.len() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                for c in 0..NCOLS {
                    if c > 0 {
                        sql.push_str(", ");
                    }
                    sql.push_str(&format!("${}", i * NCOLS + c + 1));
                }
                sql.push(')');
            }
            sql.push_str(&format!(" ON CONFLICT {conflict} DO NOTHING RETURNING id"));
            let mut q = sqlx::query(&sql);
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
            let ids: std::collections::HashSet<String> = q
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| r.try_get::<String, _>(0))
                .collect::<std::result::Result<_, _>>()?;
            inserted.extend(chunk.iter().map(|r| ids.contains(&r.id)));
        }
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
        tx.commit().await?;
        Ok(inserted)
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
