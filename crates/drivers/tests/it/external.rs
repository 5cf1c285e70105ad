//! The external step protocol against real executables (shell scripts written per test):
//! request on stdin, progress/log/result/error lines, exits, stderr, the timeout killing the
//! whole process group (a forked grandchild included), cancellation, output that breaks the
//! protocol or floods it, and the scrubbed environment.

use plugboard_drivers::external::{ExternalDriver, OutputLimits};
use plugboard_drivers::step::{AddonRef, EnvironmentRef, StepEvent, StepRequest, PROTOCOL_VERSION};
use plugboard_drivers::testing::{alive, wait_gone};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn driver(dir: &Path, script: &str, timeout: Duration) -> ExternalDriver {
    let path = dir.join("driver");
    std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).expect("write driver");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    ExternalDriver {
        program: PathBuf::from("driver"),
        args: vec![],
        folder: dir.to_path_buf(),
        timeout,
        limits: OutputLimits::default(),
        env: vec![],
    }
}

fn request(workdir: &Path) -> StepRequest {
    StepRequest {
        protocol: PROTOCOL_VERSION,
        job_id: "JOB7e9317bb-a63a-46f4-a026-244de2f6eac3".into(),
        action: "install".into(),
        step: "deploy".into(),
        step_index: 1,
        addon: AddonRef {
            id: "2c3a8c2e-4e8d-4c55-9d0e-5f7a1a2b3c4d".into(),
            name: "sermantInjector".into(),
            version: String::new(),
            environment_id: "0a1b2c3d-4e8d-4c55-9d0e-5f7a1a2b3c4d".into(),
            cce_id: "cce-1".into(),
            cse_id: "cse-1".into(),
        },
        environment: EnvironmentRef {
            id: "0a1b2c3d-4e8d-4c55-9d0e-5f7a1a2b3c4d".into(),
            name: "dev".into(),
            labels: vec![],
        },
        resources: vec![],
        context: serde_json::Map::new(),
        workdir: workdir.display().to_string(),
    }
}

fn read_pid(path: &Path) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Ok(pid) = text.trim().parse() {
                return pid;
            }
        }
        assert!(Instant::now() < deadline, "no pid in {}", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn a_step_reads_its_request_and_reports_progress_logs_and_a_result() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = driver(
        dir.path(),
        r#"cat > request.json
echo '{"progress": 40}'
echo ''
echo '{"log": "laying it down"}'
echo '{"result": {"version": "1.3.1.0", "where": "'"$(pwd)"'"}}'"#,
        Duration::from_secs(10),
    );
    let mut events = Vec::new();
    let out = d
        .run(&request(dir.path()), &mut |e| events.push(e))
        .await
        .expect("step succeeds");
    assert_eq!(
        events,
        [
            StepEvent::Progress(40),
            StepEvent::Log("laying it down".into())
        ]
    );
    assert_eq!(out.result["version"], "1.3.1.0");
    assert_eq!(
        out.result["where"],
        dir.path().display().to_string(),
        "runs in its folder"
    );
    let sent: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("request.json")).expect("request"),
    )
    .expect("JSON request");
    assert_eq!(sent["protocol"], 1);
    assert_eq!(sent["action"], "install");
    assert_eq!(sent["step"], "deploy");
    assert_eq!(sent["step_index"], 1);
    assert_eq!(sent["addon"]["name"], "sermantInjector");
    assert_eq!(sent["workdir"], dir.path().display().to_string());
}

#[tokio::test]
async fn exit_zero_without_a_result_succeeds_and_without_reading_stdin_too() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = driver(dir.path(), "exit 0", Duration::from_secs(10));
    let out = d.run(&request(dir.path()), &mut |_| {}).await.expect("ok");
    assert!(out.result.is_empty());
}

#[tokio::test]
async fn an_error_line_fails_the_step_with_the_drivers_reason_and_retry_flag() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = driver(
        dir.path(),
        r#"echo '{"error": "the cluster is unreachable", "retry": true}'; echo 'details on stderr' >&2"#,
        Duration::from_secs(10),
    );
    let failure = d
        .run(&request(dir.path()), &mut |_| {})
        .await
        .expect_err("fails");
    assert_eq!(failure.reason, "the cluster is unreachable");
    assert!(failure.retry);
    assert_eq!(failure.stderr.trim(), "details on stderr");
}

#[tokio::test]
async fn a_non_zero_exit_fails_with_its_status_and_stderr() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = driver(
        dir.path(),
        r#"echo '{"result": {}}'; echo 'helm: release not found' >&2; exit 3"#,
        Duration::from_secs(10),
    );
    let failure = d
        .run(&request(dir.path()), &mut |_| {})
        .await
        .expect_err("fails");
    assert_eq!(failure.reason, "the driver exited with status 3");
    assert!(!failure.retry);
    assert!(
        failure.stderr.contains("helm: release not found"),
        "{failure:?}"
    );
}

#[tokio::test]
async fn a_hanging_step_is_killed_at_its_timeout_with_its_whole_process_group() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = driver(
        dir.path(),
        // A grandchild that would outlive the driver if only the driver were killed.
        "sh -c 'echo $$ > grandchild.pid; exec sleep 1000' &\necho $$ > driver.pid\nsleep 1000",
        Duration::from_millis(1500),
    );
    let started = Instant::now();
    let failure = d
        .run(&request(dir.path()), &mut |_| {})
        .await
        .expect_err("times out");
    let took = started.elapsed();
    assert!(
        failure.reason.contains("timeout of 1 s"),
        "{}",
        failure.reason
    );
    assert!(took < Duration::from_secs(6), "took {took:?}");
    let driver_pid = read_pid(&dir.path().join("driver.pid"));
    let grandchild = read_pid(&dir.path().join("grandchild.pid"));
    assert!(wait_gone(driver_pid), "the driver survived");
    assert!(wait_gone(grandchild), "its grandchild survived");
}

