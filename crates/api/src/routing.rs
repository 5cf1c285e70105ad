//! Builds the router from the families' operation tables: each route gets the guard layer for
//! its operation; unknown routes and wrong methods get the gateway's APIG.0101.

use crate::common::auth::{guard, Resolver, RouteGuard};
use crate::common::context::{panic_response, request_context};
use crate::common::error::GatewayError;
use crate::common::openapi::OpDoc;
use crate::common::ops::Operation;
use crate::AppState;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::response::IntoResponse;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;

/// An operation and the method router serving it.
pub struct OpRoute {
    pub op: &'static Operation,
    pub route: MethodRouter<AppState>,
    /// Set when the request body names the operation (`op` is then the endpoint).
    pub resolve: Option<Resolver>,
}

/// Pair an operation with its handler.
pub fn op_route<H, T>(op: &'static Operation, handler: H) -> OpRoute
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let filter = MethodFilter::try_from(op.method.clone())
        .unwrap_or_else(|_| panic!("{} uses a method axum cannot route", op.name));
    OpRoute {
        op,
        route: on(filter, handler),
        resolve: None,
    }
}

/// An RPC endpoint (`endpoint`: its method, path and family) whose operation is named by the
/// request body: `resolve` picks the operation of the table, which is then authorized like
/// any other; the handler finds it as the request extension
/// [`crate::common::auth::ResolvedOp`]. A body naming none is the gateway's APIG.0101.
pub fn resolved_route<H, T>(endpoint: &'static Operation, resolve: Resolver, handler: H) -> OpRoute
where
    H: Handler<T, AppState>,
    T: 'static,
{
    OpRoute {
        resolve: Some(resolve),
        ..op_route(endpoint, handler)
    }
}

/// Every route of every family.
pub fn all_routes() -> Vec<OpRoute> {
    let mut routes = crate::system::routes();
    routes.extend(crate::index::routes());
    routes.extend(crate::iam::routes::routes());
    routes.extend(crate::gaussdb::routes::routes());
    routes.extend(crate::dbss::routes::routes());
    routes.extend(crate::servicestage::routes::routes());
    routes.extend(crate::zstack::routes::routes());
    routes.extend(crate::admin::routes::routes());
    routes
}

/// Every operation the server serves.
pub fn operations() -> Vec<&'static Operation> {
    all_routes().into_iter().map(|r| r.op).collect()
}

/// What `/openapi.json` says of each operation, family by family (`common::openapi`).
pub fn all_docs() -> Vec<(&'static Operation, OpDoc)> {
    let mut docs = crate::system::docs();
    docs.extend(crate::index::docs());
    docs.extend(crate::iam::routes::docs());
    docs.extend(crate::gaussdb::routes::docs());
    docs.extend(crate::dbss::routes::docs());
    docs.extend(crate::servicestage::routes::docs());
    docs.extend(crate::zstack::routes::docs());
    docs.extend(crate::admin::routes::docs());
    docs
}

/// No route for the request: the gateway's APIG.0101, or, under `/zstack/`, the ZStack REST
/// layer's plain texts (405 for anything but GET on an api-job, else 404 `no api mapping to`).
async fn no_such_api(method: axum::http::Method, uri: axum::http::Uri) -> axum::response::Response {
    let path = uri.path();
    if let Some(rest) = path.strip_prefix("/zstack") {
        if rest.starts_with("/v1/api-jobs/") && method != axum::http::Method::GET {
            return crate::zstack::error::text(&crate::zstack::error::texts::ONLY_GET, "");
        }
        return crate::zstack::error::text(&crate::zstack::error::texts::NO_API_MAPPING, rest);
    }
    GatewayError::NoSuchApi.into_response()
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    build(state, all_routes())
}

