//! Drivers: the real work behind the APIs — today the audit probes and the network policy;
//! the package installer and external drivers come later.
//!
//! - [`netpolicy`] decides which addresses plugboard may connect to (audit probes, package
//!   downloads, web hooks), from the `[network]` section of the configuration.
//! - [`probe`] reaches a database the way an audit agent would: a TCP connect plus, where the
//!   protocol is known, the server's greeting.

pub mod netpolicy;
pub mod probe;
