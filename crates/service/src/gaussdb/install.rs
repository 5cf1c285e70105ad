//! The `InstallKernelPlugin` job: what runs behind `POST .../kernel-plugin`, declared once
//! ([`InstallKernelPlugin`]: kind, steps, target, input) for the submitter
//! ([`super::GaussDb::install`]) and the handler ([`InstallHandler`]). Its steps, each
//! idempotent so a job resumed by another process (or after a crash) simply does it again:
//!
//! 1. `download` — stream the package into this process's staging directory under the
//!    network policy (every redirect and resolved address checked), with a size cap, hashing
//!    as it goes; a SHA-256 other than the one given fails the job.
//! 2. `unpack` — unpack into staging with every rule of the package format (no links, no
//!    escapes, no devices, limits, a control file for the plug-in), check `pg_major` against
//!    the server and refuse packages that need a preload.
//! 3. `install` — move the files into the server's `sharedir`/`pkglibdir` atomically, each
//!    with its SHA-256.
//! 4. `check` — the server must read the job's own files: a marker control file written next
//!    to the plug-in's must show up in `pg_available_extensions` (so the server's extension
//!    directory is the one the job wrote to), and the plug-in must be listed there with the
//!    default version of the control file the job installed. The install is recorded in the
//!    transaction that completes the job.
//!
//! Staging lives in `<data-dir>/staging/<job_id>/`; a step that finds it missing (another
//! process ran the earlier steps, or this one restarted) fetches and unpacks again. Instances
//! whose install mode touches no server ([`super::mode::InstallMode::touches_server`]) walk
//! their steps and record the result.

use super::mode::Mode;
use plugboard_core::secrets::MasterKey;
use plugboard_core::time::now_micros;
use plugboard_drivers::fetch::download;
use plugboard_drivers::netpolicy::NetworkPolicy;
use plugboard_drivers::package::{unpack, Package, PackageLimits};
use plugboard_drivers::pg::PgTarget;
use plugboard_drivers::pginstall::{install_files, PgLayout};
use plugboard_jobs::{JobHandler, JobKind, JobOutcome, StepCtx, StepError};
use plugboard_store::gaussdb::{GaussDbInstance, InstalledPlugin, PluginFile};
use plugboard_store::jobs::{EffectTx, Job, JobEffect};
use plugboard_store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The kernel plug-in install job kind.
pub struct InstallKernelPlugin;

/// An install job's target: the instance (one mutating job per instance at a time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceTarget(pub String);

/// What the install call commits as the job's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "StoredInput", into = "StoredInput")]
pub struct InstallInput {
    pub instance_id: String,
    pub plugin_name: String,
    pub url: String,
    /// Lower-case hex.
    pub sha_256: String,
    /// The instance's install mode when the job was submitted.
    pub mode: Mode,
}

/// [`InstallInput`] as stored: with the mode, and `"simulated": true|false` as earlier
/// versions wrote it (and still read it, should processes of two versions share a store).
#[derive(Serialize, Deserialize)]
struct StoredInput {
    instance_id: String,
    plugin_name: String,
    url: String,
    sha_256: String,
    #[serde(default)]
    mode: Option<Mode>,
    #[serde(default)]
    simulated: bool,
}

impl From<InstallInput> for StoredInput {
    fn from(i: InstallInput) -> Self {
        Self {
            simulated: i.mode == Mode::Simulated,
            mode: Some(i.mode),
            instance_id: i.instance_id,
            plugin_name: i.plugin_name,
            url: i.url,
            sha_256: i.sha_256,
        }
    }
}

impl From<StoredInput> for InstallInput {
    fn from(s: StoredInput) -> Self {
        let mode = s.mode.unwrap_or(if s.simulated {
            Mode::Simulated
        } else {
            Mode::Local
        });
        Self {
            instance_id: s.instance_id,
            plugin_name: s.plugin_name,
            url: s.url,
            sha_256: s.sha_256,
            mode,
        }
    }
}

impl JobKind for InstallKernelPlugin {
    /// The GaussDB job name of an install [the vendor's is unknown].
    const KIND: &'static str = "InstallKernelPlugin";
    const STEPS: &'static [&'static str] = &["download", "unpack", "install", "check"];
    type Input = InstallInput;
    type Target = InstanceTarget;

    fn target_key(target: &InstanceTarget) -> String {
        format!("gaussdb:{}", target.0)
    }

    fn parse_target(key: &str) -> Option<InstanceTarget> {
        key.strip_prefix("gaussdb:")
            .map(|id| InstanceTarget(id.to_string()))
    }
}

