//! The agent's thresholds (AddAuditAgent's `cpu_threshold` and `mem_threshold`, told by the
//! heartbeat): while the CPUs the agent may run on are busy with other work at or above
//! `cpu_threshold` %, or the host's memory is in use at or above `mem_threshold` %, the agent
//! reads nothing more — the database comes first and its log is the spool, so nothing is lost
//! (docs/dbss-audit.md → The agent). A pause lasts at most `max_pause_seconds`; then the agent
//! reads until it has caught up before it may pause again, so it is never further behind than
//! that and the time to catch up. The agent's own CPU time is not counted as busy (it would
//! otherwise pause itself while catching up).

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

/// How often the host's load is looked at, at most.
const SAMPLE_EVERY: Duration = Duration::from_millis(200);

/// The thresholds the heartbeat last heard (100: never pause).
#[derive(Debug)]
pub struct Limits {
    cpu: AtomicI64,
    mem: AtomicI64,
    /// Whether the first heartbeat has answered (or failed): sources wait for it, so an agent
    /// with thresholds does not read at full speed before it has heard them.
    heard: AtomicBool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            cpu: AtomicI64::new(100),
            mem: AtomicI64::new(100),
            heard: AtomicBool::new(false),
        }
    }
}

impl Limits {
    /// What plugboard said (`None`: it could not be asked; the thresholds stay as they were).
    pub fn heard(&self, thresholds: Option<(i64, i64)>) {
        if let Some((cpu, mem)) = thresholds {
            self.cpu.store(cpu.clamp(0, 100), Ordering::Relaxed);
            self.mem.store(mem.clamp(0, 100), Ordering::Relaxed);
        }
        self.heard.store(true, Ordering::Release);
    }

    pub fn known(&self) -> bool {
        self.heard.load(Ordering::Acquire)
    }

    fn get(&self) -> (i64, i64) {
        (
            self.cpu.load(Ordering::Relaxed),
            self.mem.load(Ordering::Relaxed),
        )
    }
}

/// CPU and memory use of the host as the agent sees them, in %.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load {
    /// The share of the agent's CPUs busy with anything but the agent.
    pub cpu: f64,
    pub mem: f64,
}

impl Load {
    /// Whether a source must pause at `limits` (a threshold of 100 never pauses).
    fn over(&self, (cpu, mem): (i64, i64)) -> bool {
        (cpu < 100 && self.cpu >= cpu as f64) || (mem < 100 && self.mem >= mem as f64)
    }
}

/// Counters read at one moment: busy and total jiffies of the agent's CPUs, the agent's own.
#[derive(Debug, Clone, Copy)]
struct Sample {
    busy: u64,
    total: u64,
    own: u64,
}

/// Measures [`Load`] between two looks at `/proc`.
#[derive(Debug, Default)]
pub struct LoadMeter {
    cpus: Option<Vec<usize>>,
    last: Option<(Instant, Sample)>,
    load: Option<Load>,
}

impl LoadMeter {
    /// The load since the previous call (at most every [`SAMPLE_EVERY`]; in between, the last
    /// figure). `None` until two looks lie apart, or where `/proc` cannot be read.
    pub fn load(&mut self) -> Option<Load> {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|(at, _)| now.duration_since(at) < SAMPLE_EVERY)
        {
            return self.load;
        }
        let cpus = self
            .cpus
            .get_or_insert_with(|| {
                std::fs::read_to_string("/proc/self/status")
                    .ok()
                    .and_then(|s| allowed_cpus(&s))
                    .unwrap_or_default()
            })
            .clone();
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let own = std::fs::read_to_string("/proc/self/stat").ok()?;
        let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
        let (busy, total) = cpu_jiffies(&stat, &cpus)?;
        let sample = Sample {
            busy,
            total,
            own: own_jiffies(&own)?,
        };
        if let Some((_, before)) = self.last {
            let total = sample.total.saturating_sub(before.total);
            if total > 0 {
                let others = sample
                    .busy
                    .saturating_sub(before.busy)
                    .saturating_sub(sample.own.saturating_sub(before.own));
                let load = Load {
                    cpu: (others as f64 * 100.0 / total as f64).min(100.0),
                    mem: mem_percent(&meminfo)?,
                };
                tracing::debug!(cpu = load.cpu, mem = load.mem, "the host's load");
                self.load = Some(load);
            }
        }
        self.last = Some((now, sample));
        self.load
    }
}

