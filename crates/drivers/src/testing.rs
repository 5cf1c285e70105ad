//! Test support for drivers that run real processes (this crate's tests and the binary's):
//! whether a pid is alive, waiting for one to end, the pid in an add-on's pid file, a free
//! loopback port.

use std::path::Path;
use std::time::{Duration, Instant};

/// Whether `pid` runs (a zombie counts as gone).
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s[s.rfind(')').unwrap_or(0)..].starts_with(") Z"))
        .unwrap_or(false)
}

/// Wait up to 10 s for `pid` to end; `false` if it still runs.
pub fn wait_gone(pid: i32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(pid) {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// The pid `local-process` recorded in `<workdir>/pid`.
pub fn pid_of(workdir: &Path) -> Option<i32> {
    std::fs::read_to_string(workdir.join("pid"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A loopback port nothing listens on now.
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
