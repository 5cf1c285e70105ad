//! Driver manifests (`<data-dir>/plugins/<name>/driver.toml`): what a driver is (its product
//! key, name, kind, vendor, version), what runs it (an executable in its folder and a per-step
//! timeout), what it provides (the add-ons of the ServiceStage catalog, with their versions),
//! the task names of each action, and the settings it takes (ZStack `optionTypes`). Parsing is
//! strict: an unknown key, a missing field or a value out of its rule is a [`ManifestError`]
//! naming the file and the field, so a typo never silently changes what a driver does.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// The manifest file in each driver folder.
pub const MANIFEST_FILE: &str = "driver.toml";

/// The actions an add-on driver runs, in the order the ServiceStage APIs use them.
pub const ADDON_ACTIONS: &[&str] = &["install", "restart", "redeploy", "uninstall"];

/// Per-step timeout when the manifest names none.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 300;

/// The longest per-step timeout a manifest may ask for (a day).
pub const MAX_TIMEOUT_SECONDS: u64 = 86_400;

/// A driver's manifest, as written in `driver.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriverManifest {
    /// The product key: 32 lowercase hex, UUID-shaped (version digit 1–5, variant 8/9/a/b),
    /// stable across refreshes.
    pub uuid: String,
    pub name: String,
    /// What the driver serves: `addon` (more kinds may follow).
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub vendor: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub license: String,
    /// The program run for each step, relative to the driver's folder (external drivers).
    #[serde(default)]
    pub executable: String,
    /// Arguments given to the executable before anything else.
    #[serde(default)]
    pub args: Vec<String>,
    /// Capabilities, e.g. `{ restart = true, redeploy = true }`.
    #[serde(default)]
    pub features: BTreeMap<String, bool>,
    /// Per step; a step past it is killed with its whole process group.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// The add-ons the driver provides (the ServiceStage catalog).
    #[serde(default)]
    pub addons: Vec<AddonEntry>,
    /// Task names per action; an action not listed has one step named after it.
    #[serde(default)]
    pub steps: BTreeMap<String, Vec<String>>,
    /// The settings the driver takes.
    #[serde(default)]
    pub options: Vec<DriverOption>,
}

fn default_timeout() -> u64 {
    DEFAULT_TIMEOUT_SECONDS
}

/// One add-on a driver provides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddonEntry {
    pub name: String,
    /// Every version the driver can lay down; the latest is the highest.
    pub versions: Vec<String>,
}

impl AddonEntry {
    /// The highest version (numeric dot-separated order).
    pub fn latest_version(&self) -> Option<&str> {
        self.versions
            .iter()
            .max_by(|a, b| compare_versions(a, b))
            .map(String::as_str)
    }
}

/// A setting a driver takes (ZStack's `optionTypes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriverOption {
    pub name: String,
    /// `TEXT`, `PASSWORD`, `SELECT`, `NUMBER`, `BOOLEAN`.
    #[serde(default = "default_input_type")]
    pub input_type: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub default_value: Option<String>,
    #[serde(default)]
    pub help_text: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    /// Choices of a `SELECT`.
    #[serde(default)]
    pub values: Vec<String>,
}

fn default_input_type() -> String {
    "TEXT".into()
}

/// The input types an option may have.
pub const INPUT_TYPES: &[&str] = &["TEXT", "PASSWORD", "SELECT", "NUMBER", "BOOLEAN"];

/// A manifest that cannot be used: which file, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct ManifestError {
    pub path: PathBuf,
    pub reason: String,
}