/// A source's pause rule over [`Limits`] and a [`LoadMeter`].
#[derive(Debug)]
pub struct Yield {
    meter: LoadMeter,
    max_pause: Duration,
    paused_since: Option<Instant>,
    /// Paused for `max_pause`: read until caught up before pausing again.
    catching_up: bool,
}

impl Yield {
    pub fn new(max_pause: Duration) -> Self {
        Self {
            meter: LoadMeter::default(),
            max_pause,
            paused_since: None,
            catching_up: false,
        }
    }

    /// Whether the source waits instead of reading now.
    pub fn wait(&mut self, limits: &Limits) -> bool {
        if !limits.known() {
            return true;
        }
        let over = !self.max_pause.is_zero()
            && !self.catching_up
            && self.meter.load().is_some_and(|l| l.over(limits.get()));
        self.decide(over, Instant::now())
    }

    fn decide(&mut self, over: bool, now: Instant) -> bool {
        if !over {
            self.paused_since = None;
            return false;
        }
        let since = *self.paused_since.get_or_insert(now);
        if now.duration_since(since) >= self.max_pause {
            tracing::info!(
                paused_s = self.max_pause.as_secs(),
                "the host stayed over the agent's thresholds; reading until caught up"
            );
            self.paused_since = None;
            self.catching_up = true;
            return false;
        }
        true
    }

    /// After a read: `caught_up` (the read reached the end of the log, even if the database
    /// wrote more since) ends a catch-up. Under a database that never stops writing, a read
    /// that finds nothing new never comes: waiting for one kept a source reading for good
    /// after its first pause.
    pub fn read(&mut self, caught_up: bool) {
        if caught_up {
            self.catching_up = false;
        }
    }
}

/// `Cpus_allowed_list` of `/proc/self/status` (e.g. `0-3,6`) as CPU numbers.
fn allowed_cpus(status: &str) -> Option<Vec<usize>> {
    let list = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))?
        .trim();
    let mut cpus = Vec::new();
    for part in list.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => cpus.extend(a.parse::<usize>().ok()?..=b.parse::<usize>().ok()?),
            None => cpus.push(part.parse().ok()?),
        }
    }
    Some(cpus)
}

/// Busy and total jiffies of `cpus` in `/proc/stat` (all CPUs when `cpus` is empty). Idle
/// is `idle` + `iowait`; total counts user to steal (guest time is inside user already).
fn cpu_jiffies(stat: &str, cpus: &[usize]) -> Option<(u64, u64)> {
    let (mut busy, mut total, mut seen) = (0u64, 0u64, false);
    for line in stat.lines() {
        let Some((name, rest)) = line.split_once(' ') else {
            continue;
        };
        let Some(n) = name.strip_prefix("cpu") else {
            continue;
        };
        let wanted = match n.parse::<usize>() {
            Ok(n) => cpus.is_empty() || cpus.contains(&n),
            Err(_) => false,
        };
        if !wanted {
            continue;
        }
        let f: Vec<u64> = rest
            .split_ascii_whitespace()
            .take(8)
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        let all: u64 = f.iter().sum();
        let idle = f.get(3).copied().unwrap_or(0) + f.get(4).copied().unwrap_or(0);
        busy += all.saturating_sub(idle);
        total += all;
        seen = true;
    }
    seen.then_some((busy, total))
}

/// The process's user + system jiffies from `/proc/self/stat`.
fn own_jiffies(stat: &str) -> Option<u64> {
    // Fields after the command name (in parentheses, which may hold spaces): utime and
    // stime are the 12th and 13th.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut f = rest.split_ascii_whitespace().skip(11);
    Some(f.next()?.parse::<u64>().ok()? + f.next()?.parse::<u64>().ok()?)
}

