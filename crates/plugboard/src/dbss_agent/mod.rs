//! `plugboard dbss-agent --config FILE` (docs/dbss-audit.md → The agent): runs on the database
//! host, tails the database's own audit log (pgaudit jsonlog, MariaDB server_audit) with
//! [`tail`], and ships the statements to plugboard in signed, LZ4-compressed batches ([`ship`]):
//! a pgaudit source as each statement's own lines, which plugboard parses (`plugboard_api::dbss::capture`), a
//! MariaDB source as events. A checkpoint is written only after plugboard acknowledged a batch, and
//! every event carries a sequence number derived from where it lies in the log, so a batch
//! sent again after a crash stores nothing twice. While plugboard is away it backs off
//! (1 s → 60 s) and reads nothing more; a heartbeat says whether the agent is switched on and
//! its thresholds, over which it pauses reading ([`host_load`]).
//! Foreground, logs on stderr; SIGTERM / Ctrl-C stop it cleanly (exit 0).

pub mod config;
mod event_json;
pub mod host_load;
pub mod pipeline;
pub mod ship;
pub mod tail;

use config::{AgentConfig, Source};
use pipeline::{Outcome, Pipeline};
use plugboard_api::dbss::capture::{lines::PgAuditLines, mariadb, Captured, Parser};
use plugboard_api::dbss::dto_audit::HeartbeatRequest;
use ship::{ShipError, Shipper};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tail::{Checkpoint, Follower};
use tokio_util::sync::CancellationToken;

/// Raw JSON bytes per batch (compressed or not, it stays under the server's body limit).
const BATCH_BYTES: usize = 900 * 1024;
/// How long a completed event may wait for company before it is shipped.
const BATCH_WAIT: Duration = Duration::from_millis(300);
/// Log bytes read at a time (small: the agent shares the database's CPU caches).
const READ_BYTES: usize = 64 << 10;
/// How often the checkpoint is written at most while batches keep being acknowledged (a
/// checkpoint behind the acknowledged batches only makes a restart re-send what plugboard
/// already holds, which it stores once).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);
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
    // The server's `PLUGBOARD_LOG` filter (docs/configuration.md), default `info`.
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = crate::serve::log_filter(std::env::var("PLUGBOARD_LOG").ok().as_deref());
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .with_writer(std::io::stderr)
                .with_target(false),
        )
        .try_init();
    // One worker (compression runs on the blocking pool beside it): a second one only handed the
    // tasks to and fro, 15 % more agent CPU for the same statements (docs/benchmarks.md).
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("plugboard dbss-agent: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    // The stop signals' handlers first, before the config, the system's CA roots and the
    // checkpoints are read: the agent says nowhere that it is up, so a SIGTERM may come at once
    // and must never meet the default action (which would end it with no clean stop).
    let signalled = {
        let _context = runtime.enter();
        crate::signals::stop_requested()
    };
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
    runtime.block_on(agent(cfg, shipper, checkpoints, signalled))
}

