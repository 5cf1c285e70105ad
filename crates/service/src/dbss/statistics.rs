//! Audit statistics of one instance (docs/dbss-audit.md → Statistics): the six trend
//! operations (buckets over the window, empty ones with zeros), the session breakdowns per
//! account and per client, and the history of generated trends; all read from the per-minute
//! counters ingest bumps (keyed by the statement's own time), so they outlive the statements.

use super::sqls::{range_length, resolve_window, TimeWindow};
use super::{Dbss, Error, Result};
use plugboard_core::time::{self, Micros};
use plugboard_store::dbss::AuditDatabase;
use plugboard_store::dbss_audit::counters::{minute_of, MINUTE};
use plugboard_store::dbss_audit::{CounterScope, Counts, SessionCount};
use plugboard_store::StoreError;
use std::collections::HashMap;

/// The longest custom window a trend covers.
pub const MAX_TREND_DAYS: i64 = 366;
/// Bucket sizes a custom window is rounded to (≈ 30 buckets).
const SIZES: &[Micros] = &[
    MINUTE,
    2 * MINUTE,
    10 * MINUTE,
    30 * MINUTE,
    60 * MINUTE,
    360 * MINUTE,
    1440 * MINUTE,
];

/// Which trend (the operation), with its `statistics_type` in the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrendKind {
    /// CountSqlStatistics (`SQL`).
    SqlType,
    /// CountSqlTrendStatistics (`COUNT`).
    SqlCount,
    /// CountRiskTrendStatistics (`RISK`).
    RiskLevel,
    /// CountSessionStatistics (`SESSION`).
    Session,
    /// CountInjectionStatistics (`INJECTION`).
    Injection,
    /// CountOperationStatistics (`OPERATION`).
    Operation,
}

impl TrendKind {
    /// The history's `statistics_type`.
    pub fn statistics_type(self) -> &'static str {
        match self {
            Self::SqlType => "SQL",
            Self::SqlCount => "COUNT",
            Self::RiskLevel => "RISK",
            Self::Session => "SESSION",
            Self::Injection => "INJECTION",
            Self::Operation => "OPERATION",
        }
    }
}

/// The trend operations' body (`GeneralRequest`).
#[derive(Debug, Clone, Default)]
pub struct TrendRequest {
    /// One database (`None`/empty: all of the instance's).
    pub db_id: Option<String>,
    /// 1 = recompute now; plugboard always computes on the spot.
    pub regenerate: Option<i64>,
    pub time: Option<TimeWindow>,
}

/// One bucket of a trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrendPoint {
    /// The bucket's start.
    pub period: Micros,
    pub counts: Counts,
    /// Distinct sessions with at least one statement in the bucket (session trend only).
    pub active_sessions: i64,
}

/// A computed trend.
#[derive(Debug, Clone)]
pub struct Trend {
    pub generate_time: Micros,
    pub points: Vec<TrendPoint>,
}

/// The session breakdowns' body (`SqlSessionStatisticsRequest`).
#[derive(Debug, Clone, Default)]
pub struct SessionRequest {
    /// Only these databases (`None`/empty: all of the instance's).
    pub db_id: Option<Vec<String>>,
    pub time: Option<TimeWindow>,
}

/// Sessions of one database and one account (or client address).
#[derive(Debug, Clone)]
pub struct SessionShare {
    pub db_id: String,
    pub database: Option<AuditDatabase>,
    /// The account, or the client address.
    pub key: String,
    pub sessions: i64,
}

/// A generated trend in the history.
#[derive(Debug, Clone)]
pub struct TrendRun {
    pub db_id: String,
    pub db_name: String,
    pub statistics_type: String,
    pub generate_time: Micros,
}

/// `[start, end)` and the bucket size of a trend window at `now`: a `time_range` has the
/// spec's fixed buckets, ending with the bucket holding `now`; a custom window is cut into
/// about 30 buckets of one of [`SIZES`].
pub fn trend_buckets(w: Option<&TimeWindow>, now: Micros) -> Result<(Micros, Micros, Micros)> {
    let range = w
        .and_then(|w| w.time_range.as_deref())
        .filter(|r| !r.is_empty());
    let custom = w.is_some_and(|w| {
        w.start_time.as_deref().is_some_and(|s| !s.is_empty())
            || w.end_time.as_deref().is_some_and(|s| !s.is_empty())
    });
    if range.is_none() && custom {
        let (from, to) = resolve_window("time", w, now)?;
        let len = to - from + 1;
        if len > MAX_TREND_DAYS * 1440 * MINUTE {
            return Err(Error::Invalid(format!(
                "time: a window of at most {MAX_TREND_DAYS} days (from start_time to end_time)"
            )));
        }
        let size = SIZES
            .iter()
            .copied()
            .find(|s| len <= 30 * s)
            .unwrap_or(1440 * MINUTE);
        let start = from - from.rem_euclid(size);
        let end = (to + 1) + (size - (to + 1).rem_euclid(size)) % size;
        return Ok((start, end, size));
    }
    // Validates the range (and answers "the last day" without one).
    resolve_window("time", w, now)?;
    let range = range.unwrap_or("DAY");
    let len = range_length(range).unwrap_or(1440 * MINUTE);
    let size = match range {
        "HALF_HOUR" => MINUTE,
        "HOUR" => 2 * MINUTE,
        "THREE_HOUR" => 10 * MINUTE,
        "TWELVE_HOUR" => 30 * MINUTE,
        "DAY" => 60 * MINUTE,
        "WEEK" => 360 * MINUTE,
        _ => 1440 * MINUTE,
    };
    let end = now - now.rem_euclid(size) + size;
    Ok((end - len, end, size))
}

