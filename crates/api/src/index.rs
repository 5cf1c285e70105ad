//! `GET /`: a short JSON index of what this server speaks — each family's path prefixes and
//! operation count, and where the OpenAPI document is. Built from the operations tables, so it
//! lists exactly what the router serves (docs/api-coverage.md → System).

use crate::common::error::json_response;
use crate::common::openapi::OpDoc;
use crate::common::ops::{op, Access, Operation};
use crate::routing::{op_route, operations, OpRoute};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;
use utoipa::ToSchema;

op!(
    System,
    INDEX,
    "Index",
    GET,
    "/",
    Access::Public,
    "What this server speaks: the families' endpoints and the OpenAPI document"
);

/// What `/openapi.json` says of `GET /`.
pub fn docs() -> Vec<(&'static Operation, OpDoc)> {
    vec![(&INDEX, OpDoc::new().json::<Index>(StatusCode::OK))]
}

/// The index route.
pub fn routes() -> Vec<OpRoute> {
    vec![op_route(&INDEX, index)]
}

/// The body of `GET /`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Index {
    /// `plugboard`.
    pub name: String,
    /// The server's version.
    pub version: String,
    /// The OpenAPI document's path (`/openapi.json`).
    pub openapi: String,
    /// One entry per family, by name.
    pub families: Vec<FamilyIndex>,
}

/// One family in the index.
#[derive(Debug, Serialize, ToSchema)]
pub struct FamilyIndex {
    /// The family's OpenAPI tag (`iam`, `gaussdb`, `dbss`, `servicestage`, `zstack`, `admin`, `system`).
    pub name: String,
    /// How many operations it serves.
    pub operations: usize,
    /// The path prefixes of its operations, sorted.
    pub paths: Vec<String>,
    /// The page of docs/api-coverage.md that lists its operations.
    pub docs: String,
}

/// The body, built once (the operations tables are static).
static INDEX_BODY: OnceLock<serde_json::Value> = OnceLock::new();

async fn index() -> Response {
    let body =
        INDEX_BODY.get_or_init(|| serde_json::to_value(build(&operations())).unwrap_or_default());
    json_response(StatusCode::OK, body)
}

/// The index of `ops`.
fn build(ops: &[&'static Operation]) -> Index {
    let mut by_family: BTreeMap<&'static str, (usize, BTreeSet<String>)> = BTreeMap::new();
    for op in ops {
        let entry = by_family.entry(op.family.tag()).or_default();
        entry.0 += 1;
        entry.1.insert(prefix(op.path));
    }
    Index {
        name: "plugboard".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        openapi: "/openapi.json".into(),
        families: by_family
            .into_iter()
            .map(|(name, (operations, paths))| FamilyIndex {
                name: name.into(),
                operations,
                paths: paths.into_iter().collect(),
                docs: format!("docs/api-coverage.md#{}", heading(name)),
            })
            .collect(),
    }
}

/// The part of a path that names a collection: up to its first placeholder other than
/// `{project_id}`, at most four segments (`/v3/{project_id}/instances/{instance_id}/...` →
/// `/v3/{project_id}/instances`).
fn prefix(path: &str) -> String {
    let kept: Vec<&str> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .take_while(|s| !s.starts_with('{') || *s == "{project_id}")
        .take(4)
        .collect();
    format!("/{}", kept.join("/"))
}

/// The anchor of a family's section in docs/api-coverage.md.
fn heading(tag: &str) -> &'static str {
    match tag {
        "iam" => "iam",
        "gaussdb" => "gaussdb",
        "dbss" => "dbss",
        "servicestage" => "servicestage",
        "zstack" => "zstack",
        "admin" => "admin-api-plugboards-own",
        _ => "system",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_stop_at_the_first_resource_id() {
        assert_eq!(
            prefix("/v3/{project_id}/instances/{instance_id}/kernel-plugin"),
            "/v3/{project_id}/instances"
        );
        assert_eq!(prefix("/v3/users/{user_id}/groups"), "/v3/users");
        assert_eq!(prefix("/v3/auth/tokens"), "/v3/auth/tokens");
        assert_eq!(
            prefix("/plugboard/v1/projects/{project_id}/gaussdb/instances"),
            "/plugboard/v1/projects/{project_id}"
        );
        assert_eq!(prefix("/"), "/");
    }
}
