//! Authentication and authorisation building blocks: AK/SK request signing, IAM policy
//! evaluation and per-key failure lockout.

pub mod identity;
pub mod lockout;
pub mod policy;
pub mod signing;
pub mod token;
