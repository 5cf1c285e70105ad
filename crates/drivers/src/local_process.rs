//! `local-process`: the add-on driver that ships with plugboard. It runs an add-on as a
//! supervised local process from a versioned payload, and it runs *through the external step
//! protocol* (the `plugboard` binary started with a driver subcommand reads the step request on
//! stdin and calls [`run_step`]), so the protocol is exercised for real.
//!
//! Its catalog is `<driver folder>/addons/<addon-name>/<version>/`, each holding the payload and
//! an `addon.toml` ([`AddonSpec`]). Its actions, each step safe to run again:
//! - `install`: `deploy` (copy the newest version into `<workdir>/<version>/`), `start` (run the
//!   payload's `run` there, detached in its own process group, its pid alone in `<workdir>/pid`
//!   for tools (`kill $(cat pid)`), and the pid with the process's start time in
//!   `<workdir>/process`, what the driver trusts to tell it from a later process reusing the pid; output
//!   appended to `<workdir>/log`), `verify` (alive for a moment; the health check, if any,
//!   answers);
//! - `restart`: `restart` (stop, then start the deployed version), `verify`;
//! - `redeploy`: `deploy` (stop, then copy the newest version afresh), `start`, `verify`;
//! - `uninstall`: `stop`, `remove` (`<workdir>` deleted).

use crate::manifest::{compare_versions, AddonEntry, DriverManifest, ManifestError};
use crate::step::{StepFailure, StepRequest, StepSuccess};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use serde::Deserialize;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The driver's product key (fixed).
pub const UUID: &str = "e90949fe5ddd3e68a4646b97b812f905";

/// The driver's name (and its folder under `<data-dir>/plugins/`).
pub const NAME: &str = "local-process";

/// An add-on version's `addon.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddonSpec {
    /// argv, run in the add-on's copy of the version folder.
    pub run: Vec<String>,
    #[serde(default)]
    pub health: Option<Health>,
    /// SIGTERM, then SIGKILL after this.
    #[serde(default = "default_stop_timeout")]
    pub stop_timeout_seconds: u64,
    /// How long `verify` waits for the health check to answer.
    #[serde(default = "default_health_timeout")]
    pub health_timeout_seconds: u64,
}

fn default_stop_timeout() -> u64 {
    10
}

fn default_health_timeout() -> u64 {
    30
}

/// A health check: a TCP connect or an HTTP GET answering 2xx.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Health {
    #[serde(default)]
    pub tcp: Option<String>,
    #[serde(default)]
    pub http: Option<String>,
}

const ADDON_FILE: &str = "addon.toml";
const PID_FILE: &str = "pid";
/// `<pid> <start time>`: the record the driver reads (written before [`PID_FILE`]).
const PROCESS_FILE: &str = "process";
const LOG_FILE: &str = "log";
const VERSION_FILE: &str = "version";
/// How long a started process must stay up before `verify` believes it runs.
const ALIVE_FOR: Duration = Duration::from_millis(300);

/// The driver's manifest, with `program`/`args` running it through the step protocol.
pub fn manifest(program: &str, args: &[String], addons: Vec<AddonEntry>) -> DriverManifest {
    let steps = [
        ("install", vec!["deploy", "start", "verify"]),
        ("restart", vec!["restart", "verify"]),
        ("redeploy", vec!["deploy", "start", "verify"]),
        ("uninstall", vec!["stop", "remove"]),
    ]
    .into_iter()
    .map(|(a, s)| (a.to_string(), s.into_iter().map(String::from).collect()))
    .collect();
    DriverManifest {
        uuid: UUID.into(),
        name: NAME.into(),
        kind: "addon".into(),
        vendor: "plugboard".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        description: "Runs an add-on as a supervised local process".into(),
        license: "Apache-2.0".into(),
        executable: program.into(),
        args: args.to_vec(),
        features: [
            ("restart".to_string(), true),
            ("redeploy".to_string(), true),
        ]
        .into(),
        timeout_seconds: 300,
        addons,
        steps,
        options: vec![],
    }
}

/// The catalog under `<folder>/addons/`: every add-on with the versions that hold a valid
/// `addon.toml`; a broken version is reported and left out.
pub fn catalog(folder: &Path) -> (Vec<AddonEntry>, Vec<ManifestError>) {
    let mut addons = Vec::new();
    let mut errors = Vec::new();
    let Ok(entries) = std::fs::read_dir(folder.join("addons")) else {
        return (addons, errors);
    };
    let mut names: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    names.sort();
    for addon_dir in names.into_iter().filter(|p| p.is_dir()) {
        let name = addon_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut versions = Vec::new();
        if let Ok(entries) = std::fs::read_dir(&addon_dir) {
            for version_dir in entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()) {
                match read_spec(&version_dir) {
                    Ok(_) => versions.push(
                        version_dir
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                    ),
                    Err(reason) => errors.push(ManifestError {
                        path: version_dir.join(ADDON_FILE),
                        reason,
                    }),
                }
            }
        }
        versions.sort_by(|a, b| compare_versions(a, b));
        let entry = AddonEntry { name, versions };
        if !entry.versions.is_empty() {
            addons.push(entry);
        }
    }
    (addons, errors)
}

