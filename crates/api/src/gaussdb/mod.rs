//! GaussDB (openGauss) kernel plug-ins (docs/api-coverage.md → GaussDB): the install call commits a durable
//! job that the job engine runs (download, verify, unpack, install, check); the other calls
//! read the catalog, the instance's plug-ins, jobs and tasks, and switch extensions on or off
//! in real databases.

pub mod dto;
pub mod error;
pub mod handlers;
pub mod routes;

/// The job kind (and GaussDB job name) of a kernel plug-in install [the vendor's is unknown].
pub const INSTALL_KERNEL_PLUGIN: &str = "InstallKernelPlugin";

/// The steps of an install job, in order.
pub const INSTALL_STEPS: &[&str] = &["download", "unpack", "install", "check"];

/// The job-exclusion key of an instance: one mutating job per instance at a time.
pub fn gaussdb_target(instance_id: &str) -> String {
    format!("gaussdb:{instance_id}")
}
