//! The `local-process` driver's steps on this machine: a catalog of versioned payloads, install
//! (deploy, start detached, verify with a real HTTP health check), restart (a new pid), a new
//! version then redeploy (runs from the new version's copy), uninstall (no process, no files),
//! a payload that dies at once, and the catalog scan reporting a broken version.

use plugboard_drivers::local_process::{catalog, run_step};
use plugboard_drivers::step::{AddonRef, EnvironmentRef, StepRequest, PROTOCOL_VERSION};
use plugboard_drivers::testing::{self, alive};
use std::path::{Path, PathBuf};

/// A version folder whose payload serves HTTP on `port` and says its version.
fn add_version(folder: &Path, name: &str, version: &str, port: u16) {
    let dir = folder.join("addons").join(name).join(version);
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("VERSION"), version).expect("payload");
    std::fs::write(
        dir.join("addon.toml"),
        format!(
            "run = [\"python3\", \"-m\", \"http.server\", \"{port}\", \"--bind\", \"127.0.0.1\"]\nhealth = {{ http = \"http://127.0.0.1:{port}/VERSION\" }}\nstop_timeout_seconds = 5\nhealth_timeout_seconds = 20\n"
        ),
    )
    .expect("addon.toml");
}

fn request(workdir: &Path, action: &str, step: &str) -> StepRequest {
    StepRequest {
        protocol: PROTOCOL_VERSION,
        job_id: "JOB7e9317bb-a63a-46f4-a026-244de2f6eac3".into(),
        action: action.into(),
        step: step.into(),
        step_index: 0,
        addon: AddonRef {
            id: "2c3a8c2e-4e8d-4c55-9d0e-5f7a1a2b3c4d".into(),
            name: "webby".into(),
            version: String::new(),
            environment_id: String::new(),
            cce_id: String::new(),
            cse_id: String::new(),
        },
        environment: EnvironmentRef::default(),
        resources: vec![],
        context: serde_json::Map::new(),
        workdir: workdir.display().to_string(),
    }
}

fn steps(
    folder: &Path,
    workdir: &Path,
    action: &str,
    names: &[&str],
) -> serde_json::Map<String, serde_json::Value> {
    let mut context = serde_json::Map::new();
    for step in names {
        let r = request(workdir, action, step);
        let out = run_step(&r, folder, &mut |_| {})
            .unwrap_or_else(|e| panic!("{action}/{step}: {} {}", e.reason, e.stderr));
        context.extend(out.result);
    }
    context
}

fn cwd_of(pid: i32) -> PathBuf {
    std::fs::read_link(format!("/proc/{pid}/cwd")).expect("cwd")
}

fn get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(s, "GET {path} HTTP/1.0\r\n\r\n").expect("send");
    let mut body = String::new();
    s.read_to_string(&mut body).expect("read");
    body.split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

fn pid_of(workdir: &Path) -> i32 {
    testing::pid_of(workdir).expect("a pid in the pid file")
}

fn wait_dead(pid: i32) {
    assert!(testing::wait_gone(pid), "pid {pid} still runs");
}

