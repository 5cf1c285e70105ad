//! Lockout state (failed logins per user, bad signatures per access key), held in the store so
//! every process of a deployment counts the same failures: N processes together allow the
//! threshold, not N times it. Each failure is one atomic upsert, so concurrent failures on
//! several processes are all counted.

use crate::{Result, Store};
use plugboard_core::time::Micros;
use sqlx::Row;

/// What is locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    /// A user's password logins (subject: the user id).
    User,
    /// An access key's signed requests (subject: the AK).
    AccessKey,
}

impl LockKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::AccessKey => "access_key",
        }
    }
}

/// How failures turn into locks.
#[derive(Debug, Clone, Copy)]
pub struct LockPolicy {
    /// Consecutive failures that lock (0: never).
    pub threshold: u32,
    /// How long a lock lasts, micros. Failures count as consecutive while each follows the
    /// previous one within this time.
    pub lock_micros: i64,
}

/// The state of one subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockState {
    pub failures: i64,
    pub last_failure_at: Micros,
    pub locked_until: Option<Micros>,
}

impl LockState {
    /// Locked at `now`?
    pub fn locked_at(&self, now: Micros) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }
}

/// A failure just counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureOutcome {
    pub state: LockState,
    /// This failure is the one that locked the subject.
    pub locked_now: bool,
}

/// A row of the lockout listing, with the user it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockoutEntry {
    pub kind: LockKind,
    /// The user id or the access key.
    pub subject: String,
    pub user_id: String,
    pub user_name: String,
    pub state: LockState,
}

fn state(row: &sqlx::any::AnyRow, at: usize) -> Result<LockState> {
    Ok(LockState {
        failures: row.try_get(at)?,
        last_failure_at: row.try_get(at + 1)?,
        locked_until: row.try_get(at + 2)?,
    })
}

impl Store {
    /// The lockout state of `subject`, if it has one.
    pub async fn lock_state(&self, kind: LockKind, subject: &str) -> Result<Option<LockState>> {
        let row = sqlx::query(
            "SELECT failures, last_failure_at, locked_until FROM lockouts \
             WHERE kind = $1 AND subject = $2",
        )
        .bind(kind.as_str())
        .bind(subject)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| state(&r, 0)).transpose()
    }

    /// Count a failure for `subject` at `now`, atomically. While locked nothing changes; a
    /// lock that ran out, or a last failure older than the lock time, starts the count again;
    /// the `threshold`-th consecutive failure locks until `now + lock_micros`.
    pub async fn record_lock_failure(
        &self,
        kind: LockKind,
        subject: &str,
        now: Micros,
        policy: LockPolicy,
    ) -> Result<FailureOutcome> {
        // In DO UPDATE every unqualified or `lockouts.` column is the row as it was, on both
        // back-ends, so each SET sees the old values.
        let locked = "(lockouts.locked_until IS NOT NULL AND lockouts.locked_until > $3)";
        let restart = "(lockouts.locked_until IS NOT NULL OR $3 - lockouts.last_failure_at > $5)";
        let failures = format!(
            "CASE WHEN {locked} THEN lockouts.failures WHEN {restart} THEN 1 \
             ELSE lockouts.failures + 1 END"
        );
        let sql = format!(
            "INSERT INTO lockouts (kind, subject, failures, last_failure_at, locked_until) \
             VALUES ($1, $2, 1, $3, CASE WHEN $4 <= 1 THEN $3 + $5 ELSE NULL END) \
             ON CONFLICT (kind, subject) DO UPDATE SET \
               failures = {failures}, \
               last_failure_at = CASE WHEN {locked} THEN lockouts.last_failure_at ELSE $3 END, \
               locked_until = CASE WHEN {locked} THEN lockouts.locked_until \
                 WHEN {failures} >= $4 THEN $3 + $5 ELSE NULL END \
             RETURNING failures, last_failure_at, locked_until"
        );
        let row = sqlx::query(&sql)
            .bind(kind.as_str())
            .bind(subject)
            .bind(now)
            .bind(i64::from(policy.threshold))
            .bind(policy.lock_micros)
            .fetch_one(self.pool())
            .await?;
        let state = state(&row, 0)?;
        let locked_now = state.locked_until == Some(now + policy.lock_micros);
        Ok(FailureOutcome { state, locked_now })
    }

    /// A success for `subject`: forget its failures (an active lock stays).
    pub async fn clear_lock_failures(
        &self,
        kind: LockKind,
        subject: &str,
        now: Micros,
    ) -> Result<()> {
        sqlx::query(
            "DELETE FROM lockouts WHERE kind = $1 AND subject = $2 \
             AND (locked_until IS NULL OR locked_until <= $3)",
        )
        .bind(kind.as_str())
        .bind(subject)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Lift a lock and forget the failures; `false` when there was nothing to forget.
    pub async fn unlock(&self, kind: LockKind, subject: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM lockouts WHERE kind = $1 AND subject = $2")
            .bind(kind.as_str())
            .bind(subject)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The lockout rows of the users of `domain_id` and of their access keys, users first.
    pub async fn list_lockouts(&self, domain_id: &str) -> Result<Vec<LockoutEntry>> {
        let rows = sqlx::query(
            "SELECT l.kind, l.subject, u.id, u.name, l.failures, l.last_failure_at, \
                    l.locked_until \
             FROM lockouts l JOIN users u ON l.kind = 'user' AND u.id = l.subject \
             WHERE u.domain_id = $1 \
             UNION ALL \
             SELECT l.kind, l.subject, u.id, u.name, l.failures, l.last_failure_at, \
                    l.locked_until \
             FROM lockouts l JOIN credentials c ON l.kind = 'access_key' AND c.access = l.subject \
             JOIN users u ON u.id = c.user_id \
             WHERE u.domain_id = $1 \
             ORDER BY 1 DESC, 2",
        )
        .bind(domain_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get(0)?;
                Ok(LockoutEntry {
                    kind: if kind == "user" {
                        LockKind::User
                    } else {
                        LockKind::AccessKey
                    },
                    subject: r.try_get(1)?,
                    user_id: r.try_get(2)?,
                    user_name: r.try_get(3)?,
                    state: state(r, 4)?,
                })
            })
            .collect()
    }
}