/// The application serving `routes`, with the layers every route gets.
fn build(state: AppState, routes: Vec<OpRoute>) -> Router {
    let mut router: Router<AppState> = Router::new();
    for OpRoute { op, route, resolve } in routes {
        let guarded = route.layer(axum::middleware::from_fn_with_state(
            RouteGuard {
                state: state.clone(),
                op,
                resolve,
            },
            guard,
        ));
        router = router.route(op.path, guarded);
    }
    let max_body = state.config.http.max_body_bytes;
    router
        .fallback(no_such_api)
        .method_not_allowed_fallback(no_such_api)
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            request_context,
        ))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::ops::{Access, Family};
    use axum::body::Body;
    use axum::http::{Method, Request, StatusCode};
    use plugboard_core::config::{Config, Overrides};
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    use tower::ServiceExt;

    static PANICS: Operation = Operation {
        name: "Panics",
        method: Method::GET,
        path: "/panics",
        family: Family::System,
        access: Access::Public,
        summary: "A handler that panics",
    };

    async fn panicking_handler() -> &'static str {
        panic!("secret detail the client must not see")
    }

    #[derive(Clone, Default)]
    struct Logs(Arc<Mutex<Vec<u8>>>);

    impl Write for Logs {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut v) = self.0.lock() {
                v.extend_from_slice(buf);
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    async fn test_state(dir: &std::path::Path) -> (AppState, plugboard_store::testing::TestDb) {
        let config = Config::resolve(Overrides {
            data_dir: Some(dir.to_path_buf()),
            ..Default::default()
        })
        .expect("config");
        let db = plugboard_store::testing::TestDb::new(plugboard_store::Backend::Sqlite).await;
        let store = db.store().await;
        let key = plugboard_core::secrets::MasterKey::load_or_create(&dir.join("master.key"))
            .expect("key");
        let identity = Arc::new(plugboard_auth::identity::Identity::new(
            store.clone(),
            key.clone(),
            config.iam.clone(),
        ));
        let services = plugboard_service::Services::new(&plugboard_service::Deps {
            config: config.clone(),
            store: store.clone(),
            key,
            network: Arc::new(Default::default()),
            job_waker: Arc::new(tokio::sync::Notify::new()),
            identity: identity.clone(),
            driver_program: "plugboard".into(),
        });
        let state = AppState::new(
            config,
            services,
            store,
            identity,
            "http://127.0.0.1:1".into(),
            None,
        );
        (state, db)
    }

    static RPC: Operation = Operation {
        name: "Rpc",
        method: Method::POST,
        path: "/rpc",
        family: Family::System,
        access: Access::Public,
        summary: "An endpoint whose operation the body names",
    };
    static RPC_OPEN: Operation = Operation {
        name: "RpcOpen",
        method: Method::POST,
        path: "/rpc",
        family: Family::Admin,
        access: Access::Public,
        summary: "A public operation behind /rpc",
    };
    static RPC_GUARDED: Operation = Operation {
        name: "RpcGuarded",
        method: Method::POST,
        path: "/rpc",
        family: Family::Admin,
        access: Access::Action("plugboard:rpc:guarded"),
        summary: "An operation behind /rpc that needs an action",
    };

    fn resolve_rpc(body: &[u8]) -> Option<&'static Operation> {
        let v: serde_json::Value = serde_json::from_slice(body).ok()?;
        match v.get("op")?.as_str()? {
            "open" => Some(&RPC_OPEN),
            "guarded" => Some(&RPC_GUARDED),
            _ => None,
        }
    }

    async fn rpc_handler(
        axum::Extension(op): axum::Extension<crate::common::auth::ResolvedOp>,
        body: String,
    ) -> String {
        format!("{} {body}", op.0.name)
    }

    #[tokio::test]
    async fn an_operation_named_by_the_body_is_resolved_then_authorized_like_any_other() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (state, db) = test_state(dir.path()).await;
        let app = build(state, vec![resolved_route(&RPC, resolve_rpc, rpc_handler)]);
        let send = |body: &'static str| {
            app.clone().oneshot(
                Request::post("/rpc")
                    .body(Body::from(body))
                    .expect("request"),
            )
        };
        let open = send(r#"{"op": "open"}"#).await.expect("response");
        assert_eq!(open.status(), StatusCode::OK);
        let text = axum::body::to_bytes(open.into_body(), 1 << 16)
            .await
            .expect("body");
        assert_eq!(
            &text[..],
            br#"RpcOpen {"op": "open"}"#,
            "the handler gets the body too"
        );

        let guarded = send(r#"{"op": "guarded"}"#).await.expect("response");
        assert_eq!(guarded.status(), StatusCode::UNAUTHORIZED);
        let body = axum::body::to_bytes(guarded.into_body(), 1 << 16)
            .await
            .expect("body");
        let body: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(body["error_code"], "APIG.0301", "{body}");

        let unknown = send(r#"{"op": "nothing"}"#).await.expect("response");
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
        let body = axum::body::to_bytes(unknown.into_body(), 1 << 16)
            .await
            .expect("body");
        let body: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(body["error_code"], "APIG.0101", "{body}");
        db.cleanup().await;
    }

    #[tokio::test]
    async fn a_panicking_handler_is_a_500_in_the_gateway_envelope_and_logged() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (state, db) = test_state(dir.path()).await;
        let app = build(state, vec![op_route(&PANICS, panicking_handler)]);

        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let response = app
            .oneshot(
                Request::get("/panics")
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("a response, not a dropped connection");

        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let id = response.headers()["x-request-id"]
            .to_str()
            .expect("id")
            .to_string();
        assert!(plugboard_core::ids::is_hex32(&id));
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("body");
        let body: serde_json::Value = serde_json::from_slice(&body).expect("JSON body");
        assert_eq!(
            body,
            serde_json::json!({"error_code": "APIG.0500", "error_msg": "Internal server error.", "request_id": id})
        );
        let text = String::from_utf8(logs.0.lock().expect("logs").clone()).expect("UTF-8 logs");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON log line"))
            .collect();
        let panic_line = lines
            .iter()
            .find(|l| l["fields"]["message"] == "request handler panicked")
            .unwrap_or_else(|| panic!("no panic log line in {text}"));
        assert_eq!(panic_line["fields"]["request_id"], id.as_str());
        assert_eq!(panic_line["level"], "ERROR");
        let request_line = lines
            .iter()
            .find(|l| l["fields"]["message"] == "request")
            .unwrap_or_else(|| panic!("no request log line in {text}"));
        assert_eq!(request_line["fields"]["request_id"], id.as_str());
        assert_eq!(request_line["fields"]["status"], 500);
        db.cleanup().await;
    }
}
