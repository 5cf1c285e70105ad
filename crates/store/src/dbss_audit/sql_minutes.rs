//! How many statements each instance holds per minute of statement time and per value of the
//! list filters whose values are few (`dbss_sql_minutes`: database, risk level, query type,
//! response, matched rule, client program), moved in the transaction that stores or deletes
//! the statements (like the per-day counts of [`super::storage`]). ListAuditSqls' `total`
//! sums whole minutes here instead of counting millions of rows ([`super::listing`]).

use super::sqls::SqlRow;
use crate::Result;
use plugboard_core::time::Micros;
use sqlx::AnyConnection;
use std::collections::BTreeMap;

/// A minute in microseconds.
pub const MINUTE: Micros = 60_000_000;
/// Rows per upsert (9 binds each).
const CHUNK: usize = 500;

/// The minute (minutes since the epoch, rounded down) a time falls in.
pub fn minute_of(t: Micros) -> i64 {
    t.div_euclid(MINUTE)
}

/// One row of `dbss_sql_minutes` without its count.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct MinuteKey {
    pub instance_id: String,
    pub minute: i64,
    pub db_id: String,
    pub risk_level: String,
    pub query_type: String,
    pub sql_response: String,
    pub rule_name: String,
    pub client_name: String,
}

impl MinuteKey {
    pub(crate) fn of(r: &SqlRow) -> Self {
        Self {
            instance_id: r.instance_id.clone(),
            minute: minute_of(r.start_time),
            db_id: r.db_id.clone(),
            risk_level: r.risk_level.clone(),
            query_type: r.query_type.clone(),
            sql_response: r.sql_response.clone(),
            rule_name: r.rule_name.clone(),
            client_name: r.client_name.clone(),
        }
    }
}

/// The per-minute counts of `rows`, summed.
pub(crate) fn tally<'a>(rows: impl IntoIterator<Item = &'a SqlRow>) -> BTreeMap<MinuteKey, i64> {
    let mut out = BTreeMap::new();
    for r in rows {
        *out.entry(MinuteKey::of(r)).or_insert(0) += 1;
    }
    out
}

/// Add (`sign` 1) or take away (`sign` -1) statements from the per-minute counts inside the
/// transaction that stores or deletes them (in key order, so concurrent writers lock rows
/// alike); counts that reach 0 go.
pub(crate) async fn move_sql_minutes(
    conn: &mut AnyConnection,
    counts: &BTreeMap<MinuteKey, i64>,
    sign: i64,
) -> Result<()> {
    let items: Vec<(&MinuteKey, i64)> = counts
        .iter()
        .filter(|(_, n)| **n != 0)
        .map(|(k, n)| (k, sign * n))
        .collect();
    for chunk in items.chunks(CHUNK) {
        let mut sql = String::from(
            "INSERT INTO dbss_sql_minutes (instance_id, minute, db_id, risk_level, query_type, \
             sql_response, rule_name, client_name, stored) VALUES ",
        );
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            let b = i * 9;
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8,
                b + 9
            ));
        }
        sql.push_str(
            " ON CONFLICT (instance_id, minute, db_id, risk_level, query_type, sql_response, \
             rule_name, client_name) DO UPDATE SET stored = dbss_sql_minutes.stored + excluded.stored",
        );
        let mut q = sqlx::query(&sql);
        for (k, n) in chunk {
            q = q
                .bind(&k.instance_id)
                .bind(k.minute)
                .bind(&k.db_id)
                .bind(&k.risk_level)
                .bind(&k.query_type)
                .bind(&k.sql_response)
                .bind(&k.rule_name)
                .bind(&k.client_name)
                .bind(*n);
        }
        q.execute(&mut *conn).await?;
    }
    if sign < 0 {
        // Only the minutes just touched: the table holds every minute of every instance.
        let mut spans: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
        for (k, _) in &items {
            let e = spans
                .entry(k.instance_id.as_str())
                .or_insert((k.minute, k.minute));
            e.0 = e.0.min(k.minute);
            e.1 = e.1.max(k.minute);
        }
        for (instance, (lo, hi)) in spans {
            sqlx::query(
                "DELETE FROM dbss_sql_minutes WHERE instance_id = $1 AND minute >= $2 \
                 AND minute <= $3 AND stored <= 0",
            )
            .bind(instance)
            .bind(lo)
            .bind(hi)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// Forget the counts of the minutes in `[lo, hi)` of every instance (a dropped partition).
pub(crate) async fn forget_minutes(conn: &mut AnyConnection, lo: i64, hi: i64) -> Result<()> {
    sqlx::query("DELETE FROM dbss_sql_minutes WHERE minute >= $1 AND minute < $2")
        .bind(lo)
        .bind(hi)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_round_down_before_the_epoch_too() {
        assert_eq!(minute_of(0), 0);
        assert_eq!(minute_of(MINUTE - 1), 0);
        assert_eq!(minute_of(MINUTE), 1);
        assert_eq!(minute_of(-1), -1);
        assert_eq!(minute_of(-MINUTE), -1);
        assert_eq!(minute_of(-MINUTE - 1), -2);
    }
}
