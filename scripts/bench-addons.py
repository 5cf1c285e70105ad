#!/usr/bin/env python3
"""The add-on job benchmark of docs/benchmarks.md (issue 11; standard library only, no venv).

On SQLite (a fresh data directory), then on a fresh PostgreSQL database, the release
`plugboard serve` runs with `[jobs] max_concurrent = --concurrency` (64), and everything goes
through the public HTTP API with SDK-HMAC-SHA256-signed requests (the bootstrap access key):

  set-up   --jobs (1,000) environments, each with `cce-1`/`cse-1` bound and `sermantInjector`
           installed through the built-in `simulated` driver (one add-on of a name per
           environment, one job per add-on at a time), every install waited for; and GaussDB
           instances registered with `install.mode = "simulated"` (admin API), --jobs of them
           for every round and mode.
  baseline one simulated kernel-plug-in install job on each of --jobs fresh GaussDB instances
           (what `scripts/bench-install.py --only jobs` measures), submitted the same way.
  measured one `{"action": "redeploy"}` on each add-on, all at once from --connections
           keep-alive connections.

Both run against the same server in the same run, in two modes: `live` (jobs submitted while
the engine runs them; jobs/s from the first submit to the last job's end) and `drain` (every
job queued by a process with `max_concurrent = 0`, then a process with --concurrency slots
started on the same store; jobs/s from its spawn to the last job's end). --rounds (5) rounds
of the four, the order of baseline and add-on alternating, give medians and a ratio per round.
jobs/s and p50/p99 submit → end come from the job rows' own timestamps (`created_at`,
`ended_at`), read from the store. Every job must end `completed`; every redeploy must show
SUCCEEDED with 2 SUCCEEDED tasks on `GET /v3/{project_id}/cas/jobs/{job_id}` and its add-on
SUCCEEDED with that job as its last. The add-on jobs/s are printed as a ratio to the
baseline's (the median of the rounds' ratios). Then `plugboard-bench driver-steps` runs a
no-op external driver through the step runner against spawning the same executable in a loop
(target >= 0.5x).

Exits non-zero when a job fails or does not end within --timeout, a call answers unexpectedly,
or the driver-step ratio is below 0.5.

    python3 scripts/bench-addons.py --build                  # SQLite, PostgreSQL, driver steps
    python3 scripts/bench-addons.py --jobs 100 --rounds 1 --no-postgres --steps 100   # a quick check
"""

import argparse
import concurrent.futures
import hashlib
import hmac
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
DRIVER_STEP_TARGET = 0.5  # step runner / spawn loop: at least
ADDON = "sermantInjector"
ACTIVE = ("queued", "running")  # the store's words for a job not yet ended


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100 * len(s) + 0.5)) - 1))] if s else float("nan")


def psql(url, sql):
    res = subprocess.run(["psql", url, "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        raise SystemExit(f"psql: {res.stderr.strip()}")
    return res.stdout.strip()


# -- SDK-HMAC-SHA256 (docs/api-coverage.md → Every request), as the SDK's Signer does it ----------
def _encode(s):
    return quote(s, safe="-_.~")


def signed_headers(method, path, query, body, ak, sk, project_id, host):
    """The headers of a request signed like the SDK's BasicCredentials: content-type, host,
    x-project-id and x-sdk-date signed, the body's SHA-256 in the canonical request."""
    headers = {"content-type": "application/json", "host": host, "x-project-id": project_id,
               "x-sdk-date": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())}
    uri = "/".join(_encode(seg) for seg in path.split("/"))
    if not uri.endswith("/"):
        uri += "/"
    pairs = sorted((k, v) for k, v in (p.split("=", 1) if "=" in p else (p, "")
                                       for p in query.split("&") if p))
    canonical_query = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in pairs)
    names = sorted(headers)
    canonical = (f"{method}\n{uri}\n{canonical_query}\n"
                 + "".join(f"{n}:{headers[n].strip()}\n" for n in names)
                 + "\n" + ";".join(names) + "\n" + hashlib.sha256(body).hexdigest())
    to_sign = f"SDK-HMAC-SHA256\n{headers['x-sdk-date']}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    signature = hmac.new(sk.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = f"SDK-HMAC-SHA256 Access={ak}, SignedHeaders={';'.join(names)}, Signature={signature}"
    return headers


