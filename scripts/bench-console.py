#!/usr/bin/env python3
"""The web console's page benchmark (docs/console.md; standard library only, no venv).

Starts `plugboard serve` (--binary) on a fresh SQLite data directory, seeds the store with
--instances GaussDB instances (simulated), --jobs ended jobs of the bootstrap project and an
audit instance with --statements captured statements (written straight into the SQLite file:
the set-up, not what is measured), signs in through
the console's form like a browser, then requests every page --requests times, one after the
other on one keep-alive connection, and prints p50/p99 per page and each page's weight (HTML +
the stylesheet + the script, uncompressed), each p50 also as a multiple of the same run's
baseline (`GET /healthz` on the same connection). Exits non-zero when a page answers other than 200,
a p99 reaches --p99-ms (100), or a page weighs --max-kb (150) or more.

    python3 scripts/bench-console.py --binary target/release/plugboard
"""

import argparse
import http.client
import json
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path


def wait_file(path, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.exists() and path.stat().st_size > 0:
            try:
                return json.loads(path.read_text()) if path.suffix == ".json" else path.read_text()
            except ValueError:
                pass
        time.sleep(0.1)
    sys.exit(f"{path} not written within {timeout}s")


def seed(db, project, instances, jobs):
    con = sqlite3.connect(db, timeout=30)
    now = int(time.time() * 1_000_000)
    con.executemany(
        "INSERT INTO gaussdb_instances (id, project_id, name, host, port, db_user, password_sealed,"
        " database_name, install_mode, version, pg_major, status, created_at, updated_at)"
        " VALUES (?, ?, ?, '127.0.0.1', 5432, 'postgres', '', 'postgres', 'simulated', '15.19', 15,"
        " 'ACTIVE', ?, ?)",
        [(f"{i:032x}in14", project, f"bench-{i:05d}", now + i, now + i) for i in range(instances)])
    steps = json.dumps([{"name": s, "status": "done", "started_at": now, "ended_at": now, "message": "ok"}
                        for s in ("download", "unpack", "install", "check")])
    con.executemany(
        "INSERT INTO jobs (id, project_id, kind, target, target_name, status, progress, current_step,"
        " steps, input, fail_reason, created_at, updated_at, ended_at)"
        " VALUES (?, ?, 'InstallKernelPlugin', ?, ?, ?, 100, 4, ?, '{}', ?, ?, ?, ?)",
        [(f"{i:08x}-0000-4000-8000-000000000000", project, f"gaussdb:{i % max(instances, 1):032x}in14",
          f"bench-{i % max(instances, 1):05d}", "failed" if i % 10 == 0 else "completed", steps,
          "bench failure" if i % 10 == 0 else "", now - i, now - i, now - i) for i in range(jobs)])
    con.commit()
    con.close()


AUDIT = f"{1:032x}"
AUDIT_DB = "benchdb0000000000000"


def seed_audit(db, project, statements):
    """One audit instance with one database and `statements` captured statements of the last
    hour (one in ten HIGH), as ingest would have stored them."""
    con = sqlite3.connect(db, timeout=30)
    now = int(time.time() * 1_000_000)
    con.execute("INSERT INTO dbss_instances (id, project_id, name, edition, database_limit, database_count,"
                " on_count, status, created_at) VALUES (?, ?, 'bench-audit', 'custom', 10, 1, 1, 'ACTIVE', ?)",
                (AUDIT, project, now))
    con.execute("INSERT INTO dbss_databases (id, instance_id, db_classification, name, type, version, charset,"
                " ip, port, os, status, audit_status, created_at) VALUES (?, ?, 'ECS', 'orders', 'POSTGRESQL',"
                " '15', 'UTF8', '10.0.0.5', '5432', 'LINUX64', 'OFF', 'SHUTOFF', ?)", (AUDIT_DB, AUDIT, now))
    rows = []
    for i in range(statements):
        high = i % 10 == 0
        sql = (f"select * from account where name = '' or 1=1 -- {i}" if high
               else f"select id, name from account where id = {i}")
        rows.append((f"benchsql{i:012d}", AUDIT, AUDIT_DB, "benchagent0000000000", i, now - i * 300_000, 2,
                     "10.0.0.7", 51514, "psql", "app" if i % 3 else "batch", "orders", "s1", str(i), "SELECT",
                     "[]", "account", "TABLE", "public", sql, sql.lower(), "1", "", "0", "SUCCESS", "",
                     "HIGH" if high else "NO_RISK", "", "SQL_Injection_Tautology" if high else "",
                     "SQL_INJECTION" if high else "", "", "", now))
    con.executemany(f"INSERT INTO dbss_sqls VALUES ({', '.join('?' * 33)})", rows)
    con.commit()
    con.close()


class Client:
    def __init__(self, addr):
        host, port = addr.rsplit(":", 1)
        self.conn = http.client.HTTPConnection(host, int(port), timeout=30)
        self.cookies = {}

    def request(self, method, path, form=None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        for value in resp.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return resp.status, data


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default="target/release/plugboard")
    ap.add_argument("--instances", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=10000)
    ap.add_argument("--statements", type=int, default=10000, help="captured DBSS statements")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--p99-ms", type=float, default=100.0)
    ap.add_argument("--max-kb", type=float, default=150.0)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="pb-bench-console-") as tmp:
        data = Path(tmp)
        server = subprocess.Popen([args.binary, "serve", "--data-dir", str(data), "--listen", "127.0.0.1:0"],
                                  stdout=subprocess.DEVNULL, stderr=open(data / "log", "w"))
        try:
            boot = wait_file(data / "bootstrap.json")
            addr = wait_file(data / "listen-addr").strip()
            seed(data / "plugboard.db", boot["project_id"], args.instances, args.jobs)
            seed_audit(data / "plugboard.db", boot["project_id"], args.statements)
            c = Client(addr)
            status, page = c.request("GET", "/console/signin")
            csrf = re.search(rb'name="csrf" value="([0-9a-f]+)"', page).group(1).decode()
            status, _ = c.request("POST", "/console/signin", form={
                "csrf": csrf, "account": boot["domain_name"], "user_name": boot["user_name"],
                "password": boot["password"]})
            if status != 303 or "plugboard_console" not in c.cookies:
                sys.exit(f"sign-in answered {status}")
            pid = boot["project_id"]
            pages = {
                "Overview": "/console/", "GaussDB": "/console/gaussdb",
                "GaussDB (last page)": f"/console/gaussdb?page={max(1, -(-args.instances // 50))}",
                "instance": f"/console/gaussdb/{pid}/{0:032x}in14", "DBSS": "/console/dbss",
                "ServiceStage": "/console/servicestage", "Drivers": "/console/drivers", "Jobs": "/console/jobs",
                "Jobs (failed)": "/console/jobs?family=GaussDB&state=failed",
                "Jobs (last page)": f"/console/jobs?page={max(1, -(-args.jobs // 50))}",
                "job": "/console/jobs/00000001-0000-4000-8000-000000000000", "IAM": "/console/iam",
                "Failures (week)": "/console/activity?window=WEEK",
                "driver": "/console/drivers/" + re.search(rb'href="/console/drivers/([0-9a-f]{32})"',
                                                          c.request("GET", "/console/drivers")[1]).group(1).decode(),
                "audit instance": f"/console/dbss/{pid}/{AUDIT}",
                "audited database": f"/console/dbss/{pid}/{AUDIT}/databases/{AUDIT_DB}",
                "SQL audit log": f"/console/dbss/{pid}/{AUDIT}/audit",
                "audit log (HIGH)": f"/console/dbss/{pid}/{AUDIT}/audit?risk=HIGH",
                "audit log (text)": f"/console/dbss/{pid}/{AUDIT}/audit?range=WEEK&text=or+1%3D1",
                "audit log (page 20)": f"/console/dbss/{pid}/{AUDIT}/audit?range=WEEK&page=20",
                "statement": f"/console/dbss/{pid}/{AUDIT}/audit/benchsql{10:012d}",
                "risk rules": f"/console/dbss/{pid}/{AUDIT}/rules",
                "alarms": f"/console/dbss/{pid}/{AUDIT}/alarms",
            }
            assets = sum(len(c.request("GET", p)[1]) for p in
                         ("/console/assets/console.css", "/console/assets/console.js"))
            failed = False
            print(f"{args.instances} instances, {args.jobs} jobs, {args.statements} statements, "
                  f"{args.requests} requests a page")

            def measure(path):
                times = []
                for _ in range(args.requests):
                    t = time.perf_counter()
                    status, body = c.request("GET", path)
                    times.append((time.perf_counter() - t) * 1000)
                    if status != 200:
                        sys.exit(f"{path} answered {status}")
                times.sort()
                return times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.99))], body

            # The baseline of the same run: GET /healthz on the same connection (no store, no page).
            base50, base99, _ = measure("/healthz")
            print(f"{'page':<22} {'p50 ms':>7} {'p99 ms':>7} {'KB':>6} {'p50 ×base':>10}")
            print(f"{'/healthz (baseline)':<22} {base50:7.2f} {base99:7.2f} {'':>6} {1:10.1f}")
            for name, path in pages.items():
                p50, p99, body = measure(path)
                kb = (len(body) + assets) / 1024
                bad = p99 >= args.p99_ms or kb >= args.max_kb
                failed |= bad
                print(f"{name:<22} {p50:7.1f} {p99:7.1f} {kb:6.1f} {p50 / max(base50, 1e-6):10.1f}"
                      f"{'  <- over' if bad else ''}")
            sys.exit(1 if failed else 0)
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
