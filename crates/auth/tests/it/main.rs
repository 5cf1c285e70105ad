//! The integration tests of plugboard-auth, one binary: a module per former test file.

mod captured;

mod signing_own;
mod signing_vectors;
