//! Drivers: the real work behind the APIs.
//!
//! - [`netpolicy`] decides which addresses plugboard may connect to (audit probes, package
//!   downloads, web hooks), from the `[network]` section of the configuration.
//! - [`probe`] reaches a database the way an audit agent would: a TCP connect plus, where the
//!   protocol is known, the server's greeting.
//! - [`fetch`] downloads plug-in packages under that policy (allow list, every redirect and
//!   DNS answer checked), streaming and hashing them.
//! - [`package`] unpacks a plug-in package into staging, refusing anything hostile.
//! - [`pginstall`] puts unpacked files into a PostgreSQL installation, atomically and
//!   idempotently; [`pg`] talks to the server itself (versions, extensions, databases).

pub mod fetch;
pub mod netpolicy;
pub mod package;
pub mod pg;
pub mod pginstall;
pub mod probe;
