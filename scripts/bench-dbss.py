#!/usr/bin/env python3
"""The DBSS benchmark of docs/benchmarks.md (standard library only; no venv needed).

Starts the given plugboard binary on a fresh data directory (SQLite, and then PostgreSQL when
--database-url or --postgres is given) with `[network] probe_allow = ["127.0.0.0/8"]`, and
measures, all through the public HTTP API with an admin token:

  1. paging: an instance holding --small databases (100) and one holding --big (100,000);
     GET list?limit=100 (v2, first page) and v1 with offset=<total-100>, --samples times each,
     one keep-alive connection: median and p99, and the big/small ratio (target <= 1.5);
  2. add rate: the first --rate-sample (10,000) adds into the big instance, --connections (64)
     keep-alive connections with one request in flight each: requests/s, p50, p99;
  3. probing: --probe-count (10,000) databases switched ON against a mix of open loopback
     listeners this script runs (TCP-only, PostgreSQL-like, MySQL-like) and closed loopback
     ports: p99 of two unrelated calls made from processes of their own over the probing
     window (target < 50 ms each) — a read (GET /v3/auth/projects, token) and a write (add,
     then delete, a database in another audit instance, never switched ON) — and the time
     until every database shows its true state (open → ACTIVE, closed → ERROR).

Every call must answer as expected (a 5xx on a switch call fails the run), and the run exits
non-zero when a target is missed: paging ratio (v2 first page, big/small) > 1.5, an unrelated
call's p99 while probing >= 50 ms, or a database not in its true state (within
--probe-deadline, or again after the re-probe rounds). Smaller runs for checking the script:
--big, --rate-sample, --samples, --probe-count.

    python3 scripts/bench-dbss.py --build                 # SQLite
    python3 scripts/bench-dbss.py --build --postgres      # SQLite, then a fresh PostgreSQL database
"""

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from benchhttp import Conn, Server, call, get_token, ms, pct, run_pool  # noqa: E402 - after the path
DEFAULT_PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
PAGING_RATIO_TARGET = 1.5  # big/small median, v2 first page: at most
UNRELATED_P99_TARGET = 0.050  # seconds: below


# -- probe targets: loopback listeners in a process of their own ---------------------------------------
def mysql_handshake():
    """A MySQL protocol-10 initial handshake packet, as MySQL/MariaDB send it."""
    payload = (b"\x0a" + b"8.0.36-plugboard-bench\x00" + struct.pack("<I", 7) + b"abcdefgh" + b"\x00"
               + struct.pack("<H", 0xF7FF) + b"\x21" + struct.pack("<H", 0x0002) + struct.pack("<H", 0x81FF)
               + b"\x15" + b"\x00" * 10 + b"ijklmnopqrst\x00" + b"mysql_native_password\x00")
    return struct.pack("<I", len(payload))[:3] + b"\x00" + payload


def serve_listeners(kinds, ports_out, ready, stop):
    """Child process: one asyncio server per kind ("tcp", "pg", "mysql"); reports ports."""
    async def handle(kind, reader, writer):
        try:
            if kind == "mysql":
                writer.write(mysql_handshake())
                await writer.drain()
            elif kind == "pg":
                await asyncio.wait_for(reader.readexactly(8), 5)
                writer.write(b"N")
                await writer.drain()
            await asyncio.wait_for(reader.read(1), 5)  # until the prober hangs up
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError):
            pass
        finally:
            writer.close()

    async def main():
        # handlers still waiting when the process stops are cancelled: nothing to report
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: None)
        servers = []
        for kind in kinds:
            srv = await asyncio.start_server(lambda r, w, k=kind: handle(k, r, w), "127.0.0.1", 0, backlog=4096)
            servers.append(srv)
            ports_out.append(srv.sockets[0].getsockname()[1])
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.2)
        for srv in servers:
            srv.close()

    asyncio.run(main())


def closed_ports(n):
    ports = []
    for _ in range(n):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    return ports


