//! Audit rules as the API sees them (docs/dbss-audit.md → Rules): risk-operation rules listed,
//! read and created (every field checked first), SQL-injection rules listed. Every change bumps
//! the instance's rule version, so ingest recompiles.

use super::engine::{compile_one, ip_list};
use super::sqls::{LEVELS, QUERY_TYPES};
use super::{check_id, Dbss, Error, Result};
use plugboard_core::ids;
use plugboard_core::time;
use plugboard_store::dbss_audit::{RiskRule, SqlRule};
use plugboard_store::StoreError;

/// Custom risk-operation rules one instance may have.
pub const MAX_CUSTOM_RISK_RULES: i64 = 50;
/// Comparison symbols of rows and duration conditions.
pub const SYMBOLS: &[&str] = &[
    "GREATER",
    "EQUAL",
    "LESS",
    "GREATER_EQUAL",
    "LESS_EQUAL",
    "NO_MATCH",
];

/// One `schemas` entry of a risk rule.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct RuleObject {
    #[serde(default)]
    pub schema: String,
    #[serde(default)]
    pub table: String,
    #[serde(default)]
    pub column: String,
}

/// CreateAuditRiskRule's body.
#[derive(Debug, Clone, Default)]
pub struct RiskRuleFields {
    pub rule_name: Option<String>,
    pub risk_level: Option<String>,
    pub status: Option<String>,
    pub action: Option<String>,
    pub affect_symbol: Option<String>,
    pub affect_rows: Option<i64>,
    pub execution_symbol: Option<String>,
    pub execution_time: Option<i64>,
    pub client_ips: Option<String>,
    pub exception_ips: Option<String>,
    pub db_ids: Option<String>,
    pub schemas: Option<Vec<RuleObject>>,
    pub ignore_case: Option<bool>,
}

/// A risk-rule listing: the page, all matching, and how many are custom.
#[derive(Debug, Clone)]
pub struct RiskRuleList {
    pub rules: Vec<RiskRule>,
    pub total: i64,
    pub customize_total: i64,
}

fn symbol(field: &str, v: Option<&str>) -> Result<String> {
    let v = v.unwrap_or("NO_MATCH");
    super::rules::one_of(field, v, SYMBOLS)?;
    Ok(v.to_string())
}

fn count(field: &str, v: Option<i64>) -> Result<i64> {
    match v.unwrap_or(0) {
        n if n >= 0 => Ok(n),
        n => Err(Error::Invalid(format!(
            "{field} must be 0 or more (got {n})"
        ))),
    }
}

/// The `feature` summary of a risk rule.
pub fn feature(r: &RiskRule) -> String {
    let action = if r.action.is_empty() {
        "ALL"
    } else {
        r.action.as_str()
    };
    let mut parts = vec![action.to_string()];
    if r.affect_symbol != "NO_MATCH" && !r.affect_symbol.is_empty() {
        parts.push(format!(
            "affect_rows {} {}",
            op(&r.affect_symbol),
            r.affect_rows
        ));
    }
    if r.execution_symbol != "NO_MATCH" && !r.execution_symbol.is_empty() {
        parts.push(format!(
            "execute_time {} {}",
            op(&r.execution_symbol),
            r.execution_time
        ));
    }
    if r.log_result == "FAILED" {
        parts.push("log_result = FAILED".into());
    }
    parts.join("; ")
}

fn op(symbol: &str) -> &'static str {
    match symbol {
        "GREATER" => ">",
        "GREATER_EQUAL" => ">=",
        "LESS" => "<",
        "LESS_EQUAL" => "<=",
        "EQUAL" => "=",
        _ => "?",
    }
}

