//! `local-process` through the external step protocol for real: the `plugboard` binary run as
//! the driver executable (`plugboard driver-step local-process`) by the same runner the job
//! engine uses, installing, restarting, redeploying and uninstalling a real add-on process.

use plugboard_drivers::external::{ExternalDriver, OutputLimits};
use plugboard_drivers::step::{AddonRef, EnvironmentRef, StepEvent, StepRequest, PROTOCOL_VERSION};
use plugboard_drivers::testing::{self, alive};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn add_version(folder: &Path, version: &str, port: u16) {
    let dir = folder.join("addons/webby").join(version);
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("VERSION"), version).expect("payload");
    std::fs::write(
        dir.join("addon.toml"),
        format!("run = [\"python3\", \"-m\", \"http.server\", \"{port}\", \"--bind\", \"127.0.0.1\"]\nhealth = {{ tcp = \"127.0.0.1:{port}\" }}\n"),
    )
    .expect("addon.toml");
}

fn driver(folder: &Path) -> ExternalDriver {
    ExternalDriver {
        program: PathBuf::from(env!("CARGO_BIN_EXE_plugboard")),
        args: vec!["driver-step".into(), "local-process".into()],
        folder: folder.to_path_buf(),
        timeout: Duration::from_secs(60),
        limits: OutputLimits::default(),
        env: vec![],
    }
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
            ..Default::default()
        },
        environment: EnvironmentRef::default(),
        resources: vec![],
        context: serde_json::Map::new(),
        workdir: workdir.display().to_string(),
    }
}

async fn steps(
    d: &ExternalDriver,
    workdir: &Path,
    action: &str,
    names: &[&str],
) -> (serde_json::Map<String, serde_json::Value>, Vec<String>) {
    let mut context = serde_json::Map::new();
    let mut logs = Vec::new();
    for step in names {
        let mut r = request(workdir, action, step);
        r.context = context.clone();
        let out = d
            .run(&r, &mut |e| {
                if let StepEvent::Log(l) = e {
                    logs.push(l)
                }
            })
            .await
            .unwrap_or_else(|f| panic!("{action}/{step}: {} {}", f.reason, f.stderr));
        context.extend(out.result);
    }
    (context, logs)
}

fn pid_of(workdir: &Path) -> i32 {
    testing::pid_of(workdir).expect("a pid in the pid file")
}

fn wait_dead(pid: i32) {
    assert!(testing::wait_gone(pid), "pid {pid} still runs");
}

#[tokio::test]
async fn local_process_runs_a_real_add_on_through_the_step_protocol() {
    let root = tempfile::tempdir().expect("tmp");
    let folder = root.path().join("plugins/local-process");
    let workdir = root
        .path()
        .join("addons/2c3a8c2e-4e8d-4c55-9d0e-5f7a1a2b3c4d");
    let port = testing::free_port().expect("port");
    add_version(&folder, "1.0.0", port);
    let d = driver(&folder);

    let (ctx, logs) = steps(&d, &workdir, "install", &["deploy", "start", "verify"]).await;
    assert_eq!(ctx["version"], "1.0.0");
    let first = pid_of(&workdir);
    assert_eq!(ctx["pid"], first);
    assert!(ctx["host"].as_str().is_some_and(|h| !h.is_empty()));
    assert!(
        logs.iter().any(|l| l.contains("health check passed")),
        "{logs:?}"
    );
    assert_eq!(
        std::fs::read_link(format!("/proc/{first}/cwd")).expect("cwd"),
        workdir.join("1.0.0"),
        "runs from the version's copy"
    );
    // the driver process is gone, its add-on lives on
    assert!(alive(first));

    steps(&d, &workdir, "restart", &["restart", "verify"]).await;
    let second = pid_of(&workdir);
    assert_ne!(first, second);
    wait_dead(first);

    add_version(&folder, "1.1.0", port);
    let (ctx, _) = steps(&d, &workdir, "redeploy", &["deploy", "start", "verify"]).await;
    assert_eq!(ctx["version"], "1.1.0");
    let third = pid_of(&workdir);
    wait_dead(second);
    assert_eq!(
        std::fs::read_link(format!("/proc/{third}/cwd")).expect("cwd"),
        workdir.join("1.1.0")
    );

    steps(&d, &workdir, "uninstall", &["stop", "remove"]).await;
    wait_dead(third);
    assert!(!workdir.exists(), "no files remain");
}

#[tokio::test]
async fn a_failing_local_process_step_says_why_through_the_protocol() {
    let root = tempfile::tempdir().expect("tmp");
    let folder = root.path().join("plugins/local-process");
    std::fs::create_dir_all(&folder).expect("mkdir");
    let d = driver(&folder);
    let failure = d
        .run(
            &request(&root.path().join("w"), "install", "deploy"),
            &mut |_| {},
        )
        .await
        .expect_err("nothing to deploy");
    assert!(
        failure
            .reason
            .contains("the local-process catalog has no add-on `webby`"),
        "{}",
        failure.reason
    );
    let failure = d
        .run(
            &request(&root.path().join("w"), "install", "dance"),
            &mut |_| {},
        )
        .await
        .expect_err("no such step");
    assert!(
        failure.reason.contains("no step `dance`"),
        "{}",
        failure.reason
    );
}
