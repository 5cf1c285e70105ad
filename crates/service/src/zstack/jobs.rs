//! The ZStack api-jobs: `RefreshPluginDrivers` and `DeletePluginDrivers`, durable jobs like any
//! other (a process that dies mid-job has it taken over), and `DeliverWebHook`, the delivery of
//! an ended api-job's result to its `X-Web-Hook` — submitted in the transaction that ends the
//! api-job, so a result is delivered exactly when the job has ended, and retried 15 times every
//! 2 s on a non-2xx answer [vendor]. Delivery is at least once (docs/api-coverage.md → ZStack):
//! a POST the receiver took but whose answer was not recorded is sent again, with the same
//! `X-Job-UUID` (the receiver's idempotency key) and body.
//!
//! An api-job's outcome is kept in the job row: its event (`{}` for Refresh and Delete) in the
//! context under [`EVENT`], or its ZStack `ErrorCode` as JSON in the failure reason.

use super::{serves, ErrorCode};
use crate::drivers::Registry;
use plugboard_core::time::now_micros;
use plugboard_drivers::netpolicy::NetworkPolicy;
use plugboard_jobs::{JobClass, JobHandler, JobKind, StepCtx, StepError};
use plugboard_store::jobs::{BoxedEffect, EffectTx, Job, JobEffect, NewJob};
use plugboard_store::Store;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// Where an api-job's event is kept in its context.
pub const EVENT: &str = "event";

/// Web-hook deliveries tried at most [vendor: 15 retries after the first].
const HOOK_TRIES: u32 = 16;
/// Between two tries [vendor].
const HOOK_INTERVAL: Duration = Duration::from_secs(2);
/// One try's time limit.
const HOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// A failure carrying a ZStack error (kept as JSON in the job's failure reason).
fn api_failure(e: ErrorCode) -> StepError {
    StepError::Failed(serde_json::to_string(&e).unwrap_or_else(|_| e.details.clone()))
}

fn store_error(e: plugboard_store::StoreError) -> StepError {
    StepError::Transient(format!("the store failed: {e}"))
}

/// The Refresh api-job.
pub struct RefreshPluginDrivers;

/// A refresh's target: itself (refreshes do not exclude each other).
pub struct RefreshTarget(pub String);

/// What a refresh was asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshPluginDriversInput {
    /// Only the driver of this name (none: all).
    pub name: Option<String>,
    pub web_hook: Option<String>,
}

impl JobKind for RefreshPluginDrivers {
    const KIND: &'static str = "ZStackRefreshPluginDrivers";
    const STEPS: &'static [&'static str] = &["refresh"];
    type Input = RefreshPluginDriversInput;
    type Target = RefreshTarget;

    fn target_key(t: &RefreshTarget) -> String {
        format!("zstack:refresh:{}", t.0)
    }

    fn parse_target(key: &str) -> Option<RefreshTarget> {
        key.strip_prefix("zstack:refresh:")
            .map(|k| RefreshTarget(k.to_string()))
    }
}

/// The Delete api-job.
pub struct DeletePluginDrivers;

/// A delete's target: the driver (one job per driver at a time).
pub struct DriverTarget(pub String);

/// How a driver is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeleteMode {
    /// Refused while something uses the driver; else soft delete (no new work).
    Permissive,
    /// The row removed whatever uses it; its running steps stopped.
    Enforcing,
}

/// What a delete was asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletePluginDriversInput {
    pub uuid: String,
    pub mode: DeleteMode,
    pub web_hook: Option<String>,
}

impl JobKind for DeletePluginDrivers {
    const KIND: &'static str = "ZStackDeletePluginDrivers";
    const STEPS: &'static [&'static str] = &["delete"];
    type Input = DeletePluginDriversInput;
    type Target = DriverTarget;

    fn target_key(t: &DriverTarget) -> String {
        format!("zstack:driver:{}", t.0)
    }

    fn parse_target(key: &str) -> Option<DriverTarget> {
        key.strip_prefix("zstack:driver:")
            .map(|k| DriverTarget(k.to_string()))
    }
}

/// The delivery of a web hook.
pub struct DeliverWebHook;

/// What is delivered, and where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebHookInput {
    pub url: String,
    /// The api-job's uuid (`X-Job-UUID`).
    pub job_uuid: String,
    /// `X-Job-Success`.
    pub success: bool,
    /// The api-job's result: its event, or `{"error": ...}`.
    pub body: Value,
}

impl JobKind for DeliverWebHook {
    const KIND: &'static str = "ZStackWebHook";
    /// A receiver that never answers holds a delivery slot, never one of the api-jobs'.
    const CLASS: JobClass = JobClass::Delivery;
    const STEPS: &'static [&'static str] = &["deliver"];
    type Input = WebHookInput;
    type Target = String;

    fn target_key(job_uuid: &String) -> String {
        format!("zstack:webhook:{job_uuid}")
    }

    fn parse_target(key: &str) -> Option<String> {
        key.strip_prefix("zstack:webhook:").map(str::to_string)
    }
}

/// Submits the web hook's delivery with the api-job's end.
#[derive(Debug)]
struct EnqueueWebHook(NewJob);

#[async_trait::async_trait]
impl JobEffect for EnqueueWebHook {
    async fn apply(&self, tx: &mut EffectTx<'_>) -> plugboard_store::Result<()> {
        tx.insert_job(&self.0).await
    }
}

/// The delivery job of `job`'s result to `url`.
fn web_hook_job(job: &Job, url: &str, success: bool, body: Value) -> Option<NewJob> {
    let input = WebHookInput {
        url: url.to_string(),
        job_uuid: job.id.clone(),
        success,
        body,
    };
    DeliverWebHook::new_job(
        plugboard_core::ids::hex32(),
        String::new(),
        &job.id,
        url.to_string(),
        &input,
        now_micros(),
    )
    .ok()
}

