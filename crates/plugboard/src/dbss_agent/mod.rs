//! `plugboard dbss-agent --config FILE` (docs/dbss-audit.md → The agent): runs on the database
//! host, tails the database's own audit log ([`pgaudit`] jsonlog, MariaDB [`mariadb`]
//! server_audit) with [`tail`], and ships the statements to plugboard in signed, gzip-compressed
//! batches ([`ship`]). A checkpoint is written only after plugboard acknowledged a batch, and
//! every event carries a sequence number derived from where it lies in the log, so a batch
//! sent again after a crash stores nothing twice. While plugboard is away it backs off
//! (1 s → 60 s) and reads nothing more; a heartbeat says whether the agent is switched on.
//! Foreground, logs on stderr; SIGTERM / Ctrl-C stop it cleanly (exit 0).

pub mod config;
pub mod mariadb;
pub mod parser;
pub mod pgaudit;
pub mod ship;
pub mod tail;

use config::{AgentConfig, Source};
use parser::{Captured, Parser};
use plugboard_api::dbss::dto_audit::{HeartbeatRequest, IngestEvent, IngestRequest};
use ship::{ShipError, Shipper};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tail::{Checkpoint, Follower};
use tokio_util::sync::CancellationToken;

/// Events per batch.
const BATCH_EVENTS: usize = 1000;
/// Raw JSON bytes per batch (compressed or not, it stays under the server's body limit).
const BATCH_BYTES: usize = 900 * 1024;
/// How long a completed event may wait for company before it is shipped.
const BATCH_WAIT: Duration = Duration::from_millis(300);
/// How often an idle source looks at its log again.
const POLL: Duration = Duration::from_millis(200);
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);

/// `plugboard dbss-agent`.
#[derive(clap::Args, Debug)]
pub struct AgentArgs {
    /// The agent's TOML config (docs/dbss-audit.md)
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
}

/// Run the agent until SIGTERM / Ctrl-C; a config it cannot use exits 2 with a sentence.
pub fn run(args: AgentArgs) -> ExitCode {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
    let cfg = match config::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("plugboard dbss-agent: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = std::fs::create_dir_all(&cfg.state_dir) {
        eprintln!(
            "plugboard dbss-agent: cannot create state_dir {}: {e}",
            cfg.state_dir.display()
        );
        return ExitCode::from(2);
    }
    let shipper = match Shipper::new(&cfg) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("plugboard dbss-agent: {e}");
            return ExitCode::from(2);
        }
    };
    let mut checkpoints = Vec::new();
    for s in &cfg.sources {
        match Checkpoint::load(&Checkpoint::path(&cfg.state_dir, &s.db_id)) {
            Ok(c) => checkpoints.push(c),
            Err(e) => {
                eprintln!("plugboard dbss-agent: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("plugboard dbss-agent: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(agent(cfg, shipper, checkpoints))
}

async fn agent(
    cfg: AgentConfig,
    shipper: Arc<Shipper>,
    checkpoints: Vec<Option<Checkpoint>>,
) -> ExitCode {
    // installed before anything starts, so a SIGTERM never meets the default action
    let signalled = wait_for_signal();
    let stop = CancellationToken::new();
    let enabled = Arc::new(AtomicBool::new(true));
    tracing::info!(
        endpoint = %cfg.endpoint,
        agent_id = %cfg.agent_id,
        sources = cfg.sources.len(),
        "dbss-agent started"
    );
    let mut tasks = Vec::new();
    tasks.push(tokio::spawn(heartbeat(
        cfg.clone(),
        shipper.clone(),
        enabled.clone(),
        stop.clone(),
    )));
    for (s, ckpt) in cfg.sources.iter().zip(checkpoints) {
        tasks.push(tokio::spawn(source_task(
            cfg.clone(),
            s.clone(),
            ckpt,
            shipper.clone(),
            enabled.clone(),
            stop.clone(),
        )));
    }
    signalled.await;
    tracing::info!("dbss-agent stopping");
    stop.cancel();
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
    }
    tracing::info!("dbss-agent stopped");
    ExitCode::SUCCESS
}

/// SIGTERM or SIGINT; the handlers are installed by the call, not by the first poll.
fn wait_for_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate()).ok();
    let int = signal(SignalKind::interrupt()).ok();
    async move {
        tokio::select! {
            _ = crate::serve::received(term) => {}
            _ = crate::serve::received(int) => {}
        }
    }
}

