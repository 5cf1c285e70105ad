//! The integration tests of plugboard-jobs, one binary: a module per former test file.

mod classes;
mod engine;
mod typed;