/// Runs kernel plug-in installs.
pub struct InstallHandler {
    pub store: Store,
    pub policy: Arc<NetworkPolicy>,
    pub key: MasterKey,
    /// `<data-dir>/staging`.
    pub staging_root: PathBuf,
    pub limits: PackageLimits,
    /// What this process already knows of the jobs it runs, by job id: the instance (read
    /// once per job, not per step) and the unpacked package (the install step uses it instead
    /// of unpacking again; a job resumed elsewhere unpacks afresh). Dropped when a job ends.
    pub cache: Mutex<HashMap<String, Cached>>,
}

/// See [`InstallHandler::cache`].
#[derive(Default)]
pub struct Cached {
    instance: Option<GaussDbInstance>,
    package: Option<Package>,
}

const PACKAGE_FILE: &str = "package.tar.gz";
const UNPACKED_DIR: &str = "unpacked";

fn failed(message: impl Into<String>) -> StepError {
    StepError::Failed(message.into())
}

fn store_error(e: StoreError) -> StepError {
    StepError::Transient(format!("the store failed: {e}"))
}

impl InstallHandler {
    fn staging(&self, job: &Job) -> PathBuf {
        self.staging_root.join(&job.id)
    }

    async fn instance(
        &self,
        job: &Job,
        input: &InstallInput,
    ) -> Result<GaussDbInstance, StepError> {
        let known = self
            .cache
            .lock()
            .ok()
            .and_then(|c| c.get(&job.id).and_then(|e| e.instance.clone()));
        if let Some(i) = known {
            return Ok(i);
        }
        match self.store.gaussdb_instance(&input.instance_id).await {
            Ok(i) => {
                if let Ok(mut c) = self.cache.lock() {
                    if c.len() > 10_000 {
                        c.clear(); // only jobs whose lease was lost leave entries behind
                    }
                    c.entry(job.id.clone()).or_default().instance = Some(i.clone());
                }
                Ok(i)
            }
            Err(StoreError::NotFound) => Err(failed(format!(
                "instance {} no longer exists",
                input.instance_id
            ))),
            Err(e) => Err(store_error(e)),
        }
    }

    fn target(&self, i: &GaussDbInstance) -> Result<PgTarget, StepError> {
        super::pg_target(&self.key, i, &i.database_name)
            .map_err(|e| failed(format!("the instance password cannot be opened: {e}")))
    }

