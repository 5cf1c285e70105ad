//! The add-on job: what runs behind install, `action` (restart, redeploy) and uninstall. Its
//! steps are the task names the add-on's driver gives for the action (`[steps]` of its
//! manifest); each step is one call of the driver's step interface (one process per step for
//! external drivers), with the request carrying only the tenant's own add-on, environment and
//! resources, the results of the earlier steps, and the add-on's work directory
//! `<data-dir>/addons/<addon_id>/`. The driver's log lines become the task's messages; its
//! progress the job's. A step the driver fails with `retry: true` is retried with back-off like
//! any transient error; any other failure fails the job.
//!
//! The add-on's status is written in the transaction that ends the job
//! ([`AddonJobEnded`]): SUCCEEDED (with the version and host the steps reported), FAILED, or —
//! for an uninstall that succeeded — the add-on removed.

use crate::drivers::Registry;
use plugboard_core::time::now_micros;
use plugboard_drivers::step::{
    AddonRef, EnvironmentRef, Label, ResourceRef, StepEvent, StepFailure, StepRequest,
    PROTOCOL_VERSION,
};
use plugboard_jobs::{JobHandler, JobKind, JobOutcome, StepCtx, StepError};
use plugboard_store::jobs::{BoxedEffect, EffectTx, Job, JobEffect};
use plugboard_store::servicestage::{Addon, Environment};
use plugboard_store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The add-on job kind.
pub struct AddonJob;

/// What an add-on job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AddonAction {
    Install,
    Restart,
    Redeploy,
    Uninstall,
}

impl AddonAction {
    /// The action's name (the driver's `[steps]` key, and what the step request says).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Install => "install",
            Self::Restart => "restart",
            Self::Redeploy => "redeploy",
            Self::Uninstall => "uninstall",
        }
    }

    /// The ServiceStage `job_type`.
    pub fn job_type(self) -> &'static str {
        match self {
            Self::Install => "PROVISION",
            Self::Uninstall => "DEPROVISION",
            Self::Restart | Self::Redeploy => "DAILY_OPERATION",
        }
    }
}

/// An add-on job's target: the add-on (one job per add-on at a time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddonTarget(pub String);

/// What the submitter commits as the job's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddonJobInput {
    pub action: AddonAction,
    pub addon_id: String,
    pub environment_id: String,
    /// The driver that runs it (the add-on's).
    pub driver_uuid: String,
    /// The user name of who submitted it.
    #[serde(default)]
    pub created_by: String,
}

impl JobKind for AddonJob {
    const KIND: &'static str = "ServiceStageAddon";
    /// Replaced at submission by the driver's task names for the action.
    const STEPS: &'static [&'static str] = &["run"];
    type Input = AddonJobInput;
    type Target = AddonTarget;

    fn target_key(target: &AddonTarget) -> String {
        format!("servicestage:addon:{}", target.0)
    }

    fn parse_target(key: &str) -> Option<AddonTarget> {
        key.strip_prefix("servicestage:addon:")
            .map(|id| AddonTarget(id.to_string()))
    }
}

/// How often a running step checks that its driver is still registered.
const DRIVER_CHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// The most of a step's log kept in its task's messages (the latest lines win).
const MAX_MESSAGES_BYTES: usize = 16 * 1024;

/// Runs add-on jobs.
pub struct AddonJobHandler {
    store: Store,
    registry: Registry,
    /// `<data-dir>/addons`.
    addons_root: PathBuf,
    /// The add-on and environment of each running job, read once per job.
    cache: Mutex<HashMap<String, (Addon, Environment)>>,
}

fn failed(message: impl Into<String>) -> StepError {
    StepError::Failed(message.into())
}

fn store_error(e: StoreError) -> StepError {
    StepError::Transient(format!("the store failed: {e}"))
}

impl AddonJobHandler {
    pub fn new(store: Store, registry: Registry, addons_root: PathBuf) -> Self {
        Self {
            store,
            registry,
            addons_root,
            cache: Mutex::new(HashMap::new()),
        }
    }