/// Complete an api-job with `{}` as its event, delivering it to `web_hook` if there is one.
fn complete(ctx: &mut StepCtx, web_hook: Option<&str>) {
    ctx.context.insert(EVENT.into(), json!({}));
    if let Some(url) = web_hook {
        if let Some(delivery) = web_hook_job(&ctx.job, url, true, json!({})) {
            ctx.complete_with(EnqueueWebHook(delivery));
        }
    }
}

/// The failure effects of an api-job with a web hook.
fn failure_hook(job: &Job, web_hook: Option<&str>, reason: &str) -> Vec<BoxedEffect> {
    let Some(url) = web_hook else {
        return vec![];
    };
    let error = super::api_failure_of(&job.id, reason);
    web_hook_job(job, url, false, json!({ "error": error }))
        .map(|d| vec![Arc::new(EnqueueWebHook(d)) as BoxedEffect])
        .unwrap_or_default()
}

/// Runs refreshes.
pub struct RefreshHandler {
    pub registry: Registry,
}

#[async_trait::async_trait]
impl JobHandler<RefreshPluginDrivers> for RefreshHandler {
    async fn run_step(
        &self,
        ctx: &mut StepCtx,
        input: &RefreshPluginDriversInput,
    ) -> Result<(), StepError> {
        let (_, errors) = self
            .registry
            .refresh_only(input.name.as_deref())
            .await
            .map_err(|e| StepError::Transient(e.to_string()))?;
        if !errors.is_empty() {
            let list: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            return Err(api_failure(ErrorCode::operation_error(format!(
                "{} plug-in driver(s) could not be loaded (the others were): {}",
                errors.len(),
                list.join("; ")
            ))));
        }
        complete(ctx, input.web_hook.as_deref());
        Ok(())
    }

    fn failure_effects(
        &self,
        job: &Job,
        input: &RefreshPluginDriversInput,
        reason: &str,
    ) -> Vec<BoxedEffect> {
        failure_hook(job, input.web_hook.as_deref(), reason)
    }
}

/// Runs deletes.
pub struct DeleteHandler {
    pub store: Store,
    pub registry: Registry,
}

#[async_trait::async_trait]
impl JobHandler<DeletePluginDrivers> for DeleteHandler {
    async fn run_step(
        &self,
        ctx: &mut StepCtx,
        input: &DeletePluginDriversInput,
    ) -> Result<(), StepError> {
        let row = match self.store.get_driver(&input.uuid).await {
            Ok(r) => Some(r),
            Err(plugboard_store::StoreError::NotFound) => None,
            Err(e) => return Err(store_error(e)),
        };
        // An unknown but UUID-shaped driver is deleted already [vendor].
        if let Some(row) = row {
            match input.mode {
                DeleteMode::Permissive => {
                    let users = self
                        .store
                        .driver_dependents(&row.uuid, serves(&row.uuid))
                        .await
                        .map_err(store_error)?;
                    if !users.is_empty() {
                        let list: Vec<String> = users
                            .iter()
                            .map(|(what, n)| format!("{n} {what}"))
                            .collect();
                        return Err(api_failure(ErrorCode::operation_error(format!(
                            "plug-in driver {}[uuid:{}] is still used by {}; delete them first or use deleteMode Enforcing",
                            row.name,
                            row.uuid,
                            list.join(", ")
                        ))));
                    }
                    self.store
                        .set_driver_deleted(&row.uuid, true, now_micros())
                        .await
                        .map_err(store_error)?;
                }
                DeleteMode::Enforcing => {
                    self.store
                        .delete_driver(&row.uuid)
                        .await
                        .map_err(store_error)?;
                }
            }
            self.registry.stale();
        }
        complete(ctx, input.web_hook.as_deref());
        Ok(())
    }

    fn failure_effects(
        &self,
        job: &Job,
        input: &DeletePluginDriversInput,
        reason: &str,
    ) -> Vec<BoxedEffect> {
        failure_hook(job, input.web_hook.as_deref(), reason)
    }
}

/// Delivers web hooks.
pub struct WebHookHandler {
    pub network: Arc<NetworkPolicy>,
}

#[async_trait::async_trait]
impl JobHandler<DeliverWebHook> for WebHookHandler {
    async fn run_step(&self, ctx: &mut StepCtx, input: &WebHookInput) -> Result<(), StepError> {
        let headers = [
            ("X-Job-UUID", input.job_uuid.clone()),
            ("X-Job-Success", input.success.to_string()),
        ];
        let mut last = String::new();
        for attempt in 0..HOOK_TRIES {
            if attempt > 0 {
                tokio::time::sleep(HOOK_INTERVAL).await;
            }
            match plugboard_drivers::fetch::post_json(
                &self.network,
                &input.url,
                &headers,
                &input.body,
                HOOK_TIMEOUT,
            )
            .await
            {
                Ok(status) if (200..300).contains(&status) => {
                    ctx.log(format!("delivered to {} ({status})", input.url));
                    return Ok(());
                }
                Ok(status) => last = format!("answered {status}"),
                Err(plugboard_drivers::fetch::FetchError::NotAllowed(why)) => {
                    return Err(StepError::Failed(format!(
                        "web hook {} is not allowed: {why}",
                        input.url
                    )))
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(StepError::Failed(format!(
            "web hook {} not delivered after {HOOK_TRIES} tries: {last}",
            input.url
        )))
    }
}
