//! ServiceStage (docs/api-coverage.md → ServiceStage): environments, the add-ons installed in
//! them (run by drivers as durable jobs), and the add-on jobs' v3 and v2 views.

pub mod dto;
pub mod error;
pub mod handlers;
pub mod routes;
mod views;
