//! The integration tests of plugboard-jobs, one binary: a module per subject.

mod common;

mod batch;
mod burst;
mod classes;
mod deep;
mod effects;
mod engine;
mod leases;
mod typed;
