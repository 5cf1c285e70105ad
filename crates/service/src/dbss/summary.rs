//! The project-wide audit summaries (docs/dbss-audit.md → Statistics): ListAuditSummaryInfos
//! (statements, risks and sessions per audit instance, all time and today) and
//! ShowAuditStatistics (risks of the last 7 days per database and per rule), read from the
//! per-minute counters.

use super::{Dbss, Error, Result};
use plugboard_core::time::{self, Micros};
use plugboard_store::dbss::{AuditDatabase, AuditInstance};
use plugboard_store::dbss_audit::counters::minute_of;
use plugboard_store::dbss_audit::{CounterScope, Counts};
use std::collections::{BTreeMap, HashMap};

const DAY: Micros = 86_400 * 1_000_000;
/// ShowAuditStatistics' window.
pub const RISK_WINDOW: Micros = 7 * DAY;
/// The most instances a summary page lists.
pub const SUMMARY_LIMIT_MAX: i64 = 10_000;

/// One instance's summary.
#[derive(Debug, Clone, Default)]
pub struct InstanceSummary {
    pub instance: Option<AuditInstance>,
    /// A stable integer for the instance (the wire's `instance_id` is an int).
    pub number: i64,
    /// Seconds since the first statement was counted (0: none yet).
    pub audit_duration: i64,
    pub total_sql: i64,
    pub total_risk: i64,
    pub today_sql: i64,
    pub today_risk: i64,
    pub today_session: i64,
}

/// ListAuditSummaryInfos: the project's totals and a page of its instances.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub totals: InstanceSummary,
    pub page: Vec<InstanceSummary>,
    pub total: i64,
    pub update_time: Micros,
}

/// Risk counts of one database in the window.
#[derive(Debug, Clone)]
pub struct DatabaseRisk {
    pub instance: AuditInstance,
    pub db_id: String,
    pub database: Option<AuditDatabase>,
    pub counts: Counts,
    /// `(rule name, English name, matches)`, most matches first.
    pub rules: Vec<(String, String, i64)>,
}

/// ShowAuditStatistics.
#[derive(Debug, Clone, Default)]
pub struct RiskStatistics {
    pub update_time: Micros,
    pub high: i64,
    pub medium: i64,
    pub low: i64,
    pub databases: Vec<DatabaseRisk>,
    /// Per rule, most matches first.
    pub rules: Vec<RuleRisk>,
}

/// One rule's matches in the window.
#[derive(Debug, Clone, Default)]
pub struct RuleRisk {
    pub rule_name: String,
    pub count: i64,
    /// `(index in [`RiskStatistics::databases`], matches)`.
    pub databases: Vec<(usize, i64)>,
}

/// The wire's integer for an instance: its id's first 12 hex digits (48 bits; ids are random
/// 32-hex, so distinct in practice and the same on every call).
pub fn instance_number(id: &str) -> i64 {
    id.get(..12)
        .and_then(|h| i64::from_str_radix(h, 16).ok())
        .unwrap_or(0)
}

fn parse_paging(field: &str, v: Option<&str>, default: i64, max: i64) -> Result<i64> {
    let Some(s) = v.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(default);
    };
    match s.parse::<i64>() {
        Ok(n) if (0..=max).contains(&n) => Ok(n),
        _ => Err(Error::Invalid(format!(
            "{field} must be a whole number from 0 to {max} (got `{s}`)"
        ))),
    }
}

impl Dbss {
    async fn all_instances(&self, project: &str) -> Result<Vec<AuditInstance>> {
        Ok(self
            .store
            .list_audit_instances(project, 0, i64::MAX / 2)
            .await?
            .0)
    }

    async fn instance_summary(&self, inst: &AuditInstance, now: Micros) -> Result<InstanceSummary> {
        let all = CounterScope {
            instance_id: inst.id.clone(),
            db_ids: None,
            from: 0,
            to: i64::MAX,
        };
        let today_start = now - now.rem_euclid(DAY);
        let today = CounterScope {
            from: today_start,
            to: today_start + DAY,
            ..all.clone()
        };
        let total: Counts = self.store.audit_counter_totals(&all).await?;
        let day: Counts = self.store.audit_counter_totals(&today).await?;
        let first = self.store.audit_first_minute(&inst.id).await?;
        Ok(InstanceSummary {
            instance: Some(inst.clone()),
            number: instance_number(&inst.id),
            audit_duration: first.map(|f| ((now - f) / 1_000_000).max(0)).unwrap_or(0),
            total_sql: total.stored_num(),
            total_risk: total.risk_num(),
            today_sql: day.stored_num(),
            today_risk: day.risk_num(),
            today_session: self.store.audit_session_total(&today).await?,
        })
    }

