//! plugboard's own admin API (docs/contract.md → Admin API): the resources the vendor APIs
//! assume exist. Today: DBSS audit instances, GaussDB instances and lockouts (users and access
//! keys locked after failed attempts).

pub mod dto;
pub mod error;
pub mod handlers;
pub mod routes;
