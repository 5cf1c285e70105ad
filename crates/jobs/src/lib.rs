//! The job engine (docs/contract.md → Jobs): runs the durable jobs of the store. Each
//! process claims due jobs under a lease (on PostgreSQL with `SKIP LOCKED`, so processes
//! sharing the database split the work and a job runs in exactly one of them), renews the lease
//! while it works, and runs the job's ordered steps through the handler registered for its kind,
//! saving after each step. A process that dies leaves a lease that expires; whoever claims the
//! job next resumes at the step that did not finish, so handlers write steps that can run
//! again. Transient step errors are retried with exponential back-off; anything else fails the
//! job with the handler's reason. Finished jobs are pruned after the retention period.
//!
//! The engine knows nothing of what jobs do: a handler is `(job, step) → outcome`, which is
//! also the shape of the external drivers to come (a step = driver, action, input → events).
//!
//! Its parts, one module each (after River's): the producer claims jobs (`producer`), woken
//! by the notifier (`notifier`); the executor runs their steps (`executor`); the completer
//! writes their ends in group commits (`completer`); maintenance renews leases and stops runs
//! taken over elsewhere (`maintenance`); the pruner deletes old finished jobs (`pruner`).

mod completer;
mod config;
mod executor;
mod handler;
pub mod kind;
mod maintenance;
mod notifier;
mod producer;
mod pruner;
#[cfg(feature = "testing")]
pub mod testing;

pub use config::EngineConfig;
pub use executor::StepCtx;
pub use handler::JobHandler;
pub use kind::{JobClass, JobKind};

use completer::Finish;
use handler::{Runner, Typed};
use plugboard_store::Store;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

/// Why a step did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepError {
    /// Worth trying again (connection refused, timeouts, 5xx): retried with back-off up to
    /// `max_attempts`, then the job fails with this message.
    Transient(String),
    /// The job fails now, with this reason.
    Failed(String),
}

/// How a job ended, for [`JobHandler::on_finish`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Completed,
    Failed(String),
}

/// The engine of one process.
pub struct Engine {
    store: Store,
    owner: String,
    config: EngineConfig,
    handlers: HashMap<&'static str, Registered>,
    waker: Arc<Notify>,
    stats: Arc<EngineStats>,
    /// What other parts of the process run when another process signals them.
    signals: Vec<(&'static str, notifier::Signal)>,
    /// The kinds other processes announced, for the claim loop.
    announced: Arc<notifier::Announced>,
}

/// What one engine's claim loop has done, counted from its start (also on `/metrics`:
/// `plugboard_job_claims_total`, `plugboard_job_notifications_total`): a burst of submits
/// heard as many notifications must still cost only a few claims.
#[derive(Debug, Default)]
pub struct EngineStats {
    claims: AtomicU64,
    notifications: AtomicU64,
}

impl EngineStats {
    /// Claims run against the store (each one statement, whatever it took).
    pub fn claims(&self) -> u64 {
        self.claims.load(Ordering::Relaxed)
    }

    /// Notifications of claimable jobs heard from other processes (PostgreSQL only).
    pub fn notifications(&self) -> u64 {
        self.notifications.load(Ordering::Relaxed)
    }

    pub(crate) fn claimed(&self) {
        self.claims.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("plugboard_job_claims_total").increment(1);
    }

    pub(crate) fn heard(&self, n: usize) {
        self.notifications.fetch_add(n as u64, Ordering::Relaxed);
        metrics::counter!("plugboard_job_notifications_total").increment(n as u64);
    }
}

/// A kind's handler and the class its jobs run in.
#[derive(Clone)]
struct Registered {
    runner: Arc<dyn Runner>,
    class: JobClass,
}

/// What the runners share.
struct Shared {
    store: Store,
    owner: String,
    config: EngineConfig,
    handlers: HashMap<&'static str, Registered>,
    /// The jobs running in this process, each with what stops it (the process stopping, or
    /// its lease lost).
    running: Mutex<HashMap<String, CancellationToken>>,
    /// Where runs send their jobs' ends (see [`finisher`]).
    finish: mpsc::UnboundedSender<Finish>,
    /// Wakes the claim loop (a submit here, a notification, a retry coming due).
    waker: Arc<Notify>,
    stats: Arc<EngineStats>,
    /// The engine stopping.
    stop: CancellationToken,
}

impl Engine {
    /// An engine claiming jobs as `owner` (unique per process).
    pub fn new(store: Store, owner: String, config: EngineConfig) -> Self {
        let announced: Arc<notifier::Announced> = Arc::default();
        // jobs submitted through this store handle wake the claim loop with their kinds
        let watcher: Arc<dyn plugboard_store::job_announce::AnnouncementWatcher> =
            announced.clone();
        store.watch_announcements(Arc::downgrade(&watcher));
        Self {
            store,
            owner,
            config,
            handlers: HashMap::new(),
            waker: Arc::new(Notify::new()),
            stats: Arc::default(),
            signals: Vec::new(),
            announced,
        }
    }

    /// Run jobs of kind `K` with `handler`, in the slots of `K::CLASS`.
    pub fn register<K: JobKind + 'static>(&mut self, handler: Arc<dyn JobHandler<K>>) {
        let runner = Typed {
            handler,
            kind: std::marker::PhantomData,
        };
        self.handlers.insert(
            K::KIND,
            Registered {
                runner: Arc::new(runner),
                class: K::CLASS,
            },
        );
    }

    /// Notify this to start a job submitted through this process at once.
    pub fn waker(&self) -> Arc<Notify> {
        self.waker.clone()
    }

    /// What the claim loop has done (claims, notifications heard).
    pub fn stats(&self) -> Arc<EngineStats> {
        self.stats.clone()
    }
}