    /// ListAuditSummaryInfos: `offset`/`limit` are the wire's strings.
    pub async fn audit_summary(
        &self,
        project: &str,
        offset: Option<&str>,
        limit: Option<&str>,
    ) -> Result<Summary> {
        let offset = parse_paging("offset", offset, 0, i64::MAX / 2)?;
        let limit = parse_paging("limit", limit, 100, SUMMARY_LIMIT_MAX)?;
        if limit == 0 {
            return Err(Error::Invalid(format!(
                "limit must be from 1 to {SUMMARY_LIMIT_MAX} (got 0)"
            )));
        }
        let now = time::now_micros();
        let instances = self.all_instances(project).await?;
        let mut totals = InstanceSummary::default();
        let mut page = Vec::new();
        for (i, inst) in instances.iter().enumerate() {
            let s = self.instance_summary(inst, now).await?;
            totals.audit_duration = totals.audit_duration.max(s.audit_duration);
            totals.total_sql += s.total_sql;
            totals.total_risk += s.total_risk;
            totals.today_sql += s.today_sql;
            totals.today_risk += s.today_risk;
            totals.today_session += s.today_session;
            if (i as i64) >= offset && ((i as i64) - offset) < limit {
                page.push(s);
            }
        }
        Ok(Summary {
            totals,
            page,
            total: instances.len() as i64,
            update_time: now,
        })
    }

    /// ShowAuditStatistics: the last 7 days' risks of the project's databases and rules.
    pub async fn risk_statistics(&self, project: &str) -> Result<RiskStatistics> {
        let now = time::now_micros();
        let mut out = RiskStatistics {
            update_time: now,
            ..Default::default()
        };
        let mut by_rule: BTreeMap<String, (i64, Vec<(usize, i64)>)> = BTreeMap::new();
        for inst in self.all_instances(project).await? {
            let scope = CounterScope {
                instance_id: inst.id.clone(),
                db_ids: None,
                from: minute_of(now - RISK_WINDOW),
                to: i64::MAX,
            };
            let english: HashMap<String, String> = self
                .store
                .list_audit_risk_rules(&inst.id)
                .await?
                .into_iter()
                .map(|r| (r.id, r.name_english))
                .collect();
            let rule_counts = self.store.audit_rule_counts(&scope).await?;
            let mut cache = HashMap::new();
            for (db_id, counts) in self.store.audit_counters_by_database(&scope).await? {
                if counts.risk_num() == 0 {
                    continue;
                }
                out.high += counts.high_num;
                out.medium += counts.medium_num;
                out.low += counts.low_num;
                let mut rules: Vec<(String, String, i64)> = rule_counts
                    .iter()
                    .filter(|r| r.db_id == db_id && r.count > 0)
                    .map(|r| {
                        let en = english
                            .get(&r.rule_id)
                            .filter(|e| !e.is_empty())
                            .cloned()
                            .unwrap_or_else(|| r.rule_name.clone());
                        (r.rule_name.clone(), en, r.count)
                    })
                    .collect();
                rules.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
                let index = out.databases.len();
                for (name, _, n) in &rules {
                    let e = by_rule.entry(name.clone()).or_default();
                    e.0 += n;
                    e.1.push((index, *n));
                }
                let database = self.cached_database(&inst.id, &db_id, &mut cache).await?;
                out.databases.push(DatabaseRisk {
                    instance: inst.clone(),
                    db_id,
                    database,
                    counts,
                    rules,
                });
            }
        }
        let mut rules: Vec<RuleRisk> = by_rule
            .into_iter()
            .map(|(rule_name, (count, databases))| RuleRisk {
                rule_name,
                count,
                databases,
            })
            .collect();
        rules.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.rule_name.cmp(&b.rule_name))
        });
        out.rules = rules;
        Ok(out)
    }
}
