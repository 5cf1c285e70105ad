"""The pgbench scenario of the DBSS audit benchmark (scripts/bench-audit.py, docs/benchmarks.md):
what pgaudit and the agent cost a database, with the server on the other CPU or, with
--plugboard-at elsewhere, a stand-in for one on another machine (scripts/ingest_stand_in.py).
Standard library only."""
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench_audit_common import CAPTURE, REPO, Target, bd, cpu_seconds, psql, stop

PGBENCH_RATIO_TARGET = 0.95

# -- pgbench -----------------------------------------------------------------------------------------------
# How the agent is run on the database host. `unit` is what the download's systemd unit does
# (CPUSchedulingPolicy=idle, IOSchedulingClass=idle: the agent runs on CPU time the database
# leaves); `nice` is the earlier unit (Nice=10, --agent-nice); `normal` is no care at all.
AGENT_SCHED = {"unit": ["chrt", "--idle", "0", "ionice", "-c", "3"], "normal": []}


def agent_prefix(args):
    if args.agent_sched == "nice":
        return ["nice", "-n", str(args.agent_nice)]
    return AGENT_SCHED[args.agent_sched]


def set_sched(pid, policy):
    """Every thread of `pid` to SCHED_IDLE and the idle I/O class (`idle`: what the database host
    does not want, CPU and disk alike), or back to SCHED_OTHER and best effort (`other`)."""
    subprocess.run(["chrt", "-a", f"--{policy}", "-p", "0", str(pid)], check=True, capture_output=True)
    tids = [t.name for t in Path(f"/proc/{pid}/task").iterdir()]
    io = ["-c", "3"] if policy == "idle" else ["-c", "2", "-n", "4"]
    # I/O priority is a thread's own: name every thread of the process
    subprocess.run(["ionice", *io, "-p", *tids], check=True, capture_output=True)


def pin(pid, cpus):
    """Every thread of `pid` to the CPUs `cpus` (e.g. "0")."""
    subprocess.run(["taskset", "-a", "-p", "-c", cpus, str(pid)], check=True, capture_output=True)


def pin_cluster(data_dir, cpus):
    """The cluster's postmaster and every process it has to `cpus` (backends forked later inherit it)."""
    pm = int((Path(data_dir) / "postmaster.pid").read_text().split()[0])
    children = subprocess.run(["pgrep", "-P", str(pm)], capture_output=True, text=True).stdout.split()
    for pid in [pm, *map(int, children)]:
        pin(pid, cpus)


def logged_events(log_dir):
    """The events the agent makes of a pgaudit jsonlog directory: one per statement and
    substatement (the relation lines of `log_relation` are one statement), per login, failed
    login and logout — what ListAuditSqls must count once each after the agent caught up."""
    statements, others = set(), 0
    for f in sorted(Path(log_dir).glob("*.json")):
        for line in f.read_text(errors="replace").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            msg = rec.get("message", "")
            if msg.startswith("AUDIT: SESSION,"):
                _, stmt, sub = msg.split(",", 3)[:3]
                statements.add((rec.get("session_id"), stmt, sub))
            elif msg.startswith(("connection authorized: ", "disconnection: ")) or (
                    rec.get("error_severity") == "FATAL" and rec.get("state_code") in ("28P01", "28000")):
                others += 1
    return len(statements) + others


