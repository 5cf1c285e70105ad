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
//! - [`manifest`] reads driver manifests (`driver.toml`); [`registry`] finds the drivers of a
//!   plug-in folder; [`step`] is the step interface every add-on driver implements, through
//!   [`external`] (one process per step, JSON lines) or built in: [`simulated`]. The add-on
//!   driver that ships with plugboard, [`local_process`], runs through the external protocol.

pub mod external;
pub mod fetch;
pub mod local_process;
pub mod manifest;
pub mod netpolicy;
pub mod package;
pub mod pg;
pub mod pginstall;
pub mod probe;
pub mod registry;
pub mod simulated;
pub mod step;
#[cfg(feature = "testing")]
pub mod testing;
