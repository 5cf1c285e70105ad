//! The HTTP face of plugboard: one axum application serving every API family. Each family
//! (`iam/`, `gaussdb/`, `dbss/`, `admin/`, ...) has the same files — `routes.rs` (operations
//! table), `dto.rs` (wire types), `handlers.rs`, `error.rs` (its envelope) — and shares
//! `common/` (request context, auth layer, envelopes, extractors).

pub mod admin;
pub mod common;
pub mod dbss;
pub mod families;
pub mod gaussdb;
pub mod iam;
pub mod index;
pub mod routing;
pub mod servicestage;
pub mod system;
pub mod zstack;

pub use routing::router;

use iam::dto::{CatalogEntry, Endpoint};
use metrics_exporter_prometheus::PrometheusHandle;
use plugboard_auth::identity::Identity;
use plugboard_core::config::Config;
use plugboard_service::Services;
use plugboard_store::identity::{Project, ProjectFilter};
use plugboard_store::{Store, StoreError};
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

/// The maps below are keyed by ids of projects and domains that exist (a lookup of anything
/// else goes to the store first), so a fast hasher is enough.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// A domain's projects and when they were read.
type CachedProjects = (Instant, Arc<DomainProjects>);

/// A domain's projects as read from the store, each with its JSON view written once for as
/// long as the list is cached (KeystoneListAuthProjects answers with them as they are: some
/// SDKs call it before every request).
pub struct DomainProjects {
    pub projects: Vec<Project>,
    views: OnceLock<Vec<Box<RawValue>>>,
}

impl DomainProjects {
    fn new(projects: Vec<Project>) -> Self {
        Self {
            projects,
            views: OnceLock::new(),
        }
    }

    /// Each project with its view, written by `render` the first time they are asked for.
    pub fn with_views(
        &self,
        render: impl Fn(&Project) -> Box<RawValue>,
    ) -> impl Iterator<Item = (&Project, &RawValue)> {
        let views = self
            .views
            .get_or_init(|| self.projects.iter().map(render).collect());
        self.projects.iter().zip(views.iter().map(|v| &**v))
    }
}

/// Shared state of the application. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// What the state holds.
pub struct Inner {
    pub config: Config,
    /// The domain: what handlers call.
    pub services: Services,
    /// The store, for this crate's health checks and project lookups only: other crates reach
    /// it through the services (e.g. [`AppState::console_service`]).
    pub(crate) store: Store,
    pub identity: Arc<Identity>,
    /// The URL clients reach this server at (no trailing slash).
    pub public_url: String,
    pub metrics: Option<PrometheusHandle>,
    /// Project id → domain id (projects never move between domains).
    project_domains: RwLock<FastMap<String, Arc<str>>>,
    /// Domain id → its projects, read through for `auth_cache_seconds`.
    domain_projects: RwLock<FastMap<String, CachedProjects>>,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// The catalog's service types and names.
const CATALOG: &[(&str, &str)] = &[
    ("iam", "iam"),
    ("gaussdbv3", "gaussdb"),
    ("dbss", "dbss"),
    ("servicestage", "servicestage"),
    ("plugboard", "plugboard"),
];

impl AppState {
    pub fn new(
        config: Config,
        services: Services,
        store: Store,
        identity: Arc<Identity>,
        public_url: String,
        metrics: Option<PrometheusHandle>,
    ) -> Self {
        Self(Arc::new(Inner {
            config,
            services,
            store,
            identity,
            public_url,
            metrics,
            project_domains: RwLock::default(),
            domain_projects: RwLock::default(),
        }))
    }

    /// The console's service (sessions, CSRF), over this state's store and identity.
    pub fn console_service(&self) -> plugboard_service::console::Console {
        plugboard_service::console::Console::new(
            self.store.clone(),
            self.identity.clone(),
            &self.config.console,
        )
    }

    /// An absolute link to `path` on this server.
    pub fn link(&self, path: &str) -> String {
        format!("{}{}", self.public_url, path)
    }

    /// The token catalog: every family at this server's public URL.
    pub fn catalog(&self, _project: Option<&str>) -> Vec<CatalogEntry> {
        let region = &self.config.region;
        CATALOG
            .iter()
            .enumerate()
            .map(|(i, (kind, name))| CatalogEntry {
                id: format!("{:032x}", i + 1),
                kind: kind.to_string(),
                name: name.to_string(),
                endpoints: vec![Endpoint {
                    id: format!("{:032x}", 0x100 + i),
                    interface: "public".into(),
                    region: region.clone(),
                    region_id: region.clone(),
                    url: self.public_url.clone(),
                }],
            })
            .collect()
    }

    /// The domain of a project (`None`: no such project). Cached: projects never move.
    pub async fn project_domain(&self, project_id: &str) -> Result<Option<Arc<str>>, StoreError> {
        if let Some(d) = self
            .project_domains
            .read()
            .ok()
            .and_then(|m| m.get(project_id).cloned())
        {
            return Ok(Some(d));
        }
        match self.store.get_project(project_id).await {
            Ok(p) => {
                let domain: Arc<str> = p.domain_id.into();
                if let Ok(mut m) = self.project_domains.write() {
                    if m.len() > 100_000 {
                        m.clear();
                    }
                    m.insert(p.id, domain.clone());
                }
                Ok(Some(domain))
            }
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The projects of a domain, by name. Cached like authentication (see
    /// `docs/operations.md`): projects created through this process show at once, those
    /// created through another within `auth_cache_seconds`.
    pub async fn domain_projects(
        &self,
        domain_id: &str,
    ) -> Result<Arc<DomainProjects>, StoreError> {
        let ttl = Duration::from_secs(self.config.iam.auth_cache_seconds);
        if let Some((at, projects)) = self
            .domain_projects
            .read()
            .ok()
            .and_then(|m| m.get(domain_id).cloned())
        {
            if at.elapsed() < ttl {
                return Ok(projects);
            }
        }
        let projects = Arc::new(DomainProjects::new(
            self.store
                .list_projects(&ProjectFilter {
                    domain_id: Some(domain_id.to_string()),
                    ..Default::default()
                })
                .await?,
        ));
        if let Ok(mut m) = self.domain_projects.write() {
            if m.len() > 10_000 {
                m.clear();
            }
            m.insert(domain_id.to_string(), (Instant::now(), projects.clone()));
        }
        Ok(projects)
    }

    /// Forget cached project lists (after a project is created).
    pub fn projects_changed(&self) {
        if let Ok(mut m) = self.domain_projects.write() {
            m.clear();
        }
    }
}