async fn agent(
    cfg: AgentConfig,
    shipper: Arc<Shipper>,
    checkpoints: Vec<Option<Checkpoint>>,
    signalled: impl std::future::Future<Output = ()>,
) -> ExitCode {
    let stop = CancellationToken::new();
    let enabled = Arc::new(AtomicBool::new(true));
    let limits = Arc::new(host_load::Limits::default());
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
        limits.clone(),
        stop.clone(),
    )));
    for (s, ckpt) in cfg.sources.iter().zip(checkpoints) {
        tasks.push(tokio::spawn(source_task(
            cfg.clone(),
            s.clone(),
            ckpt,
            shipper.clone(),
            enabled.clone(),
            limits.clone(),
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
    limits: Arc<host_load::Limits>,
    stop: CancellationToken,
) {
    let mut meter = host_load::LoadMeter::default();
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
        let load = meter.load();
        let hb = HeartbeatRequest {
            version: env!("CARGO_PKG_VERSION").into(),
            host: host.clone(),
            source: source.clone(),
            idle_ms: Some(shipper.idle_ms()),
            cpu: load.map_or(0.0, |l| (l.cpu * 10.0).round() / 10.0),
            mem: load.map_or(0.0, |l| (l.mem * 10.0).round() / 10.0),
            ..Default::default()
        };
        let answer = shipper.heartbeat(&hb).await;
        limits.heard(
            answer
                .as_ref()
                .ok()
                .map(|a| (a.cpu_threshold, a.mem_threshold)),
        );
        match answer {
            Ok(answer) => {
                let on = answer.status == 1;
                if enabled.swap(on, Ordering::SeqCst) != on {
                    tracing::info!(
                        "plugboard switched this agent {}",
                        if on { "on" } else { "off" }
                    );
                }
                interval = Duration::from_secs(answer.interval_s.clamp(1, 300) as u64);
                shipper.set_batch_max(answer.batch_max);
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
        _ => Box::<PgAuditLines>::default(),
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
    pipeline: Pipeline,
    /// plugboard asked to slow down: no new batch before this.
    not_before: Option<Instant>,
    /// Acknowledgements taken since the checkpoint was last written.
    unsaved: bool,
    /// The first offset of a batch whose journey was cut short by the stop.
    stopped_at: Option<u64>,
    saved_at: Instant,
    /// Whether a checkpoint has been written (or was there at the start): the first batch is
    /// sent only after one is, so that a stop before its answer still leaves the file's `base`
    /// behind — a restart must give every line the sequence number it was sent with.
    checkpointed: bool,
    /// Whether to read now or wait (the host over the agent's thresholds).
    yielding: host_load::Yield,
}

impl SourceRun {
    /// The offset a restart must read from: the first line of the oldest event not yet
    /// acknowledged (pending, ready, or in a batch on its way), else the next unread line.
    fn resume_offset(&self) -> u64 {
        let mut at = self.follower.pos;
        if let Some(p) = self.parser.oldest_pending() {
            at = at.min(p);
        }
        for c in &self.ready {
            at = at.min(c.offset);
        }
        if let Some(p) = self.pipeline.oldest_offset() {
            at = at.min(p);
        }
        if let Some(p) = self.stopped_at {
            at = at.min(p);
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
        self.unsaved = false;
        self.checkpointed = true;
        self.saved_at = Instant::now();
    }

    /// Events per batch: the config's, at most what plugboard takes.
    fn batch_events(&self) -> usize {
        self.cfg.batch_events.min(self.shipper.batch_max()).max(1)
    }

    /// Cut a batch from the ready events and send it on its way.
    fn send_one(&mut self) {
        if !self.checkpointed {
            self.save();
        }
        let max = self.batch_events();
        let c = pipeline::cut(&self.source.db_id, &mut self.ready, max, BATCH_BYTES);
        let journey = journey(
            self.shipper.clone(),
            self.stop.clone(),
            c.batch_id,
            c.content_type,
            c.body,
        );
        self.pipeline.send(c.origins, journey);
    }

    /// Take the answers of the oldest batches (waiting for the oldest one when `wait`), mark
    /// their statements acknowledged, and write the checkpoint now and then (at most every
    /// [`CHECKPOINT_EVERY`], and whenever nothing is left in flight). False when stopped.
    async fn take_answers(&mut self, wait: bool) -> bool {
        let mut wait = wait;
        while wait || self.pipeline.head_done() {
            wait = false;
            let Some((outcome, origins)) = self.pipeline.next().await else {
                break;
            };
            match outcome {
                Outcome::Stopped => {
                    // Stopping: this batch may not be stored, so a restart reads it again.
                    self.stopped_at = origins.iter().map(|o| o.offset).min();
                    return false;
                }
                Outcome::Acknowledged(throttled) => {
                    self.shipper.note_shipped();
                    if let Some(w) = throttled {
                        self.not_before = Some(Instant::now() + w);
                    }
                }
                Outcome::Skipped => {}
            }
            for o in &origins {
                self.parser.marks().ack_stmt(&o.session, o.stmt);
            }
            self.unsaved = true;
        }
        if self.unsaved && (self.pipeline.is_empty() || self.saved_at.elapsed() >= CHECKPOINT_EVERY)
        {
            self.save();
        }
        true
    }

    /// Send the ready events in batches, up to `in_flight` at once: full batches only unless
    /// `flush`; with `settle`, also wait until every batch is acknowledged. False when stopped.
    async fn ship_ready(&mut self, flush: bool, settle: bool) -> bool {
        loop {
            if !self.take_answers(false).await {
                return false;
            }
            let full = self.ready.len() >= self.batch_events();
            if self.ready.is_empty() || !(full || flush) {
                break;
            }
            if let Some(t) = self.not_before.take() {
                let now = Instant::now();
                if t > now && !pause(&self.stop, t - now).await {
                    return false;
                }
            }
            if self.pipeline.has_room() {
                self.send_one();
            } else if !self.take_answers(true).await {
                return false;
            }
        }
        if self.ready.is_empty() {
            self.ready_since = None;
        }
        while settle && !self.pipeline.is_empty() {
            if !self.take_answers(true).await {
                return false;
            }
        }
        true
    }

    async fn run(mut self, enabled: Arc<AtomicBool>, limits: Arc<host_load::Limits>) {
        self.follow(enabled, &limits).await;
        if self.unsaved {
            // What was acknowledged so far; the batches still on their way count as not
            // acknowledged (a restart reads them again), so this comes before they are dropped.
            self.save();
        }
        self.pipeline.abort();
    }

    async fn follow(&mut self, enabled: Arc<AtomicBool>, limits: &host_load::Limits) {
        let cfg_dir = self.cfg.state_dir.display().to_string();
        tracing::info!(db_id = %self.source.db_id, kind = %self.source.kind, path = %self.source.path.display(), state_dir = %cfg_dir, in_flight = self.cfg.in_flight, "following");
        loop {
            if self.stop.is_cancelled() {
                return;
            }
            if !enabled.load(Ordering::SeqCst) {
                if !self.take_answers(false).await
                    || !pause(&self.stop, Duration::from_secs(1)).await
                {
                    return;
                }
                continue;
            }
            if self.yielding.wait(limits) {
                // The database first: what was read is still shipped, nothing more is read.
                if !self.ship_ready(true, false).await || !pause(&self.stop, POLL).await {
                    return;
                }
                continue;
            }
            let now = Instant::now();
            let parser = &mut self.parser;
            let ready = &mut self.ready;
            let caught_up = self.follower.read_lines(READ_BYTES, |off, seq, text| {
                parser.feed(text, off, seq, now, ready);
            }) == 0;
            self.yielding.read(self.follower.reached_end);
            self.parser.tick(now, false, &mut self.ready);
            if !self.ready.is_empty() && self.ready_since.is_none() {
                self.ready_since = Some(now);
            }
            let flush = caught_up
                || self
                    .ready_since
                    .is_some_and(|t| now.duration_since(t) >= BATCH_WAIT);
            if !self.ship_ready(flush, false).await {
                return;
            }
            if caught_up {
                if self.follower.moved_on() {
                    if let Some((off, text)) = self.follower.take_partial() {
                        let seq = self.follower.base.saturating_add(off as i64);
                        self.parser.feed(&text, off, seq, now, &mut self.ready);
                    }
                    self.parser.tick(now, true, &mut self.ready);
                    // Offsets are the file's: every batch of it acknowledged before the next.
                    if !self.ship_ready(true, true).await {
                        return;
                    }
                    self.follower.switch();
                    self.save();
                    tracing::info!(db_id = %self.source.db_id, "the log rotated; following the new file");
                    continue;
                }
                let answered = if self.pipeline.is_empty() {
                    pause(&self.stop, POLL).await
                } else {
                    // Nothing to read: wait for an answer instead (the checkpoint moves on).
                    tokio::select! {
                        ok = self.take_answers(true) => ok,
                        _ = tokio::time::sleep(POLL) => true,
                    }
                };
                if !answered {
                    return;
                }
            }
        }
    }
}

/// One batch's way to plugboard: compressed (LZ4), then sent until plugboard answers it (5xx,
/// timeouts and refusals are tried again with back-off; a rejected batch is skipped).
async fn journey(
    shipper: Arc<Shipper>,
    stop: CancellationToken,
    batch_id: String,
    content_type: &'static str,
    raw: Vec<u8>,
) -> Outcome {
    let body = match tokio::task::spawn_blocking(move || ship::compress(&raw)).await {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            tracing::error!(batch = %batch_id, "cannot compress a batch; skipping it: {e}");
            return Outcome::Skipped;
        }
        Err(_) => return Outcome::Stopped,
    };
    let mut backoff = BACKOFF_MIN;
    loop {
        let answer = tokio::select! {
            _ = stop.cancelled() => return Outcome::Stopped,
            a = shipper.ship_compressed(content_type, body.clone()) => a,
        };
        match answer {
            Ok(r) => {
                tracing::debug!(
                    accepted = r.accepted,
                    duplicates = r.duplicates,
                    "batch acknowledged"
                );
                if r.throttled {
                    // Over the instance's QPS budget: the batch is stored; the next waits as
                    // told (at least a little, at most a minute).
                    let wait = Duration::from_millis(r.retry_after_ms.clamp(100, 60_000) as u64);
                    tracing::info!(
                        wait_ms = wait.as_millis() as u64,
                        "plugboard is throttling this instance; slowing down"
                    );
                    return Outcome::Acknowledged(Some(wait));
                }
                return Outcome::Acknowledged(None);
            }
            Err(ShipError::Rejected(m)) => {
                tracing::error!(batch = %batch_id, "plugboard rejected a batch; skipping it: {m}");
                return Outcome::Skipped;
            }
            Err(e) => {
                tracing::warn!(batch = %batch_id, "shipping failed, again in {}s: {e}", backoff.as_secs());
                if !pause(&stop, backoff).await {
                    return Outcome::Stopped;
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
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
    limits: Arc<host_load::Limits>,
    stop: CancellationToken,
) {
    let mut parser = parser_for(&source.kind);
    if let Some(c) = &ckpt {
        *parser.marks() = c.marks.clone();
    }
    let run = SourceRun {
        pipeline: Pipeline::new(cfg.in_flight),
        not_before: None,
        unsaved: false,
        stopped_at: None,
        saved_at: Instant::now(),
        checkpointed: ckpt.is_some(),
        ckpt_path: Checkpoint::path(&cfg.state_dir, &source.db_id),
        follower: Follower::new(&source.path, ckpt.as_ref()),
        parser,
        ready: Vec::new(),
        ready_since: None,
        yielding: host_load::Yield::new(cfg.max_pause),
        shipper,
        stop,
        source,
        cfg,
    };
    run.run(enabled, limits).await;
}