impl Dbss {
    /// ListAuditRuleRisks: by rank, `name` a substring filter, `risk_levels` a comma list;
    /// `window` = (offset, limit) or all.
    pub async fn list_risk_rules(
        &self,
        project: &str,
        instance_id: &str,
        name: Option<&str>,
        risk_levels: Option<&str>,
        window: Option<(i64, i64)>,
    ) -> Result<RiskRuleList> {
        let inst = self.instance(project, instance_id).await?;
        self.ensure_rules(&inst.id).await?;
        let mut levels = Vec::new();
        for l in risk_levels
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            super::rules::one_of("risk_levels", l, LEVELS)?;
            levels.push(l.to_string());
        }
        let all = self.store.list_audit_risk_rules(&inst.id).await?;
        let customize_total = all.iter().filter(|r| r.rule_type == "CUSTOMIZE").count() as i64;
        let name = name.map(str::trim).filter(|n| !n.is_empty());
        let matching: Vec<RiskRule> = all
            .into_iter()
            .filter(|r| name.is_none_or(|n| r.name.contains(n) || r.name_english.contains(n)))
            .filter(|r| levels.is_empty() || levels.contains(&r.risk_level))
            .collect();
        let total = matching.len() as i64;
        let rules = match window {
            Some((offset, limit)) => matching
                .into_iter()
                .skip(offset as usize)
                .take(limit as usize)
                .collect(),
            None => matching,
        };
        Ok(RiskRuleList {
            rules,
            total,
            customize_total,
        })
    }

    /// ShowAuditRuleRisk.
    pub async fn show_risk_rule(
        &self,
        project: &str,
        instance_id: &str,
        id: &str,
    ) -> Result<RiskRule> {
        let inst = self.instance(project, instance_id).await?;
        check_id("risk_id", id)?;
        self.ensure_rules(&inst.id).await?;
        match self.store.get_audit_risk_rule(&inst.id, id).await {
            Ok(r) => Ok(r),
            Err(StoreError::NotFound) => Err(Error::NotFound(format!(
                "The risk rule {id} does not exist."
            ))),
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) async fn risk_rule_from(
        &self,
        instance_id: &str,
        f: RiskRuleFields,
    ) -> Result<RiskRule> {
        let name = f.rule_name.as_deref().map(str::trim).unwrap_or("");
        if name.is_empty() || name.chars().count() > 255 {
            return Err(Error::Invalid(
                "rule_name must be 1 to 255 characters".into(),
            ));
        }
        let Some(level) = f.risk_level.as_deref() else {
            return Err(Error::Invalid("risk_level is required".into()));
        };
        super::rules::one_of("risk_level", level, LEVELS)?;
        let Some(status) = f.status.as_deref() else {
            return Err(Error::Invalid("status is required".into()));
        };
        super::rules::one_of("status", status, &["ON", "OFF"])?;
        let mut actions = Vec::new();
        for a in f
            .action
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            super::rules::one_of("action", a, QUERY_TYPES)?;
            actions.push(a.to_string());
        }
        let kind = if actions.len() == 1 && actions[0] == "LOGIN" {
            "LOGIN"
        } else {
            "OPERATE"
        };
        for (field, v) in [
            ("client_ips", &f.client_ips),
            ("exception_ips", &f.exception_ips),
        ] {
            ip_list(field, v.as_deref().unwrap_or("")).map_err(Error::Invalid)?;
        }
        let mut db_ids = Vec::new();
        for d in f
            .db_ids
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty() && *d != "ALL")
        {
            if self.store.get_audit_database(instance_id, d).await.is_err() {
                return Err(Error::Invalid(format!(
                    "db_ids: no database `{d}` in this audit instance"
                )));
            }
            db_ids.push(d.to_string());
        }
        let schemas = f.schemas.unwrap_or_default();
        for (i, o) in schemas.iter().enumerate() {
            for (k, v) in [
                ("schema", &o.schema),
                ("table", &o.table),
                ("column", &o.column),
            ] {
                if v.chars().count() > 255 {
                    return Err(Error::Invalid(format!(
                        "schemas[{i}].{k} must be at most 255 characters"
                    )));
                }
            }
        }
        Ok(RiskRule {
            id: ids::dbss_database_id(),
            instance_id: instance_id.into(),
            name: name.to_string(),
            name_english: String::new(),
            rule_type: "CUSTOMIZE".into(),
            kind: kind.into(),
            status: status.into(),
            rank: 0,
            risk_level: level.into(),
            action: actions.join(","),
            schemas: serde_json::to_string(&schemas).unwrap_or_else(|_| "[]".into()),
            ignore_case: f.ignore_case.unwrap_or(true),
            db_ids: db_ids.join(","),
            client_ips: f.client_ips.unwrap_or_default(),
            exception_ips: f.exception_ips.unwrap_or_default(),
            affect_symbol: symbol("affect_symbol", f.affect_symbol.as_deref())?,
            affect_rows: count("affect_rows", f.affect_rows)?,
            execution_symbol: symbol("execution_symbol", f.execution_symbol.as_deref())?,
            execution_time: count("execution_time", f.execution_time)?,
            log_result: String::new(),
            created_at: time::now_micros(),
        })
    }

    /// CreateAuditRiskRule: a custom rule at the end of the ranking.
    pub async fn create_risk_rule(
        &self,
        project: &str,
        instance_id: &str,
        f: RiskRuleFields,
    ) -> Result<String> {
        let inst = self.instance(project, instance_id).await?;
        self.ensure_rules(&inst.id).await?;
        let rule = self.risk_rule_from(&inst.id, f).await?;
        match self
            .store
            .add_audit_risk_rule(&rule, MAX_CUSTOM_RISK_RULES)
            .await
        {
            Ok(true) => Ok(rule.id),
            Ok(false) => Err(Error::Invalid(format!(
                "an audit instance has at most {MAX_CUSTOM_RISK_RULES} custom risk rules"
            ))),
            Err(StoreError::Conflict(_)) => Err(Error::Invalid(format!(
                "rule_name: a risk rule named `{}` exists already",
                rule.name
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// ListSqlInjectionRules: by rank, `risk_levels` a comma list; `page` = (page, size) or all.
    pub async fn list_sql_rules(
        &self,
        project: &str,
        instance_id: &str,
        risk_levels: Option<&str>,
        page: Option<(i64, i64)>,
    ) -> Result<(Vec<SqlRule>, i64)> {
        let inst = self.instance(project, instance_id).await?;
        self.ensure_rules(&inst.id).await?;
        let mut levels = Vec::new();
        for l in risk_levels
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            super::rules::one_of("risk_levels", l, LEVELS)?;
            levels.push(l.to_string());
        }
        let all: Vec<SqlRule> = self
            .store
            .list_audit_sql_rules(&inst.id)
            .await?
            .into_iter()
            .filter(|r| levels.is_empty() || levels.contains(&r.risk_level))
            .collect();
        let total = all.len() as i64;
        let rules = match page {
            Some((p, s)) => all
                .into_iter()
                .skip((p - 1).saturating_mul(s).max(0) as usize)
                .take(s as usize)
                .collect(),
            None => all,
        };
        Ok((rules, total))
    }
}

/// Whether a SQL-injection regex is acceptable (compiles, 1–1024 characters).
pub fn check_regex(pattern: &str) -> Result<()> {
    if pattern.is_empty() || pattern.chars().count() > 1024 {
        return Err(Error::Invalid(
            "sql_regex must be 1 to 1024 characters".into(),
        ));
    }
    compile_one(pattern)
        .map(|_| ())
        .map_err(|e| Error::Invalid(format!("sql_regex does not compile: {e}")))
}
