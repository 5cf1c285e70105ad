//! The integration tests of the plugboard binary, one binary: a module per subject.
//! The crate is a binary, so the tests drive it as a process (`common::TestApp`).

#![allow(clippy::unwrap_used)] // the helpers, as every test module

mod common;

mod bootstrap;
mod cli_addons;
mod cli_drivers;
mod cli_environments;
mod cli_profile;
mod cli_workflows;
mod configuration;
mod dbss;
mod dbss_probes;
mod drivers;
mod gateway;
mod hardening_api;
mod hardening_http;
mod iam;
mod jobs_list;
mod lifecycle;
mod lockout;
mod metrics;
mod openapi;
mod reliability;
mod scale_out;
mod scale_out_signals;
mod tls;
mod zstack_hardening;
