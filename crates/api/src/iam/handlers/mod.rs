//! IAM handlers, one file per resource: each extracts, makes one call of
//! `plugboard_service::identity`, and builds the view. Handlers are named after the vendor
//! operation. Resources of other domains are invisible: they answer exactly like missing ones.

mod credentials;
mod groups;
mod projects;
mod regions;
mod roles;
mod tokens;
mod users;

pub use credentials::*;
pub use groups::*;
pub use projects::*;
pub use regions::*;
pub use roles::*;
pub use tokens::*;
pub use users::*;

use super::dto::*;
use super::error::IamError;
use crate::common::error::reply;
use crate::AppState;
use axum::http::StatusCode;
use axum::response::Response;
use plugboard_core::ids::is_hex32;
use plugboard_core::time;
use plugboard_store::identity::{Group, Project, Role, User};
use serde_json::value::RawValue;

type Result<T> = std::result::Result<T, IamError>;

fn json<T: serde::Serialize>(status: StatusCode, body: &T) -> Result<Response> {
    reply(status, body)
}

fn links(state: &AppState, path: &str) -> Links {
    Links {
        self_: state.link(path),
        previous: None,
        next: None,
    }
}

fn require_id(kind: &str, id: &str) -> Result<()> {
    if is_hex32(id) {
        Ok(())
    } else {
        Err(IamError::bad_request(format!(
            "{kind} `{id}` is not a valid id (32 hex characters)."
        )))
    }
}

pub(super) fn project_view(state: &AppState, p: Project) -> ProjectView {
    ProjectView {
        links: SelfLink {
            self_: state.link(&format!("/v3/projects/{}", p.id)),
        },
        id: p.id,
        name: p.name,
        domain_id: p.domain_id,
        parent_id: p.parent_id,
        enabled: p.enabled,
        is_domain: false,
        description: p.description,
    }
}

/// [`project_view`] as JSON text, for replies that hold views written earlier.
pub(super) fn project_view_json(state: &AppState, p: &Project) -> Box<RawValue> {
    let text = serde_json::to_string(&project_view(state, p.clone()))
        .unwrap_or_else(|e| unreachable!("a project view is strings and booleans: {e}"));
    RawValue::from_string(text).unwrap_or_else(|e| unreachable!("serde_json wrote valid JSON: {e}"))
}

pub(super) fn user_view(state: &AppState, u: User) -> UserView {
    UserView {
        links: SelfLink {
            self_: state.link(&format!("/v3/users/{}", u.id)),
        },
        pwd_status: u.password_hash.is_some(),
        id: u.id,
        name: u.name,
        domain_id: u.domain_id,
        enabled: u.enabled,
        email: u.email,
        description: u.description,
        create_time: time::iam(u.created_at),
        is_domain_owner: u.is_owner,
        access_mode: "default".into(),
        password_expires_at: None,
    }
}

pub(super) fn group_view(state: &AppState, g: Group) -> GroupView {
    GroupView {
        links: SelfLink {
            self_: state.link(&format!("/v3/groups/{}", g.id)),
        },
        id: g.id,
        name: g.name,
        domain_id: g.domain_id,
        description: g.description,
        create_time: time::millis(g.created_at),
    }
}

pub(super) fn role_view(state: &AppState, r: Role) -> RoleView {
    RoleView {
        links: SelfLink {
            self_: state.link(&format!("/v3/roles/{}", r.id)),
        },
        policy: serde_json::from_str(&r.policy).unwrap_or_default(),
        created_time: time::millis(r.created_at).to_string(),
        updated_time: time::millis(r.created_at).to_string(),
        id: r.id,
        name: r.name,
        display_name: r.display_name,
        description_cn: r.description.clone(),
        description: r.description,
        domain_id: None,
        kind: r.kind,
        catalog: "BASE".into(),
        flag: "fine_grained".into(),
    }
}

pub(super) fn page<T>(items: Vec<T>, page: Option<u32>, per_page: Option<u32>) -> Result<Vec<T>> {
    match (page, per_page) {
        (None, None) => Ok(items),
        (page, per_page) => {
            let page = page.unwrap_or(1);
            let per_page = per_page.unwrap_or(5000);
            if page == 0 || !(1..=5000).contains(&per_page) {
                return Err(IamError::bad_request(
                    "page must be ≥ 1 and per_page 1 to 5000.",
                ));
            }
            Ok(items
                .into_iter()
                .skip(
                    usize::try_from(u64::from(page - 1) * u64::from(per_page))
                        .unwrap_or(usize::MAX),
                )
                .take(per_page as usize)
                .collect())
        }
    }
}
