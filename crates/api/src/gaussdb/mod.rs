//! GaussDB (openGauss) kernel plug-ins (`spec/gaussdb.md`).

pub mod error;
pub mod handlers;
pub mod routes;
