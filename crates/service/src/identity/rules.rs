//! The vendor's rules for identity names and passwords. Names are trimmed before they are
//! checked and stored, so a name of only spaces is no name (refused, nothing stored).

/// A rule broken; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

/// Names of users and groups: trimmed, then 1–64 characters of letters, digits, spaces,
/// `-_.`. The trimmed name.
pub fn name(field: &str, name: &str) -> Result<String, Invalid> {
    let name = name.trim();
    let ok = !name.is_empty()
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.'));
    if ok {
        Ok(name.to_string())
    } else {
        Err(Invalid(format!(
            "{field}: must be 1 to 64 characters of letters, digits, spaces, `-`, `_` or `.`."
        )))
    }
}

/// Project names: trimmed, then `<region>_` followed by letters, digits, `_` or `-`, at
/// most 64 characters. The trimmed name.
pub fn project_name(region: &str, name: &str) -> Result<String, Invalid> {
    let name = name.trim();
    let suffix = name.strip_prefix(&format!("{region}_")).unwrap_or("");
    if suffix.is_empty()
        || name.len() > 64
        || !suffix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(Invalid(format!(
            "project.name: must be `{region}_` followed by letters, digits, `_` or `-` (at most 64 characters)."
        )));
    }
    Ok(name.to_string())
}

/// Whether the password follows the policy: 8–32 characters, at least two kinds of
/// characters (upper case, lower case, digits, others).
pub fn password(p: &str) -> Result<(), Invalid> {
    let kinds = [
        p.chars().any(|c| c.is_ascii_uppercase()),
        p.chars().any(|c| c.is_ascii_lowercase()),
        p.chars().any(|c| c.is_ascii_digit()),
        p.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    let len = p.chars().count();
    if !(8..=32).contains(&len) || kinds.iter().filter(|k| **k).count() < 2 {
        return Err(Invalid(
            "user.password: must be 8 to 32 characters and contain at least two of: upper-case letters, lower-case letters, digits, special characters.".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_blank_ones_refused() {
        assert_eq!(name("user.name", "  alice b  "), Ok("alice b".into()));
        for blank in ["", " ", "   ", "\t \n"] {
            assert!(name("group.name", blank).is_err(), "{blank:?}");
        }
        assert!(name("user.name", &"x".repeat(65)).is_err());
        assert!(name("user.name", "a/b").is_err());
        assert_eq!(project_name("local", " local_a "), Ok("local_a".into()));
        assert!(project_name("local", "local_ ").is_err());
        assert!(project_name("local", "  ").is_err());
    }

    #[test]
    fn passwords_need_two_kinds() {
        assert!(password("Abcdefgh").is_ok());
        assert!(password("abcdefgh").is_err());
        assert!(password("Ab1").is_err());
    }
}
