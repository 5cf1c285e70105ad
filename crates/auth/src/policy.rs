//! IAM policies (spec `iam.md`): the policy document carried by a role, evaluation of an action
//! against the policies a caller holds (explicit Deny beats Allow, no match is a deny), action
//! pattern matching with `*` inside a segment, and the system roles plugboard ships.

use serde::{Deserialize, Serialize};

/// The policy language version written into every policy plugboard creates.
pub const POLICY_VERSION: &str = "1.1";

/// A policy document: `{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": [...]}]}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Policy {
    /// Policy language version, `"1.1"`.
    pub version: String,
    /// The statements, evaluated together.
    pub statement: Vec<Statement>,
}

/// One statement: an effect applied to a list of action patterns. Unknown keys (such as
/// `Condition` or `Resource`) are refused rather than ignored, so a statement can never grant
/// more than it says.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Statement {
    /// `"Allow"` or `"Deny"`.
    pub effect: Effect,
    /// Action patterns, `service:resource:verb`, `*` allowed within a segment.
    pub action: Vec<String>,
}

/// The effect of a statement, serialised exactly as `"Allow"` / `"Deny"`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum Effect {
    /// Grants the matching actions (unless some statement denies them).
    Allow,
    /// Forbids the matching actions, whatever else allows them.
    Deny,
}

/// The outcome of evaluating an action against a set of policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Some statement allows the action and none denies it.
    Allow,
    /// Some statement explicitly denies the action.
    Deny,
    /// No statement mentions the action; callers treat this as a deny.
    NoMatch,
}

/// Evaluate `action` against `policies`: any matching Deny statement gives [`Decision::Deny`],
/// otherwise any matching Allow gives [`Decision::Allow`], otherwise [`Decision::NoMatch`].
pub fn evaluate<'a>(policies: impl IntoIterator<Item = &'a Policy>, action: &str) -> Decision {
    let mut allowed = false;
    for policy in policies {
        for statement in &policy.statement {
            if !statement.action.iter().any(|p| action_matches(p, action)) {
                continue;
            }
            match statement.effect {
                Effect::Deny => return Decision::Deny,
                Effect::Allow => allowed = true,
            }
        }
    }
    if allowed {
        Decision::Allow
    } else {
        Decision::NoMatch
    }
}

/// Does `pattern` match `action`? Both are `service:resource:verb`; the segment counts must
/// agree (three each), and each pattern segment matches the action segment at the same place,
/// where `*` stands for any run of characters within that segment (`*`, `list*`, `*Addon`).
/// Matching is case-sensitive.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    let p: Vec<&str> = pattern.split(':').collect();
    let a: Vec<&str> = action.split(':').collect();
    p.len() == 3
        && a.len() == 3
        && p.iter()
            .zip(&a)
            .all(|(p, a)| glob_match(p.as_bytes(), a.as_bytes()))
}

/// Is `action` a well-formed action or action pattern: three non-empty `:`-separated segments
/// of `[A-Za-z0-9*_-]`?
pub fn validate_action(action: &str) -> bool {
    let segments: Vec<&str> = action.split(':').collect();
    segments.len() == 3
        && segments.iter().all(|s| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'*' | b'_' | b'-'))
        })
}

/// `*` matches any (possibly empty) run of bytes; everything else matches itself. Iterative
/// with backtracking to the last `*`, so it is linear-ish and never recursive.
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

/// A role plugboard ships in every domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemRole {
    /// Role name, as used in grants and shown by `GET /v3/roles`.
    pub name: &'static str,
    /// Human-readable name.
    pub display_name: &'static str,
    /// What the role is for.
    pub description: &'static str,
    /// The Allow actions of its single statement.
    pub actions: &'static [&'static str],
}

impl SystemRole {
    /// The role's policy: one Allow statement with its actions.
    pub fn policy(&self) -> Policy {
        Policy {
            version: POLICY_VERSION.to_string(),
            statement: vec![Statement {
                effect: Effect::Allow,
                action: self.actions.iter().map(|a| a.to_string()).collect(),
            }],
        }
    }

    /// Find a system role by its exact name.
    pub fn by_name(name: &str) -> Option<&'static SystemRole> {
        SYSTEM_ROLES.iter().find(|r| r.name == name)
    }
}

