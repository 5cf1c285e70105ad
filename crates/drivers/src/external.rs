//! External drivers: one process per job step, speaking the step protocol. plugboard starts
//! the driver's executable in its own process group with a scrubbed environment (no plugboard
//! secret, no master key, no database URL), writes the [`StepRequest`] as JSON on its stdin and
//! reads JSON lines on its stdout — `{"progress": n}`, `{"log": "text"}`, a last
//! `{"result": {...}}` or `{"error": "reason", "retry": bool}`. Exit 0 without an error line is
//! success; any other exit, an error line, a line that is not a protocol message, more output
//! than the limits allow, or the step's timeout fails the step. stderr is kept (bounded) for the
//! failure. Whatever ends the step — its exit, a failure, the timeout, or the caller dropping
//! the future (cancellation, a lost lease) — the whole process group is killed, so nothing the
//! step started outlives it unless it left the group on purpose (as `local-process` does for
//! the add-on it supervises).

use crate::step::{AddonDriver, EventSink, StepEvent, StepFailure, StepRequest, StepSuccess};
use futures_util::StreamExt;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;
use tokio_util::codec::{FramedRead, LinesCodec, LinesCodecError};

/// The `PATH` a driver runs with.
pub const DRIVER_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Bounds on what a driver may print.
#[derive(Debug, Clone)]
pub struct OutputLimits {
    /// The longest stdout line.
    pub max_line_bytes: usize,
    /// Protocol messages per step.
    pub max_messages: usize,
    /// stderr kept for the failure (the rest is read and dropped).
    pub max_stderr_bytes: usize,
    /// The longest log message passed on (longer ones are cut).
    pub max_log_bytes: usize,
}

impl Default for OutputLimits {
    fn default() -> Self {
        Self {
            max_line_bytes: 64 * 1024,
            max_messages: 10_000,
            max_stderr_bytes: 16 * 1024,
            max_log_bytes: 4 * 1024,
        }
    }
}

/// How to run an external driver's steps.
#[derive(Debug, Clone)]
pub struct ExternalDriver {
    /// The executable (absolute, or relative to `folder`).
    pub program: PathBuf,
    /// Arguments before anything else.
    pub args: Vec<String>,
    /// The driver's folder: the step's working directory.
    pub folder: PathBuf,
    /// Per step.
    pub timeout: Duration,
    pub limits: OutputLimits,
    /// Extra environment variables (never secrets: the step request carries what it needs).
    pub env: Vec<(String, String)>,
}

/// A process group killed when dropped: whatever ends a step ends its processes.
struct GroupGuard(Option<Pid>);

impl GroupGuard {
    fn kill(&mut self) {
        if let Some(pgid) = self.0.take() {
            // ESRCH: the group is already gone.
            killpg(pgid, Signal::SIGKILL).ok();
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Cut `text` to at most `max` bytes on a character boundary.
fn cut(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// Read all of `reader`, keeping the first `max` bytes.
async fn read_bounded(mut reader: impl AsyncRead + Unpin, max: usize) -> String {
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    let mut dropped = false;
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = max.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
                dropped |= n > room;
            }
        }
    }
    let mut text = String::from_utf8_lossy(&kept).into_owned();
    if dropped {
        text.push_str("\n[stderr cut]");
    }
    text
}

/// One stdout line, understood.
enum Message {
    Progress(u8),
    Log(String),
    Result(serde_json::Map<String, serde_json::Value>),
    Error { reason: String, retry: bool },
}

fn parse_message(line: &str) -> Result<Message, String> {
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("not JSON ({e})"))?;
    let serde_json::Value::Object(map) = value else {
        return Err("not a JSON object".into());
    };
    let known = |k: &str| matches!(k, "progress" | "log" | "result" | "error" | "retry");
    if let Some(k) = map.keys().find(|k| !known(k)) {
        return Err(format!("unknown key `{k}`"));
    }
    if let Some(e) = map.get("error") {
        let reason = e.as_str().ok_or("`error` must be a string")?.to_string();
        let retry = match map.get("retry") {
            None | Some(serde_json::Value::Null) => false,
            Some(serde_json::Value::Bool(b)) => *b,
            Some(_) => return Err("`retry` must be true or false".into()),
        };
        return Ok(Message::Error { reason, retry });
    }
    if map.len() != 1 {
        return Err("expected exactly one of progress, log, result, error".into());
    }
    if let Some(p) = map.get("progress") {
        let p = p
            .as_f64()
            .filter(|p| (0.0..=100.0).contains(p))
            .ok_or("`progress` must be a number from 0 to 100")?;
        return Ok(Message::Progress(p.round() as u8));
    }
    if let Some(l) = map.get("log") {
        return Ok(Message::Log(
            l.as_str().ok_or("`log` must be a string")?.to_string(),
        ));
    }
    match map.get("result") {
        Some(serde_json::Value::Object(r)) => Ok(Message::Result(r.clone())),
        Some(_) => Err("`result` must be a JSON object".into()),
        None => Err("expected exactly one of progress, log, result, error".into()),
    }
}

