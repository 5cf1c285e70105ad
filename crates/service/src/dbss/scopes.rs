//! Audit scope rules (docs/dbss-audit.md → Scopes): which statements are audited at all. The
//! full-audit scope every instance has wins while it is ON; otherwise a statement is stored
//! only if an ON custom scope admits it (each non-empty field matches: query type, client
//! address and port, database id, session database name, user) and its client is not one of
//! the scope's exceptions. No ON scope: nothing is stored. The operations: list, create,
//! update, delete (one, a batch), switch; the full-audit scope may only be switched.

use super::engine::{ip_list, IpRange, Subject};
use super::sqls::QUERY_TYPES;
use super::{check_id, shipped, Dbss, Error, Result};
use plugboard_core::{ids, time};
use plugboard_store::dbss_audit::Scope;
use plugboard_store::StoreError;

/// `db_names` meaning every database [vendor].
pub const ALL_DATABASES: &str = "全部数据库";

/// A compiled scope.
#[derive(Debug, Clone)]
pub struct ScopeMatcher {
    pub id: String,
    pub name: String,
    all: bool,
    actions: Vec<String>,
    sources: Vec<IpRange>,
    exceptions: Vec<IpRange>,
    ports: Vec<(i64, i64)>,
    db_ids: Vec<String>,
    db_names: Vec<String>,
    db_users: Vec<String>,
}

fn list(s: &str, all: &[&str]) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty() && !all.contains(x))
        .map(str::to_string)
        .collect()
}

/// Ports: `p` or `p-q`, comma separated.
fn ports(field: &str, s: &str) -> Result<Vec<(i64, i64)>> {
    let mut out = Vec::new();
    for p in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = p.split_once('-').unwrap_or((p, p));
        let parse = |x: &str| {
            x.trim()
                .parse::<i64>()
                .ok()
                .filter(|n| (0..=65535).contains(n))
        };
        match (parse(a), parse(b)) {
            (Some(a), Some(b)) if a <= b => out.push((a, b)),
            _ => {
                return Err(Error::Invalid(format!(
                    "{field}: `{p}` is not a port or a port range"
                )))
            }
        }
    }
    Ok(out)
}

impl ScopeMatcher {
    /// Compile a stored scope (its fields were checked when saved).
    pub fn new(s: &Scope) -> Self {
        Self {
            id: s.id.clone(),
            name: s.name.clone(),
            all: s.all_audit,
            actions: list(&s.action, &["ALL"]),
            sources: ip_list("source_ips", &s.source_ips).unwrap_or_default(),
            exceptions: ip_list("exception_ips", &s.exception_ips).unwrap_or_default(),
            ports: ports("source_ports", &s.source_ports).unwrap_or_default(),
            db_ids: list(&s.db_ids, &["ALL"]),
            db_names: list(&s.db_names, &[ALL_DATABASES]),
            db_users: list(&s.db_users, &[]),
        }
    }

    fn admits(&self, s: &Subject<'_>) -> bool {
        if self.all {
            return true;
        }
        if self.exceptions.iter().any(|r| r.contains(s.client_ip)) {
            return false;
        }
        (self.actions.is_empty() || self.actions.iter().any(|a| a == s.query_type))
            && (self.sources.is_empty() || self.sources.iter().any(|r| r.contains(s.client_ip)))
            && (self.ports.is_empty()
                || self
                    .ports
                    .iter()
                    .any(|(a, b)| (*a..=*b).contains(&s.client_port)))
            && (self.db_ids.is_empty() || self.db_ids.iter().any(|d| d == s.db_id))
            && (self.db_names.is_empty() || self.db_names.iter().any(|d| d == s.database))
            && (self.db_users.is_empty() || self.db_users.iter().any(|u| u == s.user))
    }
}

/// The scope that admits a statement (the full-audit scope first), if any.
pub fn admit<'a>(scopes: &'a [ScopeMatcher], s: &Subject<'_>) -> Option<&'a ScopeMatcher> {
    scopes
        .iter()
        .find(|m| m.all)
        .or_else(|| scopes.iter().find(|m| m.admits(s)))
}

/// CreateAuditScopeRule / UpdateAuditScopeRule's body.
#[derive(Debug, Clone, Default)]
pub struct ScopeFields {
    pub rule_name: Option<String>,
    pub action: Option<String>,
    pub db_ids: Option<String>,
    pub db_names: Option<String>,
    pub db_users: Option<String>,
    pub exception_ips: Option<String>,
    pub source_ips: Option<String>,
    pub source_ports: Option<String>,
}

/// The full-audit scope of an instance, as seeded.
pub fn full_audit(instance_id: &str) -> Scope {
    let (id, name) = shipped::full_audit_scope(instance_id);
    Scope {
        id,
        instance_id: instance_id.into(),
        name: name.into(),
        action: String::new(),
        status: "ON".into(),
        exception_ips: String::new(),
        source_ips: String::new(),
        source_ports: String::new(),
        db_ids: "ALL".into(),
        db_names: ALL_DATABASES.into(),
        db_users: String::new(),
        all_audit: true,
        created_at: 0,
    }
}

