//! Changing rules after creation (docs/dbss-audit.md → Rules): risk rules edited
//! (SetRiskOperationPolicy), deleted, switched, ranked; SQL-injection rules created, edited,
//! deleted, switched, ranked. System rules may only be switched — except that a system risk
//! rule's thresholds, addresses, objects and action may be edited (the vendor's best practice
//! edits the drag-detection thresholds); never its name, rank, or existence.

use super::audit_rules::{check_regex, RiskRuleFields};
use super::sqls::LEVELS;
use super::{check_id, Dbss, Error, Result};
use plugboard_core::ids;
use plugboard_core::time;
use plugboard_store::dbss_audit::{RiskRule, RuleKind, SqlRule};
use plugboard_store::StoreError;

/// CreateAuditSqlRule / UpdateAuditSqlRule's body.
#[derive(Debug, Clone, Default)]
pub struct SqlRuleFields {
    pub rule_name: Option<String>,
    pub risk_level: Option<String>,
    pub sql_regex: Option<String>,
    pub status: Option<String>,
}

fn not_found(what: &str, id: &str) -> Error {
    Error::NotFound(format!("The {what} {id} does not exist."))
}

fn status_of(s: &str) -> Result<()> {
    super::rules::one_of("status", s, &["ON", "OFF"])
}

impl Dbss {
    async fn risk_rule_of(&self, project: &str, instance_id: &str, id: &str) -> Result<RiskRule> {
        let inst = self.instance(project, instance_id).await?;
        check_id("id", id)?;
        self.ensure_rules(&inst.id).await?;
        match self.store.get_audit_risk_rule(&inst.id, id).await {
            Ok(r) => Ok(r),
            Err(StoreError::NotFound) => Err(not_found("risk rule", id)),
            Err(e) => Err(e.into()),
        }
    }

