//! DBSS (docs/api-coverage.md → DBSS): audit instances and the self-built databases they audit, in the
//! nested DBSS envelope. Switching audit ON wakes the audit monitor, which probes the
//! database in the background. The audit itself (agents, captured statements, rules, alarms:
//! docs/dbss-audit.md) is in the `*_audit`/`*_agents` files, its statistics in `*_stats`.

pub mod capture;
pub mod dto;
pub mod dto_audit;
pub mod dto_rules;
pub mod dto_stats;
pub mod error;
pub mod handlers;
pub mod handlers_agents;
pub mod handlers_audit;
pub mod handlers_rules;
pub mod handlers_stats;
pub mod routes;
pub mod routes_audit;
pub mod routes_rules;
pub mod routes_stats;