/// Sleep unless stopped; false when stopped.
async fn pause(stop: &CancellationToken, d: Duration) -> bool {
    tokio::select! {
        _ = stop.cancelled() => false,
        _ = tokio::time::sleep(d) => true,
    }
}

async fn heartbeat(
    cfg: AgentConfig,
    shipper: Arc<Shipper>,
    enabled: Arc<AtomicBool>,
    stop: CancellationToken,
) {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let source = cfg
        .sources
        .iter()
        .map(|s| s.kind.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let mut interval = Duration::from_secs(5);
    loop {
        let hb = HeartbeatRequest {
            version: env!("CARGO_PKG_VERSION").into(),
            host: host.clone(),
            source: source.clone(),
            idle_ms: Some(shipper.idle_ms()),
            ..Default::default()
        };
        match shipper.heartbeat(&hb).await {
            Ok(answer) => {
                let on = answer.status == 1;
                if enabled.swap(on, Ordering::SeqCst) != on {
                    tracing::info!(
                        "plugboard switched this agent {}",
                        if on { "on" } else { "off" }
                    );
                }
                interval = Duration::from_secs(answer.interval_s.clamp(1, 300) as u64);
            }
            Err(ShipError::Refused(m)) => {
                if enabled.swap(false, Ordering::SeqCst) {
                    tracing::warn!("plugboard refuses this agent ({m}); waiting");
                }
            }
            Err(e) => tracing::warn!("heartbeat: {e}"),
        }
        if !pause(&stop, interval).await {
            return;
        }
    }
}

fn parser_for(kind: &str) -> Box<dyn Parser> {
    match kind {
        "mariadb-server-audit" => Box::<mariadb::ServerAudit>::default(),
        _ => Box::<pgaudit::PgAudit>::default(),
    }
}

struct SourceRun {
    cfg: AgentConfig,
    source: Source,
    follower: Follower,
    parser: Box<dyn Parser>,
    ready: Vec<Captured>,
    ready_since: Option<Instant>,
    shipper: Arc<Shipper>,
    ckpt_path: PathBuf,
    stop: CancellationToken,
}

impl SourceRun {
    /// The offset a restart must read from: the first line of the oldest event not yet
    /// acknowledged, else the next unread line.
    fn resume_offset(&self) -> u64 {
        let mut at = self.follower.pos;
        if let Some(p) = self.parser.oldest_pending() {
            at = at.min(p);
        }
        for c in &self.ready {
            at = at.min(c.offset);
        }
        at
    }

    fn save(&mut self) {
        let offset = self.resume_offset();
        let marks = self.parser.marks().clone();
        let ckpt = self.follower.checkpoint(offset, &marks);
        if let Err(e) = ckpt.save(&self.ckpt_path) {
            tracing::error!(path = %self.ckpt_path.display(), "cannot write the checkpoint: {e}");
        }
    }

    /// Ship every ready event; false when stopped first.
    async fn ship_ready(&mut self) -> bool {
        while !self.ready.is_empty() {
            let mut take = 0;
            let mut bytes = 0;
            for c in &self.ready {
                let n = serde_json::to_vec(&c.ev).map(|v| v.len()).unwrap_or(0) + 1;
                if take > 0 && (take >= BATCH_EVENTS || bytes + n > BATCH_BYTES) {
                    break;
                }
                take += 1;
                bytes += n;
            }
            let events: Vec<IngestEvent> =
                self.ready[..take].iter().map(|c| c.ev.clone()).collect();
            let batch = IngestRequest {
                batch_id: format!("{}-{}-{}", self.source.db_id, events[0].seq, events.len()),
                db_id: self.source.db_id.clone(),
                events,
            };
            let mut backoff = BACKOFF_MIN;
            loop {
                if self.stop.is_cancelled() {
                    return false;
                }
                match self.shipper.ship(&batch).await {
                    Ok(r) => {
                        if r.throttled {
                            // Over the instance's QPS budget: the batch is stored; wait as
                            // told (at least a little, at most a minute) before the next.
                            let wait =
                                Duration::from_millis(r.retry_after_ms.clamp(100, 60_000) as u64);
                            tracing::info!(
                                wait_ms = wait.as_millis() as u64,
                                "plugboard is throttling this instance; slowing down"
                            );
                            if !pause(&self.stop, wait).await {
                                return false;
                            }
                        }
                        tracing::debug!(
                            accepted = r.accepted,
                            duplicates = r.duplicates,
                            "batch acknowledged"
                        );
                        break;
                    }
                    Err(ShipError::Rejected(m)) => {
                        tracing::error!(batch = %batch.batch_id, "plugboard rejected a batch; skipping it: {m}");
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(batch = %batch.batch_id, "shipping failed, again in {}s: {e}", backoff.as_secs());
                        if !pause(&self.stop, backoff).await {
                            return false;
                        }
                        backoff = (backoff * 2).min(BACKOFF_MAX);
                    }
                }
            }
            self.shipper.note_shipped();
            let shipped: Vec<Captured> = self.ready.drain(..take).collect();
            for c in &shipped {
                self.parser.marks().ack(c);
            }
            self.save();
        }
        self.ready_since = None;
        true
    }

    async fn run(mut self, enabled: Arc<AtomicBool>) {
        let cfg_dir = self.cfg.state_dir.display().to_string();
        tracing::info!(db_id = %self.source.db_id, kind = %self.source.kind, path = %self.source.path.display(), state_dir = %cfg_dir, "following");
        loop {
            if self.stop.is_cancelled() {
                return;
            }
            if !enabled.load(Ordering::SeqCst) {
                if !pause(&self.stop, Duration::from_secs(1)).await {
                    return;
                }
                continue;
            }
            let lines = self.follower.read_lines(4 << 20);
            let now = Instant::now();
            let caught_up = lines.is_empty();
            for (off, text) in lines {
                let seq = self.follower.base.saturating_add(off as i64);
                self.parser.feed(&text, off, seq, now, &mut self.ready);
            }
            self.parser.tick(now, false, &mut self.ready);
            if !self.ready.is_empty() && self.ready_since.is_none() {
                self.ready_since = Some(now);
            }
            let due = self.ready.len() >= BATCH_EVENTS
                || self
                    .ready_since
                    .is_some_and(|t| now.duration_since(t) >= BATCH_WAIT)
                || (caught_up && !self.ready.is_empty());
            if due && !self.ship_ready().await {
                return;
            }
            if caught_up {
                if self.follower.moved_on() {
                    if let Some((off, text)) = self.follower.take_partial() {
                        let seq = self.follower.base.saturating_add(off as i64);
                        self.parser.feed(&text, off, seq, now, &mut self.ready);
                    }
                    self.parser.tick(now, true, &mut self.ready);
                    if !self.ship_ready().await {
                        return;
                    }
                    self.follower.switch();
                    self.save();
                    tracing::info!(db_id = %self.source.db_id, "the log rotated; following the new file");
                    continue;
                }
                if !pause(&self.stop, POLL).await {
                    return;
                }
            }
        }
    }
}

async fn source_task(
    cfg: AgentConfig,
    source: Source,
    ckpt: Option<Checkpoint>,
    shipper: Arc<Shipper>,
    enabled: Arc<AtomicBool>,
    stop: CancellationToken,
) {
    let mut parser = parser_for(&source.kind);
    if let Some(c) = &ckpt {
        *parser.marks() = c.marks.clone();
    }
    let run = SourceRun {
        ckpt_path: Checkpoint::path(&cfg.state_dir, &source.db_id),
        follower: Follower::new(&source.path, ckpt.as_ref()),
        parser,
        ready: Vec::new(),
        ready_since: None,
        shipper,
        stop,
        source,
        cfg,
    };
    run.run(enabled).await;
}