/// Compare two dot-separated versions numerically, part by part (`1.10.0` > `1.9.2`); a part
/// that is not a number compares as text after the numbers; a missing part counts as 0.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let mut left = a.split('.');
    let mut right = b.split('.');
    loop {
        match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (l, r) => {
                let l = l.unwrap_or("0");
                let r = r.unwrap_or("0");
                let order = match (l.parse::<u64>(), r.parse::<u64>()) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    (Err(_), Err(_)) => l.cmp(r),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

/// Whether `s` is a ZStack-style UUID: 32 lowercase hex with a version digit 1–5 and an
/// RFC 4122 variant (8, 9, a or b).
pub fn is_uuid_shaped(s: &str) -> bool {
    plugboard_core::ids::is_hex32(s)
        && matches!(s.as_bytes()[12], b'1'..=b'5')
        && matches!(s.as_bytes()[16], b'8' | b'9' | b'a' | b'b')
}

/// A name: 1–64 characters of letters, digits, `-`, `_` and `.`, starting with a letter or digit.
fn is_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A version: 1–32 characters of digits, letters, `.`, `-` and `_`, starting with a digit.
fn is_version(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.bytes().next().is_some_and(|b| b.is_ascii_digit())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// A path that stays inside the folder it is relative to.
fn is_relative_inside(p: &str) -> bool {
    let path = Path::new(p);
    !p.is_empty()
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

impl DriverManifest {
    /// Parse and check a manifest's text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ManifestError> {
        let error = |reason: String| ManifestError {
            path: path.to_path_buf(),
            reason,
        };
        let manifest: Self = toml::from_str(text).map_err(|e| error(e.message().to_string()))?;
        manifest.check().map_err(error)?;
        Ok(manifest)
    }

    /// Read and check `<folder>/driver.toml`.
    pub fn load(folder: &Path) -> Result<Self, ManifestError> {
        let path = folder.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| ManifestError {
            path: path.clone(),
            reason: format!("cannot read: {e}"),
        })?;
        Self::parse(&text, &path)
    }

    /// Every rule a manifest must meet.
    pub fn check(&self) -> Result<(), String> {
        if !is_uuid_shaped(&self.uuid) {
            return Err(format!(
                "uuid `{}` must be 32 lowercase hex characters shaped like a UUID (version digit 1-5, variant 8, 9, a or b)",
                self.uuid
            ));
        }
        if !is_name(&self.name) {
            return Err(format!(
                "name `{}` must be 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit",
                self.name
            ));
        }
        if self.kind != "addon" {
            return Err(format!(
                "type `{}` is not a driver type plugboard runs (allowed: addon)",
                self.kind
            ));
        }
        for (field, value, max) in [
            ("vendor", &self.vendor, 128),
            ("version", &self.version, 32),
            ("description", &self.description, 1024),
            ("license", &self.license, 128),
        ] {
            if value.chars().count() > max {
                return Err(format!("{field} is longer than {max} characters"));
            }
        }
        if !self.executable.is_empty() && !is_relative_inside(&self.executable) {
            return Err(format!(
                "executable `{}` must be a path inside the driver's folder (relative, no '..')",
                self.executable
            ));
        }
        if !(1..=MAX_TIMEOUT_SECONDS).contains(&self.timeout_seconds) {
            return Err(format!(
                "timeout_seconds must be from 1 to {MAX_TIMEOUT_SECONDS} (got {})",
                self.timeout_seconds
            ));
        }
        let mut names = std::collections::BTreeSet::new();
        for addon in &self.addons {
            if !is_name(&addon.name) {
                return Err(format!("addons: name `{}` is not a valid name", addon.name));
            }
            if !names.insert(addon.name.as_str()) {
                return Err(format!("addons: `{}` is listed twice", addon.name));
            }
            if addon.versions.is_empty() {
                return Err(format!("addons.{}: versions must not be empty", addon.name));
            }
            if let Some(bad) = addon.versions.iter().find(|v| !is_version(v)) {
                return Err(format!(
                    "addons.{}: version `{bad}` must start with a digit and hold only letters, digits, '.', '-' or '_'",
                    addon.name
                ));
            }
        }
        for (action, steps) in &self.steps {
            if !ADDON_ACTIONS.contains(&action.as_str()) {
                return Err(format!(
                    "steps: `{action}` is not an action (allowed: {})",
                    ADDON_ACTIONS.join(", ")
                ));
            }
            if steps.is_empty() || steps.len() > 32 {
                return Err(format!("steps.{action}: 1 to 32 step names"));
            }
            if let Some(bad) = steps.iter().find(|s| !is_name(s)) {
                return Err(format!("steps.{action}: `{bad}` is not a valid step name"));
            }
        }
        let mut options = std::collections::BTreeSet::new();
        for option in &self.options {
            if !is_name(&option.name) {
                return Err(format!(
                    "options: name `{}` is not a valid name",
                    option.name
                ));
            }
            if !options.insert(option.name.as_str()) {
                return Err(format!("options: `{}` is listed twice", option.name));
            }
            if !INPUT_TYPES.contains(&option.input_type.as_str()) {
                return Err(format!(
                    "options.{}: input_type `{}` is not one of {}",
                    option.name,
                    option.input_type,
                    INPUT_TYPES.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// The task names of `action`, in order (one step named after the action when the
    /// manifest lists none).
    pub fn steps_of(&self, action: &str) -> Vec<String> {
        self.steps
            .get(action)
            .cloned()
            .unwrap_or_else(|| vec![action.to_string()])
    }

    /// The add-on `name` this driver provides.
    pub fn addon(&self, name: &str) -> Option<&AddonEntry> {
        self.addons.iter().find(|a| a.name == name)
    }

    /// `features` as the JSON text ZStack's inventory carries (`{"restart":true}`).
    pub fn features_json(&self) -> String {
        serde_json::to_string(&self.features).unwrap_or_else(|_| "{}".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
uuid = "e90949fe5ddd3e68a4646b97b812f905"
name = "local-process"
type = "addon"
vendor = "plugboard"
version = "1.0.0"
description = "Runs an add-on as a supervised local process"
license = "Apache-2.0"
executable = "driver"
features = { restart = true, redeploy = true }
timeout_seconds = 300
[[addons]]
name = "sermantInjector"
versions = ["1.3.0.0", "1.3.1.0", "1.10.0.0", "1.9.9.9"]
[steps]
install = ["prepare", "deploy", "verify"]
redeploy = ["deploy", "verify"]
[[options]]
name = "workdir"
input_type = "TEXT"
required = false
"#;

    fn parse(text: &str) -> Result<DriverManifest, String> {
        DriverManifest::parse(text, Path::new("p/driver.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn the_spec_example_parses_with_its_defaults() {
        let m = parse(GOOD).expect("valid");
        assert_eq!(m.name, "local-process");
        assert_eq!(m.steps_of("install"), ["prepare", "deploy", "verify"]);
        assert_eq!(m.steps_of("restart"), ["restart"]);
        assert_eq!(
            m.addon("sermantInjector")
                .and_then(AddonEntry::latest_version),
            Some("1.10.0.0")
        );
        assert_eq!(m.features_json(), r#"{"redeploy":true,"restart":true}"#);
        assert_eq!(m.options[0].input_type, "TEXT");
    }

    #[test]
    fn every_rule_names_its_field() {
        let cases = [
            (
                "uuid = \"e90949fe5ddd3e68a4646b97b812f905\"",
                "uuid = \"e90949fe5ddd3e68f4646b97b812f905\"",
                "uuid",
            ),
            (
                "uuid = \"e90949fe5ddd3e68a4646b97b812f905\"",
                "uuid = \"E90949FE5DDD3E68A4646B97B812F905\"",
                "uuid",
            ),
            ("name = \"local-process\"", "name = \"../x\"", "name"),
            ("type = \"addon\"", "type = \"storage\"", "type"),
            (
                "executable = \"driver\"",
                "executable = \"../../bin/sh\"",
                "executable",
            ),
            (
                "executable = \"driver\"",
                "executable = \"/bin/sh\"",
                "executable",
            ),
            (
                "timeout_seconds = 300",
                "timeout_seconds = 0",
                "timeout_seconds",
            ),
            (
                "install = [\"prepare\", \"deploy\", \"verify\"]",
                "install = []",
                "steps.install",
            ),
            ("redeploy = [", "upgrade = [", "steps: `upgrade`"),
            (
                "input_type = \"TEXT\"",
                "input_type = \"COLOR\"",
                "input_type",
            ),
            (
                "timeout_seconds = 300",
                "timeout_seconds = 300\nbogus = 1",
                "bogus",
            ),
            (
                "versions = [\"1.3.0.0\", \"1.3.1.0\", \"1.10.0.0\", \"1.9.9.9\"]",
                "versions = []",
                "versions",
            ),
            (
                "versions = [\"1.3.0.0\", \"1.3.1.0\", \"1.10.0.0\", \"1.9.9.9\"]",
                "versions = [\"../1\"]",
                "version `../1`",
            ),
        ];
        for (from, to, named) in cases {
            assert!(GOOD.contains(from), "{from}");
            let err = parse(&GOOD.replacen(from, to, 1)).expect_err(to);
            assert!(err.starts_with("p/driver.toml: "), "{err}");
            assert!(err.contains(named), "`{to}` → {err}");
        }
        let err = parse("name = \"x\"").expect_err("no uuid");
        assert!(err.contains("uuid"), "{err}");
    }

    #[test]
    fn versions_order_numerically() {
        use std::cmp::Ordering::*;
        assert_eq!(compare_versions("1.10", "1.9"), Greater);
        assert_eq!(compare_versions("1.3.1.0", "1.3.1"), Equal);
        assert_eq!(compare_versions("2", "10"), Less);
        assert_eq!(compare_versions("1.0.0-rc1", "1.0.0"), Greater);
    }

    #[test]
    fn uuid_shape() {
        assert!(is_uuid_shaped("e90949fe5ddd3e68a4646b97b812f905"));
        assert!(
            !is_uuid_shaped("e90949fe5ddd0e68a4646b97b812f905"),
            "version 0"
        );
        assert!(
            !is_uuid_shaped("e90949fe5ddd3e68c4646b97b812f905"),
            "variant c"
        );
        assert!(!is_uuid_shaped("e90949fe5ddd3e68a4646b97b812f9"), "short");
    }
}
