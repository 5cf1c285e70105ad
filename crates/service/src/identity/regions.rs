//! Regions (KeystoneListRegions, KeystoneShowRegion; docs/api-coverage.md → IAM): a server
//! serves one region, the configured `region`, of type `public` (the type the SDKs look for
//! when they resolve a project by region).

use super::{Error, IdentityService, Result};

/// A region as IAM shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub id: String,
    /// Always `public`.
    pub kind: &'static str,
}

impl IdentityService {
    /// Every region this server serves.
    pub fn regions(&self) -> Vec<Region> {
        vec![Region {
            id: self.region.clone(),
            kind: "public",
        }]
    }

    /// Region `id`, or `NotFound` naming it.
    pub fn region(&self, id: &str) -> Result<Region> {
        self.regions()
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| Error::NotFound(format!("Could not find region: {id}.")))
    }
}
