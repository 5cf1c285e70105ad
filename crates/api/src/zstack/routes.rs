//! The ZStack operations (docs/api-coverage.md → ZStack): REST under `/zstack/v1` and the RPC
//! endpoint `POST /zstack/api/`, whose operation is named by the body's one key (the
//! fully-qualified message class) and then authorized like any other.

use super::{handlers, rpc};
use crate::common::auth::Resolver;
use crate::common::openapi::OpDoc;
use crate::common::ops::{op, Access, Operation};
use crate::routing::{op_route, resolved_route, OpRoute};
use axum::http::StatusCode;

const QUERY: &str = "zstack:pluginDriver:query";
const REFRESH: &str = "zstack:pluginDriver:refresh";
const DELETE: &str = "zstack:pluginDriver:delete";

op!(
    ZStack,
    LOG_IN_BY_ACCOUNT,
    "LogInByAccount",
    PUT,
    "/zstack/v1/accounts/login",
    Access::Public,
    "Log in with an account name and the SHA-512 hex of its password"
);
op!(
    ZStack,
    LOG_OUT,
    "LogOut",
    DELETE,
    "/zstack/v1/accounts/sessions/{session_uuid}",
    Access::Public,
    "End a session (an unknown one too)"
);
op!(
    ZStack,
    VALIDATE_SESSION,
    "ValidateSession",
    GET,
    "/zstack/v1/accounts/sessions/{session_uuid}/valid",
    Access::Public,
    "Whether a session is valid"
);
op!(
    ZStack,
    QUERY_PLUGIN_DRIVERS,
    "QueryPluginDrivers",
    GET,
    "/zstack/v1/external/plugins",
    Access::Admin(QUERY),
    "Query the plug-in drivers (the driver registry)"
);
op!(
    ZStack,
    REFRESH_PLUGIN_DRIVERS,
    "RefreshPluginDrivers",
    PUT,
    "/zstack/v1/external/plugins",
    Access::Admin(REFRESH),
    "Rescan the plug-in folder (async; `name` narrows it to one driver)"
);
op!(
    ZStack,
    DELETE_PLUGIN_DRIVERS,
    "DeletePluginDrivers",
    DELETE,
    "/zstack/v1/external/plugins/{uuid}",
    Access::Action(DELETE),
    "Delete a plug-in driver (async; deleteMode Permissive or Enforcing)"
);
op!(
    ZStack,
    QUERY_API_JOB,
    "QueryApiJob",
    GET,
    "/zstack/v1/api-jobs/{job_uuid}",
    Access::Public,
    "Poll an async call: 202 running, 200 done, 503 failed, 404 unknown or expired"
);
op!(
    ZStackRpc,
    RPC,
    "ZStackRpc",
    POST,
    "/zstack/api/",
    Access::Public,
    "The RPC endpoint: the body's one key names the API message"
);
op!(
    ZStackRpc,
    RPC_NO_SLASH,
    "ZStackRpcNoSlash",
    POST,
    "/zstack/api",
    Access::Public,
    "The RPC endpoint (without the trailing slash)"
);
op!(
    ZStackRpc,
    RPC_RESULT,
    "GetRpcResult",
    GET,
    "/zstack/api/result/{uuid}",
    Access::Public,
    "Poll an async RPC call until its state is Done"
);

// The RPC messages (resolved from the body of `POST /zstack/api/`).
op!(
    ZStackRpc,
    RPC_LOG_IN,
    "APILogInByAccountMsg",
    POST,
    "/zstack/api/",
    Access::Public,
    "RPC login"
);
op!(
    ZStackRpc,
    RPC_LOG_OUT,
    "APILogOutMsg",
    POST,
    "/zstack/api/",
    Access::Public,
    "RPC logout"
);
op!(
    ZStackRpc,
    RPC_QUERY,
    "APIQueryPluginDriversMsg",
    POST,
    "/zstack/api/",
    Access::Admin(QUERY),
    "RPC QueryPluginDrivers"
);
op!(
    ZStackRpc,
    RPC_REFRESH,
    "APIRefreshPluginDriversMsg",
    POST,
    "/zstack/api/",
    Access::Admin(REFRESH),
    "RPC RefreshPluginDrivers"
);
op!(
    ZStackRpc,
    RPC_DELETE,
    "APIDeletePluginDriversMsg",
    POST,
    "/zstack/api/",
    Access::Action(DELETE),
    "RPC DeletePluginDrivers"
);
op!(
    ZStackRpc,
    RPC_UNKNOWN,
    "UnknownMsg",
    POST,
    "/zstack/api/",
    Access::Public,
    "A message plugboard does not serve (answered with SYS.1007)"
);

/// What the vendor calls an API: its message class, the class its answer is keyed by, and
/// whether it is async.
#[derive(Debug, Clone, Copy)]
pub struct RpcMeta {
    pub fqcn: &'static str,
    pub answer_class: &'static str,
    pub is_async: bool,
}