class Failure(Exception):
    """A call answered unexpectedly, or a job did not end as it should."""


class Server:
    def __init__(self, binary, root, config, database_url=None):
        self.binary, self.root, self.database_url = binary, Path(root), database_url
        self.data = self.root / "data"
        self.data.mkdir(parents=True)
        (self.data / "plugboard.toml").write_text(config)
        self.proc = None
        self.log = None

    def start(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGBOARD_")}
        env["PLUGBOARD_LOG"] = "warn"
        if self.database_url:
            env["PLUGBOARD_DATABASE_URL"] = self.database_url
        self.log = open(self.root / "server.log", "ab")
        self.proc = subprocess.Popen([str(self.binary), "serve", "--listen", "127.0.0.1:0", "--data-dir",
                                      str(self.data)], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"plugboard exited: {self.log_tail()}")
            try:
                self.addr = (self.data / "listen-addr").read_text().strip()
                self.boot = json.loads((self.data / "bootstrap.json").read_text())
                host, port = self.addr.rsplit(":", 1)
                c = http.client.HTTPConnection(host, int(port), timeout=1)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    c.close()
                    break
            except (OSError, ValueError, http.client.HTTPException):
                time.sleep(0.05)
        else:
            raise SystemExit(f"plugboard did not answer within 60 s: {self.log_tail()}")
        self.pid = self.boot["project_id"]
        return self

    def log_tail(self):
        return (self.root / "server.log").read_text(errors="replace")[-3000:]

    def cpu_seconds(self):
        """User + system CPU time of the server process so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def job_rows(self):
        """Every job row: (id, created_at, ended_at, status, the first step's started_at),
        microseconds (the steps are a JSON array; a step's message has no raw newline)."""
        sql = "SELECT id, created_at, ended_at, status, steps FROM jobs"
        if self.database_url:
            rows = [(i, int(c), int(e), s, st) for i, c, e, s, st in
                    (line.split("|", 4) for line in psql(self.database_url, sql).splitlines() if line)]
        else:
            with sqlite3.connect(f"file:{self.data / 'plugboard.db'}?mode=ro", uri=True, timeout=30) as c:
                rows = c.execute(sql).fetchall()
        return [(i, c, e, s, (json.loads(st) or [{}])[0].get("started_at") or 0) for i, c, e, s, st in rows]

    def failed_jobs(self, ids):
        """(id, status, fail_reason) of these jobs."""
        sql = "SELECT id, status, fail_reason FROM jobs WHERE id IN ({})".format(
            ", ".join("'" + i.replace("'", "''") + "'" for i in ids))
        if self.database_url:
            return [tuple(line.split("|", 2)) for line in psql(self.database_url, sql).splitlines()]
        with sqlite3.connect(f"file:{self.data / 'plugboard.db'}?mode=ro", uri=True, timeout=30) as c:
            return c.execute(sql).fetchall()

    def active_jobs(self):
        sql = f"SELECT count(*) FROM jobs WHERE status IN {ACTIVE!r}"
        if self.database_url:
            return int(psql(self.database_url, sql))
        with sqlite3.connect(f"file:{self.data / 'plugboard.db'}?mode=ro", uri=True, timeout=30) as c:
            return c.execute(sql).fetchone()[0]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log:
            self.log.close()


class Clients:
    """--connections keep-alive connections, one request in flight on each; every request
    signed with the bootstrap access key. A fresh set per phase (an idle pause between phases
    never meets a connection the server closed)."""

    def __init__(self, server, connections):
        self.server, self.connections = server, connections
        self.host, port = server.addr.rsplit(":", 1)
        self.port = int(port)

    def call(self, local, method, path, body=None, expect=200):
        raw = b"" if body is None else json.dumps(body).encode()
        path, _, query = path.partition("?")
        b = self.server.boot
        headers = signed_headers(method, path, query, raw, b["access_key"], b["secret_key"], b["project_id"],
                                 self.server.addr)
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        t0 = time.perf_counter()
        try:
            local.conn.request(method, path + (f"?{query}" if query else ""), raw or None, headers)
            resp = local.conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as e:
            local.conn.close()
            del local.conn
            raise Failure(f"{method} {path}: {e!r}") from e
        elapsed = time.perf_counter() - t0
        if resp.status != expect:
            raise Failure(f"{method} {path} answered {resp.status} (expected {expect}): {data[:400]!r}")
        return (json.loads(data) if data else None), elapsed

    def run(self, fn, items):
        """fn(call, item) for every item from the pool; the answers in order."""
        local = threading.local()

        def call(*a, **kw):
            return self.call(local, *a, **kw)

        with concurrent.futures.ThreadPoolExecutor(self.connections) as pool:
            return list(pool.map(lambda item: fn(call, item), items))


def wait_idle(server, timeout, what):
    """Until no job is queued or running in the store (polled every 0.1 s)."""
    deadline = time.monotonic() + timeout
    while True:
        left = server.active_jobs()
        if left == 0:
            return
        if time.monotonic() > deadline:
            raise Failure(f"{what}: {left} job(s) still queued or running after {timeout:.0f} s")
        time.sleep(0.1)


def figures(server, job_ids, what, first=None):
    """jobs/s (first created, or `first`, → last ended) and latencies (created → ended) of these
    jobs, from their rows; every one must have completed."""
    wanted = set(job_ids)
    rows = [r for r in server.job_rows() if r[0] in wanted]
    if len(rows) != len(wanted):
        raise Failure(f"{what}: {len(wanted) - len(rows)} of {len(wanted)} jobs have no row")
    bad = [r[0] for r in rows if r[3] != "completed"]
    if bad:
        raise Failure(f"{what}: {len(bad)} of {len(rows)} jobs did not complete, e.g. {server.failed_jobs(bad[:3])}")
    lat_ms = [(e - c) / 1000 for _, c, e, _, _ in rows]
    wait_ms = [(s - c) / 1000 for _, c, _, _, s in rows if s]
    first = min(c for _, c, _, _, _ in rows) if first is None else first
    span = (max(e for _, _, e, _, _ in rows) - first) / 1e6
    return {"jobs": len(rows), "jobs_per_s": len(rows) / span, "span_s": span,
            "p50_ms": pct(lat_ms, 50), "p99_ms": pct(lat_ms, 99), "max_ms": max(lat_ms),
            "wait_p50_ms": pct(wait_ms, 50), "wait_p99_ms": pct(wait_ms, 99)}


def config(concurrency):
    # simulated kernel-plug-in installs download nothing, but their URL is checked when submitted
    return ('[network]\nallow = ["http://127.0.0.1:9/"]\nallow_private = true\n'
            f"[jobs]\nmax_concurrent = {concurrency}\npoll_interval_ms = 200\n")


def bench_store(args, work, label, database_url=None):
    server = Server(args.binary, work / f"server-{label}", config(args.concurrency), database_url).start()
    notes = []
    n = args.jobs
    pid = server.pid
    envs = f"/v3/{pid}/cas/environments"
    plugin = {"plugin_name": "postgis", "url": "http://127.0.0.1:9/postgis.tar.gz", "sha_256": "a" * 64}

    def clients():
        return Clients(server, args.connections)

    def set_up_addon(call, i):
        env, _ = call("POST", envs, {"name": f"bench-{i:05d}", "vpc_id": "vpc-bench", "description": "bench-addons"})
        call("PUT", f"{envs}/{env['id']}/resources",
             {"resources": [{"id": "cce-1", "type": "cce"}, {"id": "cse-1", "type": "cse"}]})
        got, _ = call("POST", f"{envs}/{env['id']}/addons", {"name": ADDON, "cce_id": "cce-1", "cse_id": "cse-1"})
        return env["id"], got["id"], got["job_id"]

    def register(call, i):
        got, _ = call("POST", f"/plugboard/v1/projects/{pid}/gaussdb/instances", {
            "name": f"sim{i}", "host": "db.invalid", "port": 5432, "user": "app",
            "install": {"mode": "simulated"}}, expect=201)
        return got["id"]

    def submit_install(call, instance_id):
        got, elapsed = call("POST", f"/v3/{pid}/instances/{instance_id}/kernel-plugin", plugin)
        return got["job_id"], elapsed

    def submit_redeploy(call, addon):
        env_id, addon_id, _ = addon
        got, elapsed = call("POST", f"{envs}/{env_id}/addons/{addon_id}/action", {"action": "redeploy"})
        return got["job_id"], elapsed

    def job_succeeded(call, job_id):
        got, _ = call("GET", f"/v3/{pid}/cas/jobs/{job_id}")
        if got["job"]["execution_status"] != "SUCCEEDED":
            raise Failure(f"job {job_id} is {got['job']['execution_status']}: {json.dumps(got)[:600]}")
        return got

    def addon_succeeded(call, pair):
        """The add-on SUCCEEDED with this redeploy as its last job; the job SUCCEEDED, 2 tasks."""
        (env_id, addon_id, _), job_id = pair
        got, _ = call("GET", f"{envs}/{env_id}/addons/{addon_id}")
        if got["status"] != "SUCCEEDED" or got["job_id"] != job_id:
            raise Failure(f"add-on {addon_id} after its redeploy {job_id}: {got}")
        job = job_succeeded(call, job_id)
        if job.get("task_count") != 2 or any(t["task_status"] != "SUCCEEDED" for t in job.get("tasks") or []):
            raise Failure(f"redeploy job {job_id}: {json.dumps(job)[:600]}")

    def submit_all(submit, items):
        t0 = time.monotonic()
        submitted = clients().run(submit, items)
        return [j for j, _ in submitted], {"submit_s": time.monotonic() - t0,
                                           "submit_p99_ms": pct([e * 1000 for _, e in submitted], 99)}

    def live(name, submit, items):
        print(f"[{label}] live: {name} ...", file=sys.stderr)
        cpu0 = server.cpu_seconds()
        job_ids, sub = submit_all(submit, items)
        wait_idle(server, args.timeout, name)
        cpu = server.cpu_seconds() - cpu0
        out = figures(server, job_ids, name)
        out.update(sub, cpu_ms_per_job=cpu * 1000 / len(items))
        return out, job_ids

    def restart(concurrency):
        server.stop()
        (server.data / "plugboard.toml").write_text(config(concurrency))
        (server.data / "listen-addr").unlink(missing_ok=True)
        started = int(time.time() * 1e6)
        server.start()
        return started

    def drain(name, submit, items):
        """Every job queued by a process that runs none, then a process with --concurrency
        slots started on the same store: jobs/s from its spawn to the last job's end."""
        print(f"[{label}] drain: {name} ...", file=sys.stderr)
        restart(0)
        job_ids, sub = submit_all(submit, items)
        started = restart(args.concurrency)
        cpu0 = server.cpu_seconds()
        wait_idle(server, args.timeout, name)
        cpu = server.cpu_seconds() - cpu0
        out = figures(server, job_ids, name, first=started)
        out.update(sub, cpu_ms_per_job=cpu * 1000 / len(items))
        return out, job_ids

    try:
        print(f"[{label}] set-up: {n} environments, resources bound, {ADDON} installed in each ...",
              file=sys.stderr)
        t0 = time.monotonic()
        addons = clients().run(set_up_addon, range(n))
        wait_idle(server, args.timeout, "add-on installs")
        setup_s = time.monotonic() - t0
        install = figures(server, [j for _, _, j in addons], "add-on installs")
        clients().run(job_succeeded, [j for _, _, j in addons])
        notes.append(f"set-up: {n:,} environments created, resources bound and {ADDON} installed in "
                     f"{setup_s:.1f} s; the {n:,} install jobs (3 steps, submitted between the set-up calls) "
                     f"ran at {install['jobs_per_s']:,.0f} jobs/s, p99 {install['p99_ms']:.1f} ms")
        per_round = 2 if args.drain else 1
        print(f"[{label}] set-up: {args.rounds * per_round * n} simulated GaussDB instances ...", file=sys.stderr)
        instances = clients().run(register, range(args.rounds * per_round * n))
        fresh = iter(instances[i:i + n] for i in range(0, len(instances), n))

        rows = {}
        for r in range(args.rounds):
            # the order alternates between rounds, so drift in the machine's load hits both
            kinds = ("baseline", "redeploy") if r % 2 == 0 else ("redeploy", "baseline")
            for mode in ("live", "drain") if args.drain else ("live",):
                for kind in kinds:
                    what = f"round {r + 1}, {mode}, " + ("GaussDB simulated installs (baseline)" if kind == "baseline"
                                                         else "add-on redeploys")
                    measure = live if mode == "live" else drain
                    if kind == "baseline":
                        got, _ = measure(what, submit_install, next(fresh))
                    else:
                        got, jobs = measure(what, submit_redeploy, addons)
                        clients().run(addon_succeeded, list(zip(addons, jobs)))
                    rows.setdefault((mode, kind), []).append(got)
        log = server.log_tail()
        if re.search(r"\b(ERROR|panicked)\b", log):
            notes.append("the server log has errors: " + log[-600:])
    except Failure as e:
        tail = server.log_tail().strip()
        raise Failure(f"{label}: {e}" + (f"\nserver log tail:\n{tail}" if tail else "")) from e
    finally:
        server.stop()
    ratios = {mode: [a["jobs_per_s"] / b["jobs_per_s"] for a, b in zip(rows[mode, "redeploy"], rows[mode, "baseline"])]
              for mode in ("live", "drain") if (mode, "baseline") in rows}
    return {"label": label, "notes": notes, "per_round": rows, "ratios": ratios,
            "rows": {k: {f: statistics.median(x[f] for x in v) for f in v[0]} for k, v in rows.items()},
            "ratio": {mode: statistics.median(v) for mode, v in ratios.items()}}


def print_store(args, r):
    print(f"\n{r['label']}: {args.jobs:,} jobs a scenario, {args.connections} connections, "
          f"[jobs] max_concurrent = {args.concurrency}; medians of {args.rounds} round(s)")
    print("| mode | scenario | jobs/s | jobs/s each round | p50 ms | p99 ms | max ms | queued p50/p99 ms "
          "| submitted in (p99 of a call) | server CPU/job | ratio (each round) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for mode in ("live", "drain"):
        for kind, name in (("baseline", "GaussDB `simulated` install, 4 steps (baseline)"),
                           ("redeploy", "add-on `redeploy` through `simulated`, 2 steps")):
            f = r["rows"].get((mode, kind))
            if f is None:
                continue
            ratio = ("1.00" if kind == "baseline" else f"**{r['ratio'][mode]:.2f}** ("
                     + " / ".join(f"{x:.2f}" for x in r["ratios"][mode]) + ")")
            each = " / ".join(f"{x['jobs_per_s']:,.0f}" for x in r["per_round"][mode, kind])
            lat = (f"{f['p50_ms']:.1f} | {f['p99_ms']:.1f} | {f['max_ms']:.1f} | "
                   f"{f['wait_p50_ms']:.1f} / {f['wait_p99_ms']:.1f}" if mode == "live" else "— | — | — | —")
            print(f"| {mode} | {name} | {f['jobs_per_s']:,.0f} | {each} | {lat} | "
                  f"{f['submit_s']:.2f} s ({f['submit_p99_ms']:.1f} ms) | {f['cpu_ms_per_job']:.2f} ms | {ratio} |")
    for note in r["notes"]:
        print(f"  {note}")


def driver_steps(args):
    res = subprocess.run([str(args.bench_binary), "driver-steps", "--steps", str(args.steps)],
                         capture_output=True, text=True, timeout=1800, env=dict(os.environ, RUST_BACKTRACE="0"))
    out = res.stdout.strip()
    rates = re.findall(r"^\| (.+?) \| (\d+) \| \**([\d.]+)\** \|$", out, re.M)
    print(f"\ndriver steps (`plugboard-bench driver-steps --steps {args.steps}`):")
    print(out or "(no output)")
    if res.stderr.strip():
        print(res.stderr.strip())
    if len(rates) != 2:
        print(f"could not read the figures (exit {res.returncode})", file=sys.stderr)
        return None
    return float(rates[1][1]) / float(rates[0][1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--binary", default=str(REPO / "target" / "release" / "plugboard"))
    ap.add_argument("--bench-binary", default=str(REPO / "target" / "release" / "plugboard-bench"))
    ap.add_argument("--build", action="store_true",
                    help="cargo build --release -p plugboard -p plugboard-bench first")
    ap.add_argument("--jobs", type=int, default=1000, help="add-ons (and baseline jobs) per store")
    ap.add_argument("--connections", type=int, default=16, help="keep-alive connections submitting")
    ap.add_argument("--concurrency", type=int, default=64, help="[jobs] max_concurrent")
    ap.add_argument("--sqlite", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--postgres", action=argparse.BooleanOptionalAction, default=True,
                    help="run on a fresh database of PLUGBOARD_TEST_PG_ADMIN_URL's server too (default)")
    ap.add_argument("--pg-admin", default=os.environ.get("PLUGBOARD_TEST_PG_ADMIN_URL", DEFAULT_PG_ADMIN))
    ap.add_argument("--rounds", type=int, default=5, help="rounds of each scenario per store (medians)")
    ap.add_argument("--drain", action=argparse.BooleanOptionalAction, default=True,
                    help="also measure draining a full queue (default)")
    ap.add_argument("--steps", type=int, default=1000, help="driver-steps per side (0: skip)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds a phase's jobs may take to end")
    args = ap.parse_args()
    if args.build:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "plugboard", "-p", "plugboard-bench"],
                       cwd=REPO, check=True)
    args.binary, args.bench_binary = Path(args.binary), Path(args.bench_binary)
    for b in [args.binary] + ([args.bench_binary] if args.steps else []):
        if not os.access(b, os.X_OK):
            raise SystemExit(f"no binary at {b}: cargo build --release -p plugboard -p plugboard-bench "
                             "(or --build)")
    print(f"binary {args.binary}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')}")
    work = Path(tempfile.mkdtemp(prefix="pbbench-addons-"))
    results, failures = [], []
    try:
        stores = ([("SQLite", False)] if args.sqlite else []) + ([("PostgreSQL", True)] if args.postgres else [])
        for label, pg in stores:
            name = None
            try:
                url = None
                if pg:
                    name = "pbbench_addons_" + secrets.token_hex(4)
                    psql(args.pg_admin, f"CREATE DATABASE {name}")
                    p = urlsplit(args.pg_admin)
                    url = urlunsplit((p.scheme, p.netloc, "/" + name, p.query, p.fragment))
                r = bench_store(args, work, label, url)
                results.append(r)
                print_store(args, r)
            except Failure as e:
                failures.append(str(e))
                print(f"\n{label}: FAILED: {e}", file=sys.stderr)
            finally:
                if name:
                    subprocess.run(["psql", args.pg_admin, "-X", "-q", "-c",
                                    f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], capture_output=True)
        ratio = driver_steps(args) if args.steps else None
        if args.steps and ratio is None:
            failures.append("driver-steps gave no figures")
        elif ratio is not None and ratio < DRIVER_STEP_TARGET:
            failures.append(f"driver steps: the step runner ran {ratio:.2f}x the spawn loop "
                            f"(target >= {DRIVER_STEP_TARGET})")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print("\nsummary:")
    for r in results:
        for mode, ratio_ in r["ratio"].items():
            a, b = r["rows"][mode, "redeploy"], r["rows"][mode, "baseline"]
            p99 = f" (p99 {a['p99_ms']:.1f} ms)" if mode == "live" else ""
            print(f"  {r['label']}, {mode}: add-on redeploy {a['jobs_per_s']:,.0f} jobs/s{p99} = {ratio_:.2f}x "
                  f"GaussDB simulated installs ({b['jobs_per_s']:,.0f} jobs/s)")
    if ratio is not None:
        print(f"  driver steps: step runner / spawn loop = {ratio:.2f}  (target >= {DRIVER_STEP_TARGET})")
    if failures:
        print("\nfailed:\n  " + "\n  ".join(f.splitlines()[0] for f in failures), file=sys.stderr)
        return 1
    print("every job succeeded, every target met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