fn read_spec(dir: &Path) -> Result<AddonSpec, String> {
    let path = dir.join(ADDON_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read: {e}"))?;
    let spec: AddonSpec = toml::from_str(&text).map_err(|e| e.message().to_string())?;
    if spec.run.is_empty() || spec.run[0].is_empty() {
        return Err("run must name a program".into());
    }
    Ok(spec)
}

fn fail(reason: impl Into<String>) -> StepFailure {
    StepFailure::new(reason)
}

fn io(what: &str, path: &Path, e: std::io::Error) -> StepFailure {
    fail(format!("cannot {what} {}: {e}", path.display()))
}

/// Where one step works.
struct Step<'a> {
    request: &'a StepRequest,
    /// The driver's folder (the catalog is under `addons/`).
    folder: &'a Path,
    workdir: PathBuf,
}

/// Run one step of `request`; `folder` is the driver's folder. `log` receives the lines for
/// the task's messages.
pub fn run_step(
    request: &StepRequest,
    folder: &Path,
    log: &mut dyn FnMut(String),
) -> Result<StepSuccess, StepFailure> {
    if request.workdir.is_empty() {
        return Err(fail("the step request names no workdir"));
    }
    let step = Step {
        request,
        folder,
        workdir: PathBuf::from(&request.workdir),
    };
    let mut result = serde_json::Map::new();
    match request.step.as_str() {
        "deploy" => {
            step.stop(log)?;
            let version = step.deploy(log)?;
            result.insert("version".into(), json!(version));
        }
        "start" => {
            let pid = step.start(log)?;
            result.insert("pid".into(), json!(pid));
        }
        "restart" => {
            step.stop(log)?;
            let pid = step.start(log)?;
            result.insert("pid".into(), json!(pid));
        }
        "verify" => {
            let pid = step.verify(log)?;
            result.insert("pid".into(), json!(pid));
            result.insert("version".into(), json!(step.deployed_version()?));
            result.insert("host".into(), json!(hostname()));
        }
        "stop" => step.stop(log)?,
        "remove" => {
            step.stop(log)?;
            match std::fs::remove_dir_all(&step.workdir) {
                Ok(()) => log(format!("removed {}", step.workdir.display())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io("remove", &step.workdir, e)),
            }
        }
        other => return Err(fail(format!("local-process has no step `{other}`"))),
    }
    Ok(StepSuccess { result })
}

/// This host's name (the add-on belongs to it).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// A process's start time (field 22 of `/proc/<pid>/stat`), to tell it from a later process
/// that reuses its pid; `None` when it is gone (or a zombie).
fn start_time(pid: i32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19).map(|s| s.to_string())
}

