//! The driver registry (`docs/drivers.md`): the one list of drivers that the job engine, the
//! ServiceStage add-on APIs and (later) the ZStack plug-in-driver APIs read. Built-in drivers
//! have fixed product keys — the PostgreSQL package installer and the DBSS probes (listed; they
//! serve their own families), `simulated` and `local-process` (add-on drivers) — and external
//! drivers are the folders `<data-dir>/plugins/<name>/` with a `driver.toml`.
//!
//! A [`Registry::refresh`] rescans the folder, writes what it found to the store's driver rows
//! and bumps the registry generation; every process rescans its own folder when the
//! generation changed, so a refresh on one process of a PostgreSQL scale-out is seen by all:
//! at once when the store announces the change (`NOTIFY plugboard_drivers`, heard by the job
//! engine's listener, which calls [`Registry::stale`]), else at the next read a second after
//! the last check (the safety net). Steps of drivers watch [`Registry::changes`]. A broken manifest is reported
//! (logged, and kept in [`View::errors`]) and never stops the others loading.

use plugboard_core::time::now_micros;
use plugboard_drivers::external::{ExternalDriver, OutputLimits};
use plugboard_drivers::local_process;
pub use plugboard_drivers::manifest::ADDON_ACTIONS;
use plugboard_drivers::manifest::{AddonEntry, DriverManifest, ManifestError};
use plugboard_drivers::registry::scan;
pub use plugboard_drivers::registry::DriverSource;
use plugboard_drivers::simulated::{self, Simulated};
use plugboard_drivers::step::AddonDriver;
use plugboard_store::drivers::DriverRow;
use plugboard_store::{Store, StoreError};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// The product key of the built-in PostgreSQL package installer (GaussDB kernel plug-ins).
pub const PGINSTALL_UUID: &str = "3f6a1c2e9b7d4e0fa1c2d3e4f5a6b7c8";
/// The product key of the built-in database probes (DBSS).
pub const PROBES_UUID: &str = "8b2e7d4c1a9f4b3e9d8c7b6a5f4e3d2c";

/// How often a process asks the store whether another process refreshed the registry.
const GENERATION_CHECK: Duration = Duration::from_secs(1);

/// One registered driver.
#[derive(Clone)]
pub struct Driver {
    pub manifest: DriverManifest,
    /// Built into plugboard, or an external executable's folder.
    pub source: DriverSource,
    /// Soft-deleted: takes no new work until it is undeleted.
    pub deleted: bool,
    /// What runs its add-on steps (`None`: it serves another family, not add-ons).
    runner: Option<Arc<dyn AddonDriver>>,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("uuid", &self.manifest.uuid)
            .field("name", &self.manifest.name)
            .field("source", &self.source)
            .field("deleted", &self.deleted)
            .finish()
    }
}

impl Driver {
    /// Whether it runs add-on jobs.
    pub fn runs_addons(&self) -> bool {
        self.runner.is_some()
    }

    /// What runs its steps.
    pub fn runner(&self) -> Option<Arc<dyn AddonDriver>> {
        self.runner.clone()
    }

    /// `simulated` (its steps change nothing durable).
    pub fn is_simulated(&self) -> bool {
        self.manifest.uuid == simulated::UUID
    }

    /// `local-process` (its add-ons belong to a host).
    pub fn is_local_process(&self) -> bool {
        self.manifest.uuid == local_process::UUID
    }
}

/// What the registry holds now.
#[derive(Debug, Clone, Default)]
pub struct View {
    /// Built-in drivers first, then external ones by folder name.
    pub drivers: Vec<Driver>,
    /// Manifests (and catalog entries) that could not be used, each with its reason.
    pub errors: Vec<ManifestError>,
}

/// One add-on of the catalog: the driver that provides it and its versions.
#[derive(Debug, Clone)]
pub struct CatalogEntry {
    pub addon: AddonEntry,
    pub driver: Driver,
}

impl View {
    /// A driver by product key.
    pub fn driver(&self, uuid: &str) -> Option<&Driver> {
        self.drivers.iter().find(|d| d.manifest.uuid == uuid)
    }

    /// The ServiceStage catalog: every add-on the live add-on drivers provide, each once.
    /// When several drivers provide a name, external drivers win over `local-process`, which
    /// wins over `simulated` (a real driver installed beside the simulated one takes over).
    pub fn catalog(&self) -> Vec<CatalogEntry> {
        let rank = |d: &Driver| {
            if d.is_simulated() {
                2
            } else if d.is_local_process() {
                1
            } else {
                0
            }
        };
        let mut live: Vec<&Driver> = self
            .drivers
            .iter()
            .filter(|d| d.runs_addons() && !d.deleted)
            .collect();
        live.sort_by_key(|d| rank(d));
        let mut seen = HashSet::new();
        let mut entries = Vec::new();
        for d in live {
            for addon in &d.manifest.addons {
                if seen.insert(addon.name.clone()) {
                    entries.push(CatalogEntry {
                        addon: addon.clone(),
                        driver: d.clone(),
                    });
                }
            }
        }
        entries.sort_by(|a, b| a.addon.name.cmp(&b.addon.name));
        entries
    }

