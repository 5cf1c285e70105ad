//! The service layer: the domain between the HTTP families (`plugboard-api`) and the store and
//! drivers. One module per aggregate — [`gaussdb`] (instances, install admission, the
//! `InstallKernelPlugin` job, extension switching), [`jobs`] (every family's jobs in one list),
//! [`servicestage`] (environments, add-ons and
//! their driver-run jobs), [`drivers`] (the registry) and more — each with typed inputs, domain
//! types and a domain error that each family's error enum maps to its codes, and one
//! `register` for its job kinds and background tasks, so the binary only wires.

pub mod console;
pub mod dbss;
pub mod drivers;
pub mod gaussdb;
pub mod identity;
pub mod jobs;
pub mod servicestage;
pub mod zstack;

use plugboard_core::config::Config;
use plugboard_core::secrets::MasterKey;
use plugboard_drivers::netpolicy::NetworkPolicy;
use plugboard_jobs::Engine;
use plugboard_store::Store;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::Notify;

/// Every service of one process. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub dbss: dbss::Dbss,
    pub gaussdb: gaussdb::GaussDb,
    pub identity: identity::IdentityService,
    pub jobs: jobs::Jobs,
    pub servicestage: servicestage::ServiceStage,
    pub zstack: zstack::ZStack,
}

/// What the services are built from.
pub struct Deps {
    pub config: Config,
    pub store: Store,
    pub key: MasterKey,
    pub network: Arc<NetworkPolicy>,
    /// Wakes the job engine (a job was submitted).
    pub job_waker: Arc<Notify>,
    /// Authentication: logins, tokens, subjects and their cache.
    pub identity: Arc<plugboard_auth::identity::Identity>,
    /// The `plugboard` binary: it runs the `local-process` driver through the step protocol
    /// (`plugboard driver-step local-process`).
    pub driver_program: PathBuf,
}

impl Services {
    pub fn new(deps: &Deps) -> Self {
        let registry = drivers::Registry::new(
            deps.store.clone(),
            drivers::RegistryConfig {
                plugins: deps.config.data_dir.join("plugins"),
                local_process: (
                    deps.driver_program.clone(),
                    vec!["driver-step".into(), "local-process".into()],
                ),
                limits: Default::default(),
            },
        );
        Self {
            jobs: jobs::Jobs::new(deps.store.clone()),
            zstack: zstack::ZStack::new(
                deps.store.clone(),
                deps.identity.clone(),
                registry.clone(),
                deps.config.zstack.clone(),
                deps.network.clone(),
                deps.job_waker.clone(),
            ),
            servicestage: servicestage::ServiceStage::new(
                deps.store.clone(),
                registry,
                deps.job_waker.clone(),
                deps.config.jobs.host_name(),
                deps.config.data_dir.join("addons"),
            ),
            dbss: dbss::Dbss::new(
                deps.store.clone(),
                deps.config.dbss.clone(),
                deps.network.clone(),
            ),
            gaussdb: gaussdb::GaussDb::new(
                deps.store.clone(),
                deps.key.clone(),
                deps.config.gaussdb.clone(),
                deps.network.clone(),
            ),
            identity: identity::IdentityService::new(
                deps.store.clone(),
                deps.identity.clone(),
                deps.config.region.clone(),
            ),
        }
    }
}

/// Register every job kind with `engine` (jobs stage their files under `staging_root`) and
/// start every background task; the tasks run until the returned [`Background`] is stopped
/// or dropped.
pub fn register(engine: &mut Engine, services: &Services, staging_root: PathBuf) -> Background {
    gaussdb::register(engine, &services.gaussdb, staging_root);
    servicestage::register(engine, &services.servicestage);
    zstack::register(engine, &services.zstack);
    Background(dbss::register(&services.dbss))
}

/// The services' background tasks (the DBSS audit monitor and storage keeper).
pub struct Background(Vec<tokio::task::JoinHandle<()>>);

impl Background {
    /// Stop every task.
    pub fn stop(self) {}
}

impl Drop for Background {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}