#[test]
fn install_restart_redeploy_and_uninstall_a_real_process() {
    let root = tempfile::tempdir().expect("tmp");
    let folder = root.path().join("plugins/local-process");
    let workdir = root
        .path()
        .join("addons/2c3a8c2e-4e8d-4c55-9d0e-5f7a1a2b3c4d");
    let port = testing::free_port().expect("port");
    add_version(&folder, "webby", "1.0.0", port);
    add_version(&folder, "webby", "0.9.0", port);

    // install: the newest version, running from its copy, answering its health check
    let ctx = steps(&folder, &workdir, "install", &["deploy", "start", "verify"]);
    assert_eq!(ctx["version"], "1.0.0");
    let first = pid_of(&workdir);
    assert_eq!(ctx["pid"], first);
    assert!(alive(first));
    // The pid file holds the pid alone (what `kill $(cat pid)` reads); the start time that
    // tells the process from a later one with its pid is kept beside it.
    assert_eq!(
        std::fs::read_to_string(workdir.join("pid")).expect("pid file"),
        format!("{first}\n")
    );
    let record = std::fs::read_to_string(workdir.join("process")).expect("process file");
    let mut fields = record.split_whitespace();
    assert_eq!(fields.next(), Some(first.to_string().as_str()));
    assert!(
        fields.next().is_some_and(|t| t.parse::<u64>().is_ok()),
        "{record:?}"
    );
    // A work directory of an older plugboard (the record in the pid file) is still read.
    std::fs::remove_file(workdir.join("process")).expect("remove the record");
    std::fs::write(workdir.join("pid"), &record).expect("old pid file");
    steps(&folder, &workdir, "install", &["start", "verify"]);
    assert_eq!(pid_of(&workdir), first);
    assert_eq!(cwd_of(first), workdir.join("1.0.0"));
    assert_eq!(get(port, "/VERSION"), "1.0.0");
    assert!(workdir.join("log").is_file());
    // a step run again (after a crash, say) changes nothing
    steps(&folder, &workdir, "install", &["start", "verify"]);
    assert_eq!(pid_of(&workdir), first);

    // restart: the same version, a new process
    steps(&folder, &workdir, "restart", &["restart", "verify"]);
    let second = pid_of(&workdir);
    assert_ne!(second, first);
    wait_dead(first);
    assert_eq!(get(port, "/VERSION"), "1.0.0");

    // a newer version appears; redeploy runs it from its own copy
    add_version(&folder, "webby", "1.10.0", port);
    let ctx = steps(
        &folder,
        &workdir,
        "redeploy",
        &["deploy", "start", "verify"],
    );
    assert_eq!(ctx["version"], "1.10.0");
    let third = pid_of(&workdir);
    wait_dead(second);
    assert_eq!(cwd_of(third), workdir.join("1.10.0"));
    assert_eq!(get(port, "/VERSION"), "1.10.0");
    assert!(!workdir.join("1.0.0").exists(), "the old copy is gone");

    // a process that died since is started again by restart
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(third),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill");
    wait_dead(third);
    steps(&folder, &workdir, "restart", &["restart", "verify"]);
    let fourth = pid_of(&workdir);
    assert!(alive(fourth));

    // uninstall: no process, no files
    steps(&folder, &workdir, "uninstall", &["stop", "remove"]);
    wait_dead(fourth);
    assert!(!workdir.exists());
    // and again: nothing to do
    steps(&folder, &workdir, "uninstall", &["stop", "remove"]);
}

#[test]
fn a_payload_that_dies_at_once_fails_verify_with_its_log() {
    let root = tempfile::tempdir().expect("tmp");
    let folder = root.path().join("plugins/local-process");
    let workdir = root.path().join("addons/x");
    let dir = folder.join("addons/webby/1.0.0");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(
        dir.join("addon.toml"),
        "run = [\"sh\", \"-c\", \"echo cannot bind port >&2; exit 1\"]\n",
    )
    .expect("addon.toml");
    steps(&folder, &workdir, "install", &["deploy", "start"]);
    let failure = run_step(
        &request(&workdir, "install", "verify"),
        &folder,
        &mut |_| {},
    )
    .expect_err("verify fails");
    assert!(
        failure.reason.contains("cannot bind port"),
        "{}",
        failure.reason
    );
}

#[test]
fn the_catalog_lists_valid_versions_and_reports_broken_ones() {
    let root = tempfile::tempdir().expect("tmp");
    let folder = root.path().join("local-process");
    add_version(&folder, "webby", "1.2.0", 1);
    add_version(&folder, "webby", "1.10.0", 1);
    let broken = folder.join("addons/webby/2.0.0");
    std::fs::create_dir_all(&broken).expect("mkdir");
    std::fs::write(broken.join("addon.toml"), "run = []\n").expect("write");
    let (addons, errors) = catalog(&folder);
    assert_eq!(addons.len(), 1);
    assert_eq!(addons[0].versions, ["1.2.0", "1.10.0"]);
    assert_eq!(addons[0].latest_version(), Some("1.10.0"));
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].to_string().contains("2.0.0/addon.toml"),
        "{}",
        errors[0]
    );
}