# -- the unrelated calls, each sampled from a process of its own ---------------------------------------
def sample_unrelated(addr, token, out, stop, interval):
    """Child process: GET /v3/auth/projects in a loop on one keep-alive connection; appends
    (wall-clock time, latency, status, what) tuples to `out` when stopped."""
    async def main():
        conn = Conn(*addr)
        got = []
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                status, _ = await conn.request("GET", "/v3/auth/projects", {"X-Auth-Token": token})
            except (OSError, ConnectionError, asyncio.IncompleteReadError):
                status = None  # counted as a failure by the parent
                conn.close()
            got.append((time.time(), time.perf_counter() - t0, status, "GET /v3/auth/projects"))
            await asyncio.sleep(interval)
        conn.close()
        out.extend(got)

    asyncio.run(main())


def sample_unrelated_write(addr, token, project, instance, out, stop, interval):
    """Child process: add a database to `instance` (an audit instance of its own, never switched
    ON), then delete it, in a loop on one keep-alive connection; each call is one sample, appended
    to `out` as (wall-clock time, latency, status, what) when stopped."""
    async def main():
        conn = Conn(*addr)
        got = []
        headers = {"X-Auth-Token": token, "Content-Type": "application/json;charset=UTF-8"}
        add_path = f"/v2/{project}/audit/{instance}/databases"
        i = 0
        while not stop.is_set():
            i += 1
            t0 = time.perf_counter()
            try:
                status, data = await conn.request("POST", add_path, headers, db_body(f"w{i}", port="1"))
            except (OSError, ConnectionError, asyncio.IncompleteReadError):
                status, data = None, b""
                conn.close()
            got.append((time.time(), time.perf_counter() - t0, status, "add"))
            if status == 200:
                db_id = json.loads(data)["id"]
                t0 = time.perf_counter()
                try:
                    status, _ = await conn.request("DELETE", f"/v3/{project}/audit/{instance}/databases/{db_id}",
                                                   {"X-Auth-Token": token})
                except (OSError, ConnectionError, asyncio.IncompleteReadError):
                    status = None
                    conn.close()
                got.append((time.time(), time.perf_counter() - t0, status, "delete"))
            await asyncio.sleep(interval)
        conn.close()
        out.extend(got)

    asyncio.run(main())


# -- the scenarios --------------------------------------------------------------------------------------
def db_body(name, ip="127.0.0.1", port="3306", db_type="MYSQL"):
    return json.dumps({"database": {"db_classification": "ECS", "name": name, "type": db_type, "version": "1",
                                    "charset": "UTF8", "ip": ip, "port": str(port), "os": "LINUX64"}}).encode()


def create_instance(server, token, name, limit):
    path = f"/plugboard/v1/projects/{server.boot['project_id']}/dbss/instances"
    payload, _ = call(server, "POST", path, token, {"name": name, "database_limit": limit}, expect=201)
    return json.loads(payload)["id"]


def add_jobs(server, token, instance, names, targets=None):
    path = f"/v2/{server.boot['project_id']}/audit/{instance}/databases"
    headers = {"X-Auth-Token": token, "Content-Type": "application/json;charset=UTF-8"}
    for i, name in enumerate(names):
        if targets:
            db_type, port = targets[i]
            yield "POST", path, headers, db_body(name, port=port, db_type=db_type)
        else:
            yield "POST", path, headers, db_body(name, port=str(1 + i % 65535))


def time_gets(server, token, path, samples):
    async def main():
        conn = Conn(*server.addr)
        lat = []
        for _ in range(samples + 5):
            t0 = time.perf_counter()
            status, data = await conn.request("GET", path, {"X-Auth-Token": token})
            lat.append(time.perf_counter() - t0)
            if status != 200:
                raise SystemExit(f"GET {path} answered {status}: {data[:300]!r}")
        conn.close()
        return lat[5:], json.loads(data)  # the first few warm the connection and caches
    return asyncio.run(main())


