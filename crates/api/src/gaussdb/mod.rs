//! GaussDB (openGauss) kernel plug-ins (docs/api-coverage.md → GaussDB): the HTTP face of
//! `plugboard_service::gaussdb` — the install call commits a durable job that the job engine
//! runs (download, verify, unpack, install, check); the other calls read the catalog, the
//! instance's plug-ins, jobs and tasks, and switch extensions on or off in real databases.

pub mod dto;
pub mod error;
pub mod handlers;
pub mod routes;
