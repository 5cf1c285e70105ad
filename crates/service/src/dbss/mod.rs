//! DBSS database audit, the domain (docs/api-coverage.md → DBSS, docs/contract.md → Admin API,
//! docs/dbss-audit.md): audit
//! instances with their editions and limits, the field rules of an audited database, audit
//! switched on and off, and the audit monitor ([`monitor`]) that keeps `audit_status` true;
//! the audit itself: agents ([`agents`]), ingest of captured statements ([`ingest`]) judged by
//! the rule engine ([`engine`]) under the QPS budget ([`qps`]), the statements' listing
//! ([`sqls`]), rules ([`audit_rules`]), alarms ([`alarms`]) and statistics ([`statistics`],
//! [`summary`]); the storage keeper ([`storage`]) that keeps statements bounded.

pub mod agents;
pub mod alarms;
pub mod audit_rules;
pub mod bundle;
pub mod engine;
pub mod ingest;
pub mod monitor;
pub mod qps;
pub mod rule_changes;
pub mod rules;
pub mod scopes;
pub mod shipped;
pub mod sqls;
pub mod statistics;
pub mod storage;
pub mod summary;

use plugboard_core::config::DbssConfig;
use plugboard_core::ids::{self, is_hex32};
use plugboard_core::time;
use plugboard_drivers::netpolicy::NetworkPolicy;
use plugboard_store::dbss::{AddDatabaseError, AuditDatabase, AuditInstance};
use plugboard_store::{Store, StoreError};
use rules::validate;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::Notify;

pub use rules::{canonical_ip, parse_port, DatabaseFields, TYPES};

/// Editions and how many databases each audits [vendor, partly unconfirmed].
pub const EDITIONS: &[(&str, i64)] = &[
    ("entry", 1),
    ("basic", 3),
    ("professional", 6),
    ("advanced", 30),
];
/// The largest explicit `database_limit`.
pub const MAX_DATABASE_LIMIT: i64 = 1_000_000;

/// What a DBSS operation can fail with; each family's error enum maps it to its codes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A field is missing or invalid; the message names it.
    #[error("{0}")]
    Invalid(String),
    /// A path id that cannot be an audit instance id (the id given).
    #[error("instance_id `{0}` is not an audit instance id")]
    BadInstanceId(String),
    /// A database id that cannot be one (the id given).
    #[error("`{0}` is not a database id")]
    BadDatabaseId(String),
    /// No such audit instance in this project (the id given).
    #[error("audit instance {0} does not exist")]
    InstanceNotFound(String),
    /// No such database in the instance (the id given).
    #[error("The database {0} does not exist.")]
    DatabaseNotFound(String),
    /// The instance audits as many databases as its edition allows.
    #[error("Failed to add database, exceeding the limit")]
    LimitReached,
    /// A path id (agent, rule, alarm, statement) of the wrong shape (what it is, the id).
    #[error("{0} `{1}` is not an id (16 to 64 characters of letters, digits, - and _)")]
    BadId(&'static str, String),
    /// No such agent, rule, alarm or statement (the message names it).
    #[error("{0}")]
    NotFound(String),
    /// An agent may not ship or report (off, deleted, of another instance, not serving the
    /// database); the message says which.
    #[error("{0}")]
    Refused(String),
}

type Result<T, E = Error> = std::result::Result<T, E>;

/// An instance's compiled rules and the rule version they were compiled at.
type CompiledAt = (i64, Arc<engine::Compiled>);

/// The DBSS service. Cheap to clone.
#[derive(Clone)]
pub struct Dbss {
    pub(crate) store: Store,
    pub(crate) config: DbssConfig,
    pub(crate) network: Arc<NetworkPolicy>,
    /// Wakes the audit monitor (a database was switched ON).
    pub(crate) wakeup: Arc<Notify>,
    /// Each instance's compiled rules and the rule version they were compiled at.
    pub(crate) engines: Arc<std::sync::Mutex<HashMap<String, CompiledAt>>>,
    /// Instances whose shipped rules are known to be in the store.
    pub(crate) seeded: Arc<std::sync::Mutex<HashSet<String>>>,
    /// On SQLite, batches are stored one at a time, in arrival order ([`ingest`]).
    pub(crate) ingest_turn: Arc<tokio::sync::Mutex<()>>,
}

