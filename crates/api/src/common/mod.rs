//! What every API family shares: the operations table, the request context (request id,
//! metrics), authentication and authorization, the envelopes errors are rendered in, and the
//! extractors that turn malformed input into the family's 400.

pub mod api_error;
pub mod auth;
#[cfg(test)]
mod codes_doc;
pub mod context;
pub mod error;
pub mod error_body;
pub mod extract;
pub mod openapi;
pub mod ops;
pub mod page;
