//! ZStack wire types (docs/api-coverage.md → ZStack), named after the vendor's messages. The
//! bodies are read as JSON values (the vendor's REST layer maps the action key to the API and
//! answers its own plain-text 400 when it is missing); these types document them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `PUT /zstack/v1/accounts/login`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogInByAccountBody {
    pub log_in_by_account: LogInByAccount,
}

/// The login's fields.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogInByAccount {
    pub account_name: String,
    /// The SHA-512 hex of the password.
    pub password: String,
    /// Absent, null, `""` or `"account"`.
    pub account_type: Option<String>,
}

/// A session (SessionInventory).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionInventory {
    pub uuid: String,
    pub account_uuid: String,
    pub user_uuid: String,
    pub user_type: String,
    /// Gson's `Dec 1, 2026 8:29:00 AM` (UTC).
    pub expired_date: String,
    pub create_date: String,
}

/// The login's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct LogInReply {
    pub inventory: SessionInventory,
}

/// `GET .../sessions/{session_uuid}/valid`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ValidateSessionReply {
    pub valid: bool,
}

/// `{}`: logout, and the events of Refresh and Delete.
#[derive(Debug, Serialize, ToSchema)]
pub struct Empty {}

/// A PluginDriverInventory.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginDriverInventory {
    /// The driver's product key.
    pub uuid: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub vendor: String,
    pub version: String,
    pub description: String,
    pub license: String,
    /// A JSON object as a string: `{"restart":true}`.
    pub features: String,
    pub option_types: Vec<serde_json::Value>,
    pub deleted: bool,
    pub create_date: String,
    pub last_op_date: String,
}

/// `GET /zstack/v1/external/plugins`: `inventories` (not with `count=true`), `total` (with
/// `count` or `replyWithCount`).
#[derive(Debug, Serialize, ToSchema)]
pub struct QueryPluginDriversReply {
    pub inventories: Option<Vec<PluginDriverInventory>>,
    pub total: Option<u64>,
}

/// `PUT /zstack/v1/external/plugins`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshPluginDriversBody {
    pub refresh_plugin_drivers: RefreshPluginDrivers,
}

/// The refresh's fields.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshPluginDrivers {
    /// Only this driver (none: all).
    pub name: Option<String>,
}

/// The 202 of an async call.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AsyncAccepted {
    /// `http://<host>:<port>/zstack/v1/api-jobs/<32hex>`.
    pub location: String,
    /// Milliseconds.
    pub api_timeout: i64,
}

/// `POST /zstack/api/`: `{"<fully qualified APIxxxMsg>": {...fields, "session": {"uuid"}}}`.
/// The messages served, each authorized like its REST twin:
/// `org.zstack.header.identity.APILogInByAccountMsg` `{accountName, password}` (anyone),
/// `org.zstack.header.identity.APILogOutMsg` `{sessionUuid}` (anyone),
/// `org.zstack.header.core.external.plugin.APIQueryPluginDriversMsg` `{conditions, limit,
/// start, count, replyWithCount, sortBy, sortDirection, fields}` (admins,
/// `zstack:pluginDriver:query`), `...APIRefreshPluginDriversMsg` `{name}` (admins,
/// `zstack:pluginDriver:refresh`; async), `...APIDeletePluginDriversMsg` `{uuid, deleteMode}`
/// (`zstack:pluginDriver:delete`; async).
#[derive(Debug, Deserialize, ToSchema)]
pub struct RpcCall {
    #[serde(flatten)]
    pub message: std::collections::BTreeMap<String, serde_json::Value>,
}

/// The RPC answer: `state` `Done` with `result` (a JSON string whose one key names the reply or
/// event class), or `Processing` with the `uuid` to poll.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RpcAnswer {
    pub uuid: Option<String>,
    pub state: String,
    pub created_date: String,
    pub finished_date: Option<String>,
    pub result: Option<String>,
}