    /// Download the package into staging and check its SHA-256; progress 0–100 % of the step.
    async fn fetch(&self, ctx: &mut StepCtx, input: &InstallInput) -> Result<PathBuf, StepError> {
        let dir = self.staging(&ctx.job);
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| StepError::Transient(format!("cannot create {}: {e}", dir.display())))?;
        let file = dir.join(PACKAGE_FILE);
        let percent = Arc::new(AtomicU64::new(0));
        let seen = percent.clone();
        let max = self.policy.max_package_bytes();
        let mut progress = move |done: u64, total: Option<u64>| {
            if let Some(total) = total.filter(|t| *t > 0) {
                seen.store(done.saturating_mul(100) / total, Ordering::Relaxed);
            }
        };
        // Polled here rather than spawned: a step stopped by the engine (the process stopping,
        // or the job's lease lost) stops its download with it.
        let downloaded = {
            let fetching = download(&self.policy, &input.url, &file, max, &mut progress);
            tokio::pin!(fetching);
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            loop {
                tokio::select! {
                    done = &mut fetching => break done,
                    _ = tick.tick() => {
                        let p = percent.load(Ordering::Relaxed).min(100) as u8;
                        ctx.progress(p).await;
                    }
                }
            }
        };
        let downloaded = match downloaded {
            Ok(d) => d,
            Err(e) if e.is_transient() => return Err(StepError::Transient(e.to_string())),
            Err(e) => return Err(failed(e.to_string())),
        };
        if !downloaded.sha256.eq_ignore_ascii_case(&input.sha_256) {
            tokio::fs::remove_file(&file).await.ok();
            return Err(failed(format!(
                "sha_256 mismatch: expected {}, got {} ({} bytes downloaded from {})",
                input.sha_256, downloaded.sha256, downloaded.bytes, input.url
            )));
        }
        ctx.context
            .insert("package_bytes".into(), json!(downloaded.bytes));
        ctx.log(format!(
            "downloaded {} bytes, sha256 {}",
            downloaded.bytes, downloaded.sha256
        ));
        Ok(file)
    }

    /// Unpack the package (fetching it first when this process has not) and check it against
    /// the server.
    async fn unpack(
        &self,
        ctx: &mut StepCtx,
        input: &InstallInput,
        instance: &GaussDbInstance,
    ) -> Result<(PathBuf, Package), StepError> {
        let dir = self.staging(&ctx.job);
        let mut file = dir.join(PACKAGE_FILE);
        if !file.is_file() {
            file = self.fetch(ctx, input).await?;
        }
        let staging = dir.join(UNPACKED_DIR);
        if staging.exists() {
            tokio::fs::remove_dir_all(&staging).await.map_err(|e| {
                StepError::Transient(format!("cannot clear {}: {e}", staging.display()))
            })?;
        }
        let limits = self.limits.clone();
        let name = input.plugin_name.clone();
        let into = staging.clone();
        let package = tokio::task::spawn_blocking(move || unpack(&file, &into, &name, &limits))
            .await
            .map_err(|e| StepError::Transient(format!("the unpack task failed: {e}")))?
            .map_err(|e| failed(e.to_string()))?;
        if let Some(major) = package.manifest.pg_major {
            if i64::from(major) != instance.pg_major {
                return Err(failed(format!(
                    "package pg_major {major} does not match the server's PostgreSQL {}",
                    instance.pg_major
                )));
            }
        }
        if package.manifest.preload {
            return Err(failed(format!(
                "package {} needs shared_preload_libraries (preload = true) and so a server restart, which plugboard does not do yet",
                input.plugin_name
            )));
        }
        Ok((staging, package))
    }

    async fn install(&self, ctx: &mut StepCtx, input: &InstallInput) -> Result<(), StepError> {
        let instance = self.instance(&ctx.job, input).await?;
        let staging = self.staging(&ctx.job).join(UNPACKED_DIR);
        let cached = self
            .cache
            .lock()
            .ok()
            .and_then(|c| c.get(&ctx.job.id).and_then(|e| e.package.clone()))
            .filter(|_| staging.is_dir());
        let (staging, package) = match cached {
            Some(package) => (staging, package),
            None => self.unpack(ctx, input, &instance).await?,
        };
        let layout = PgLayout {
            sharedir: instance.sharedir.clone().into(),
            pkglibdir: instance.pkglibdir.clone().into(),
        };
        let pkg = package.clone();
        let installed = tokio::task::spawn_blocking(move || install_files(&pkg, &staging, &layout))
            .await
            .map_err(|e| StepError::Transient(format!("the install task failed: {e}")))?
            .map_err(|e| failed(e.to_string()))?;
        let files: Vec<serde_json::Value> = installed
            .iter()
            .map(|f| json!({"path": f.path.display().to_string(), "sha256": f.sha256}))
            .collect();
        let replaced = installed.iter().filter(|f| f.replaced).count();
        ctx.context.insert("files".into(), json!(files));
        ctx.context
            .insert("extensions".into(), json!(extensions_of(&package)));
        ctx.context
            .insert("version".into(), json!(package.version()));
        ctx.log(format!(
            "{} files in place ({replaced} written, the rest already identical)",
            installed.len()
        ));
        Ok(())
    }

    /// The check step on a server: it must read the extension files the job installed.
    async fn check_server(&self, ctx: &StepCtx, input: &InstallInput) -> Result<(), StepError> {
        let instance = self.instance(&ctx.job, input).await?;
        let target = self.target(&instance)?;
        let at = format!("{}:{}", instance.host, instance.port);
        let extension_dir = Path::new(&instance.sharedir).join("extension");
        let marker = format!("plugboard_check_{}", ctx.job.id.replace('-', ""));
        let marker_file = extension_dir.join(format!("{marker}.control"));
        let stamp = format!("{}", now_micros());
        tokio::fs::write(
            &marker_file,
            format!("# written by plugboard to check which files the server reads; removed at once\ncomment = 'plugboard install check'\ndefault_version = '{stamp}'\nrelocatable = true\n"),
        )
        .await
        .map_err(|e| failed(format!("cannot write {}: {e}", marker_file.display())))?;
        let seen = target.available_extension(&marker).await;
        if let Err(e) = tokio::fs::remove_file(&marker_file).await {
            tracing::warn!(file = %marker_file.display(), error = %e, "cannot remove the install check marker");
        }
        match seen {
            Ok(Some(v)) if v == stamp => {}
            Ok(_) => {
                return Err(failed(format!(
                    "after install, the server at {at} does not read extension files from {}: a control file written there is not listed by pg_available_extensions (the instance's sharedir {} is not the server's)",
                    extension_dir.display(),
                    instance.sharedir
                )))
            }
            Err(e) => return Err(StepError::Transient(e.to_string())),
        }
        let listed = match target.available_extension(&input.plugin_name).await {
            Ok(Some(v)) => v,
            Ok(None) => {
                return Err(failed(format!(
                    "after install, pg_available_extensions on {at} does not list {}",
                    input.plugin_name
                )))
            }
            Err(e) => return Err(StepError::Transient(e.to_string())),
        };
        let control = extension_dir.join(format!("{}.control", input.plugin_name));
        if let Some(wrote) = default_version(&control).await {
            if wrote != listed {
                return Err(failed(format!(
                    "after install, pg_available_extensions on {at} lists {} version `{listed}`, but the control file the job installed ({}) says `{wrote}`",
                    input.plugin_name,
                    control.display()
                )));
            }
        }
        Ok(())
    }

    /// The last step: check, then record the install with the job's completion.
    async fn check(&self, ctx: &mut StepCtx, input: &InstallInput) -> Result<(), StepError> {
        let version = if input.mode.driver().touches_server() {
            self.check_server(ctx, input).await?;
            ctx.context
                .get("version")
                .and_then(|v| v.as_str())
                .unwrap_or("unknown")
                .to_string()
        } else {
            input.mode.name().to_string()
        };
        let files: Vec<PluginFile> = ctx
            .context
            .get("files")
            .and_then(|f| f.as_array())
            .map(|items| {
                items
                    .iter()
                    .filter_map(|f| {
                        Some(PluginFile {
                            path: f.get("path")?.as_str()?.to_string(),
                            sha256: f.get("sha256")?.as_str()?.to_string(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let extensions: Vec<String> = ctx
            .context
            .get("extensions")
            .and_then(|e| serde_json::from_value(e.clone()).ok())
            .unwrap_or_else(|| vec![input.plugin_name.clone()]);
        // recorded in the same transaction as the job's completion
        ctx.complete_with(RecordInstall {
            plugin: InstalledPlugin {
                instance_id: input.instance_id.clone(),
                plugin_name: input.plugin_name.clone(),
                version,
                sha256: input.sha_256.clone(),
                extensions,
                job_id: ctx.job.id.clone(),
                installed_at: now_micros(),
            },
            files: input.mode.driver().touches_server().then_some(files),
        });
        Ok(())
    }
}

/// The effect of a completed install: the plug-in and the files it put in place, recorded
/// with the job's completion ([`plugboard_store::Store::record_plugin_install`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordInstall {
    pub plugin: InstalledPlugin,
    /// `None`: no files (an install mode that touches no server), recorded ones stay.
    pub files: Option<Vec<PluginFile>>,
}

#[async_trait::async_trait]
impl JobEffect for RecordInstall {
    async fn apply(&self, tx: &mut EffectTx<'_>) -> Result<(), StoreError> {
        tx.record_plugin_install(&self.plugin, self.files.as_deref())
            .await
    }
}

/// The `default_version` a control file sets (`None`: unreadable, or it sets none).
async fn default_version(control: &Path) -> Option<String> {
    let text = tokio::fs::read_to_string(control).await.ok()?;
    text.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        (key.trim() == "default_version").then(|| {
            value
                .trim()
                .trim_matches(|c| c == '\'' || c == '"')
                .to_string()
        })
    })
}

/// The extensions a package ships: the names of its control files.
fn extensions_of(package: &Package) -> Vec<String> {
    let mut names: Vec<String> = package
        .files
        .iter()
        .filter_map(|f| {
            let rel = f.rel.to_str()?;
            let name = rel
                .strip_prefix("share/extension/")?
                .strip_suffix(".control")?;
            (!name.contains('/')).then(|| name.to_string())
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

#[async_trait::async_trait]
impl JobHandler<InstallKernelPlugin> for InstallHandler {
    async fn run_step(&self, ctx: &mut StepCtx, input: &InstallInput) -> Result<(), StepError> {
        let step = ctx.step_name().to_string();
        match step.as_str() {
            "download" | "unpack" | "install" if !input.mode.driver().touches_server() => {
                ctx.log(format!("{} instance: nothing to {step}", input.mode.name()));
                ctx.skip_checkpoint();
            }
            "download" => {
                self.fetch(ctx, input).await?;
            }
            "unpack" => {
                let instance = self.instance(&ctx.job, input).await?;
                let (_, package) = self.unpack(ctx, input, &instance).await?;
                ctx.log(format!(
                    "{} files, version {}",
                    package.files.len(),
                    package.version()
                ));
                if let Ok(mut c) = self.cache.lock() {
                    c.entry(ctx.job.id.clone()).or_default().package = Some(package);
                }
            }
            "install" => self.install(ctx, input).await?,
            "check" => self.check(ctx, input).await?,
            other => return Err(failed(format!("unknown step `{other}`"))),
        }
        Ok(())
    }

    async fn on_finish(&self, job: &Job, _outcome: &JobOutcome) {
        if let Ok(mut c) = self.cache.lock() {
            c.remove(&job.id);
        }
        // An install that touches no server never made a staging directory: no trip to the
        // blocking pool per job to find it missing.
        let staged = InstallInput::deserialize(&job.input)
            .map_or(true, |i| i.mode.driver().touches_server());
        if staged {
            remove_staging(&self.staging(job)).await;
        }
    }
}

/// Remove a staging directory (nothing to do when it is gone).
pub async fn remove_staging(dir: &Path) {
    if let Err(e) = tokio::fs::remove_dir_all(dir).await {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot remove staging");
        }
    }
}