    async fn load(
        &self,
        job: &Job,
        input: &AddonJobInput,
    ) -> Result<(Addon, Environment), StepError> {
        if let Some(known) = self.cache.lock().ok().and_then(|c| c.get(&job.id).cloned()) {
            return Ok(known);
        }
        let addon = match self.store.addon(&input.addon_id).await {
            Ok(a) => a,
            Err(StoreError::NotFound) => {
                return Err(failed(format!(
                    "add-on {} no longer exists",
                    input.addon_id
                )))
            }
            Err(e) => return Err(store_error(e)),
        };
        let env = match self
            .store
            .get_environment(&job.project_id, &input.environment_id)
            .await
        {
            Ok(e) => e,
            Err(StoreError::NotFound) => {
                return Err(failed(format!(
                    "environment {} no longer exists",
                    input.environment_id
                )))
            }
            Err(e) => return Err(store_error(e)),
        };
        if let Ok(mut c) = self.cache.lock() {
            if c.len() > 10_000 {
                c.clear(); // only jobs whose lease was lost leave entries behind
            }
            c.insert(job.id.clone(), (addon.clone(), env.clone()));
        }
        Ok((addon, env))
    }
}

/// A step's log, bounded: the latest lines, at most [`MAX_MESSAGES_BYTES`].
#[derive(Default)]
struct Messages {
    lines: std::collections::VecDeque<String>,
    bytes: usize,
}

impl Messages {
    fn push(&mut self, line: String) {
        self.bytes += line.len() + 1;
        self.lines.push_back(line);
        while self.bytes > MAX_MESSAGES_BYTES && self.lines.len() > 1 {
            if let Some(old) = self.lines.pop_front() {
                self.bytes -= old.len() + 1;
            }
        }
    }

    fn text(&self) -> String {
        self.lines.iter().cloned().collect::<Vec<_>>().join("\n")
    }
}

