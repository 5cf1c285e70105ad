//! The integration tests of plugboard-jobs, one binary: a module per former test file.

mod batch;
mod burst;
mod classes;
mod engine;
mod typed;