impl Dbss {
    fn scope_from(&self, instance_id: &str, f: ScopeFields) -> Result<Scope> {
        let name = f.rule_name.as_deref().map(str::trim).unwrap_or("");
        if name.is_empty() || name.chars().count() > 255 {
            return Err(Error::Invalid(
                "rule_name must be 1 to 255 characters".into(),
            ));
        }
        let text = |v: Option<String>| v.unwrap_or_default().trim().to_string();
        let (action, db_ids, db_names, db_users) = (
            text(f.action),
            text(f.db_ids),
            text(f.db_names),
            text(f.db_users),
        );
        let (exception_ips, source_ips, source_ports) = (
            text(f.exception_ips),
            text(f.source_ips),
            text(f.source_ports),
        );
        for a in list(&action, &["ALL"]) {
            super::rules::one_of("action", &a, QUERY_TYPES)?;
        }
        ip_list("exception_ips", &exception_ips).map_err(Error::Invalid)?;
        ip_list("source_ips", &source_ips).map_err(Error::Invalid)?;
        ports("source_ports", &source_ports)?;
        for (field, v) in [
            ("db_ids", &db_ids),
            ("db_names", &db_names),
            ("db_users", &db_users),
        ] {
            if v.chars().count() > 4096 {
                return Err(Error::Invalid(format!(
                    "{field} must be at most 4096 characters"
                )));
            }
        }
        Ok(Scope {
            id: ids::dbss_database_id(),
            instance_id: instance_id.into(),
            name: name.into(),
            action,
            status: "ON".into(),
            exception_ips,
            source_ips,
            source_ports,
            db_ids,
            db_names,
            db_users,
            all_audit: false,
            created_at: time::now_micros(),
        })
    }

    /// ListAuditRuleScopes: the page and the total.
    pub async fn list_scopes(
        &self,
        project: &str,
        instance_id: &str,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<Scope>, i64)> {
        let inst = self.instance(project, instance_id).await?;
        self.ensure_rules(&inst.id).await?;
        let all = self.store.list_audit_scopes(&inst.id).await?;
        let total = all.len() as i64;
        Ok((
            all.into_iter()
                .skip(offset as usize)
                .take(limit as usize)
                .collect(),
            total,
        ))
    }

    /// CreateAuditScopeRule (ON when created).
    pub async fn create_scope(
        &self,
        project: &str,
        instance_id: &str,
        f: ScopeFields,
    ) -> Result<String> {
        let inst = self.instance(project, instance_id).await?;
        self.ensure_rules(&inst.id).await?;
        let scope = self.scope_from(&inst.id, f)?;
        match self.store.add_audit_scope(&scope).await {
            Ok(()) => Ok(scope.id),
            Err(StoreError::Conflict(_)) => Err(Error::Invalid(format!(
                "rule_name: a scope named `{}` exists already",
                scope.name
            ))),
            Err(e) => Err(e.into()),
        }
    }

    async fn custom_scope(&self, project: &str, instance_id: &str, id: &str) -> Result<Scope> {
        let inst = self.instance(project, instance_id).await?;
        check_id("id", id)?;
        self.ensure_rules(&inst.id).await?;
        let s = match self.store.get_audit_scope(&inst.id, id).await {
            Ok(s) => s,
            Err(StoreError::NotFound) => {
                return Err(Error::NotFound(format!("The scope {id} does not exist.")))
            }
            Err(e) => return Err(e.into()),
        };
        if s.all_audit {
            return Err(Error::Invalid(
                "the full-audit scope can only be switched".into(),
            ));
        }
        Ok(s)
    }

    /// UpdateAuditScopeRule.
    pub async fn update_scope(
        &self,
        project: &str,
        instance_id: &str,
        id: &str,
        f: ScopeFields,
    ) -> Result<()> {
        let old = self.custom_scope(project, instance_id, id).await?;
        let mut s = self.scope_from(&old.instance_id, f)?;
        s.id = old.id;
        self.store.update_audit_scope(&s).await?;
        Ok(())
    }

    /// DeleteAuditScope / BatchDeleteAuditScope: all or none.
    pub async fn delete_scopes(
        &self,
        project: &str,
        instance_id: &str,
        ids: &[String],
    ) -> Result<()> {
        if ids.is_empty() {
            return Err(Error::Invalid("ids must name at least one scope".into()));
        }
        let mut inst_id = String::new();
        for id in ids {
            inst_id = self
                .custom_scope(project, instance_id, id)
                .await?
                .instance_id;
        }
        match self.store.delete_audit_scopes(&inst_id, ids).await {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(Error::NotFound(
                "a scope of `ids` does not exist; nothing was deleted".into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// SetAuditScopeRuleSwitch: all or none.
    pub async fn switch_scopes(
        &self,
        project: &str,
        instance_id: &str,
        ids: &[String],
        status: &str,
    ) -> Result<()> {
        let inst = self.instance(project, instance_id).await?;
        super::rules::one_of("status", status, &["ON", "OFF"])?;
        if ids.is_empty() {
            return Err(Error::Invalid("ids must name at least one scope".into()));
        }
        for id in ids {
            check_id("ids", id)?;
        }
        self.ensure_rules(&inst.id).await?;
        match self.store.switch_audit_scopes(&inst.id, ids, status).await {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(Error::NotFound(
                "a scope of `ids` does not exist; nothing was switched".into(),
            )),
            Err(e) => Err(e.into()),
        }
    }
}
