//! The integration tests of plugboard-store, one binary: a module per former test file.

mod common;

mod cancellation;
mod conformance_dbss;
mod conformance_dbss_audit;
mod conformance_dbss_audit_counters;
mod conformance_dbss_audit_indexes;
mod conformance_dbss_audit_listing;
mod conformance_dbss_audit_text;
mod conformance_dbss_storage;
mod conformance_gaussdb;
mod conformance_identity;
mod conformance_zstack_sessions;
mod deadlock;
mod job_group_commit;
mod job_states;
mod page_and_total;
mod servicestage;
mod zstack_api_jobs;
