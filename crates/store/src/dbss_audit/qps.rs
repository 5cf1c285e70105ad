//! The QPS budget of an audit instance (docs/dbss-audit.md → The QPS budget): a token bucket
//! kept in the store, so every plugboard process on it draws from the same budget, taken from
//! and refilled in one transaction per batch; and the `AUDIT_QPS_OVERFLOW` alarm it opens after
//! a stretch over budget and closes after as long a stretch within it.

use crate::{Backend, Result, Store};
use plugboard_core::time::Micros;
use sqlx::Row;

/// An instance's budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QpsBudget {
    /// Statements per second (at least 1).
    pub rate: i64,
    /// Seconds of `rate` the bucket holds (the burst).
    pub burst_seconds: i64,
    /// How long batches must be throttled without a break before the alarm opens, and how
    /// long within budget before it closes.
    pub overflow_after: Micros,
}

/// What the bucket said of one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QpsOutcome {
    /// The batch came over budget: accepted, but the agent must wait.
    pub throttled: bool,
    /// How long the agent should wait before its next batch (0 when not throttled).
    pub retry_after_ms: i64,
    /// The overflow alarm opened with this batch.
    pub alarm_opened: bool,
}

/// A batch's draw from its instance's budget, made inside the transaction that stores it
/// ([`Store::ingest_audit_sqls`]).
#[derive(Debug, Clone)]
pub struct QpsDraw {
    pub instance_id: String,
    /// Statements in the batch.
    pub n: i64,
    pub now: Micros,
    pub budget: QpsBudget,
    /// Names an overflow alarm it opens.
    pub new_id: fn() -> String,
}

impl QpsBudget {
    fn capacity(&self) -> i64 {
        self.rate.max(1) * self.burst_seconds.max(1) * 1000
    }
}

impl Store {
    /// Take `n` statements from the instance's bucket at `now`: never refused, but `throttled`
    /// when the bucket ran dry. Opens the overflow alarm (`new_id` names it) when batches have
    /// been throttled for `overflow_after`; closes it when none has been for as long.
    pub async fn take_audit_qps(
        &self,
        instance_id: &str,
        n: i64,
        now: Micros,
        budget: QpsBudget,
        new_id: fn() -> String,
    ) -> Result<QpsOutcome> {
        let mut tx = self.begin_write().await?;
        let out = draw(
            &mut tx,
            self.backend(),
            &QpsDraw {
                instance_id: instance_id.to_string(),
                n,
                now,
                budget,
                new_id,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Close the instance's overflow alarm when no batch has been throttled for
    /// `overflow_after` (read before listing alarms).
    pub async fn close_calm_audit_qps_alarm(
        &self,
        instance_id: &str,
        now: Micros,
        overflow_after: Micros,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        close_calm(&mut tx, instance_id, now, overflow_after).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Take `d.n` statements from the instance's bucket inside `conn`'s transaction (see
/// [`Store::take_audit_qps`]).
pub(crate) async fn draw(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    d: &QpsDraw,
) -> Result<QpsOutcome> {
    let (instance_id, n, now, budget) = (d.instance_id.as_str(), d.n, d.now, d.budget);
    let cap = budget.capacity();
    let rate = budget.rate.max(1);
    sqlx::query("INSERT INTO dbss_audit_qps (instance_id, tokens, updated_at, over_since, last_over_at) VALUES ($1, $2, $3, 0, 0) ON CONFLICT (instance_id) DO NOTHING")
        .bind(instance_id)
        .bind(cap)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let row = sqlx::query(&format!(
        "SELECT tokens, updated_at, over_since, last_over_at FROM dbss_audit_qps WHERE instance_id = $1{lock}"
    ))
    .bind(instance_id)
    .fetch_one(&mut *conn)
    .await?;
    let (tokens, updated_at, over_since, last_over_at): (i64, i64, i64, i64) = (
        row.try_get(0)?,
        row.try_get(1)?,
        row.try_get(2)?,
        row.try_get(3)?,
    );
    // Time past repaying the deepest debt and a full refill adds nothing (nor overflows).
    let elapsed = (now - updated_at).clamp(0, 2 * budget.burst_seconds.max(1) * 1_000_000);
    let refilled = (tokens + elapsed * rate / 1000).min(cap);
    // What a batch owes is capped at one burst, so an agent never waits longer than that.
    let left = (refilled - n.max(0).saturating_mul(1000)).max(-cap);
    let throttled = left < 0;
    let (over_since, last_over_at) = if throttled {
        (if over_since == 0 { now } else { over_since }, now)
    } else {
        (0, last_over_at)
    };
    sqlx::query("UPDATE dbss_audit_qps SET tokens = $2, updated_at = $3, over_since = $4, last_over_at = $5 WHERE instance_id = $1")
        .bind(instance_id)
        .bind(left)
        .bind(now.max(updated_at))
        .bind(over_since)
        .bind(last_over_at)
        .execute(&mut *conn)
        .await?;
    let mut alarm_opened = false;
    if throttled {
        let bumped = sqlx::query("UPDATE dbss_alarms SET match_count = match_count + 1, last_match_at = $2 WHERE instance_id = $1 AND alarm_type = 'AUDIT_QPS_OVERFLOW' AND life = 'ON'")
            .bind(instance_id)
            .bind(now)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        if bumped == 0 && now - over_since >= budget.overflow_after {
            sqlx::query("INSERT INTO dbss_alarms (id, instance_id, alarm_type, risk, status, life, rule_id, rule_name, db_id, db_label, match_count, alarm_time, last_match_at, fix_time) VALUES ($1, $2, 'AUDIT_QPS_OVERFLOW', 'HIGH', 'UNDO', 'ON', '', $3, '', '', 1, $4, $4, 0)")
                .bind((d.new_id)())
                .bind(instance_id)
                .bind(format!("{rate} statements/s"))
                .bind(now)
                .execute(&mut *conn)
                .await?;
            alarm_opened = true;
        }
    } else {
        close_calm(conn, instance_id, now, budget.overflow_after).await?;
    }
    Ok(QpsOutcome {
        throttled,
        retry_after_ms: if throttled {
            (-left + rate - 1) / rate
        } else {
            0
        },
        alarm_opened,
    })
}

async fn close_calm(
    conn: &mut sqlx::AnyConnection,
    instance_id: &str,
    now: Micros,
    overflow_after: Micros,
) -> Result<()> {
    sqlx::query("UPDATE dbss_alarms SET life = 'OFF', fix_time = last_match_at + $3 WHERE instance_id = $1 AND alarm_type = 'AUDIT_QPS_OVERFLOW' AND life = 'ON' AND last_match_at <= $2")
        .bind(instance_id)
        .bind(now - overflow_after)
        .bind(overflow_after)
        .execute(conn)
        .await?;
    Ok(())
}