def scenario_paging_and_add_rate(server, token, args, report):
    project = server.boot["project_id"]
    small = create_instance(server, token, "bench-small", args.small)
    big = create_instance(server, token, "bench-big", args.big)

    asyncio.run(run_pool(server.addr, add_jobs(server, token, small, [f"s{i}" for i in range(args.small)]),
                         args.connections))
    first = min(args.rate_sample, args.big)
    elapsed, lat, _ = asyncio.run(run_pool(
        server.addr, add_jobs(server, token, big, [f"b{i}" for i in range(first)]), args.connections))
    rate = first / elapsed
    print(f"add (v2), {args.connections} connections, first {first} into one instance: {rate:,.0f} req/s, "
          f"p50 {ms(pct(lat, 50))} ms, p99 {ms(pct(lat, 99))} ms")
    report["add"] = (rate, pct(lat, 50), pct(lat, 99), first)
    if args.big > first:
        t0 = time.perf_counter()
        names = [f"b{i}" for i in range(first, args.big)]
        jobs = add_jobs(server, token, big, names)
        # keep the port pattern of the first part going (ports 1..65535, names unique anyway)
        asyncio.run(run_pool(server.addr, jobs, args.connections))
        rest = time.perf_counter() - t0
        print(f"  the remaining {args.big - first} adds took {rest:.1f} s ({(args.big - first) / rest:,.0f} req/s)")

    rows = []
    for label, inst, n in (("small", small, args.small), ("big", big, args.big)):
        v2 = f"/v2/{project}/audit/{inst}/databases?limit=100"
        lat2, body = time_gets(server, token, v2, args.samples)
        assert body["total"] == n and len(body["databases"]) == min(100, n), (body["total"], n)
        off = max(0, n - 100)
        v1 = f"/v1/{project}/{inst}/dbss/audit/databases?limit=100&offset={off}"
        lat1, body = time_gets(server, token, v1, args.samples)
        assert body["total"] == n and len(body["databases"]) == min(100, n - off)
        rows.append((label, n, off, lat2, lat1))
    print(f"list, limit=100, {args.samples} sequential requests each (one connection):")
    print(f"  {'instance':<8} {'databases':>9}  {'v2 first page p50/p99 ms':>26}  {'v1 offset':>9} "
          f"{'p50/p99 ms':>14}")
    for label, n, off, lat2, lat1 in rows:
        print(f"  {label:<8} {n:>9}  {ms(statistics.median(lat2)):>12} / {ms(pct(lat2, 99)):<11}  {off:>9} "
              f"{ms(statistics.median(lat1)):>6} / {ms(pct(lat1, 99))}")
    (_, _, _, s2, s1), (_, _, _, b2, b1) = rows
    r2 = statistics.median(b2) / statistics.median(s2)
    r1 = statistics.median(b1) / statistics.median(s1)
    print(f"  ratio big/small (median): v2 first page {r2:.2f}, v1 deep offset {r1:.2f}  "
          f"(target <= {PAGING_RATIO_TARGET} for the first page)")
    report["paging"] = rows
    report["paging_ratio"] = (r2, r1)
    if r2 > PAGING_RATIO_TARGET:
        report["misses"].append(f"paging ratio big/small (v2 first page) {r2:.2f} > {PAGING_RATIO_TARGET}")