#[tokio::test]
async fn dropping_a_running_step_kills_its_process_group() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = driver(
        dir.path(),
        "sh -c 'echo $$ > grandchild.pid; exec sleep 1000' &\necho '{\"progress\": 1}'\nsleep 1000",
        Duration::from_secs(60),
    );
    let workdir = dir.path().to_path_buf();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let r = request(&workdir);
        d.run(&r, &mut |e| {
            tx.send(e).ok();
        })
        .await
    });
    assert_eq!(rx.recv().await, Some(StepEvent::Progress(1)));
    let grandchild = read_pid(&dir.path().join("grandchild.pid"));
    assert!(alive(grandchild));
    task.abort();
    assert!(task.await.expect_err("aborted").is_cancelled());
    assert!(
        wait_gone(grandchild),
        "the step's processes outlived its cancellation"
    );
}

#[tokio::test]
async fn output_that_is_not_the_protocol_fails_clearly() {
    let dir = tempfile::tempdir().expect("tmp");
    for (script, says) in [
        (
            "echo 'Installing sermant...'",
            "stdout line 1 is not a protocol message",
        ),
        (r#"echo '{"progress": 10}'; echo '[1, 2]'"#, "stdout line 2"),
        (
            r#"echo '{"result": {}}'; echo '{"result": {}}'"#,
            "more than one result",
        ),
        (r#"echo '{"status": "ok"}'"#, "unknown key `status`"),
    ] {
        let d = driver(dir.path(), script, Duration::from_secs(10));
        let failure = d
            .run(&request(dir.path()), &mut |_| {})
            .await
            .expect_err(script);
        assert!(
            failure.reason.contains("broke the step protocol"),
            "{script}: {}",
            failure.reason
        );
        assert!(
            failure.reason.contains(says),
            "{script}: {}",
            failure.reason
        );
    }
}

#[tokio::test]
async fn a_flood_of_output_is_cut_off_with_bounded_memory() {
    let dir = tempfile::tempdir().expect("tmp");
    // Endless messages.
    let d = driver(
        dir.path(),
        r#"yes '{"log": "spam"}'"#,
        Duration::from_secs(20),
    );
    let mut logs = 0usize;
    let failure = d
        .run(&request(dir.path()), &mut |_| logs += 1)
        .await
        .expect_err("flood");
    assert!(
        failure.reason.contains("more than 10000 messages"),
        "{}",
        failure.reason
    );
    assert_eq!(logs, 10_000);
    // One endless line.
    let d = driver(dir.path(), "yes | tr -d '\\n'", Duration::from_secs(20));
    let failure = d
        .run(&request(dir.path()), &mut |_| {})
        .await
        .expect_err("long line");
    assert!(
        failure.reason.contains("longer than 65536 bytes"),
        "{}",
        failure.reason
    );
    // Endless stderr: kept bounded, the step still ends at its timeout.
    let d = driver(dir.path(), "yes stderr-spam >&2", Duration::from_secs(2));
    let failure = d
        .run(&request(dir.path()), &mut |_| {})
        .await
        .expect_err("timeout");
    assert!(
        failure.stderr.len() <= 16 * 1024 + 64,
        "{}",
        failure.stderr.len()
    );
    assert!(failure.stderr.ends_with("[stderr cut]"));
}

#[tokio::test]
async fn a_driver_sees_a_scrubbed_environment() {
    // Whatever the server's environment holds, the driver sees none of it.
    std::env::set_var(
        "PLUGBOARD_DATABASE_URL",
        "postgres://admin:hunter2@db/plugboard",
    );
    std::env::set_var("PLUGBOARD_ADMIN_PASSWORD", "hunter2");
    let dir = tempfile::tempdir().expect("tmp");
    let d = driver(
        dir.path(),
        r#"env | sort | sed 's/"/\\"/g; s/.*/{"log": "&"}/'"#,
        Duration::from_secs(10),
    );
    let mut env = Vec::new();
    d.run(&request(dir.path()), &mut |e| {
        if let StepEvent::Log(line) = e {
            env.push(line);
        }
    })
    .await
    .expect("ok");
    let names: Vec<&str> = env.iter().filter_map(|l| l.split('=').next()).collect();
    for name in &names {
        assert!(
            [
                "PATH",
                "LANG",
                "HOME",
                "PLUGBOARD_DRIVER_PROTOCOL",
                "PWD",
                "SHLVL",
                "_"
            ]
            .contains(name),
            "the driver saw {name}: {env:?}"
        );
    }
    assert!(names.contains(&"PLUGBOARD_DRIVER_PROTOCOL"));
    assert!(!env.iter().any(|l| l.contains("hunter2")), "{env:?}");
}

#[tokio::test]
async fn a_missing_executable_is_a_clear_failure() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = ExternalDriver {
        program: PathBuf::from("nope"),
        args: vec![],
        folder: dir.path().to_path_buf(),
        timeout: Duration::from_secs(1),
        limits: OutputLimits::default(),
        env: vec![],
    };
    let failure = d
        .run(&request(dir.path()), &mut |_| {})
        .await
        .expect_err("no program");
    assert!(
        failure.reason.contains("cannot be started"),
        "{}",
        failure.reason
    );
}