impl ExternalDriver {
    fn program(&self) -> PathBuf {
        if self.program.is_absolute() {
            self.program.clone()
        } else {
            self.folder.join(&self.program)
        }
    }

    /// Run one step and kill its process group when it ends.
    pub async fn run(
        &self,
        request: &StepRequest,
        events: EventSink<'_>,
    ) -> Result<StepSuccess, StepFailure> {
        let program = self.program();
        let mut command = Command::new(&program);
        command
            .args(&self.args)
            .current_dir(&self.folder)
            .env_clear()
            .env("PATH", DRIVER_PATH)
            .env("LANG", "C.UTF-8")
            .env("HOME", &request.workdir)
            .env(
                "PLUGBOARD_DRIVER_PROTOCOL",
                crate::step::PROTOCOL_VERSION.to_string(),
            )
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|e| {
            StepFailure::new(format!(
                "the driver's executable {} cannot be started: {e}",
                program.display()
            ))
        })?;
        let mut group = GroupGuard(
            child
                .id()
                .and_then(|id| i32::try_from(id).ok())
                .map(Pid::from_raw),
        );
        let input = serde_json::to_vec(request)
            .map_err(|e| StepFailure::new(format!("the step request cannot be encoded: {e}")))?;
        let stdin = child.stdin.take();
        let writer = tokio::spawn(async move {
            if let Some(mut stdin) = stdin {
                // A driver that does not read its request gets a broken pipe here: harmless.
                stdin.write_all(&input).await.ok();
                stdin.write_all(b"\n").await.ok();
                stdin.shutdown().await.ok();
            }
        });
        let stderr = child.stderr.take();
        let max_stderr = self.limits.max_stderr_bytes;
        let stderr = tokio::spawn(async move {
            match stderr {
                Some(s) => read_bounded(s, max_stderr).await,
                None => String::new(),
            }
        });
        let stdout = child.stdout.take();
        let limits = self.limits.clone();
        let run = async {
            let mut outcome: Option<Result<StepSuccess, StepFailure>> = None;
            if let Some(stdout) = stdout {
                let mut lines = FramedRead::new(
                    stdout,
                    LinesCodec::new_with_max_length(limits.max_line_bytes),
                );
                let mut count = 0usize;
                while let Some(line) = lines.next().await {
                    let line = match line {
                        Ok(l) => l,
                        Err(LinesCodecError::MaxLineLengthExceeded) => {
                            return Err(StepFailure::new(format!(
                                "the driver printed a line longer than {} bytes on stdout",
                                limits.max_line_bytes
                            )))
                        }
                        Err(LinesCodecError::Io(e)) => {
                            return Err(StepFailure::new(format!(
                                "the driver's stdout cannot be read: {e}"
                            )))
                        }
                    };
                    let trimmed = line.trim();
                    if trimmed.is_empty() {
                        continue;
                    }
                    count += 1;
                    if count > limits.max_messages {
                        return Err(StepFailure::new(format!(
                            "the driver printed more than {} messages in one step",
                            limits.max_messages
                        )));
                    }
                    let message = parse_message(trimmed).map_err(|why| {
                        StepFailure::new(format!(
                            "the driver broke the step protocol: stdout line {count} is not a protocol message ({why}): {}",
                            cut(trimmed.to_string(), 200)
                        ))
                    })?;
                    if outcome.is_some()
                        && matches!(message, Message::Result(_) | Message::Error { .. })
                    {
                        return Err(StepFailure::new(
                            "the driver broke the step protocol: more than one result or error line",
                        ));
                    }
                    match message {
                        Message::Progress(p) => events(StepEvent::Progress(p)),
                        Message::Log(text) => {
                            events(StepEvent::Log(cut(text, limits.max_log_bytes)))
                        }
                        Message::Result(result) => outcome = Some(Ok(StepSuccess { result })),
                        Message::Error { reason, retry } => {
                            outcome = Some(Err(StepFailure {
                                reason: cut(reason, limits.max_log_bytes),
                                retry,
                                stderr: String::new(),
                            }))
                        }
                    }
                }
            }
            let status = child
                .wait()
                .await
                .map_err(|e| StepFailure::new(format!("waiting for the driver failed: {e}")))?;
            match (status.success(), outcome) {
                (_, Some(Err(failure))) => Err(failure),
                (true, Some(Ok(success))) => Ok(success),
                (true, None) => Ok(StepSuccess::default()),
                (false, _) => Err(StepFailure::new(match status.code() {
                    Some(code) => format!("the driver exited with status {code}"),
                    None => {
                        use std::os::unix::process::ExitStatusExt;
                        format!(
                            "the driver was killed by signal {}",
                            status.signal().unwrap_or_default()
                        )
                    }
                })),
            }
        };
        let result = match tokio::time::timeout(self.timeout, run).await {
            Ok(r) => r,
            Err(_) => Err(StepFailure::new(format!(
                "the step did not finish within its timeout of {} s; its processes were killed",
                self.timeout.as_secs()
            ))),
        };
        group.kill();
        writer.abort();
        let stderr = tokio::time::timeout(Duration::from_secs(2), stderr)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        result.map_err(|mut failure| {
            failure.stderr = stderr;
            failure
        })
    }
}

