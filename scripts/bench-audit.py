#!/usr/bin/env python3
"""The DBSS audit benchmark of docs/benchmarks.md (standard library only; no venv needed).

Starts the given plugboard binary (`cargo build --release -p plugboard`, or --build) on a fresh
data directory — SQLite, then a fresh PostgreSQL database when --postgres is given — and
measures, each figure printed beside a baseline of the same run:

  ingest   log lines on disk → statements listable, through a real `plugboard dbss-agent` and the
           server, the rules on: --statements (300,000) pgaudit jsonlog lines (an AUDIT line and a
           `duration:` line each, 16 interleaved sessions, 1 % of them SQL injections the shipped
           rules flag) written before the agent starts; statements/s from the agent's start until
           ListAuditSqlsNew's `total` reaches them all; then a second agent with a fresh state
           directory re-reads the same log (a fresh state directory numbers its events above the
           first's, so it stores them all again, into a table already holding them). Printed as
           ratios to the goal (30,000 statements/s).
  list     ListAuditSqlsNew p50/p99 (--samples, one keep-alive connection, admin token) for
           filtered first pages with --list-rows (10,000,000) statements of one instance stored
           over the last 20 hours, loaded straight into the store's tables (benchmark only).
           Baseline: GET /healthz over the same connection. On PostgreSQL the plans of the
           filtered page and count are printed (EXPLAIN) to show the indexes in use.
  pgbench  (--pgbench) TPS of pgbench (tpcb-like, --pgbench-seconds per run, 4 clients) on a private
           PostgreSQL 15 cluster (scripts/audit-capture.sh pg-start: initdb in a temporary
           directory, a free port, pgaudit writing jsonlog): no auditing, pgaudit alone, pgaudit
           with the agent shipping to the server (run as the download's systemd unit runs it:
           SCHED_IDLE, idle I/O). The server runs on another machine in a deployment: with
           --cpus split (the default) the database host is CPU 0 (cluster, pgbench, agent) and
           the server CPU 1 in every mode; with --cpus shared all share both CPUs and the server
           runs under --server-sched (SCHED_IDLE and idle I/O by default);
           --pgbench-rounds interleaved rounds, medians and spread; ratios
           agent/pgaudit (goal ≥ 0.95) and pgaudit/none; after each agent run, how long until
           every event of its log is stored, and whether each was stored exactly once.

    cargo build --release -p plugboard
    python3 scripts/bench-audit.py --postgres --pgbench
    python3 scripts/bench-audit.py --statements 30000 --list-rows 100000   # a quick check
    python3 scripts/bench-audit.py --only list --list-data /tmp/d10m   # load once, list again later
"""

import argparse
import shlex
import asyncio
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_audit_common import REPO, Target, bd, cpu_seconds, pct, pg_backend_cpu, psql, stop  # noqa: E402
from bench_audit_pgbench import PGBENCH_RATIO_TARGET, scenario_pgbench  # noqa: E402

INGEST_TARGET = 30_000  # statements/s