def scenario_probing(server, token, args, report):
    project = server.boot["project_id"]
    n = args.probe_count
    stop, ready = mp.Event(), mp.Event()
    manager = mp.Manager()
    ports = manager.list()
    kinds = ["tcp", "tcp", "pg", "mysql"]
    lst = mp.Process(target=serve_listeners, args=(kinds, ports, ready, stop), daemon=True)
    lst.start()
    if not ready.wait(10):
        raise SystemExit("probe listeners did not start")
    open_targets = [("ORACLE", ports[0]), ("SQLSERVER", ports[1]), ("POSTGRESQL", ports[2]), ("MYSQL", ports[3])]
    closed = [("MYSQL", p) for p in closed_ports(8)] + [("POSTGRESQL", p) for p in closed_ports(4)] + \
             [("ORACLE", p) for p in closed_ports(4)]
    rng = random.Random(7)
    targets, truth = [], {}
    for i in range(n):
        if i % 5 < 2:  # 40 % open
            targets.append(open_targets[rng.randrange(len(open_targets))])
        else:
            targets.append(closed[rng.randrange(len(closed))])
    inst = create_instance(server, token, "bench-probe", n)
    _, _, answers = asyncio.run(run_pool(server.addr, add_jobs(server, token, inst, [f"p{i}" for i in range(n)],
                                                               targets), args.connections))
    open_ports = {p for _, p in open_targets}
    for i, data in enumerate(answers):
        truth[json.loads(data)["id"]] = "ACTIVE" if targets[i][1] in open_ports else "ERROR"

    samples, write_samples = manager.list(), manager.list()
    sampler_stop = mp.Event()
    writes_inst = create_instance(server, token, "bench-unrelated-writes", 10)
    samplers = [
        mp.Process(target=sample_unrelated, args=(server.addr, token, samples, sampler_stop, 0.005), daemon=True),
        mp.Process(target=sample_unrelated_write,
                   args=(server.addr, token, project, writes_inst, write_samples, sampler_stop, 0.005), daemon=True),
    ]
    for sampler in samplers:
        sampler.start()
    time.sleep(1.0)  # a baseline second before switching

    switch_path = f"/v3/{project}/audit/{inst}/databases/switch"
    headers = {"X-Auth-Token": token, "Content-Type": "application/json;charset=UTF-8"}
    jobs = [("POST", switch_path, headers, json.dumps({"id": db_id, "status": "ON"}).encode()) for db_id in truth]
    t_switch = time.time()
    elapsed, lat, answers = asyncio.run(run_pool(server.addr, jobs, args.connections, tolerate=True))
    failed = [a for a in answers if isinstance(a, tuple)]
    print(f"switch ON (v3), {args.connections} connections: {n / elapsed:,.0f} req/s, p50 {ms(pct(lat, 50))} ms, "
          f"p99 {ms(pct(lat, 99))} ms")
    if failed:
        codes = sorted({status for status, _ in failed})
        raise SystemExit(f"{len(failed)} of {n} switch calls failed (status {codes}, e.g. {failed[0][1][:200]!r}); "
                         "every switch call must succeed")
    t_switched = time.time()

    list_path = f"/v2/{project}/audit/{inst}/databases?limit=10000"
    converged = None
    deadline = time.time() + args.probe_deadline
    last_wrong = None
    while time.time() < deadline:
        body = json.loads(call(server, "GET", list_path, token)[0])
        wrong = sum(1 for item in body["databases"]
                    if truth[item["database"]["id"]] != item["database"]["audit_status"])
        if wrong == 0:
            converged = time.time()
            break
        last_wrong = wrong
        time.sleep(args.poll)
    if converged is None:
        sampler_stop.set()
        stop.set()
        raise SystemExit(f"{last_wrong} of {n} databases not in their true state after {args.probe_deadline}s")
    # keep sampling through re-probe rounds after convergence
    time.sleep(2 * args.probe_interval)
    t_end = time.time()
    sampler_stop.set()
    for sampler in samplers:
        sampler.join(30)
    # still true after the re-probe rounds (the listeners are still up)
    body = json.loads(call(server, "GET", list_path, token)[0])
    wrong_after = [item["database"] for item in body["databases"]
                   if truth[item["database"]["id"]] != item["database"]["audit_status"]]
    stop.set()
    lst.join(10)

    print(f"{n} databases ON ({sum(1 for v in truth.values() if v == 'ACTIVE')} open, "
          f"{sum(1 for v in truth.values() if v == 'ERROR')} closed): every one in its true state "
          f"{converged - t_switch:.2f} s after the first switch ({converged - t_switched:.2f} s after the last)")
    if wrong_after or len(body["databases"]) != n:
        report["misses"].append(f"{len(wrong_after)} of {n} databases not in their true state after "
                                f"2 re-probe rounds (listed {len(body['databases'])}), e.g. {wrong_after[:1]}")
    figures = {}
    for what, got in (("read", list(samples)), ("write", list(write_samples))):
        bad = [s for s in got if s[2] != 200]
        if bad:
            raise SystemExit(f"the unrelated {what} call failed {len(bad)} times: {bad[:3]}")
        call_name = "GET /v3/auth/projects" if what == "read" else "add + delete a database (another instance)"
        base = [lat for t, lat, _, _ in got if t < t_switch]
        during_switch = [lat for t, lat, _, _ in got if t_switch <= t < t_switched]
        probing = [lat for t, lat, _, _ in got if t_switched <= t <= t_end]
        everything = [lat for t, lat, _, _ in got if t >= t_switch]
        for label, values in (("before switching", base), ("during the switch-on calls", during_switch),
                              ("probing only (after the last switch, + 2 re-probe rounds)", probing),
                              ("whole window", everything)):
            if values:
                print(f"  unrelated {what}, {call_name}, {label}: n={len(values)}, p50 {ms(pct(values, 50))} ms, "
                      f"p99 {ms(pct(values, 99))} ms, max {ms(max(values))} ms")
        if not probing:
            raise SystemExit(f"no unrelated {what} call was sampled while probing")
        figures[what] = (pct(probing, 99), pct(everything, 99), pct(base, 99))
        if pct(probing, 99) >= UNRELATED_P99_TARGET:
            report["misses"].append(f"unrelated {what} p99 while probing {ms(pct(probing, 99))} ms >= "
                                    f"{ms(UNRELATED_P99_TARGET)} ms")
    report["probe"] = (n, converged - t_switch, converged - t_switched, n / elapsed, figures)
    manager.shutdown()


