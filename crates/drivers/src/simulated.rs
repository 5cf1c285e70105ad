//! `simulated`: the built-in add-on driver that touches nothing. It walks the steps of any
//! action and records the result, so people testing automation written for ServiceStage get
//! the whole surface offline and fast. Its settings file `<plugins>/simulated/simulated.toml`
//! (read again at every step, so a test can change outcomes while the server runs) gives its
//! catalog and can make steps slow or fail:
//!
//! ```toml
//! step_delay_ms = 200                 # every step takes this long
//! [[addons]]                          # the catalog (default: sermantInjector 1.3.0.0, 1.3.1.0)
//! name = "sermantInjector"
//! versions = ["1.3.0.0", "1.3.1.0"]
//! [[fail]]                            # the first matching rule fails the step
//! action = "redeploy"                 # optional: any action
//! step = "verify"                     # optional: any step
//! addon = "sermantInjector"           # optional: any add-on
//! message = "scripted failure"
//! retry = false
//! ```

use crate::manifest::{AddonEntry, DriverManifest};
use crate::step::{AddonDriver, EventSink, StepEvent, StepFailure, StepRequest, StepSuccess};
use serde::Deserialize;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The driver's product key (fixed).
pub const UUID: &str = "5d3c3f0f3b2a4c1d9e8f7a6b5c4d3e2f";

/// The driver's name (and its folder under `<data-dir>/plugins/`).
pub const NAME: &str = "simulated";

/// The settings file in the driver's folder.
pub const SETTINGS_FILE: &str = "simulated.toml";

/// What the settings file says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub step_delay_ms: u64,
    #[serde(default)]
    pub addons: Vec<AddonEntry>,
    #[serde(default)]
    pub fail: Vec<FailRule>,
}

/// A scripted failure.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailRule {
    pub action: Option<String>,
    pub step: Option<String>,
    pub addon: Option<String>,
    #[serde(default = "default_message")]
    pub message: String,
    #[serde(default)]
    pub retry: bool,
}

fn default_message() -> String {
    "simulated failure".into()
}

impl FailRule {
    fn matches(&self, r: &StepRequest) -> bool {
        self.action.as_ref().is_none_or(|a| *a == r.action)
            && self.step.as_ref().is_none_or(|s| *s == r.step)
            && self.addon.as_ref().is_none_or(|n| *n == r.addon.name)
    }
}

/// The add-on the vendor's catalog has.
fn default_addons() -> Vec<AddonEntry> {
    vec![AddonEntry {
        name: "sermantInjector".into(),
        versions: vec!["1.3.0.0".into(), "1.3.1.0".into()],
    }]
}

/// The simulated driver, reading its settings from `folder`.
#[derive(Debug, Clone)]
pub struct Simulated {
    pub folder: PathBuf,
}

impl Simulated {
    /// Read the settings (none: the defaults).
    pub fn settings(folder: &Path) -> Result<Settings, String> {
        let path = folder.join(SETTINGS_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.message()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// The driver's manifest, its catalog from the settings.
    pub fn manifest(folder: &Path) -> Result<DriverManifest, String> {
        let settings = Self::settings(folder)?;
        let addons = if settings.addons.is_empty() {
            default_addons()
        } else {
            settings.addons
        };
        let steps = [
            ("install", vec!["prepare", "deploy", "verify"]),
            ("restart", vec!["restart", "verify"]),
            ("redeploy", vec!["deploy", "verify"]),
            ("uninstall", vec!["undeploy"]),
        ]
        .into_iter()
        .map(|(a, s)| (a.to_string(), s.into_iter().map(String::from).collect()))
        .collect();
        let manifest = DriverManifest {
            uuid: UUID.into(),
            name: NAME.into(),
            kind: "addon".into(),
            vendor: "plugboard".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Walks the steps of any action and records the result (no real work)"
                .into(),
            license: "Apache-2.0".into(),
            executable: String::new(),
            args: vec![],
            features: [
                ("restart".to_string(), true),
                ("redeploy".to_string(), true),
            ]
            .into(),
            timeout_seconds: 300,
            addons,
            steps,
            options: vec![],
        };
        manifest
            .check()
            .map_err(|e| format!("{}: {e}", folder.join(SETTINGS_FILE).display()))?;
        Ok(manifest)
    }
}

#[async_trait::async_trait]
impl AddonDriver for Simulated {
    async fn run_step(
        &self,
        request: &StepRequest,
        events: EventSink<'_>,
    ) -> Result<StepSuccess, StepFailure> {
        let settings = Self::settings(&self.folder).map_err(StepFailure::new)?;
        if settings.step_delay_ms > 0 {
            events(StepEvent::Progress(0));
            tokio::time::sleep(Duration::from_millis(settings.step_delay_ms)).await;
        }
        if let Some(rule) = settings.fail.iter().find(|r| r.matches(request)) {
            return Err(StepFailure {
                reason: rule.message.clone(),
                retry: rule.retry,
                stderr: String::new(),
            });
        }
        events(StepEvent::Log(format!(
            "simulated: {} {} of {}",
            request.action, request.step, request.addon.name
        )));
        let mut result = serde_json::Map::new();
        let addons = if settings.addons.is_empty() {
            default_addons()
        } else {
            settings.addons
        };
        let version = match request.action.as_str() {
            "install" | "redeploy" => addons
                .iter()
                .find(|a| a.name == request.addon.name)
                .and_then(AddonEntry::latest_version)
                .map(str::to_string),
            _ => None,
        };
        if let Some(v) = version {
            result.insert("version".into(), json!(v));
        }
        Ok(StepSuccess { result })
    }
}