def scenario_pgbench(server, token, args, work, report):
    d = Path(tempfile.mkdtemp(prefix="pb-bench-pgaudit-"))
    os.chmod(d, 0o755)
    port = bd.socket.socket()
    port.bind(("127.0.0.1", 0))
    port_no = port.getsockname()[1]
    port.close()
    subprocess.run(["bash", str(CAPTURE), "pg-start", str(d), str(port_no)], check=True)
    url = f"postgres://postgres@127.0.0.1:{port_no}/postgres"
    target = Target(server, token, "pgbench", edition="advanced", cpu_threshold=args.agent_cpu_threshold)
    # The server runs on another machine in a deployment: here it gets only CPU time nothing else
    # wants (SCHED_IDLE), so that what pgbench loses is what the database host loses (pgaudit,
    # the agent), not the ingest of a server that is not there in production.
    # With --cpus split the machine stands for two in CPU time (a tight loop on CPU 1 does not
    # move the TPS of pgbench on CPU 0; a SCHED_IDLE one on CPU 0 takes 18 %), not in memory
    # traffic (a memory-streaming one on CPU 1 takes 5-12 %: --calibrate; docs/benchmarks.md): the
    # database host is CPU 0 — the cluster, pgbench and the agent — and the server CPU 1, in
    # every mode alike.
    split = args.cpus == "split"
    db_cpu = ["taskset", "-c", "0"] if split else []
    # --agent-cpus 1: the agent beside the server instead (a diagnosis: what the server's side costs)
    agent_cpu = ["taskset", "-c", args.agent_cpus] if split else []
    if split:
        pin_cluster(d / "data", "0")
        pin(server.proc.pid, "1")
    elif args.server_sched == "idle":
        set_sched(server.proc.pid, "idle")
    proc = burner = stand_in = None
    # --plugboard-at elsewhere: the agent ships to a stand-in for a server on another machine
    # (scripts/ingest_stand_in.py: answers batches as the server does without storing them,
    # relays the heartbeat), on the server's CPU; what is stored is then counted there.
    endpoint = None

    def received():
        if endpoint is None:
            return target.total()
        with urllib.request.urlopen(f"{endpoint}/__stand_in", timeout=10) as r:
            return json.loads(r.read())["events"]
    try:
        if args.plugboard_at == "elsewhere":
            addr_file = d / "stand-in-addr"
            stand_in = subprocess.Popen(["taskset", "-c", "1" if split else "0-1", sys.executable,
                                         str(REPO / "scripts" / "ingest_stand_in.py"),
                                         f"{server.addr[0]}:{server.addr[1]}", str(addr_file)])
            while not addr_file.exists():
                if stand_in.poll() is not None:
                    raise SystemExit(f"the stand-in exited with {stand_in.returncode}")
                time.sleep(0.05)
            endpoint = f"http://{addr_file.read_text().strip()}"
        subprocess.run(["pgbench", "-i", "-q", "-s", "5", url], check=True, capture_output=True)
        none = ["ALTER SYSTEM SET pgaudit.log = 'none'", "ALTER SYSTEM SET log_min_duration_statement = -1",
                "ALTER SYSTEM SET log_connections = off", "ALTER SYSTEM SET log_disconnections = off"]
        audit = ["ALTER SYSTEM RESET pgaudit.log", "ALTER SYSTEM RESET log_min_duration_statement",
                 "ALTER SYSTEM RESET log_connections", "ALTER SYSTEM RESET log_disconnections"]
        # --calibrate: also pgaudit with a memory-streaming process on the server's CPU (dd from
        # /dev/zero to /dev/null in 64 MiB blocks), neither auditing nor ingest: what any
        # memory-heavy work on the other CPU costs the database on this machine.
        modes = ("none", "pgaudit", "pgaudit + agent") + (("pgaudit + burner",) if args.calibrate else ())
        tps = {m: [] for m in modes}
        lags, cpu, stored_ok = [], [], True
        for rnd in range(args.pgbench_rounds):
            for mode in modes:
                # Each run logs into a directory of its own: the agent of a run reads that run's
                # statements only (none of pgaudit alone's), from a fresh state directory.
                log_dir = d / f"log-{rnd}-{mode.replace(' + ', '-')}"
                settings = (none if mode == "none" else audit) + [f"ALTER SYSTEM SET log_directory = '{log_dir}'"]
                for s in settings:
                    psql(url, s)
                psql(url, "SELECT pg_reload_conf()")
                time.sleep(0.5)
                if mode == "pgaudit + burner":
                    burner = subprocess.Popen(["taskset", "-c", "1", "dd", "if=/dev/zero", "of=/dev/null", "bs=64M"],
                                              stderr=subprocess.DEVNULL)
                if mode == "pgaudit + agent":
                    log_dir.mkdir(exist_ok=True)
                    before = received()
                    proc = target.agent(args.binary, work / f"agent-pgbench-{rnd}", log_dir, tuning=args.agent_tuning,
                                        prefix=agent_cpu + agent_prefix(args) + shlex.split(args.agent_wrap),
                                        endpoint=endpoint)
                    time.sleep(0.5)
                    a0, s0 = cpu_seconds(proc.pid), cpu_seconds((stand_in or server.proc).pid)
                # pgbench's own vacuum before each run (no -n): every run starts from the same
                # tables (with -n the history table and the dead rows grew run by run, and the
                # mode measured last in a round — the agent's — paid for it: 0.84-1.00 with the
                # agent paused the whole run, docs/benchmarks.md)
                out = subprocess.run(db_cpu + ["pgbench", "-c", "4", "-j", "2", "-T", str(args.pgbench_seconds), url],
                                     check=True, capture_output=True, text=True).stdout
                value = float(next(line.split("=")[1].split()[0] for line in out.splitlines()
                                   if line.startswith("tps")))
                tps[mode].append(value)
                if burner is not None:
                    burner.kill()
                    burner.wait()
                    burner = None
                extra = ""
                if proc is not None:
                    t_end = time.perf_counter()
                    a1, s1 = cpu_seconds(proc.pid), cpu_seconds((stand_in or server.proc).pid)
                    behind = received() - before
                    # Caught up when every event of the run's log is stored once.
                    expected = logged_events(log_dir)
                    while True:
                        got = received() - before
                        if got >= expected or time.perf_counter() - t_end > args.catch_up_timeout:
                            break
                        time.sleep(0.1)
                    lag = time.perf_counter() - t_end
                    time.sleep(1.0)
                    got = received() - before
                    stored_ok &= got == expected
                    lags.append(lag)
                    cpu.append((a1 - a0, s1 - s0))
                    stop(proc)
                    proc = None
                    extra = (f"; agent CPU {a1 - a0:.2f} s, {'stand-in' if stand_in else 'server'} {s1 - s0:.2f} s "
                             f"during the run; stored at its "
                             f"end {behind:,}, caught up {lag:.1f} s after it: {got:,} of {expected:,} events")
                print(f"  {mode:<16} {value:,.0f} TPS (load average {os.getloadavg()[0]:.2f}){extra}", flush=True)
        report["pgbench"] = {k: statistics.median(v) for k, v in tps.items()}
        report["pgbench_runs"] = tps
        report["pgbench_ratios"] = [a / p for a, p in zip(tps["pgaudit + agent"], tps["pgaudit"])]
        report["pgbench_lag"] = lags
        report["pgbench_cpu"] = cpu
        report["pgbench_exact"] = stored_ok
        report["pgbench_elsewhere"] = endpoint is not None
    finally:
        if proc is not None:
            stop(proc)
        for p in (burner, stand_in):
            if p is not None:
                p.kill()
                p.wait()
        if server.proc.poll() is None:
            if split:
                pin(server.proc.pid, "0-1")
            elif args.server_sched == "idle":
                set_sched(server.proc.pid, "other")
        subprocess.run(["bash", str(CAPTURE), "pg-stop", str(d)])
        shutil.rmtree(d, ignore_errors=True)


