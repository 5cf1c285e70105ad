//! plugboard's own admin API (docs/contract.md → Admin API): the resources the vendor APIs
//! assume exist. Today: DBSS audit instances and GaussDB instances.

pub mod dto;
pub mod error;
pub mod handlers;
pub mod routes;