# -- ingest ------------------------------------------------------------------------------------------------
def write_log(path, n):
    """n pgaudit statements as PostgreSQL 15 writes them to jsonlog (AUDIT + duration lines), all
    at the time of writing; returns that time."""
    at = datetime.now(timezone.utc)
    now = at.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"
    rnd = random.Random(7)
    with open(path, "w") as f:
        for i in range(n):
            session = f"6630f2a1.{i % 16:x}"
            r = rnd.random()
            if r < 0.01:
                cls, cmd, stmt = "READ", "SELECT", f"select * from account where name = '' or 1=1 /* {i} */"
            elif r < 0.80:
                cls, cmd, stmt = "READ", "SELECT", f"select id, name, balance from account where id = {i}"
            elif r < 0.95:
                cls, cmd, stmt = "WRITE", "UPDATE", f"update account set balance = balance + 1 where id = {i}"
            else:
                cls, cmd, stmt = "WRITE", "INSERT", f"insert into history (id, note) values ({i}, 'x')"
            msg = "AUDIT: SESSION,%d,1,%s,%s,TABLE,public.account,%s,<not logged>,1" % (
                i // 16 + 1, cls, cmd, '"' + stmt.replace('"', '""') + '"')
            base = {"timestamp": now, "user": "app", "dbname": "orders", "pid": 4000 + i % 16,
                    "remote_host": "10.0.0.7", "remote_port": 50000 + i % 16, "session_id": session,
                    "line_num": i, "ps": cmd, "error_severity": "LOG", "application_name": "bench",
                    "backend_type": "client backend"}
            # As PostgreSQL writes them: no spaces between the tokens.
            f.write(json.dumps(dict(base, message=msg), separators=(",", ":")) + "\n")
            f.write(json.dumps(dict(base, message="duration: 0.%03d ms" % (i % 1000)), separators=(",", ":")) + "\n")
    return at


def whole_minutes(at):
    """A ListAuditSqlsNew body whose window is whole minutes around `at` (from an hour before its
    minute to the start of the minute after it): its `total` is summed from the per-minute counts
    kept with the statements, not counted row by row in a partial minute at the window's end."""
    minute = at.replace(second=0, microsecond=0)
    fmt = "%Y-%m-%d %H:%M:%S"
    return {"time": {"start_time": (minute - timedelta(hours=1)).strftime(fmt),
                     "end_time": (minute + timedelta(minutes=1)).strftime(fmt)}, "size": 1}


def scenario_ingest(server, token, args, work, report, database_url=None):
    # The largest edition: its QPS budget (30,000 statements/s, a 10 s burst) is the goal's, so
    # the agent is not told to slow down below it (an instance with a smaller budget would be:
    # `throttled`, as the edition says).
    target = Target(server, token, "ingest", edition="advanced")
    log_dir = work / "pglog"
    log_dir.mkdir()
    at = write_log(log_dir / "postgresql-1.json", args.statements)
    # What each poll asks (--poll-window): `minutes` (whole minutes around the log's time, the
    # total summed from the per-minute counts that commit with the statements) or `day` (the
    # last DAY: while the statements' minute is the window's last, partial one, each poll
    # counts their rows one by one — a cost of the poll that grows with the rows ingested).
    body = whole_minutes(at) if args.poll_window == "minutes" else None
    n = args.statements
    runs = {}
    for label, root in (("ingest", work / "agent-1"), ("second pass", work / "agent-2")):
        before = target.total(body)
        server_cpu0 = cpu_seconds(server.proc.pid)
        pg_cpu0 = pg_backend_cpu(database_url)
        polls = 0
        t0 = time.perf_counter()
        proc = target.agent(args.binary, root, log_dir, args.agent_tuning, prefix=shlex.split(args.agent_wrap))
        try:
            # A fresh state directory numbers every event above the earlier ones (docs), so the
            # second agent's re-read stores a second copy: the same work as the first, all rows
            # new. Polled every --poll seconds: each poll counts every stored statement of the
            # window, which is work the server does besides ingest.
            while True:
                polls += 1
                got = target.total(body)
                if got >= before + n:
                    break
                if proc.poll() is not None or time.perf_counter() - t0 > args.ingest_timeout:
                    raise SystemExit(f"the {label} agent stopped or timed out at {got - before} of {n}:\n"
                                     + (root / "agent.log").read_text(errors="replace")[-2000:])
                time.sleep(args.poll)
            elapsed = time.perf_counter() - t0
            agent_cpu = cpu_seconds(proc.pid)
            server_cpu = cpu_seconds(server.proc.pid) - server_cpu0
            pg_cpu = sum(v - pg_cpu0.get(p, 0.0) for p, v in pg_backend_cpu(database_url).items())
        finally:
            stop(proc)
        runs[label] = n / elapsed
        report.setdefault("ingest_cpu", {})[label] = (agent_cpu, server_cpu, pg_cpu, elapsed)
        print(f"  {label}: {n} statements in {elapsed:.2f} s = {n / elapsed:,.0f} statements/s "
              f"(CPU: agent {agent_cpu:.2f} s, server {server_cpu:.2f} s"
              + (f", PostgreSQL backends {pg_cpu:.2f} s" if database_url else "") + f"; {polls} polls ({args.poll_window}); "
              f"load average {os.getloadavg()[0]:.2f})", flush=True)
    report["ingest"] = runs["ingest"]
    report["ingest_second"] = runs["second pass"]


# -- list with many stored statements ----------------------------------------------------------------------
ROW_SQL = """
SELECT {id} AS id, '{inst}' AS instance_id, '{db}' AS db_id, 'benchagent000000' AS agent_id, i AS seq,
  {now} - (i * {span} / {n}) AS start_time, i % 1000 AS execute_time,
  '10.0.' || (i % 4) || '.' || (i % 200) AS client_ip, 50000 + i % 1000 AS client_port, 'bench' AS client_name,
  'user' || (i % 50) AS db_user, 'orders' AS db_service_name, 's' || (i % 5000) AS db_session_id,
  '' || i AS query_id,
  CASE WHEN i % 10 < 7 THEN 'SELECT' WHEN i % 10 < 9 THEN 'UPDATE' ELSE 'DELETE' END AS query_type,
  '[]' AS objects, 'public.account' AS object_name, 'TABLE' AS object_type, 'public' AS schema_name,
  'select * from t' || (i % 1000) || ' where id = ' || i AS sql_statement,
  'select * from t' || (i % 1000) || ' where id = ' || i AS sql_lower,
  '1' AS lines, '' AS log_result, '0' AS response_status, 'SUCCESS' AS sql_response, '' AS sql_result,
  CASE WHEN i % 100 = 0 THEN 'HIGH' WHEN i % 100 < 3 THEN 'MEDIUM' WHEN i % 100 < 6 THEN 'LOW' ELSE 'NO_RISK' END
    AS risk_level,
  CASE WHEN i % 100 = 0 THEN 'r' ELSE '' END AS rule_id,
  CASE WHEN i % 100 = 0 THEN 'SQL_Injection_Tautology' ELSE '' END AS rule_name,
  CASE WHEN i % 100 = 0 THEN 'SQL_INJECTION' ELSE '' END AS rule_type,
  '' AS scope_id, '' AS scope_name, {now} AS created_at
"""
SPAN = 20 * 3600 * 1_000_000  # the statements' times: the last 20 hours


LOAD_CHUNK = 1_000_000  # rows per transaction of the load


def counts_sql(rows, minute, day):
    """The per-minute and per-day counts of `rows` (a row source) added to the store's, as ingest
    keeps them; `minute` and `day` are the back-end's floor divisions of start_time."""
    return (f"INSERT INTO dbss_sql_minutes SELECT instance_id, {minute}, db_id, risk_level, query_type, "
            f"sql_response, rule_name, client_name, COUNT(*) FROM {rows} GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 "
            "ON CONFLICT (instance_id, minute, db_id, risk_level, query_type, sql_response, rule_name, client_name) "
            "DO UPDATE SET stored = dbss_sql_minutes.stored + excluded.stored; "
            f"INSERT INTO dbss_sql_days SELECT instance_id, {day}, COUNT(*) FROM {rows} GROUP BY 1, 2 "
            "ON CONFLICT (instance_id, day) DO UPDATE SET stored = dbss_sql_days.stored + excluded.stored")


def bulk_load(server, target, n, database_url):
    """n statements straight into the store's tables, fast enough for 10 million in minutes.

    The statements table's secondary indexes (whatever the migrations made: the list indexes and
    the text index) are dropped first and made again after the load, from their own definitions,
    so each is built once by sorting instead of row by row; on SQLite the FTS5 triggers are
    dropped the same way and the text index is rebuilt from the table. The primary key and the
    `(agent, db, seq)` key stay (the rows arrive in their order). The rows go in 1,000,000 per
    transaction, each with its minute and day counts (computed from the same generator, not read
    back). The end state is what ingest would have left: the same rows, indexes, minute and day
    counts. PostgreSQL is then vacuumed and analysed (what autovacuum does after a load); SQLite is
    not analysed (plugboard never runs ANALYZE there)."""
    now = int(time.time() * 1_000_000)
    fmt = dict(inst=target.instance, db=target.db_id, now=now, span=SPAN, n=n)
    t0 = time.perf_counter()
    chunks = [(lo, min(lo + LOAD_CHUNK - 1, n)) for lo in range(1, n + 1, LOAD_CHUNK)]
    if database_url:
        # Secondary indexes only (not those behind the primary key and unique constraints);
        # a partitioned table's index definition reads `ON ONLY`, which would skip the partitions.
        defs = psql(database_url, "SELECT c.relname || '|' || pg_get_indexdef(i.indexrelid) FROM pg_index i "
                                  "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'dbss_sqls'::regclass "
                                  "AND i.indexrelid NOT IN (SELECT conindid FROM pg_constraint "
                                  "WHERE conrelid = 'dbss_sqls'::regclass)").splitlines()
        defs = [d.split("|", 1) for d in defs if d]
        for name, _ in defs:
            psql(database_url, f'DROP INDEX "{name}"')
        for lo, hi in chunks:
            rows = "(" + ROW_SQL.format(id="lpad(i::text, 20, '0')", **fmt) + \
                f" FROM generate_series({lo}, {hi}) AS i) AS s"
            psql(database_url, f"BEGIN; INSERT INTO dbss_sqls SELECT * FROM {rows}; " + counts_sql(
                rows, "FLOOR(start_time::numeric / 60000000)::bigint", "FLOOR(start_time::numeric / 86400000000)"
                "::bigint") + "; COMMIT")
        t_rows = time.perf_counter()
        for _, sql in defs:
            psql(database_url, "SET maintenance_work_mem = '512MB'; " + sql.replace(" ON ONLY ", " ON "))
        t_index = time.perf_counter()
        psql(database_url, "VACUUM ANALYZE dbss_sqls")
    else:
        # The server is stopped meanwhile: the file is the loader's alone, so it is written without
        # a journal (each page once, not once into the WAL and again at the checkpoint), then put
        # back in WAL mode as the server keeps it.
        server.stop()
        db = sqlite3.connect(server.data / "plugboard.db", timeout=60, isolation_level=None)
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA locking_mode = EXCLUSIVE")
        db.execute("PRAGMA cache_size = -1048576")  # 1 GiB
        db.execute("PRAGMA threads = 2")
        defs = db.execute("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'dbss_sqls' AND sql IS NOT NULL "
                          "AND type IN ('index', 'trigger')").fetchall()
        fts = db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'dbss_sqls_fts'").fetchone()[0]
        db.execute("BEGIN IMMEDIATE")
        for kind, name, _ in defs:
            db.execute(f'DROP {kind.upper()} "{name}"')
        db.execute("COMMIT")
        for lo, hi in chunks:
            db.execute("BEGIN IMMEDIATE")
            rows = (f"(WITH RECURSIVE s(i) AS (SELECT {lo} UNION ALL SELECT i + 1 FROM s WHERE i < {hi}) "
                    + ROW_SQL.format(id="printf('%020d', i)", **fmt) + " FROM s)")
            db.execute(f"INSERT INTO dbss_sqls SELECT * FROM {rows}")
            for stmt in counts_sql(rows, "start_time / 60000000", "start_time / 86400000000").split("; "):
                db.execute(stmt)
            db.execute("COMMIT")
        t_rows = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        for _, _, sql in defs:
            db.execute(sql)
        if fts:
            db.execute("INSERT INTO dbss_sqls_fts (dbss_sqls_fts) VALUES ('rebuild')")
        db.execute("COMMIT")
        t_index = time.perf_counter()
        # No ANALYZE: plugboard never runs one on its SQLite file, so the plans measured are the
        # plans a deployment gets.
        db.execute("PRAGMA locking_mode = NORMAL")
        db.execute("PRAGMA journal_mode = WAL")
        db.close()
        server.start()
    t1 = time.perf_counter()
    print(f"  load: rows and their counts {t_rows - t0:.1f} s, indexes {t_index - t_rows:.1f} s, "
          f"then {t1 - t_index:.1f} s", flush=True)
    return t1 - t0


LIST_CASES = [
    ("risk_levels HIGH (1 %)", {"risk_levels": "HIGH"}),
    ("db_user (2 %)", {"db_user": "user7"}),
    ("client_ip (0.5 %)", {"client_ip": "10.0.1.9"}),
    ("query_type DELETE (10 %)", {"query_type": "DELETE"}),
    ("rule_name + HIGH (1 %)", {"rule_name": "SQL_Injection_Tautology", "risk_levels": "HIGH"}),
    ("HALF_HOUR, no filter", {"time": {"time_range": "HALF_HOUR"}}),
    ("sql_statement substring (0.1 %)", {"sql_statement": "from t7 where"}),
    ("sql_statement substring (0.01 %)", {"sql_statement": "where id = 4242"}),
    ("risk_levels HIGH,MEDIUM (3 %)", {"risk_levels": "HIGH,MEDIUM"}),
    ("sql_response FAILED (none)", {"sql_response": "FAILED"}),
    ("client_name (all)", {"client_name": "bench"}),
    ("DAY, no filter (every row counted)", {}),
]


def scenario_list(server, token, args, report, database_url):
    # --list-data: the loaded statements are kept with the server's data directory (and its
    # PostgreSQL database) and listed again by the next run with the same --list-rows, for up to
    # 4 hours after the load (the rows span the load's last 20 hours; the window is the last DAY).
    state = server.root / "list.json"
    kept = json.loads(state.read_text()) if args.list_data and state.is_file() else None
    if kept and (kept["rows"] != args.list_rows or time.time() - kept["loaded_at"] > 4 * 3600):
        raise SystemExit(f"{server.root} holds {kept['rows']:,} statements loaded at "
                         f"{time.ctime(kept['loaded_at'])}: remove it to load again")
    target = Target(server, token, "list", kept=kept)
    if kept:
        print(f"  reusing the {args.list_rows:,} statements loaded at {time.ctime(kept['loaded_at'])}", flush=True)
    else:
        took = bulk_load(server, target, args.list_rows, database_url)
        print(f"  loaded {args.list_rows:,} statements in {took:.1f} s (load average {os.getloadavg()[0]:.2f})",
              flush=True)
        if not database_url:
            token = target.token = bd.get_token(server)  # the server was restarted
        if args.list_data:
            state.write_text(json.dumps({"rows": args.list_rows, "loaded_at": time.time(), "instance": target.instance,
                                         "db_id": target.db_id, "agent_id": target.agent_id}))
    assert target.total() == args.list_rows, target.total()
    path = f"/v2/{target.project}/audit/{target.instance}/sqls"
    hdr = {"X-Auth-Token": token, "Content-Type": "application/json"}
    rows = []

    async def measure():
        conn = bd.Conn(*server.addr)
        try:
            async def sample(method, p, body):
                lat = []
                for _ in range(args.samples):
                    t0 = time.perf_counter()
                    status, data = await conn.request(method, p, hdr if body else {}, body)
                    lat.append(time.perf_counter() - t0)
                    if status != 200:
                        raise SystemExit(f"{p} answered {status}: {data[:300]!r}")
                return lat
            base = await sample("GET", "/healthz", b"")
            rows.append(("GET /healthz (baseline)", base, None))
            for label, filt in LIST_CASES:
                if args.list_cases and not any(c in label for c in args.list_cases.split(",")):
                    continue
                body = dict({"time": {"time_range": "DAY"}, "page": 1, "size": 10}, **filt)
                lat = await sample("POST", path, json.dumps(body).encode())
                rows.append((label, lat, None))
        finally:
            conn.close()
    asyncio.run(measure())
    for label, lat, _ in rows:
        print(f"  {label:<40} p50 {bd.ms(pct(lat, 50))} ms  p99 {bd.ms(pct(lat, 99))} ms", flush=True)
    report["list"] = [(label, pct(lat, 50), pct(lat, 99)) for label, lat, _ in rows]
    if database_url:
        now = int(time.time() * 1_000_000)
        for what, sql in [
            ("page, risk_levels HIGH", f"SELECT id FROM dbss_sqls WHERE instance_id = '{target.instance}' AND "
             f"start_time >= {now - 86400_000_000} AND start_time <= {now} AND risk_level IN ('HIGH') "
             "ORDER BY start_time DESC, seq DESC, id DESC LIMIT 10 OFFSET 0"),
            ("count, risk_levels HIGH", f"SELECT COUNT(*) FROM dbss_sqls WHERE instance_id = '{target.instance}' "
             f"AND start_time >= {now - 86400_000_000} AND start_time <= {now} AND risk_level IN ('HIGH')"),
        ]:
            plan = psql(database_url, "EXPLAIN " + sql)
            used = sorted({w for w in plan.split() if w.startswith("dbss_sqls_") and "_risk" in w
                           or w.endswith("risk_level_start_time_idx")})
            print(f"  EXPLAIN {what}: {'uses ' + ', '.join(used) if used else 'NO risk index'}")
            report.setdefault("explain", []).append((what, plan))


# -- driver ------------------------------------------------------------------------------------------------
def run_once(args, label, database_url):
    kept = args.list_data is not None and args.only == "list"
    work = args.list_data / label.lower() if kept else Path(tempfile.mkdtemp(prefix="pb-bench-audit-",
                                                                               dir=args.work_dir))
    report = {}
    server = bd.Server(args.binary, work / "server", database_url,
                       config="[dbss]\nstorage_interval_seconds = 3600\n").start()
    try:
        token = bd.get_token(server)
        print(f"== {label}", flush=True)
        if "ingest" in args.only:
            scenario_ingest(server, token, args, work, report, database_url)
        if "list" in args.only:
            scenario_list(server, token, args, report, database_url)
        if args.pgbench and "pgbench" in args.only:
            scenario_pgbench(server, token, args, work, report)
    finally:
        server.stop()
        if not args.keep and not kept:
            shutil.rmtree(work, ignore_errors=True)
    return report


def markdown(label, report):
    out = [f"### {label}", ""]
    if "ingest" in report:
        out += ["| ingest (agent → server → listable) | statements/s | vs the goal |", "|---|---|---|",
                f"| first pass | {report['ingest']:,.0f} | {report['ingest'] / INGEST_TARGET:.2f}× |",
                f"| second pass (the same log again, n rows already stored) | {report['ingest_second']:,.0f} | "
                f"{report['ingest_second'] / INGEST_TARGET:.2f}× |", ""]
        out += [f"CPU seconds ({k}): agent {a:.2f}, server {s:.2f}, PostgreSQL backends {p:.2f}, over {e:.2f} s"
                for k, (a, s, p, e) in report.get("ingest_cpu", {}).items()] + [""]
    if "list" in report:
        base = report["list"][0][1]
        out += ["| ListAuditSqlsNew, first page of 10, DAY window | p50 ms | p99 ms | p50 / baseline |",
                "|---|---|---|---|"]
        out += [f"| {k} | {bd.ms(p50)} | {bd.ms(p99)} | {p50 / base:.1f}× |" for k, p50, p99 in report["list"]]
        out.append("")
    if "pgbench" in report:
        t, runs = report["pgbench"], report["pgbench_runs"]
        spread = {k: f"{min(v):,.0f}–{max(v):,.0f}" for k, v in runs.items()}
        r = report["pgbench_ratios"]
        n = len(runs["none"])
        out += [f"| pgbench | TPS (median of {n}) | runs (min–max) | ratio of medians |", "|---|---|---|---|",
                f"| no auditing | {t['none']:,.0f} | {spread['none']} | 1.00 |",
                f"| pgaudit alone | {t['pgaudit']:,.0f} | {spread['pgaudit']} | "
                f"{t['pgaudit'] / t['none']:.2f} vs none |",
                f"| pgaudit + agent{' (plugboard elsewhere: stand-in)' if report.get('pgbench_elsewhere') else ''} "
                f"| {t['pgaudit + agent']:,.0f} | {spread['pgaudit + agent']} | "
                f"**{t['pgaudit + agent'] / t['pgaudit']:.2f}** vs pgaudit (goal ≥ {PGBENCH_RATIO_TARGET}) |"]
        if "pgaudit + burner" in t:
            out += [f"| pgaudit + memory burner on CPU 1 | {t['pgaudit + burner']:,.0f} | {spread['pgaudit + burner']} | "
                    f"{t['pgaudit + burner'] / t['pgaudit']:.2f} vs pgaudit |"]
        out += ["",
                f"agent/pgaudit per round: {', '.join(f'{x:.2f}' for x in r)} (median {statistics.median(r):.2f}); "
                f"caught up after pgbench ended in {', '.join(f'{x:.1f}' for x in report['pgbench_lag'])} s; "
                f"every event {'received by the stand-in' if report.get('pgbench_elsewhere') else 'stored'} exactly once: "
                f"{'yes' if report['pgbench_exact'] else 'NO'}", ""]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", type=Path, default=REPO / "target" / "release" / "plugboard")
    ap.add_argument("--build", action="store_true", help="cargo build --release -p plugboard first")
    ap.add_argument("--postgres", action="store_true", help="then again on a fresh PostgreSQL database")
    ap.add_argument("--pg-admin-url", default=os.environ.get("PLUGBOARD_TEST_PG_ADMIN_URL", bd.DEFAULT_PG_ADMIN))
    ap.add_argument("--statements", type=int, default=300_000)
    ap.add_argument("--ingest-timeout", type=float, default=300)
    ap.add_argument("--poll", type=float, default=0.25, help="seconds between ListAuditSqlsNew polls (ingest)")
    ap.add_argument("--poll-window", choices=("minutes", "day"), default="day",
                    help="the polls' window (ingest): whole minutes around the log's time, or the last DAY")
    ap.add_argument("--work-dir", type=Path, default=None,
                    help="where the server's data and the agents' state go (default: the system's temporary "
                         "directory; /dev/shm keeps the server's writes off the database's disk)")
    ap.add_argument("--agent-wrap", default="",
                    help="a command the agents run under, e.g. 'perf record -g -o agent.perf --' (a profile)")
    ap.add_argument("--agent-tuning", default="", help="extra agent.toml lines, e.g. 'in_flight = 1'")
    ap.add_argument("--list-rows", type=int, default=10_000_000)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--pgbench", action="store_true", help="also the pgbench scenario (its own cluster)")
    ap.add_argument("--pgbench-seconds", type=int, default=15)
    ap.add_argument("--pgbench-rounds", type=int, default=3, help="interleaved rounds of the three modes")
    ap.add_argument("--agent-sched", choices=["unit", "nice", "normal"], default="unit",
                    help="how the agent runs in the pgbench scenario: as the download's systemd unit runs it "
                         "(SCHED_IDLE, idle I/O class), under nice --agent-nice, or as a plain process")
    ap.add_argument("--agent-nice", type=int, default=10, help="the niceness of --agent-sched nice")
    ap.add_argument("--server-sched", choices=["idle", "normal"], default="idle",
                    help="the server's CPU policy during the pgbench scenario (idle: it stands for a server on "
                         "another machine)")
    ap.add_argument("--cpus", choices=["split", "shared"], default="split",
                    help="pgbench scenario: split = the database host (cluster, pgbench, agent) on CPU 0 and the "
                         "server on CPU 1, as two machines; shared = everything on both CPUs, the server under "
                         "--server-sched")
    ap.add_argument("--agent-cpu-threshold", type=int, default=80,
                    help="pgbench scenario: the agent's cpu_threshold (80, AddAuditAgent's default; 100: never pause)")
    ap.add_argument("--plugboard-at", choices=["cpu1", "elsewhere"], default="cpu1",
                    help="pgbench: the agent ships to the real server on the other CPU (cpu1), or to a stand-in for "
                         "a server on another machine (scripts/ingest_stand_in.py) that stores nothing")
    ap.add_argument("--calibrate", action="store_true",
                    help="pgbench: a fourth mode, pgaudit with a memory-streaming process on the other CPU")
    ap.add_argument("--agent-cpus", default="0", help="with --cpus split: the agent's CPUs (0: the database host's)")
    ap.add_argument("--catch-up-timeout", type=float, default=180,
                    help="seconds the agent may take after pgbench ends to ship the run's log")
    ap.add_argument("--only", default="ingest,list,pgbench", help="comma list of scenarios")
    ap.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only (with --postgres)")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--list-data", type=Path,
                    help="with --only list: keep the loaded statements in this directory (and, with --postgres, "
                         "its PostgreSQL database) and reuse them in later runs with the same --list-rows")
    ap.add_argument("--list-cases", default="",
                    help="comma list of substrings of the list cases' labels to measure (default: all)")
    args = ap.parse_args()
    if args.build:
        subprocess.run(["cargo", "build", "--release", "-p", "plugboard"], cwd=REPO, check=True)
    args.binary = args.binary.resolve()
    if not args.binary.is_file():
        raise SystemExit(f"no binary at {args.binary}: cargo build --release -p plugboard (or --build)")
    reports = [] if args.no_sqlite else [("SQLite", run_once(args, "SQLite", None))]
    if args.list_data:
        args.list_data = args.list_data.resolve()
        if args.only != "list":
            raise SystemExit("--list-data goes with --only list")
    if args.postgres:
        admin = args.pg_admin_url
        named = args.list_data / "postgres-database" if args.list_data else None
        if named and named.is_file():
            name = named.read_text().strip()
        else:
            name = "pbbench_audit_" + os.urandom(4).hex()
            psql(admin, f"CREATE DATABASE {name}")
            if named:
                named.parent.mkdir(parents=True, exist_ok=True)
                named.write_text(name + "\n")
        url = admin.rsplit("/", 1)[0] + "/" + name
        try:
            args_pg = argparse.Namespace(**vars(args))
            args_pg.pgbench = args.no_sqlite and args.pgbench  # once: the cluster under test is its own
            reports.append(("PostgreSQL", run_once(args_pg, "PostgreSQL", url)))
        finally:
            if not named:
                psql(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    print()
    for label, report in reports:
        print(markdown(label, report))
    missed = [label for label, r in reports if r.get("ingest", INGEST_TARGET) < INGEST_TARGET]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
