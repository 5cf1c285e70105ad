//! The integration tests of plugboard-service, one binary: a module per former test file.

mod console;
mod kinds;
mod service;
