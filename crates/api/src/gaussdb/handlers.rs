//! GaussDB handlers.

use super::error::GaussDbError;
use crate::common::auth::Caller;
use crate::common::error::json_response;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

/// `GET /v3/{project_id}/instances/kernel-plugins` (ListSupportKernelPlugins): a bare JSON
/// array of the plug-in names the catalog accepts.
pub async fn list_support_kernel_plugins(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Response, GaussDbError> {
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!(state.config.gaussdb.supported_plugins),
    ))
}