/// Memory in use, % of `MemTotal` (`MemTotal` − `MemAvailable`).
fn mem_percent(meminfo: &str) -> Option<f64> {
    let kib = |key: &str| -> Option<f64> {
        meminfo
            .lines()
            .find_map(|l| l.strip_prefix(key))?
            .split_ascii_whitespace()
            .next()?
            .parse()
            .ok()
    };
    let total = kib("MemTotal:")?;
    let available = kib("MemAvailable:")?;
    (total > 0.0).then(|| ((total - available) * 100.0 / total).clamp(0.0, 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "cpu  300 0 100 600 0 0 0 0 0 0\n\
        cpu0 200 0 50 250 0 0 0 0 0 0\n\
        cpu1 100 0 50 350 0 0 0 0 0 0\n\
        intr 1 2 3\nctxt 99\n";

    #[test]
    fn the_agents_cpus_and_their_jiffies() {
        let status = "Name:\tplugboard\nCpus_allowed:\t3\nCpus_allowed_list:\t0-2,5\n";
        assert_eq!(allowed_cpus(status), Some(vec![0, 1, 2, 5]));
        assert_eq!(allowed_cpus("Cpus_allowed_list:\t1\n"), Some(vec![1]));
        assert_eq!(cpu_jiffies(STAT, &[0]), Some((250, 500)));
        assert_eq!(cpu_jiffies(STAT, &[1]), Some((150, 500)));
        assert_eq!(cpu_jiffies(STAT, &[]), Some((400, 1000)), "every cpuN line");
        assert_eq!(cpu_jiffies(STAT, &[7]), None);
        let own = "4242 (plug board) S 1 2 3 4 5 6 7 8 9 10 120 30 0 0 20";
        assert_eq!(own_jiffies(own), Some(150));
        let meminfo = "MemTotal:       1000 kB\nMemFree:  100 kB\nMemAvailable:    250 kB\n";
        assert_eq!(mem_percent(meminfo), Some(75.0));
    }

    /// A server from before the thresholds answers the heartbeat without them: never pause.
    #[test]
    fn an_answer_without_thresholds_never_pauses() {
        let old: plugboard_api::dbss::dto_audit::HeartbeatResponse =
            serde_json::from_str(r#"{"status":1,"databases":[],"batch_max":1000,"interval_s":5}"#)
                .unwrap();
        let limits = Limits::default();
        limits.heard(Some((old.cpu_threshold, old.mem_threshold)));
        assert_eq!(limits.get(), (100, 100));
        let busy = Load {
            cpu: 100.0,
            mem: 100.0,
        };
        assert!(!busy.over(limits.get()));
    }

    #[test]
    fn a_threshold_of_100_never_pauses() {
        let busy = Load {
            cpu: 100.0,
            mem: 100.0,
        };
        assert!(!busy.over((100, 100)));
        assert!(busy.over((80, 100)));
        assert!(busy.over((100, 80)));
        let calm = Load {
            cpu: 79.9,
            mem: 10.0,
        };
        assert!(!calm.over((80, 80)));
        assert!(calm.over((0, 100)), "0: any use at all");
    }

    #[test]
    fn a_pause_ends_after_max_pause_and_then_the_source_catches_up() {
        let mut y = Yield::new(Duration::from_secs(30));
        let t0 = Instant::now();
        assert!(y.decide(true, t0));
        assert!(y.decide(true, t0 + Duration::from_secs(29)));
        assert!(
            !y.decide(true, t0 + Duration::from_secs(30)),
            "paused long enough"
        );
        assert!(y.catching_up);
        y.read(false);
        assert!(y.catching_up, "not caught up yet");
        y.read(true);
        assert!(!y.catching_up);
        let t1 = t0 + Duration::from_secs(40);
        assert!(y.decide(true, t1), "a new pause may start");
        assert!(
            !y.decide(false, t1 + Duration::from_secs(1)),
            "calm: read at once"
        );
        assert!(y.decide(true, t1 + Duration::from_secs(2)));
        assert!(
            y.decide(true, t1 + Duration::from_secs(31)),
            "the pause counts from when the host got busy again"
        );
    }

    #[test]
    fn sources_wait_for_the_first_heartbeat() {
        let limits = Limits::default();
        let mut y = Yield::new(Duration::from_secs(30));
        assert!(y.wait(&limits));
        limits.heard(None);
        assert!(!y.wait(&limits), "thresholds unknown: 100, never pause");
        limits.heard(Some((100, 100)));
        assert!(!y.wait(&limits));
    }
}