/// The system roles to ship.
pub const SYSTEM_ROLES: &[SystemRole] = &[
    SystemRole {
        name: "te_admin",
        display_name: "Tenant Administrator",
        description: "Tenant Administrator: all operations on all services.",
        actions: &["*:*:*"],
    },
    SystemRole {
        name: "readonly",
        display_name: "Tenant Guest",
        description: "Tenant Guest: read-only access (list, get and show) to all services.",
        actions: &["*:*:list*", "*:*:get*", "*:*:show*"],
    },
    SystemRole {
        name: "GaussDB FullAccess",
        display_name: "GaussDB FullAccess",
        description: "All permissions for GaussDB.",
        actions: &["gaussdb:*:*"],
    },
    SystemRole {
        name: "DBSS FullAccess",
        display_name: "DBSS FullAccess",
        description: "All permissions for Database Security Service (DBSS).",
        actions: &["dbss:*:*"],
    },
    SystemRole {
        name: "ServiceStage FullAccess",
        display_name: "ServiceStage FullAccess",
        description: "All permissions for ServiceStage.",
        actions: &["servicestage:*:*"],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(effect: Effect, actions: &[&str]) -> Policy {
        Policy {
            version: POLICY_VERSION.into(),
            statement: vec![Statement {
                effect,
                action: actions.iter().map(|a| a.to_string()).collect(),
            }],
        }
    }

    fn role(name: &str) -> Policy {
        SystemRole::by_name(name).expect("system role").policy()
    }

    #[test]
    fn whole_segment_wildcards() {
        assert!(action_matches("*:*:*", "gaussdb:instance:list"));
        assert!(action_matches(
            "gaussdb:*:*",
            "gaussdb:instance:installPlugin"
        ));
        assert!(!action_matches("gaussdb:*:*", "dbss:database:add"));
        assert!(action_matches("dbss:database:*", "dbss:database:add"));
        assert!(!action_matches("dbss:database:*", "dbss:instance:add"));
        assert!(action_matches(
            "iam:users:createUser",
            "iam:users:createUser"
        ));
        // `*` stays within its segment.
        assert!(!action_matches("gaussdb:*", "gaussdb:instance:list"));
        assert!(!action_matches("*", "gaussdb:instance:list"));
    }

    #[test]
    fn partial_wildcards() {
        assert!(action_matches("*:*:list*", "iam:projects:listProjects"));
        assert!(action_matches("*:*:list*", "gaussdb:instance:list"));
        assert!(!action_matches("*:*:list*", "iam:projects:getX"));
        assert!(!action_matches("*:*:list*", "iam:projects:unlist"));
        assert!(action_matches(
            "servicestage:environment:*Addon",
            "servicestage:environment:modifyAddon"
        ));
        assert!(action_matches("a:b:c*d*e", "a:b:cXdYYe"));
        assert!(!action_matches("a:b:c*d*e", "a:b:cXdYYf"));
        assert!(action_matches("a:b:**", "a:b:x"));
    }

    #[test]
    fn case_is_exact() {
        assert!(!action_matches("GaussDB:*:*", "gaussdb:instance:list"));
        assert!(!action_matches("*:*:List*", "iam:projects:listProjects"));
    }

    #[test]
    fn segment_count_mismatch_never_matches() {
        assert!(!action_matches("*:*:*", "gaussdb:instance"));
        assert!(!action_matches("*:*:*", "gaussdb:instance:list:extra"));
        assert!(!action_matches("*:*:*:*", "a:b:c:d"));
        assert!(!action_matches("*:*", "a:b"));
        assert!(!action_matches("", ""));
    }

    #[test]
    fn deny_beats_allow_in_either_order() {
        let allow = policy(Effect::Allow, &["gaussdb:*:*"]);
        let deny = policy(Effect::Deny, &["gaussdb:instance:delete*"]);
        for order in [[&allow, &deny], [&deny, &allow]] {
            assert_eq!(
                evaluate(order, "gaussdb:instance:deleteInstance"),
                Decision::Deny
            );
            assert_eq!(evaluate(order, "gaussdb:instance:list"), Decision::Allow);
            assert_eq!(evaluate(order, "dbss:database:list"), Decision::NoMatch);
        }
        // Deny and Allow in the same policy.
        let both = Policy {
            version: POLICY_VERSION.into(),
            statement: vec![
                Statement {
                    effect: Effect::Allow,
                    action: vec!["*:*:*".into()],
                },
                Statement {
                    effect: Effect::Deny,
                    action: vec!["iam:*:*".into()],
                },
            ],
        };
        assert_eq!(evaluate([&both], "iam:users:createUser"), Decision::Deny);
        assert_eq!(evaluate([&both], "dbss:database:add"), Decision::Allow);
    }

    #[test]
    fn no_policies_or_no_match() {
        assert_eq!(evaluate([], "gaussdb:instance:list"), Decision::NoMatch);
        let p = policy(Effect::Allow, &["dbss:*:*"]);
        assert_eq!(evaluate([&p], "gaussdb:instance:list"), Decision::NoMatch);
        let empty = policy(Effect::Allow, &[]);
        assert_eq!(
            evaluate([&empty], "gaussdb:instance:list"),
            Decision::NoMatch
        );
    }

    #[test]
    fn system_roles() {
        let names: Vec<&str> = SYSTEM_ROLES.iter().map(|r| r.name).collect();
        assert_eq!(
            names,
            [
                "te_admin",
                "readonly",
                "GaussDB FullAccess",
                "DBSS FullAccess",
                "ServiceStage FullAccess"
            ]
        );
        for r in SYSTEM_ROLES {
            assert!(r.actions.iter().all(|a| validate_action(a)), "{}", r.name);
        }
        let readonly = role("readonly");
        assert_eq!(
            evaluate([&readonly], "iam:projects:listProjects"),
            Decision::Allow
        );
        assert_eq!(
            evaluate([&readonly], "servicestage:environment:getAddon"),
            Decision::Allow
        );
        assert_eq!(
            evaluate([&readonly], "iam:users:createUser"),
            Decision::NoMatch
        );
        let admin = role("te_admin");
        assert_eq!(evaluate([&admin], "iam:users:createUser"), Decision::Allow);
        let gauss = role("GaussDB FullAccess");
        assert_eq!(
            evaluate([&gauss], "gaussdb:instance:installPlugin"),
            Decision::Allow
        );
        assert_eq!(evaluate([&gauss], "dbss:database:add"), Decision::NoMatch);
        assert_eq!(
            evaluate([&role("DBSS FullAccess")], "dbss:database:add"),
            Decision::Allow
        );
        assert_eq!(
            evaluate(
                [&role("ServiceStage FullAccess")],
                "servicestage:environment:modifyAddon"
            ),
            Decision::Allow
        );
        assert!(SystemRole::by_name("nope").is_none());
    }

    #[test]
    fn validates_actions() {
        for ok in [
            "gaussdb:instance:list",
            "*:*:*",
            "a-b:c_d:list*",
            "A1:B2:C3",
        ] {
            assert!(validate_action(ok), "{ok}");
        }
        for bad in [
            "", "a:b", "a:b:c:d", "a::c", ":b:c", "a:b:", "a:b:c d", "a:b:c.d", "a:b:c?",
        ] {
            assert!(!validate_action(bad), "{bad}");
        }
    }

    #[test]
    fn json_shape() {
        let p: Policy = serde_json::from_str(
            r#"{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["gaussdb:*:*"]}]}"#,
        )
        .expect("parses");
        assert_eq!(p, role("GaussDB FullAccess"));
        let v = serde_json::to_value(&p).expect("serialises");
        assert_eq!(
            v,
            serde_json::json!({"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["gaussdb:*:*"]}]})
        );
        let deny: Statement =
            serde_json::from_str(r#"{"Effect": "Deny", "Action": []}"#).expect("parses");
        assert_eq!(deny.effect, Effect::Deny);
        // Exact strings and no silently ignored conditions.
        assert!(serde_json::from_str::<Statement>(r#"{"Effect": "allow", "Action": []}"#).is_err());
        assert!(serde_json::from_str::<Statement>(
            r#"{"Effect": "Allow", "Action": ["*:*:*"], "Condition": {}}"#
        )
        .is_err());
    }
}
