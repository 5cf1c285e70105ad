//! `plugboard driver-step <driver>`: the built-in drivers that run through the external step
//! protocol, run by plugboard itself as a driver executable. It reads one step request (JSON)
//! on stdin, does the step with the driver's folder as its working directory, and writes the
//! protocol's JSON lines on stdout: `{"log": ...}` while it works, then `{"result": {...}}`,
//! or `{"error": "reason", "retry": false}` and exit status 1.

use plugboard_drivers::local_process;
use plugboard_drivers::step::StepRequest;
use serde_json::json;
use std::io::{Read, Write};
use std::process::ExitCode;

/// The most a step request may hold.
const MAX_REQUEST_BYTES: u64 = 16 * 1024 * 1024;

/// Print one protocol line (a closed stdout ends the step: nobody is listening).
fn emit(line: &serde_json::Value) {
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
        std::process::exit(1);
    }
}

fn fail(reason: String) -> ExitCode {
    emit(&json!({"error": reason, "retry": false}));
    ExitCode::FAILURE
}

/// Run one step of the built-in driver `name`.
pub fn run(name: &str) -> ExitCode {
    let mut text = String::new();
    if let Err(e) = std::io::stdin()
        .take(MAX_REQUEST_BYTES)
        .read_to_string(&mut text)
    {
        return fail(format!("cannot read the step request: {e}"));
    }
    let request: StepRequest = match serde_json::from_str(&text) {
        Ok(r) => r,
        Err(e) => return fail(format!("the step request is not valid: {e}")),
    };
    let folder = match std::env::current_dir() {
        Ok(d) => d,
        Err(e) => return fail(format!("no working directory: {e}")),
    };
    let outcome = match name {
        local_process::NAME => {
            local_process::run_step(&request, &folder, &mut |line| emit(&json!({ "log": line })))
        }
        other => return fail(format!("`{other}` is not a driver plugboard runs itself")),
    };
    match outcome {
        Ok(success) => {
            emit(&json!({ "result": success.result }));
            ExitCode::SUCCESS
        }
        Err(failure) => {
            let mut reason = failure.reason;
            if !failure.stderr.is_empty() {
                reason.push_str(": ");
                reason.push_str(&failure.stderr);
            }
            fail(reason)
        }
    }
}
