//! Domain building blocks shared by every plugboard crate: configuration, identifiers, the
//! vendor time formats, sealing of secrets at rest and the password scheme.

pub mod codes;
pub mod config;
pub mod ids;
pub mod password;
pub mod secrets;
pub mod time;
