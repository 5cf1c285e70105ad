//! `plugboard-bench driver-steps`: the external step protocol's overhead. A no-op driver (a
//! shell script that reads its request and prints a result) is run through the step runner the
//! job engine uses ([`ExternalDriver`]: request on stdin, JSON lines parsed, process group
//! killed at the end) and, as the baseline, spawned in a plain loop with the same request on
//! stdin and its stdout read to the end. Rounds alternate the two so drift hits both; it
//! prints steps/s of each and the ratio (target ≥ 0.5).

use anyhow::{bail, Context, Result};
use plugboard_drivers::external::{ExternalDriver, OutputLimits};
use plugboard_drivers::step::{AddonRef, EnvironmentRef, StepRequest, PROTOCOL_VERSION};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const NOOP: &str = "#!/bin/sh\ncat > /dev/null\necho '{\"result\": {\"ok\": true}}'\n";

fn request(workdir: &Path) -> StepRequest {
    StepRequest {
        protocol: PROTOCOL_VERSION,
        job_id: "JOB7e9317bb-a63a-46f4-a026-244de2f6eac3".into(),
        action: "redeploy".into(),
        step: "deploy".into(),
        step_index: 0,
        addon: AddonRef {
            id: "2c3a8c2e-4e8d-4c55-9d0e-5f7a1a2b3c4d".into(),
            name: "sermantInjector".into(),
            ..Default::default()
        },
        environment: EnvironmentRef::default(),
        resources: vec![],
        context: serde_json::Map::new(),
        workdir: workdir.display().to_string(),
    }
}

/// Spawn the executable as the baseline does: request in, stdout read, exit awaited.
async fn spawn_once(program: &Path, folder: &Path, input: &[u8]) -> Result<()> {
    let mut child = tokio::process::Command::new(program)
        .current_dir(folder)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut stdin = child.stdin.take().context("stdin")?;
    stdin.write_all(input).await?;
    drop(stdin);
    let mut out = Vec::new();
    child
        .stdout
        .take()
        .context("stdout")?
        .read_to_end(&mut out)
        .await?;
    if !child.wait().await?.success() {
        bail!("the baseline's process failed");
    }
    Ok(())
}

/// Run the benchmark: `--steps N` per side (default 1000).
pub fn main() -> Result<()> {
    let mut args = std::env::args().skip(2);
    let mut steps = 1000usize;
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--steps" => steps = value.parse()?,
            _ => bail!("unknown flag {flag} (usage: plugboard-bench driver-steps [--steps 1000])"),
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run(steps.max(10)))
}

async fn run(steps: usize) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let program: PathBuf = dir.path().join("driver");
    std::fs::write(&program, NOOP)?;
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755))?;
    let driver = ExternalDriver {
        program: program.clone(),
        args: vec![],
        folder: dir.path().to_path_buf(),
        timeout: Duration::from_secs(30),
        limits: OutputLimits::default(),
        env: vec![],
    };
    let req = request(dir.path());
    let mut input = serde_json::to_vec(&req)?;
    input.push(b'\n');
    let rounds = 10;
    let per_round = steps.div_ceil(rounds);
    let (mut runner, mut baseline) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..rounds {
        let started = Instant::now();
        for _ in 0..per_round {
            let out = driver
                .run(&req, &mut |_| {})
                .await
                .map_err(|f| anyhow::anyhow!("step failed: {} {}", f.reason, f.stderr))?;
            if out.result.get("ok") != Some(&serde_json::Value::Bool(true)) {
                bail!("the no-op driver returned {:?}", out.result);
            }
        }
        runner += started.elapsed();
        let started = Instant::now();
        for _ in 0..per_round {
            spawn_once(&program, dir.path(), &input).await?;
        }
        baseline += started.elapsed();
    }
    let n = (rounds * per_round) as f64;
    let runner_rate = n / runner.as_secs_f64();
    let baseline_rate = n / baseline.as_secs_f64();
    let ratio = runner_rate / baseline_rate;
    println!(
        "plugboard driver-step benchmark: {} steps each, {rounds} alternating rounds",
        rounds * per_round
    );
    println!("| scenario | steps/s | ratio |");
    println!("|---|---|---|");
    println!("| spawn the executable in a loop (baseline) | {baseline_rate:.0} | 1.00 |");
    println!("| the step runner (protocol, process group) | {runner_rate:.0} | **{ratio:.2}** |");
    if ratio < 0.5 {
        bail!("target missed: the step runner ran {ratio:.2}× the baseline (target ≥ 0.5)");
    }
    Ok(())
}