impl Step<'_> {
    fn addon_name(&self) -> Result<&str, StepFailure> {
        let name = self.request.addon.name.as_str();
        if name.is_empty() || name.contains('/') || name.starts_with('.') {
            return Err(fail(format!("`{name}` is not an add-on name")));
        }
        Ok(name)
    }

    /// The versions the catalog has of this add-on, highest last.
    fn catalog_versions(&self) -> Result<Vec<String>, StepFailure> {
        let name = self.addon_name()?;
        let (addons, _) = catalog(self.folder);
        addons
            .into_iter()
            .find(|a| a.name == name)
            .map(|a| a.versions)
            .ok_or_else(|| {
                fail(format!(
                    "the local-process catalog has no add-on `{name}` (looked in {})",
                    self.folder.join("addons").display()
                ))
            })
    }

    fn deployed_version(&self) -> Result<String, StepFailure> {
        let path = self.workdir.join(VERSION_FILE);
        std::fs::read_to_string(&path)
            .map(|v| v.trim().to_string())
            .map_err(|e| io("read", &path, e))
    }

    /// Copy the newest version into `<workdir>/<version>/` afresh (through a temporary
    /// folder, so a half-done copy is never taken for a version) and remember it.
    fn deploy(&self, log: &mut dyn FnMut(String)) -> Result<String, StepFailure> {
        let versions = self.catalog_versions()?;
        let version = versions
            .last()
            .cloned()
            .ok_or_else(|| fail("the add-on has no version to deploy"))?;
        let source = self
            .folder
            .join("addons")
            .join(self.addon_name()?)
            .join(&version);
        let target = self.workdir.join(&version);
        std::fs::create_dir_all(&self.workdir).map_err(|e| io("create", &self.workdir, e))?;
        let staging = self.workdir.join(format!(".deploying-{version}"));
        for dir in [&staging, &target] {
            if dir.exists() {
                std::fs::remove_dir_all(dir).map_err(|e| io("remove", dir, e))?;
            }
        }
        copy_tree(&source, &staging)?;
        std::fs::rename(&staging, &target).map_err(|e| io("move into place", &target, e))?;
        write_atomic(&self.workdir.join(VERSION_FILE), &version)?;
        // Older versions' copies go: only the deployed one stays.
        if let Ok(entries) = std::fs::read_dir(&self.workdir) {
            for entry in entries.flatten() {
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                if path.is_dir() && name != version && !name.starts_with('.') {
                    std::fs::remove_dir_all(&path).ok();
                }
            }
        }
        log(format!("deployed {} {version}", self.addon_name()?));
        Ok(version)
    }

    /// The recorded process's pid, if that process still runs (a work directory of an older
    /// plugboard has the record in the pid file itself).
    fn running(&self) -> Option<i32> {
        let text = std::fs::read_to_string(self.workdir.join(PROCESS_FILE))
            .or_else(|_| std::fs::read_to_string(self.workdir.join(PID_FILE)))
            .ok()?;
        let mut parts = text.split_whitespace();
        let pid: i32 = parts.next()?.parse().ok()?;
        let started = parts.next()?;
        (pid > 1 && start_time(pid).as_deref() == Some(started)).then_some(pid)
    }

    /// Start the deployed version unless it already runs; its pid.
    fn start(&self, log: &mut dyn FnMut(String)) -> Result<i32, StepFailure> {
        if let Some(pid) = self.running() {
            log(format!("already running as pid {pid}"));
            return Ok(pid);
        }
        let version = self.deployed_version()?;
        let dir = self.workdir.join(&version);
        let spec = read_spec(&dir)
            .map_err(|e| fail(format!("{}: {e}", dir.join(ADDON_FILE).display())))?;
        let log_path = self.workdir.join(LOG_FILE);
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| io("open", &log_path, e))?;
        let err = out.try_clone().map_err(|e| io("open", &log_path, e))?;
        let program = if spec.run[0].contains('/') {
            dir.join(&spec.run[0])
        } else {
            PathBuf::from(&spec.run[0])
        };
        use std::os::unix::process::CommandExt;
        let child = Command::new(&program)
            .args(&spec.run[1..])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(|e| fail(format!("cannot start {}: {e}", program.display())))?;
        let pid = i32::try_from(child.id()).map_err(|_| fail("the process id is out of range"))?;
        let started = start_time(pid).unwrap_or_default();
        write_atomic(
            &self.workdir.join(PROCESS_FILE),
            &format!("{pid} {started}\n"),
        )?;
        write_atomic(&self.workdir.join(PID_FILE), &format!("{pid}\n"))?;
        // The child is not waited for: it lives on after this step's process exits (and is
        // then adopted by init, which reaps it).
        drop(child);
        log(format!(
            "started {} {version} as pid {pid}",
            self.addon_name()?
        ));
        Ok(pid)
    }

    /// Stop the process (SIGTERM to its group, SIGKILL after `stop_timeout_seconds`).
    fn stop(&self, log: &mut dyn FnMut(String)) -> Result<(), StepFailure> {
        let Some(pid) = self.running() else {
            self.forget_process();
            return Ok(());
        };
        let timeout = self
            .deployed_version()
            .ok()
            .and_then(|v| read_spec(&self.workdir.join(v)).ok())
            .map(|s| s.stop_timeout_seconds)
            .unwrap_or_else(default_stop_timeout);
        killpg(Pid::from_raw(pid), Signal::SIGTERM).ok();
        let deadline = Instant::now() + Duration::from_secs(timeout);
        while self.running().is_some() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if self.running().is_some() {
            killpg(Pid::from_raw(pid), Signal::SIGKILL).ok();
            let deadline = Instant::now() + Duration::from_secs(5);
            while self.running().is_some() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            log(format!("pid {pid} did not stop within {timeout} s: killed"));
        } else {
            log(format!("stopped pid {pid}"));
        }
        if self.running().is_some() {
            return Err(fail(format!("pid {pid} does not stop")));
        }
        self.forget_process();
        Ok(())
    }

    /// Remove the process record and the pid file.
    fn forget_process(&self) {
        std::fs::remove_file(self.workdir.join(PROCESS_FILE)).ok();
        std::fs::remove_file(self.workdir.join(PID_FILE)).ok();
    }

    /// The process is alive after a moment and its health check answers.
    fn verify(&self, log: &mut dyn FnMut(String)) -> Result<i32, StepFailure> {
        let log_tail = || {
            let text = std::fs::read_to_string(self.workdir.join(LOG_FILE)).unwrap_or_default();
            let start = text.len().saturating_sub(2000);
            let start = (start..text.len())
                .find(|i| text.is_char_boundary(*i))
                .unwrap_or(text.len());
            text[start..].to_string()
        };
        let Some(pid) = self.running() else {
            return Err(fail(format!(
                "the add-on is not running; its log ends: {}",
                log_tail()
            )));
        };
        std::thread::sleep(ALIVE_FOR);
        if self.running() != Some(pid) {
            return Err(fail(format!(
                "the add-on (pid {pid}) exited right after it started; its log ends: {}",
                log_tail()
            )));
        }
        let version = self.deployed_version()?;
        let spec = read_spec(&self.workdir.join(&version)).map_err(fail)?;
        if let Some(health) = &spec.health {
            let deadline = Instant::now() + Duration::from_secs(spec.health_timeout_seconds);
            loop {
                match check_health(health) {
                    Ok(what) => {
                        log(format!("health check passed: {what}"));
                        break;
                    }
                    Err(why) if Instant::now() >= deadline => {
                        return Err(fail(format!(
                            "the health check did not pass within {} s: {why}",
                            spec.health_timeout_seconds
                        )))
                    }
                    Err(_) => {
                        if self.running() != Some(pid) {
                            return Err(fail(format!(
                                "the add-on (pid {pid}) exited before its health check passed; its log ends: {}",
                                log_tail()
                            )));
                        }
                        std::thread::sleep(Duration::from_millis(200));
                    }
                }
            }
        }
        Ok(pid)
    }
}