def run_once(args, label, database_url):
    print(f"== {label}")
    root = Path(tempfile.mkdtemp(prefix="pbbench-dbss-"))
    config = ("[network]\nprobe_allow = [\"127.0.0.0/8\"]\n\n[dbss]\n"
              f"probe_interval_seconds = {args.probe_interval}\nprobe_timeout_ms = {args.probe_timeout_ms}\n")
    server = Server(args.binary, root, database_url, config).start()
    report = {"misses": []}
    try:
        token = get_token(server)
        if not args.skip_paging:
            scenario_paging_and_add_rate(server, token, args, report)
        if not args.skip_probing:
            scenario_probing(server, token, args, report)
        print(f"server RSS at the end: {server.rss_mib():.1f} MiB")
    except BaseException:
        print(f"server log tail ({root / 'server.log'} is kept):\n{server.log_tail()}", file=sys.stderr)
        server.stop()
        raise
    server.stop()
    shutil.rmtree(root, ignore_errors=True)
    return report


def markdown(label, report):
    lines = []
    if "add" in report:
        rate, p50, p99, n = report["add"]
        lines.append(f"| {label} | add, 64 connections (first {n:,}) | {rate:,.0f} req/s | p50 {ms(p50)} ms, "
                     f"p99 {ms(p99)} ms |")
    if "paging" in report:
        for name, n, off, l2, l1 in report["paging"]:
            lines.append(f"| {label} | list v2 limit=100, {n:,} databases | {ms(statistics.median(l2))} ms | "
                         f"p99 {ms(pct(l2, 99))} ms |")
            lines.append(f"| {label} | list v1 limit=100 offset={off:,}, {n:,} databases | "
                         f"{ms(statistics.median(l1))} ms | p99 {ms(pct(l1, 99))} ms |")
        r2, r1 = report["paging_ratio"]
        lines.append(f"| {label} | ratio big/small (v2 first page / v1 deep offset) | **{r2:.2f}** / {r1:.2f} | "
                     f"target ≤ {PAGING_RATIO_TARGET} (first page) |")
    if "probe" in report:
        n, conv, conv_after, switch_rate, figures = report["probe"]
        lines.append(f"| {label} | {n:,} ON → all true | **{conv:.2f} s** ({conv_after:.2f} s after the last switch) | "
                     f"switch-on {switch_rate:,.0f} req/s, no errors |")
        for what, call_name in (("read", "`GET /v3/auth/projects`"),
                                ("write", "add + delete a database in another instance")):
            p99_probe, p99_all, p99_base = figures[what]
            lines.append(f"| {label} | unrelated {what} p99 while probing ({call_name}) | **{ms(p99_probe)} ms** | "
                         f"whole window {ms(p99_all)} ms, before {ms(p99_base)} ms; target < "
                         f"{ms(UNRELATED_P99_TARGET)} ms |")
    for miss in report.get("misses", []):
        lines.append(f"| {label} | **target missed** | {miss} | |")
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default=str(REPO / "target" / "release" / "plugboard"))
    ap.add_argument("--build", action="store_true", help="cargo build --release -p plugboard first")
    ap.add_argument("--database-url", help="also run on this (empty) PostgreSQL database")
    ap.add_argument("--postgres", action="store_true",
                    help="also run on a fresh PostgreSQL database created (and dropped) with psql via "
                         "PLUGBOARD_TEST_PG_ADMIN_URL (default %s)" % DEFAULT_PG_ADMIN)
    ap.add_argument("--skip-sqlite", action="store_true")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--small", type=int, default=100)
    ap.add_argument("--big", type=int, default=100_000)
    ap.add_argument("--rate-sample", type=int, default=10_000)
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--probe-count", type=int, default=10_000)
    ap.add_argument("--probe-interval", type=int, default=5, help="[dbss] probe_interval_seconds")
    ap.add_argument("--probe-timeout-ms", type=int, default=1000)
    ap.add_argument("--probe-deadline", type=float, default=120.0)
    ap.add_argument("--poll", type=float, default=0.5, help="seconds between list polls while converging")
    ap.add_argument("--skip-paging", action="store_true")
    ap.add_argument("--skip-probing", action="store_true")
    args = ap.parse_args()

    if args.build:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "plugboard"], cwd=REPO, check=True)
    if not os.access(args.binary, os.X_OK):
        raise SystemExit(f"no binary at {args.binary}: cargo build --release -p plugboard (or --build)")
    print(f"binary {args.binary}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}")

    results = []
    if not args.skip_sqlite:
        results.append(("SQLite", run_once(args, "SQLite", None)))
    pg_admin, pg_db = None, None
    urls = []
    if args.database_url:
        urls.append(args.database_url)
    if args.postgres:
        pg_admin = os.environ.get("PLUGBOARD_TEST_PG_ADMIN_URL", DEFAULT_PG_ADMIN)
        pg_db = f"pbbench_dbss_{int(time.time())}"
        subprocess.run(["psql", pg_admin, "-qXc", f"CREATE DATABASE {pg_db}"], check=True)
        parts = urlsplit(pg_admin)
        urls.append(urlunsplit((parts.scheme, parts.netloc, "/" + pg_db, parts.query, parts.fragment)))
    try:
        for url in urls:
            print()
            results.append(("PostgreSQL", run_once(args, "PostgreSQL", url)))
    finally:
        if pg_db:
            subprocess.run(["psql", pg_admin, "-qXc", f"DROP DATABASE IF EXISTS {pg_db} WITH (FORCE)"],
                           check=False, capture_output=True)

    print("\nmarkdown rows (docs/benchmarks.md):")
    print("| store | figure | value | detail |")
    print("|---|---|---|---|")
    for label, report in results:
        for line in markdown(label, report):
            print(line)
    misses = [f"{label}: {miss}" for label, report in results for miss in report["misses"]]
    if misses:
        print("\ntargets missed:\n  " + "\n  ".join(misses), file=sys.stderr)
        return 1
    print("\nevery target met")
    return 0


if __name__ == "__main__":
    sys.exit(main())