#[async_trait::async_trait]
impl JobHandler<AddonJob> for AddonJobHandler {
    async fn run_step(&self, ctx: &mut StepCtx, input: &AddonJobInput) -> Result<(), StepError> {
        let (addon, env) = self.load(&ctx.job, input).await?;
        let view = self.registry.view().await;
        let Some(driver) = view.driver(&input.driver_uuid) else {
            return Err(failed(format!(
                "the add-on's driver {} is gone (deleted, or not in this process's plug-in folder); put it back and refresh the drivers",
                input.driver_uuid
            )));
        };
        let Some(runner) = driver.runner() else {
            return Err(failed(format!(
                "driver {} does not run add-ons",
                driver.manifest.name
            )));
        };
        let simulated = driver.is_simulated();
        let workdir = self.addons_root.join(&addon.id);
        if !simulated {
            tokio::fs::create_dir_all(&workdir).await.map_err(|e| {
                StepError::Transient(format!("cannot create {}: {e}", workdir.display()))
            })?;
        }
        let request = StepRequest {
            protocol: PROTOCOL_VERSION,
            job_id: ctx.job.id.clone(),
            action: input.action.as_str().into(),
            step: ctx.step_name().to_string(),
            step_index: ctx.step(),
            addon: AddonRef {
                id: addon.id.clone(),
                name: addon.name.clone(),
                version: addon.version.clone(),
                environment_id: addon.environment_id.clone(),
                cce_id: addon.cce_id.clone(),
                cse_id: addon.cse_id.clone(),
            },
            environment: EnvironmentRef {
                id: env.id.clone(),
                name: env.name.clone(),
                labels: env
                    .labels
                    .iter()
                    .map(|l| Label {
                        key: l.key.clone(),
                        value: l.value.clone(),
                    })
                    .collect(),
            },
            resources: env
                .resources
                .iter()
                .map(|r| ResourceRef {
                    id: r.id.clone(),
                    name: r.name.clone(),
                    kind: r.kind.clone(),
                })
                .collect(),
            context: ctx.context.clone(),
            workdir: format!("{}/", workdir.display()),
        };
        let (events, mut received) = tokio::sync::mpsc::unbounded_channel();
        let mut sink = move |e: StepEvent| {
            events.send(e).ok();
        };
        let mut messages = Messages::default();
        let driver_uuid = driver.manifest.uuid.clone();
        let driver_name = driver.manifest.name.clone();
        drop(view);
        let outcome = {
            let run = runner.run_step(&request, &mut sink);
            tokio::pin!(run);
            // A driver removed from the registry (ZStack's Enforcing delete) stops its steps:
            // dropping the step kills its processes. Checked when the registry says it
            // changed (here or, through the store's notification, in another process), and
            // every DRIVER_CHECK in any case.
            let mut check = tokio::time::interval(DRIVER_CHECK);
            check.tick().await;
            let mut changes = self.registry.changes();
            loop {
                let look = tokio::select! {
                    outcome = &mut run => break outcome,
                    _ = check.tick() => true,
                    Ok(()) = changes.changed() => true,
                    Some(event) = received.recv() => {
                        match event {
                            StepEvent::Progress(p) => ctx.progress(p).await,
                            StepEvent::Log(line) => {
                                messages.push(line);
                                ctx.log(messages.text());
                            }
                        }
                        false
                    }
                };
                if look && self.registry.view().await.driver(&driver_uuid).is_none() {
                    break Err(StepFailure::new(format!(
                        "driver {driver_name} ({driver_uuid}) was deleted while the step ran; its processes were killed"
                    )));
                }
            }
        };
        while let Ok(event) = received.try_recv() {
            if let StepEvent::Log(line) = event {
                messages.push(line);
            }
        }
        ctx.log(messages.text());
        match outcome {
            Ok(success) => {
                for (k, v) in success.result {
                    ctx.context.insert(k, v);
                }
                if simulated {
                    ctx.skip_checkpoint();
                }
                if ctx.step() + 1 == ctx.job.steps.len() {
                    let text = |key: &str| {
                        ctx.context
                            .get(key)
                            .and_then(|v| v.as_str())
                            .map(str::to_string)
                    };
                    // The add-on's host stays the one it was installed on (the process's
                    // `[jobs] host`); what the driver calls its host is in the job's result.
                    ctx.complete_with(AddonJobEnded {
                        addon_id: addon.id.clone(),
                        action: input.action,
                        succeeded: true,
                        version: text("version"),
                    });
                }
                Ok(())
            }
            Err(failure) => {
                // The task's messages keep what the driver logged, then why the step failed.
                let mut reason = messages.text();
                if !reason.is_empty() {
                    reason.push('\n');
                }
                reason.push_str(&format!("{}: {}", ctx.step_name(), failure.reason));
                if !failure.stderr.trim().is_empty() {
                    reason.push_str("\nstderr:\n");
                    reason.push_str(failure.stderr.trim_end());
                }
                if failure.retry {
                    Err(StepError::Transient(reason))
                } else {
                    Err(StepError::Failed(reason))
                }
            }
        }
    }

    async fn on_finish(&self, job: &Job, _outcome: &JobOutcome) {
        if let Ok(mut c) = self.cache.lock() {
            c.remove(&job.id);
        }
    }

    fn failure_effects(
        &self,
        _job: &Job,
        input: &AddonJobInput,
        _reason: &str,
    ) -> Vec<BoxedEffect> {
        vec![Arc::new(AddonJobEnded {
            addon_id: input.addon_id.clone(),
            action: input.action,
            succeeded: false,
            version: None,
        })]
    }
}

/// An add-on job's end, committed with it: the add-on SUCCEEDED (with the version the steps
/// reported) or FAILED; an uninstall that succeeded removes the add-on.
#[derive(Debug)]
pub struct AddonJobEnded {
    pub addon_id: String,
    pub action: AddonAction,
    pub succeeded: bool,
    pub version: Option<String>,
}

#[async_trait::async_trait]
impl JobEffect for AddonJobEnded {
    async fn apply(&self, tx: &mut EffectTx<'_>) -> plugboard_store::Result<()> {
        if self.succeeded && self.action == AddonAction::Uninstall {
            return tx.delete_addon(&self.addon_id).await;
        }
        let status = if self.succeeded {
            super::AddonStatus::Succeeded
        } else {
            super::AddonStatus::Failed
        };
        tx.set_addon_status(
            &self.addon_id,
            status.as_str(),
            self.version.as_deref(),
            None,
            now_micros(),
        )
        .await
    }
}