impl Dbss {
    /// The registry databases named by `ids`, each checked (400 malformed, 404 unknown).
    async fn databases_named(&self, instance_id: &str, ids: &[String]) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for id in ids {
            let d = self.database_of(instance_id, id).await?;
            if !out.contains(&d.id) {
                out.push(d.id);
            }
        }
        Ok(out)
    }

    /// One of the six trend operations.
    pub async fn trend(
        &self,
        project: &str,
        instance_id: &str,
        kind: TrendKind,
        req: TrendRequest,
    ) -> Result<Trend> {
        let inst = self.instance(project, instance_id).await?;
        if let Some(r) = req.regenerate {
            if r != 0 && r != 1 {
                return Err(Error::Invalid(format!(
                    "regenerate must be 0 or 1 (got {r})"
                )));
            }
        }
        let db = req
            .db_id
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty());
        let db_ids = match db {
            Some(d) => Some(self.databases_named(&inst.id, &[d.to_string()]).await?),
            None => None,
        };
        let now = time::now_micros();
        let (start, end, size) = trend_buckets(req.time.as_ref(), now)?;
        let scope = CounterScope {
            instance_id: inst.id.clone(),
            db_ids,
            from: start,
            to: end,
        };
        let n = ((end - start) / size) as usize;
        let mut points: Vec<TrendPoint> = (0..n)
            .map(|i| TrendPoint {
                period: start + i as i64 * size,
                counts: Counts::default(),
                active_sessions: 0,
            })
            .collect();
        for (b, c) in self.store.audit_counter_buckets(&scope, size).await? {
            if let Some(p) = usize::try_from(b).ok().and_then(|b| points.get_mut(b)) {
                p.counts = c;
            }
        }
        if kind == TrendKind::Session {
            for (b, a) in self
                .store
                .audit_active_session_buckets(&scope, size)
                .await?
            {
                if let Some(p) = usize::try_from(b).ok().and_then(|b| points.get_mut(b)) {
                    p.active_sessions = a;
                }
            }
        }
        self.store
            .record_audit_stat_run(&inst.id, db.unwrap_or(""), kind.statistics_type(), now)
            .await?;
        Ok(Trend {
            generate_time: now,
            points,
        })
    }

    /// CountDbAccountSession (`by_account`) / CountDbClientSession: distinct sessions per
    /// database and account (or client address) in the window, most sessions first.
    pub async fn session_breakdown(
        &self,
        project: &str,
        instance_id: &str,
        req: SessionRequest,
        by_account: bool,
    ) -> Result<Vec<SessionShare>> {
        let inst = self.instance(project, instance_id).await?;
        let ids: Vec<String> = req
            .db_id
            .unwrap_or_default()
            .into_iter()
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty())
            .collect();
        let db_ids = if ids.is_empty() {
            None
        } else {
            Some(self.databases_named(&inst.id, &ids).await?)
        };
        let (from, to) = resolve_window("time", req.time.as_ref(), time::now_micros())?;
        let scope = CounterScope {
            instance_id: inst.id.clone(),
            db_ids,
            from: minute_of(from),
            to: to + 1,
        };
        let mut rows: Vec<SessionCount> = self
            .store
            .audit_session_breakdown(&scope, by_account)
            .await?;
        rows.sort_by(|a, b| {
            b.sessions
                .cmp(&a.sessions)
                .then_with(|| a.db_id.cmp(&b.db_id))
                .then_with(|| a.key.cmp(&b.key))
        });
        let mut cache: HashMap<String, Option<AuditDatabase>> = HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let database = self.cached_database(&inst.id, &r.db_id, &mut cache).await?;
            out.push(SessionShare {
                db_id: r.db_id,
                database,
                key: r.key,
                sessions: r.sessions,
            });
        }
        Ok(out)
    }

    /// ListAuditTrendHistory: the instance's generated trends, newest first.
    pub async fn trend_history(&self, project: &str, instance_id: &str) -> Result<Vec<TrendRun>> {
        let inst = self.instance(project, instance_id).await?;
        let mut cache: HashMap<String, Option<AuditDatabase>> = HashMap::new();
        let mut out = Vec::new();
        for (db_id, statistics_type, generate_time) in
            self.store.list_audit_stat_runs(&inst.id).await?
        {
            let db_name = if db_id.is_empty() {
                String::new()
            } else {
                self.cached_database(&inst.id, &db_id, &mut cache)
                    .await?
                    .map(|d| d.name)
                    .unwrap_or_default()
            };
            out.push(TrendRun {
                db_id,
                db_name,
                statistics_type,
                generate_time,
            });
        }
        Ok(out)
    }

    /// A registry database by id, looked up once per call (`None`: deleted since).
    pub(crate) async fn cached_database(
        &self,
        instance_id: &str,
        db_id: &str,
        cache: &mut HashMap<String, Option<AuditDatabase>>,
    ) -> Result<Option<AuditDatabase>> {
        if let Some(d) = cache.get(db_id) {
            return Ok(d.clone());
        }
        let d = match self.store.get_audit_database(instance_id, db_id).await {
            Ok(d) => Some(d),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        cache.insert(db_id.to_string(), d.clone());
        Ok(d)
    }
}