/// An audit instance to create (admin API): an edition or an explicit limit.
#[derive(Debug, Clone)]
pub struct NewAuditInstance {
    pub name: String,
    pub edition: Option<String>,
    pub database_limit: Option<i64>,
}

/// A path id of an agent, rule, alarm or statement: 16–64 characters of `[A-Za-z0-9_-]`.
pub(crate) fn check_id(what: &'static str, id: &str) -> Result<()> {
    let ok = (16..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::BadId(what, id.to_string()))
    }
}

fn check_database_id(id: &str) -> Result<()> {
    let ok = id.len() == 20
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::BadDatabaseId(id.to_string()))
    }
}

impl Dbss {
    pub fn new(store: Store, config: DbssConfig, network: Arc<NetworkPolicy>) -> Self {
        Self {
            store,
            config,
            network,
            wakeup: Arc::new(Notify::new()),
            engines: Default::default(),
            seeded: Default::default(),
            ingest_turn: Default::default(),
        }
    }

    /// Create an audit instance (admin API).
    pub async fn create_instance(
        &self,
        project: &str,
        req: &NewAuditInstance,
    ) -> Result<AuditInstance> {
        let name = req.name.trim();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(Error::Invalid("name must be 1 to 64 characters".into()));
        }
        let (edition, limit) = match (req.edition.as_deref(), req.database_limit) {
            (Some(_), Some(_)) => {
                return Err(Error::Invalid(
                    "give either edition or database_limit, not both".into(),
                ))
            }
            (Some(e), None) => match EDITIONS.iter().find(|(n, _)| *n == e) {
                Some((n, l)) => (n.to_string(), *l),
                None => {
                    return Err(Error::Invalid(format!(
                        "edition must be one of entry, basic, professional, advanced (got `{e}`)"
                    )))
                }
            },
            (None, Some(l)) if (1..=MAX_DATABASE_LIMIT).contains(&l) => ("custom".to_string(), l),
            (None, Some(l)) => {
                return Err(Error::Invalid(format!(
                    "database_limit must be from 1 to {MAX_DATABASE_LIMIT} (got {l})"
                )))
            }
            (None, None) => {
                return Err(Error::Invalid(
                    "edition or database_limit is required".into(),
                ))
            }
        };
        let instance = AuditInstance {
            id: ids::hex32(),
            project_id: project.to_string(),
            name: name.to_string(),
            edition,
            database_limit: limit,
            database_count: 0,
            on_count: 0,
            status: "ACTIVE".into(),
            created_at: time::now_micros(),
        };
        self.store.create_audit_instance(&instance).await?;
        Ok(instance)
    }

    /// A page of the project's audit instances and their total.
    pub async fn list_instances(
        &self,
        project: &str,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<AuditInstance>, i64)> {
        Ok(self
            .store
            .list_audit_instances(project, offset, limit)
            .await?)
    }

    /// Audit instance `id` of `project`.
    pub async fn instance(&self, project: &str, id: &str) -> Result<AuditInstance> {
        if !is_hex32(id) {
            return Err(Error::BadInstanceId(id.to_string()));
        }
        match self.store.get_audit_instance(project, id).await {
            Ok(i) => Ok(i),
            Err(StoreError::NotFound) => Err(Error::InstanceNotFound(id.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    /// Delete an audit instance with the databases it audits.
    pub async fn delete_instance(&self, project: &str, id: &str) -> Result<()> {
        let i = self.instance(project, id).await?;
        match self.store.delete_audit_instance(&i.project_id, &i.id).await {
            Ok(()) | Err(StoreError::NotFound) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Add a database to audit (OFF); its id.
    pub async fn add_database(
        &self,
        project: &str,
        instance_id: &str,
        d: DatabaseFields,
    ) -> Result<String> {
        let inst = self.instance(project, instance_id).await?;
        let ip = validate(&d)?;
        let row = AuditDatabase {
            id: ids::dbss_database_id(),
            instance_id: inst.id.clone(),
            db_classification: d.db_classification,
            name: d.name,
            db_type: d.db_type,
            version: d.version,
            charset: d.charset,
            ip,
            port: d.port,
            os: d.os,
            instance_name: d.instance_name.unwrap_or_default(),
            status: "OFF".into(),
            audit_status: "SHUTOFF".into(),
            audit_reason: String::new(),
            probed_at: 0,
            created_at: time::now_micros(),
        };
        match self.store.add_audit_database(&inst.project_id, &row).await {
            Ok(()) => Ok(row.id),
            Err(AddDatabaseError::LimitReached) => Err(Error::LimitReached),
            Err(AddDatabaseError::Duplicate) => Err(Error::Invalid(format!(
                "database: {}:{} `{}` is already audited by this instance",
                row.ip, row.port, row.name
            ))),
            Err(AddDatabaseError::InstanceNotFound) => Err(Error::InstanceNotFound(inst.id)),
            Err(AddDatabaseError::Store(e)) => Err(e.into()),
        }
    }

    /// A page of an instance's databases (`status` ON or OFF, or all) and their total;
    /// `window` is the page (offset, limit) or why the caller's is not one, reported after
    /// the instance's and the status's errors.
    pub async fn list_databases(
        &self,
        project: &str,
        instance_id: &str,
        status: Option<&str>,
        window: Result<(i64, i64)>,
    ) -> Result<(Vec<AuditDatabase>, i64)> {
        let inst = self.instance(project, instance_id).await?;
        if let Some(s) = status {
            rules::one_of("status", s, &["ON", "OFF"])?;
        }
        let (offset, limit) = window?;
        Ok(self
            .store
            .list_audit_databases(&inst, status, offset, limit)
            .await?)
    }

    /// One of an instance's databases (the console's page of an audited database).
    pub async fn database(
        &self,
        project: &str,
        instance_id: &str,
        id: &str,
    ) -> Result<AuditDatabase> {
        let inst = self.instance(project, instance_id).await?;
        self.database_of(&inst.id, id).await
    }

    /// Stop auditing a database.
    pub async fn delete_database(&self, project: &str, instance_id: &str, id: &str) -> Result<()> {
        let inst = self.instance(project, instance_id).await?;
        check_database_id(id)?;
        match self.store.delete_audit_database(&inst.id, id).await {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(Error::DatabaseNotFound(id.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    /// Switch audit ON or OFF; ON wakes the audit monitor, which probes the database at once.
    pub async fn switch(
        &self,
        project: &str,
        instance_id: &str,
        id: &str,
        status: &str,
    ) -> Result<()> {
        let inst = self.instance(project, instance_id).await?;
        rules::one_of("status", status, &["ON", "OFF"])?;
        check_database_id(id)?;
        let on = status == "ON";
        match self.store.switch_audit_database(&inst.id, id, on).await {
            Ok(_) => {}
            Err(StoreError::NotFound) => return Err(Error::DatabaseNotFound(id.to_string())),
            Err(e) => return Err(e.into()),
        }
        if on {
            self.wakeup.notify_one();
        }
        Ok(())
    }
}

/// Start the DBSS background tasks (the audit monitor, the storage keeper); they run until
/// aborted.
pub fn register(svc: &Dbss) -> Vec<tokio::task::JoinHandle<()>> {
    vec![
        tokio::spawn(
            monitor::AuditMonitor {
                store: svc.store.clone(),
                policy: svc.network.clone(),
                config: svc.config.clone(),
                wakeup: svc.wakeup.clone(),
            }
            .run(),
        ),
        tokio::spawn(
            storage::StorageKeeper {
                store: svc.store.clone(),
                config: svc.config.clone(),
                holder: format!("{}-{}", std::process::id(), ids::hex32()),
            }
            .run(),
        ),
    ]
}
