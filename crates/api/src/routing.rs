//! Builds the router from the families' operation tables: each route gets the guard layer for
//! its operation; unknown routes and wrong methods get the gateway's APIG.0101.

use crate::common::auth::{guard, RouteGuard};
use crate::common::context::request_context;
use crate::common::error::GatewayError;
use crate::common::ops::Operation;
use crate::AppState;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::response::IntoResponse;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;

/// An operation and the method router serving it.
pub struct OpRoute {
    pub op: &'static Operation,
    pub route: MethodRouter<AppState>,
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
    }
}

/// Every route of every family.
pub fn all_routes() -> Vec<OpRoute> {
    let mut routes = crate::system::routes();
    routes.extend(crate::iam::routes::routes());
    routes.extend(crate::gaussdb::routes::routes());
    routes.extend(crate::dbss::routes::routes());
    routes.extend(crate::admin::routes::routes());
    routes
}

/// Every operation the server serves.
pub fn operations() -> Vec<&'static Operation> {
    all_routes().into_iter().map(|r| r.op).collect()
}

async fn no_such_api() -> impl IntoResponse {
    GatewayError::NoSuchApi
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let mut router: Router<AppState> = Router::new();
    for OpRoute { op, route } in all_routes() {
        let guarded = route.layer(axum::middleware::from_fn_with_state(
            RouteGuard {
                state: state.clone(),
                op,
            },
            guard,
        ));
        router = router.route(op.path, guarded);
    }
    let max_body = state.config.http.max_body_bytes;
    router
        .fallback(no_such_api)
        .method_not_allowed_fallback(no_such_api)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            request_context,
        ))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}
