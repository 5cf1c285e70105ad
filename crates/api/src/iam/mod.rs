//! IAM (docs/api-coverage.md → IAM): tokens, projects, users, groups, roles, grants and permanent access
//! keys, in Keystone's wire format.

pub mod dto;
pub mod error;
pub mod handlers;
pub mod routes;
