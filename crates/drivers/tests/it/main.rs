//! The integration tests of plugboard-drivers, one binary: a module per former test file.

mod external;
mod fetch;
mod local_process;
mod package;
mod probe;
mod registry;