    /// The catalog entry of add-on `name`.
    pub fn addon(&self, name: &str) -> Option<CatalogEntry> {
        self.catalog().into_iter().find(|e| e.addon.name == name)
    }
}

/// How the registry finds and runs drivers.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// `<data-dir>/plugins`.
    pub plugins: PathBuf,
    /// How `local-process` is run through the step protocol: this binary and its arguments
    /// (`plugboard driver-step local-process`).
    pub local_process: (PathBuf, Vec<String>),
    /// Bounds on what an external driver may print.
    pub limits: OutputLimits,
}

/// The registry of one process. Cheap to clone.
#[derive(Clone)]
pub struct Registry(Arc<Inner>);

struct Inner {
    store: Store,
    config: RegistryConfig,
    view: RwLock<Arc<View>>,
    /// The store's generation this view reflects, and when it was last checked.
    seen: Mutex<(i64, Option<Instant>)>,
    /// One scan at a time.
    scanning: tokio::sync::Mutex<()>,
    /// Counts the times the registry may have changed (see [`Registry::changes`]).
    changes: tokio::sync::watch::Sender<u64>,
}

/// Why a refresh failed.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Registry {
    /// A registry with nothing loaded yet (see [`Self::refresh`]).
    pub fn new(store: Store, config: RegistryConfig) -> Self {
        Self(Arc::new(Inner {
            store,
            config,
            view: RwLock::new(Arc::new(View::default())),
            seen: Mutex::new((-1, None)),
            scanning: tokio::sync::Mutex::new(()),
            changes: tokio::sync::watch::Sender::new(0),
        }))
    }

    /// The plug-in folder.
    pub fn plugins(&self) -> &Path {
        &self.0.config.plugins
    }

    /// Rescan the plug-in folder and record what it found in the store (so every process sees
    /// it); the new view. Drivers that are gone from the folder keep their rows (their add-ons
    /// still name them) but no longer run.
    pub async fn refresh(&self) -> Result<Arc<View>, RefreshError> {
        Ok(self.refresh_only(None).await?.0)
    }

    /// [`Self::refresh`] narrowed to the driver named `only` (ZStack's Refresh with `name`):
    /// the new view, and the manifests this refresh could not load.
    pub async fn refresh_only(
        &self,
        only: Option<&str>,
    ) -> Result<(Arc<View>, Vec<ManifestError>), RefreshError> {
        let _one = self.0.scanning.lock().await;
        let found = self.scan(only);
        let now = now_micros();
        let rows: Vec<DriverRow> = found
            .drivers
            .iter()
            .map(|d| DriverRow {
                uuid: d.manifest.uuid.clone(),
                name: d.manifest.name.clone(),
                kind: d.manifest.kind.clone(),
                vendor: d.manifest.vendor.clone(),
                version: d.manifest.version.clone(),
                description: d.manifest.description.clone(),
                license: d.manifest.license.clone(),
                features: d.manifest.features_json(),
                manifest: serde_json::to_value(&d.manifest).unwrap_or_default(),
                deleted: false,
                created_at: now,
                updated_at: now,
            })
            .collect();
        self.0.store.upsert_drivers(&rows).await?;
        let generation = self.0.store.drivers_generation().await?;
        let view = self.reload().await?;
        for e in &found.errors {
            tracing::warn!(error = %e, "driver not loaded");
        }
        tracing::info!(
            drivers = view.drivers.len(),
            errors = found.errors.len(),
            only = only.unwrap_or("*"),
            "driver registry refreshed"
        );
        Ok((self.install(view, generation), found.errors))
    }

    /// The registry as it is now: rescanned first when another process refreshed it (checked
    /// at most once a second).
    pub async fn view(&self) -> Arc<View> {
        let current = self.current();
        let due = self
            .0
            .seen
            .lock()
            .map(|s| s.1.is_none_or(|at| at.elapsed() >= GENERATION_CHECK))
            .unwrap_or(true);
        if !due {
            return current;
        }
        let generation = match self.0.store.drivers_generation().await {
            Ok(g) => g,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the driver registry's generation");
                return current;
            }
        };
        let seen = self.0.seen.lock().map(|s| s.0).unwrap_or(-1);
        if let Ok(mut s) = self.0.seen.lock() {
            s.1 = Some(Instant::now());
        }
        if generation == seen {
            return current;
        }
        let _one = self.0.scanning.lock().await;
        match self.reload().await {
            Ok(view) => self.install(view, generation),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the driver rows");
                current
            }
        }
    }

    /// Make the next [`Self::view`] ask the store at once (a driver row changed here, or
    /// another process said it changed one), and tell the watchers of [`Self::changes`].
    pub fn stale(&self) {
        if let Ok(mut s) = self.0.seen.lock() {
            s.1 = None;
        }
        self.0.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Changes whenever the registry may have changed (here or, heard through the store, in
    /// another process): a running step watches it to stop at once when its driver is deleted.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.0.changes.subscribe()
    }

    /// The view as loaded, without asking the store.
    pub fn current(&self) -> Arc<View> {
        self.0.view.read().map(|v| v.clone()).unwrap_or_default()
    }

    fn install(&self, view: View, generation: i64) -> Arc<View> {
        let view = Arc::new(view);
        if let Ok(mut v) = self.0.view.write() {
            *v = view.clone();
        }
        if let Ok(mut s) = self.0.seen.lock() {
            *s = (generation, Some(Instant::now()));
        }
        view
    }

    /// The whole plug-in folder scanned, keeping only the drivers that have a row in the store
    /// (one removed by an Enforcing delete stays unloaded until a refresh brings it back),
    /// each marked as the store has it (soft-deleted or not).
    async fn reload(&self) -> Result<View, StoreError> {
        let mut view = self.scan(None);
        let rows: std::collections::HashMap<String, bool> = self
            .0
            .store
            .list_drivers()
            .await?
            .into_iter()
            .map(|r| (r.uuid, r.deleted))
            .collect();
        view.drivers.retain(|d| rows.contains_key(&d.manifest.uuid));
        for d in &mut view.drivers {
            d.deleted = rows.get(&d.manifest.uuid).copied().unwrap_or(false);
        }
        Ok(view)
    }

    /// Scan the plug-in folder (no store access); `only` narrows it to one driver name.
    fn scan(&self, only: Option<&str>) -> View {
        let config = &self.0.config;
        let mut errors = Vec::new();
        let simulated_folder = config.plugins.join(simulated::NAME);
        let local_folder = config.plugins.join(local_process::NAME);
        let mut builtins = vec![pginstall_manifest(), probes_manifest()];
        match Simulated::manifest(&simulated_folder) {
            Ok(m) => builtins.push(m),
            Err(reason) if only.is_none_or(|o| o == simulated::NAME) => {
                errors.push(ManifestError {
                    path: simulated_folder.join(simulated::SETTINGS_FILE),
                    reason,
                })
            }
            Err(_) => {}
        }
        let (addons, catalog_errors) = local_process::catalog(&local_folder);
        if only.is_none_or(|o| o == local_process::NAME) {
            errors.extend(catalog_errors);
        }
        let (program, args) = &config.local_process;
        builtins.push(local_process::manifest(
            &program.to_string_lossy(),
            args,
            addons,
        ));
        let found = scan(&config.plugins, builtins, only);
        errors.extend(found.errors);
        let drivers = found
            .drivers
            .into_iter()
            .map(|f| {
                let runner: Option<Arc<dyn AddonDriver>> =
                    match (&f.source, f.manifest.uuid.as_str()) {
                        (DriverSource::Builtin, simulated::UUID) => Some(Arc::new(Simulated {
                            folder: simulated_folder.clone(),
                        })),
                        (DriverSource::Builtin, local_process::UUID) => {
                            Some(Arc::new(ExternalDriver {
                                program: program.clone(),
                                args: args.clone(),
                                folder: local_folder.clone(),
                                timeout: Duration::from_secs(f.manifest.timeout_seconds),
                                limits: config.limits.clone(),
                                env: vec![],
                            }))
                        }
                        (DriverSource::Builtin, _) => None,
                        (DriverSource::External(folder), _) => Some(Arc::new(ExternalDriver {
                            program: PathBuf::from(&f.manifest.executable),
                            args: f.manifest.args.clone(),
                            folder: folder.clone(),
                            timeout: Duration::from_secs(f.manifest.timeout_seconds),
                            limits: config.limits.clone(),
                            env: vec![],
                        })),
                    };
                Driver {
                    manifest: f.manifest,
                    source: f.source,
                    deleted: false,
                    runner,
                }
            })
            .collect();
        View { drivers, errors }
    }
}

/// A built-in driver that serves another family (listed, not run for add-ons).
fn builtin(uuid: &str, name: &str, kind: &str, description: &str) -> DriverManifest {
    DriverManifest {
        uuid: uuid.into(),
        name: name.into(),
        kind: kind.into(),
        vendor: "plugboard".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        description: description.into(),
        license: "Apache-2.0".into(),
        executable: String::new(),
        args: vec![],
        features: BTreeMap::new(),
        timeout_seconds: plugboard_drivers::manifest::DEFAULT_TIMEOUT_SECONDS,
        addons: vec![],
        steps: BTreeMap::new(),
        options: vec![],
    }
}

/// The PostgreSQL package installer (GaussDB kernel plug-ins).
pub fn pginstall_manifest() -> DriverManifest {
    builtin(
        PGINSTALL_UUID,
        "postgresql-package-installer",
        "kernel-plugin",
        "Installs kernel plug-in packages into PostgreSQL servers (GaussDB kernel plug-ins)",
    )
}

/// The database probes (DBSS audited databases).
pub fn probes_manifest() -> DriverManifest {
    builtin(
        PROBES_UUID,
        "database-probes",
        "audit-probe",
        "Checks that audited databases answer (DBSS)",
    )
}