#[async_trait::async_trait]
impl AddonDriver for ExternalDriver {
    async fn run_step(
        &self,
        request: &StepRequest,
        events: EventSink<'_>,
    ) -> Result<StepSuccess, StepFailure> {
        self.run(request, events).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_messages() {
        assert!(matches!(
            parse_message(r#"{"progress": 50}"#),
            Ok(Message::Progress(50))
        ));
        assert!(matches!(parse_message(r#"{"log": "x"}"#), Ok(Message::Log(l)) if l == "x"));
        assert!(matches!(
            parse_message(r#"{"error": "no", "retry": true}"#),
            Ok(Message::Error { retry: true, .. })
        ));
        assert!(matches!(
            parse_message(r#"{"result": {"a": 1}}"#),
            Ok(Message::Result(_))
        ));
        for bad in [
            "hello",
            "[1]",
            r#"{"progress": 101}"#,
            r#"{"progress": "5"}"#,
            r#"{"log": 5}"#,
            r#"{"result": []}"#,
            r#"{"error": 1}"#,
            r#"{"error": "x", "retry": "yes"}"#,
            r#"{"log": "a", "progress": 1}"#,
            r#"{"what": 1}"#,
            r#"{}"#,
        ] {
            assert!(parse_message(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cut_keeps_characters_whole() {
        assert_eq!(cut("ééé".into(), 3), "é…");
        assert_eq!(cut("abc".into(), 3), "abc");
    }
}
