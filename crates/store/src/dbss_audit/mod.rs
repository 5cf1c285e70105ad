//! DBSS audit rows (docs/dbss-audit.md): agents and the databases they serve ([`agents`]),
//! captured statements ([`sqls`]; listed by [`listing`] and [`listing_text`], counted per minute in [`sql_minutes`])
//! and the statistics counters they bump ([`counters`]), the
//! QPS budget ([`qps`]), risk-operation and SQL-injection rules ([`rules`]), alarms
//! ([`alarms`]; the silent-agent alarm: [`agent_alarms`]), and how their storage stays bounded
//! ([`storage`]). Statements are deduplicated by the agent's own `(agent, db, seq)`, so a batch
//! sent twice stores nothing twice.

pub mod agent_alarms;
pub mod agents;
pub mod alarms;
pub mod counters;
pub mod listing;
pub mod listing_text;
pub mod qps;
pub mod rule_changes;
pub mod rules;
pub mod scopes;
pub mod sql_minutes;
pub mod sqls;
pub mod storage;

pub use agents::{AddAgentError, Agent};
pub use alarms::{Alarm, AlarmFilter, AlarmMatch};
pub use counters::{CounterScope, Counts, RuleCount, SessionCount};
pub use qps::{QpsBudget, QpsDraw, QpsOutcome};
pub use rule_changes::RuleKind;
pub use rules::{RiskRule, SqlRule};
pub use scopes::Scope;
pub use sqls::{SqlFilter, SqlRow};
pub use storage::StoredTotal;
