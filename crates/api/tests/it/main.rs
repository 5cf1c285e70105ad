//! The integration tests of plugboard-api, one binary, in process: the router driven with
//! `oneshot` over a fresh SQLite store (`helpers::App`), pinning each family's error envelope
//! and reply shapes on the wire (statuses, headers, exact bodies).

mod helpers;

mod envelopes;
mod replies;
