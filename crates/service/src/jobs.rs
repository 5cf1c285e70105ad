//! Jobs across every family (docs/contract.md → Jobs): which family each job kind belongs to,
//! and the domain-wide listing behind the admin API's `ListJobs` and `plugboard job list`
//! (kind, target, state, created, ended, reason), filtered by family and state.

use crate::gaussdb::install::InstallKernelPlugin;
use crate::servicestage::addon_job::AddonJob;
use crate::zstack::jobs::{DeletePluginDrivers, DeliverWebHook, RefreshPluginDrivers};
use plugboard_jobs::JobKind;
use plugboard_store::job_listing::DomainJobFilter;
use plugboard_store::jobs::{self, Job};
use plugboard_store::{Store, StoreError};

/// Every job kind and the family it belongs to (the families without jobs are not listed).
pub const KINDS: &[(&str, &str)] = &[
    (InstallKernelPlugin::KIND, "gaussdb"),
    (AddonJob::KIND, "servicestage"),
    (RefreshPluginDrivers::KIND, "zstack"),
    (DeletePluginDrivers::KIND, "zstack"),
    (DeliverWebHook::KIND, "zstack"),
];

/// The families that have jobs.
pub const FAMILIES: &[&str] = &["gaussdb", "servicestage", "zstack"];

/// The stored states, as the listing shows them and takes them as a filter.
pub const STATES: &[&str] = &[jobs::QUEUED, jobs::RUNNING, jobs::COMPLETED, jobs::FAILED];

/// The family of a stored job kind (`unknown` for a kind no handler declares).
pub fn family_of(kind: &str) -> &'static str {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("unknown", |(_, family)| family)
}

/// What the listing can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A filter or page parameter is invalid; the message names it.
    #[error("{0}")]
    Invalid(String),
}

/// A listing request.
#[derive(Debug, Clone, Default)]
pub struct JobQuery {
    /// One of [`FAMILIES`].
    pub family: Option<String>,
    /// One of [`STATES`].
    pub state: Option<String>,
    pub offset: Option<i64>,
    pub limit: Option<i64>,
}

/// The jobs of every family.
#[derive(Clone)]
pub struct Jobs {
    store: Store,
}

impl Jobs {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// A page of the jobs of `domain_id` (its projects' and the project-less ones), newest
    /// first, with the total that match.
    pub async fn list(&self, domain_id: &str, q: &JobQuery) -> Result<(Vec<Job>, i64), Error> {
        let offset = q.offset.unwrap_or(0);
        let limit = q.limit.unwrap_or(100);
        if offset < 0 {
            return Err(Error::Invalid(format!("offset must be ≥ 0 (got {offset})")));
        }
        if !(1..=1000).contains(&limit) {
            return Err(Error::Invalid(format!(
                "limit must be from 1 to 1000 (got {limit})"
            )));
        }
        let kinds = match q.family.as_deref() {
            None => None,
            Some(f) if FAMILIES.contains(&f) => Some(
                KINDS
                    .iter()
                    .filter(|(_, family)| *family == f)
                    .map(|(kind, _)| kind.to_string())
                    .collect(),
            ),
            Some(f) => {
                return Err(Error::Invalid(format!(
                    "family must be one of {} (got `{f}`)",
                    FAMILIES.join(", ")
                )))
            }
        };
        let state = match q.state.as_deref() {
            None => None,
            Some(s) if STATES.contains(&s) => Some(s.to_string()),
            Some(s) => {
                return Err(Error::Invalid(format!(
                    "state must be one of {} (got `{s}`)",
                    STATES.join(", ")
                )))
            }
        };
        let filter = DomainJobFilter { kinds, state };
        Ok(self
            .store
            .list_domain_jobs(domain_id, &filter, offset, limit)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_family_and_every_family_a_kind() {
        for (kind, family) in KINDS {
            assert!(FAMILIES.contains(family), "{kind}");
            assert_eq!(KINDS.iter().filter(|(k, _)| k == kind).count(), 1, "{kind}");
        }
        for family in FAMILIES {
            assert!(KINDS.iter().any(|(_, f)| f == family), "{family}");
        }
        assert_eq!(family_of("InstallKernelPlugin"), "gaussdb");
        assert_eq!(family_of("Nope"), "unknown");
    }
}
