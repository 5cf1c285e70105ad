//! Admin API wire types.

use serde::{Deserialize, Serialize};

/// `POST /plugboard/v1/projects/{project_id}/dbss/instances`: an edition or an explicit limit.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct CreateAuditInstanceRequest {
    pub name: String,
    pub edition: Option<String>,
    pub database_limit: Option<i64>,
}

/// An audit instance.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub struct AuditInstanceView {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub edition: String,
    pub database_limit: i64,
    pub database_count: i64,
    pub status: String,
    pub created: String,
}

/// `GET .../dbss/instances`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub struct AuditInstanceList {
    pub instances: Vec<AuditInstanceView>,
    pub total: i64,
}

/// Paging of admin listings.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub struct PageQuery {
    pub offset: Option<i64>,
    pub limit: Option<i64>,
}
