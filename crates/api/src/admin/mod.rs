//! plugboard's own admin API (docs/contract.md → Admin API): the resources the vendor APIs
//! assume exist. Today: DBSS audit instances, GaussDB instances and lockouts (users and access
//! keys locked after failed attempts), the driver registry and every family's jobs.

pub mod dto;
pub mod error;
pub mod handlers;
pub mod jobs;
pub mod routes;
