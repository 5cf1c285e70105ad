//! The driver step interface (`docs/drivers.md` → The step protocol): what a step is asked to
//! do ([`StepRequest`]), what it reports while it runs ([`StepEvent`]) and how it ends
//! ([`StepSuccess`] or [`StepFailure`]). Built-in drivers implement [`AddonDriver`] directly;
//! external drivers implement it through [`crate::external`], one process per step speaking
//! JSON lines.

use serde::{Deserialize, Serialize};

/// The step protocol's version, sent in every request.
pub const PROTOCOL_VERSION: u32 = 1;

/// The add-on a step acts on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddonRef {
    pub id: String,
    pub name: String,
    /// The version installed now (empty before the first install).
    pub version: String,
    pub environment_id: String,
    pub cce_id: String,
    pub cse_id: String,
}

/// A label of the environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    pub key: String,
    pub value: String,
}

/// The environment the add-on lives in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentRef {
    pub id: String,
    pub name: String,
    pub labels: Vec<Label>,
}

/// A resource bound to the environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceRef {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// What one step of a job asks a driver to do. Carries only the tenant's own add-on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRequest {
    pub protocol: u32,
    pub job_id: String,
    /// `install`, `restart`, `redeploy` or `uninstall`.
    pub action: String,
    /// The step's task name.
    pub step: String,
    pub step_index: usize,
    pub addon: AddonRef,
    pub environment: EnvironmentRef,
    pub resources: Vec<ResourceRef>,
    /// What earlier steps of the job returned (their `result` objects, merged).
    pub context: serde_json::Map<String, serde_json::Value>,
    /// `<data-dir>/addons/<addon_id>/`: the add-on's own directory.
    pub workdir: String,
}

/// What a step reports while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepEvent {
    /// 0–100 of this step.
    Progress(u8),
    /// A line for the task's messages.
    Log(String),
}

/// A step that succeeded: what it returns is merged into the job's context.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepSuccess {
    pub result: serde_json::Map<String, serde_json::Value>,
}

/// A step that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct StepFailure {
    /// What a user can act on.
    pub reason: String,
    /// Worth retrying with back-off (the driver said so, or the failure is transient).
    pub retry: bool,
    /// What the driver wrote to stderr (bounded), shown with the failed task.
    pub stderr: String,
}

impl StepFailure {
    /// A failure that is not retried.
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            retry: false,
            stderr: String::new(),
        }
    }
}

/// Where a step sends its events.
pub type EventSink<'a> = &'a mut (dyn FnMut(StepEvent) + Send);

/// A driver that runs add-on steps.
#[async_trait::async_trait]
pub trait AddonDriver: Send + Sync {
    /// Run one step. Must be safe to run again (a step cut short by a crash runs again after
    /// takeover). Dropping the future stops the step (and, for external drivers, kills its
    /// process group).
    async fn run_step(
        &self,
        request: &StepRequest,
        events: EventSink<'_>,
    ) -> Result<StepSuccess, StepFailure>;
}
