//! The field rules of ServiceStage environments and add-ons (`docs/api-coverage.md` →
//! ServiceStage): every field checked before anything is stored, the message naming the field
//! and, for enumerations, the allowed values.

use super::Error;
use plugboard_store::servicestage::{EnvResource, Label};

type Result<T> = std::result::Result<T, Error>;

/// `deploy_mode` values (the SDK's enumeration).
pub const DEPLOY_MODES: &[&str] = &["virtualmachine", "container", "mixed"];
/// Resource `type` values (the SDK's `ResourceType`).
pub const RESOURCE_TYPES: &[&str] = &["vpc", "eip", "elb", "cce", "ecs", "as", "cse", "dcs", "rds"];
/// The most labels an environment has.
pub const MAX_LABELS: usize = 20;
/// The most resources bound to one environment [ours].
pub const MAX_RESOURCES: usize = 200;
const MAX_DESCRIPTION: usize = 128;
const MAX_ID: usize = 64;
const MAX_LABEL_KEY: usize = 64;
const MAX_LABEL_VALUE: usize = 128;
const MAX_RESOURCE_NAME: usize = 128;

fn invalid(message: String) -> Error {
    Error::Invalid(message)
}

/// One of `allowed`.
pub fn one_of(field: &str, value: &str, allowed: &[&str]) -> Result<()> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(invalid(format!(
            "{field} must be one of {} (got `{value}`)",
            allowed.join(", ")
        )))
    }
}

/// An environment name: 2–64 letters, digits, `-`, `_`, starting with a letter, ending with a
/// letter or digit.
pub fn environment_name(name: &str) -> Result<()> {
    let chars: Vec<char> = name.chars().collect();
    let fits = (2..=64).contains(&chars.len())
        && chars[0].is_ascii_alphabetic()
        && chars[chars.len() - 1].is_ascii_alphanumeric()
        && chars
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_');
    if fits {
        Ok(())
    } else {
        Err(invalid(format!(
            "name `{name}` must be 2 to 64 letters, digits, '-' or '_', starting with a letter and ending with a letter or digit"
        )))
    }
}

/// A description of at most 128 characters.
pub fn description(text: &str) -> Result<()> {
    if text.chars().count() > MAX_DESCRIPTION {
        return Err(invalid(format!(
            "description must be at most {MAX_DESCRIPTION} characters"
        )));
    }
    Ok(())
}

/// An id field given by the caller (`vpc_id`, `enterprise_project_id`, a resource id): not
/// empty, at most 64 printable characters.
pub fn id_field(field: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(invalid(format!("{field} must not be empty")));
    }
    if value.chars().count() > MAX_ID || value.chars().any(char::is_control) {
        return Err(invalid(format!(
            "{field} must be at most {MAX_ID} printable characters"
        )));
    }
    Ok(())
}

/// Labels: at most 20, keys not empty and unique.
pub fn labels(labels: &[Label]) -> Result<()> {
    if labels.len() > MAX_LABELS {
        return Err(invalid(format!(
            "labels: at most {MAX_LABELS} labels (got {})",
            labels.len()
        )));
    }
    let mut keys = std::collections::HashSet::new();
    for (i, l) in labels.iter().enumerate() {
        if l.key.trim().is_empty() || l.key.chars().count() > MAX_LABEL_KEY {
            return Err(invalid(format!(
                "labels[{i}].key must be 1 to {MAX_LABEL_KEY} characters"
            )));
        }
        if l.value.chars().count() > MAX_LABEL_VALUE {
            return Err(invalid(format!(
                "labels[{i}].value must be at most {MAX_LABEL_VALUE} characters"
            )));
        }
        if !keys.insert(l.key.as_str()) {
            return Err(invalid(format!(
                "labels[{i}].key `{}` is given twice",
                l.key
            )));
        }
    }
    Ok(())
}

/// The resources bound to an environment: ids given, types from the enumeration, each
/// (type, id) once.
pub fn resources(resources: &[EnvResource]) -> Result<()> {
    if resources.len() > MAX_RESOURCES {
        return Err(invalid(format!(
            "resources: at most {MAX_RESOURCES} resources (got {})",
            resources.len()
        )));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, r) in resources.iter().enumerate() {
        id_field(&format!("resources[{i}].id"), &r.id)?;
        one_of(&format!("resources[{i}].type"), &r.kind, RESOURCE_TYPES)?;
        if r.name.chars().count() > MAX_RESOURCE_NAME {
            return Err(invalid(format!(
                "resources[{i}].name must be at most {MAX_RESOURCE_NAME} characters"
            )));
        }
        if !seen.insert((r.kind.as_str(), r.id.as_str())) {
            return Err(invalid(format!(
                "resources[{i}]: {} {} is given twice",
                r.kind, r.id
            )));
        }
    }
    Ok(())
}

/// A required field that is present.
pub fn required<'a>(field: &str, value: Option<&'a str>) -> Result<&'a str> {
    match value {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(invalid(format!("{field} is required"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for good in ["ab", "env-1", "a_b-c9", &format!("a{}", "b".repeat(63))] {
            assert!(environment_name(good).is_ok(), "{good}");
        }
        for bad in ["a", "1ab", "ab-", "a b", "ab_", "", &"a".repeat(65), "é1"] {
            assert!(environment_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resources_and_labels() {
        let r = |id: &str, kind: &str| EnvResource {
            id: id.into(),
            name: String::new(),
            kind: kind.into(),
        };
        assert!(resources(&[r("c1", "cce"), r("c1", "cse")]).is_ok());
        assert!(resources(&[r("c1", "cce"), r("c1", "cce")]).is_err());
        assert!(resources(&[r("", "cce")]).is_err());
        let e = resources(&[r("x", "k8s")]).unwrap_err().to_string();
        assert!(e.contains("resources[0].type") && e.contains("cce"), "{e}");
        let l = |k: &str| Label {
            key: k.into(),
            value: "v".into(),
        };
        assert!(labels(&[l("a"), l("b")]).is_ok());
        assert!(labels(&[l("a"), l("a")]).is_err());
        assert!(labels(&[l("")]).is_err());
        assert!(labels(&vec![l("x"); 21]).is_err());
    }
}