/// The vendor's classes of an operation (by its REST or RPC name).
pub fn rpc_meta(name: &str) -> Option<RpcMeta> {
    let (fqcn, answer_class, is_async) = match name {
        "LogInByAccount" | "APILogInByAccountMsg" => (
            "org.zstack.header.identity.APILogInByAccountMsg",
            "org.zstack.header.identity.APILogInReply",
            false,
        ),
        "LogOut" | "APILogOutMsg" => (
            "org.zstack.header.identity.APILogOutMsg",
            "org.zstack.header.identity.APILogOutReply",
            false,
        ),
        "QueryPluginDrivers" | "APIQueryPluginDriversMsg" => (
            "org.zstack.header.core.external.plugin.APIQueryPluginDriversMsg",
            "org.zstack.header.core.external.plugin.APIQueryPluginDriversReply",
            false,
        ),
        "RefreshPluginDrivers" | "APIRefreshPluginDriversMsg" => (
            "org.zstack.header.core.external.plugin.APIRefreshPluginDriversMsg",
            "org.zstack.header.core.external.plugin.APIRefreshPluginDriversEvent",
            true,
        ),
        "DeletePluginDrivers" | "APIDeletePluginDriversMsg" => (
            "org.zstack.header.core.external.plugin.APIDeletePluginDriversMsg",
            "org.zstack.header.core.external.plugin.APIDeletePluginDriversEvent",
            true,
        ),
        _ => return None,
    };
    Some(RpcMeta {
        fqcn,
        answer_class,
        is_async,
    })
}

/// The RPC message a body names.
fn resolve(body: &[u8]) -> Option<&'static Operation> {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let key = value
        .as_object()
        .filter(|m| m.len() == 1)
        .and_then(|m| m.keys().next().cloned())
        .unwrap_or_default();
    let op = [
        &RPC_LOG_IN,
        &RPC_LOG_OUT,
        &RPC_QUERY,
        &RPC_REFRESH,
        &RPC_DELETE,
    ]
    .into_iter()
    .find(|op| rpc_meta(op.name).is_some_and(|m| m.fqcn == key));
    Some(op.unwrap_or(&RPC_UNKNOWN))
}

const RESOLVE: Resolver = resolve;

/// Every ZStack route.
pub fn routes() -> Vec<OpRoute> {
    vec![
        op_route(&LOG_IN_BY_ACCOUNT, handlers::log_in_by_account),
        op_route(&LOG_OUT, handlers::log_out),
        op_route(&VALIDATE_SESSION, handlers::validate_session),
        op_route(&QUERY_PLUGIN_DRIVERS, handlers::query_plugin_drivers),
        op_route(&REFRESH_PLUGIN_DRIVERS, handlers::refresh_plugin_drivers),
        op_route(&DELETE_PLUGIN_DRIVERS, handlers::delete_plugin_drivers),
        op_route(&QUERY_API_JOB, handlers::query_api_job),
        resolved_route(&RPC, RESOLVE, rpc::call),
        resolved_route(&RPC_NO_SLASH, RESOLVE, rpc::call),
        op_route(&RPC_RESULT, rpc::result),
    ]
}

/// What `/openapi.json` says of each ZStack operation (`common::openapi`).
pub fn docs() -> Vec<(&'static Operation, OpDoc)> {
    use super::dto::*;
    use StatusCode as S;
    let failed = &[S::SERVICE_UNAVAILABLE][..];
    // The REST layer's plain-text 400s: a bad `X-Job-UUID` on any call, a missing or non-OAuth
    // `Authorization`, a body without the action's key; 404 `no api mapping to ...`.
    let text_400 = &[S::BAD_REQUEST][..];
    vec![
        (
            &LOG_IN_BY_ACCOUNT,
            OpDoc::new()
                .body::<LogInByAccountBody>()
                .json::<LogInReply>(S::OK)
                .errors(failed)
                .text_errors(text_400),
        ),
        (
            &LOG_OUT,
            OpDoc::new().json::<Empty>(S::OK).text_errors(text_400),
        ),
        (
            &VALIDATE_SESSION,
            OpDoc::new()
                .json::<ValidateSessionReply>(S::OK)
                .text_errors(text_400),
        ),
        (
            &QUERY_PLUGIN_DRIVERS,
            OpDoc::new()
                .json::<QueryPluginDriversReply>(S::OK)
                .errors(failed)
                .text_errors(text_400),
        ),
        (
            &REFRESH_PLUGIN_DRIVERS,
            OpDoc::new()
                .body::<RefreshPluginDriversBody>()
                .json::<AsyncAccepted>(S::ACCEPTED)
                .errors(failed)
                .text_errors(text_400),
        ),
        (
            &DELETE_PLUGIN_DRIVERS,
            OpDoc::new()
                .json::<AsyncAccepted>(S::ACCEPTED)
                .errors(failed)
                .text_errors(&[S::BAD_REQUEST, S::NOT_FOUND]),
        ),
        (
            &QUERY_API_JOB,
            OpDoc::new()
                .json::<Empty>(S::OK)
                .json_also::<Empty>(S::ACCEPTED, "still running")
                .errors(&[S::SERVICE_UNAVAILABLE])
                .text_errors(&[S::NOT_FOUND]),
        ),
        (
            &RPC,
            OpDoc::new().body::<RpcCall>().json::<RpcAnswer>(S::OK),
        ),
        (
            &RPC_NO_SLASH,
            OpDoc::new().body::<RpcCall>().json::<RpcAnswer>(S::OK),
        ),
        (
            &RPC_RESULT,
            OpDoc::new()
                .json::<RpcAnswer>(S::OK)
                .text_errors(&[S::NOT_FOUND]),
        ),
    ]
}