/// One health check try.
fn check_health(health: &Health) -> Result<String, String> {
    if let Some(addr) = &health.tcp {
        let addrs: Vec<std::net::SocketAddr> =
            std::net::ToSocketAddrs::to_socket_addrs(addr.as_str())
                .map_err(|e| format!("tcp {addr}: {e}"))?
                .collect();
        let first = addrs.first().ok_or(format!("tcp {addr}: no address"))?;
        std::net::TcpStream::connect_timeout(first, Duration::from_secs(2))
            .map_err(|e| format!("tcp {addr}: {e}"))?;
        return Ok(format!("tcp {addr}"));
    }
    if let Some(url) = &health.http {
        return http_get(url).map(|status| format!("http {url} → {status}"));
    }
    Ok("none configured".into())
}

/// A plain HTTP/1.1 GET on loopback-style URLs (`http://host:port/path`): the status code when
/// it is 2xx.
fn http_get(url: &str) -> Result<u16, String> {
    use std::io::{Read, Write};
    let parsed = url::Url::parse(url).map_err(|e| format!("http {url}: {e}"))?;
    if parsed.scheme() != "http" {
        return Err(format!(
            "http {url}: only http:// health checks are supported"
        ));
    }
    let host = parsed.host_str().ok_or(format!("http {url}: no host"))?;
    let port = parsed.port_or_known_default().unwrap_or(80);
    let addr = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
        .map_err(|e| format!("http {url}: {e}"))?
        .next()
        .ok_or(format!("http {url}: no address"))?;
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("http {url}: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let path = match parsed.query() {
        Some(q) => format!("{}?{q}", parsed.path()),
        None => parsed.path().to_string(),
    };
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("http {url}: {e}"))?;
    let mut head = [0u8; 64];
    let n = stream
        .read(&mut head)
        .map_err(|e| format!("http {url}: {e}"))?;
    let line = String::from_utf8_lossy(&head[..n]);
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or(format!("http {url}: not an HTTP answer"))?;
    if (200..300).contains(&status) {
        Ok(status)
    } else {
        Err(format!("http {url} answered {status}"))
    }
}

fn write_atomic(path: &Path, text: &str) -> Result<(), StepFailure> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|e| io("write", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io("write", path, e))
}

/// Copy a payload folder; links are copied as links would escape it, so they are refused.
fn copy_tree(from: &Path, to: &Path) -> Result<(), StepFailure> {
    std::fs::create_dir_all(to).map_err(|e| io("create", to, e))?;
    let entries = std::fs::read_dir(from).map_err(|e| io("read", from, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io("read", from, e))?;
        let kind = entry
            .file_type()
            .map_err(|e| io("read", &entry.path(), e))?;
        let target = to.join(entry.file_name());
        if kind.is_symlink() {
            return Err(fail(format!(
                "{} is a symbolic link; payloads hold only files and folders",
                entry.path().display()
            )));
        } else if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target).map_err(|e| io("copy", &entry.path(), e))?;
        }
    }
    Ok(())
}