    /// SetRiskOperationPolicy: edit a risk rule (a system rule: conditions only).
    pub async fn update_risk_rule(
        &self,
        project: &str,
        instance_id: &str,
        id: &str,
        f: RiskRuleFields,
    ) -> Result<()> {
        let old = self.risk_rule_of(project, instance_id, id).await?;
        let mut fields = f;
        if old.rule_type == "SYSTEM" {
            if fields
                .rule_name
                .as_deref()
                .is_some_and(|n| n != old.name && n != old.name_english)
            {
                return Err(Error::Invalid(
                    "rule_name: a system rule cannot be renamed".into(),
                ));
            }
            fields.rule_name = Some(old.name.clone());
            fields.status = fields.status.or(Some(old.status.clone()));
            fields.risk_level = fields.risk_level.or(Some(old.risk_level.clone()));
        }
        let mut new = self.risk_rule_from(&old.instance_id, fields).await?;
        new.id = old.id.clone();
        new.rule_type = old.rule_type.clone();
        new.rank = old.rank;
        new.name_english = old.name_english.clone();
        new.created_at = old.created_at;
        if old.rule_type == "SYSTEM" {
            new.kind = old.kind.clone();
            new.log_result = old.log_result.clone();
        }
        match self.store.update_audit_risk_rule(&new).await {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(not_found("risk rule", id)),
            Err(StoreError::Conflict(_)) => Err(Error::Invalid(format!(
                "rule_name: a risk rule named `{}` exists already",
                new.name
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// DeleteAuditRuleRisk (custom rules only).
    pub async fn delete_risk_rule(&self, project: &str, instance_id: &str, id: &str) -> Result<()> {
        let r = self.risk_rule_of(project, instance_id, id).await?;
        if r.rule_type == "SYSTEM" {
            return Err(Error::Invalid(
                "a system rule cannot be deleted (switch it OFF instead)".into(),
            ));
        }
        match self
            .store
            .delete_audit_rule(RuleKind::Risk, &r.instance_id, id)
            .await
        {
            Ok(()) | Err(StoreError::NotFound) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// SwitchRiskRule: all the rules or none.
    pub async fn switch_risk_rules(
        &self,
        project: &str,
        instance_id: &str,
        ids: &[String],
        status: &str,
    ) -> Result<()> {
        let inst = self.instance(project, instance_id).await?;
        status_of(status)?;
        if ids.is_empty() {
            return Err(Error::Invalid("ids must name at least one rule".into()));
        }
        for id in ids {
            check_id("ids", id)?;
        }
        self.ensure_rules(&inst.id).await?;
        match self
            .store
            .switch_audit_rules(RuleKind::Risk, &inst.id, ids, status)
            .await
        {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(Error::NotFound(
                "a risk rule of `ids` does not exist; nothing was switched".into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// SetRiskRuleRank: move a custom rule to `new_rank` (1-based among all rules).
    pub async fn rank_risk_rule(
        &self,
        project: &str,
        instance_id: &str,
        id: &str,
        new_rank: i64,
    ) -> Result<()> {
        let r = self.risk_rule_of(project, instance_id, id).await?;
        if r.rule_type == "SYSTEM" {
            return Err(Error::Invalid("a system rule cannot be ranked".into()));
        }
        if new_rank < 1 {
            return Err(Error::Invalid(format!(
                "new_rank must be 1 or more (got {new_rank})"
            )));
        }
        let mut order: Vec<String> = self
            .store
            .list_audit_risk_rules(&r.instance_id)
            .await?
            .into_iter()
            .map(|x| x.id)
            .filter(|x| *x != r.id)
            .collect();
        let at = ((new_rank - 1) as usize).min(order.len());
        order.insert(at, r.id.clone());
        self.store
            .rank_audit_rules(RuleKind::Risk, &r.instance_id, &order)
            .await?;
        Ok(())
    }

    fn sql_rule_from(instance_id: &str, f: SqlRuleFields) -> Result<SqlRule> {
        let name = f.rule_name.as_deref().map(str::trim).unwrap_or("");
        if name.is_empty() || name.chars().count() > 255 {
            return Err(Error::Invalid(
                "rule_name must be 1 to 255 characters".into(),
            ));
        }
        let level = f
            .risk_level
            .ok_or_else(|| Error::Invalid("risk_level is required".into()))?;
        super::rules::one_of("risk_level", &level, LEVELS)?;
        let status = f
            .status
            .ok_or_else(|| Error::Invalid("status is required".into()))?;
        status_of(&status)?;
        let regex = f
            .sql_regex
            .ok_or_else(|| Error::Invalid("sql_regex is required".into()))?;
        check_regex(&regex)?;
        Ok(SqlRule {
            id: ids::dbss_database_id(),
            instance_id: instance_id.into(),
            name: name.into(),
            rule_type: "CUSTOMIZE".into(),
            status,
            rank: 0,
            risk_level: level,
            feature: regex.chars().take(64).collect(),
            regex,
            created_at: time::now_micros(),
        })
    }

    async fn sql_rule_of(&self, project: &str, instance_id: &str, id: &str) -> Result<SqlRule> {
        let inst = self.instance(project, instance_id).await?;
        check_id("id", id)?;
        self.ensure_rules(&inst.id).await?;
        match self.store.get_audit_sql_rule(&inst.id, id).await {
            Ok(r) => Ok(r),
            Err(StoreError::NotFound) => Err(not_found("SQL injection rule", id)),
            Err(e) => Err(e.into()),
        }
    }

    /// CreateAuditSqlRule: a custom SQL-injection rule at the end of the ranking.
    pub async fn create_sql_rule(
        &self,
        project: &str,
        instance_id: &str,
        f: SqlRuleFields,
    ) -> Result<String> {
        let inst = self.instance(project, instance_id).await?;
        self.ensure_rules(&inst.id).await?;
        let rule = Self::sql_rule_from(&inst.id, f)?;
        match self.store.add_audit_sql_rule(&rule).await {
            Ok(()) => Ok(rule.id),
            Err(StoreError::Conflict(_)) => Err(Error::Invalid(format!(
                "rule_name: a SQL injection rule named `{}` exists already",
                rule.name
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// UpdateAuditSqlRule (custom rules only).
    pub async fn update_sql_rule(
        &self,
        project: &str,
        instance_id: &str,
        id: &str,
        f: SqlRuleFields,
    ) -> Result<()> {
        let old = self.sql_rule_of(project, instance_id, id).await?;
        if old.rule_type == "SYSTEM" {
            return Err(Error::Invalid(
                "a system rule cannot be edited (switch it instead)".into(),
            ));
        }
        let mut rule = Self::sql_rule_from(&old.instance_id, f)?;
        rule.id = old.id;
        match self.store.update_audit_sql_rule(&rule).await {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(not_found("SQL injection rule", id)),
            Err(StoreError::Conflict(_)) => Err(Error::Invalid(format!(
                "rule_name: a SQL injection rule named `{}` exists already",
                rule.name
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// DeleteAuditRuleSql (custom rules only).
    pub async fn delete_sql_rule(&self, project: &str, instance_id: &str, id: &str) -> Result<()> {
        let r = self.sql_rule_of(project, instance_id, id).await?;
        if r.rule_type == "SYSTEM" {
            return Err(Error::Invalid(
                "a system rule cannot be deleted (switch it OFF instead)".into(),
            ));
        }
        match self
            .store
            .delete_audit_rule(RuleKind::Sql, &r.instance_id, id)
            .await
        {
            Ok(()) | Err(StoreError::NotFound) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// SetAuditSqlRuleSwitch: one rule.
    pub async fn switch_sql_rule(
        &self,
        project: &str,
        instance_id: &str,
        id: &str,
        status: &str,
    ) -> Result<()> {
        status_of(status)?;
        let r = self.sql_rule_of(project, instance_id, id).await?;
        self.store
            .switch_audit_rules(
                RuleKind::Sql,
                &r.instance_id,
                std::slice::from_ref(&r.id),
                status,
            )
            .await?;
        Ok(())
    }

    /// SetSqlRuleRank: `ids` first, in that order, then the others as they were.
    pub async fn rank_sql_rules(
        &self,
        project: &str,
        instance_id: &str,
        ids: &[String],
    ) -> Result<()> {
        let inst = self.instance(project, instance_id).await?;
        self.ensure_rules(&inst.id).await?;
        if ids.is_empty() {
            return Err(Error::Invalid("ids must name at least one rule".into()));
        }
        let all: Vec<String> = self
            .store
            .list_audit_sql_rules(&inst.id)
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect();
        let mut seen = std::collections::HashSet::new();
        for id in ids {
            if !all.contains(id) {
                return Err(not_found("SQL injection rule", id));
            }
            if !seen.insert(id.clone()) {
                return Err(Error::Invalid(format!("ids: `{id}` is named twice")));
            }
        }
        let mut order: Vec<String> = ids.to_vec();
        order.extend(all.into_iter().filter(|id| !seen.contains(id)));
        self.store
            .rank_audit_rules(RuleKind::Sql, &inst.id, &order)
            .await?;
        Ok(())
    }
}
