//! DBSS (docs/api-coverage.md → DBSS): audit instances and the self-built databases they audit, in the
//! nested DBSS envelope. Switching audit ON wakes the audit monitor, which probes the
//! database in the background.

pub mod dto;
pub mod error;
pub mod handlers;
pub mod routes;
