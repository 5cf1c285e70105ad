"""The audit agent under stress and refusal (docs/dbss-audit.md → The agent, Ingest): SIGKILL mid-stream
and restart (every statement exactly once), logs rotated under it (pgaudit's logging_collector and
server_audit's own rotation), an agent switched off, deleted, of another instance or with a wrong key
(refused, nothing stored), malformed, oversized, gzip- and LZ4-bomb batches and broken batches of lines
(4xx in DBSS's envelope, nothing stored), a batch of pgaudit lines parsed by plugboard, and statements
with NUL, invalid UTF-8 and 1 MiB of text.

Fixtures: audithelpers.py, dbsshelpers.py.
"""

import gzip
import json
import lz4.frame
import signal
import threading
import time
from datetime import datetime, timezone

import pytest
from huaweicloudsdkdbss.v1 import model as dbss

from sdkhelpers import create_audit_instance, expect_dbss_error, expect_gateway_error, raw_json, signed_call, \
    signed_headers, http, BAD_SIGNATURE
from dbsshelpers import client, pb  # noqa: F401 - fixtures
from audithelpers import (
    add_agent, add_database, agents, list_agents, list_sqls, maria, marker, pgaudit, statements, switch_agent,
    wait_sqls, write_jsonl,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
REFUSED = "DBSS.10020100"
INVALID = "DBSS.10000001"


def ingest_path(pb, instance_id, agent_id):
    return f"/v1/{pb.bootstrap['project_id']}/audit/{instance_id}/agents/{agent_id}/statements"


def event(seq, sql, **extra):
    e = {"seq": seq, "ts": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
         "kind": "QUERY", "session": "s1", "user": "app", "database": "orders", "client_ip": "10.0.0.7",
         "client_port": 5000, "application": "psql", "command": "SELECT", "sql": sql, "result": "SUCCESS"}
    e.update(extra)
    return e


LINES = "application/x-plugboard-audit-lines"


def post_raw(pb, path, body, encoding=None, sk=None, content_type=None):
    url = pb.base_url + path
    headers = {"Content-Encoding": encoding} if encoding else {}
    if content_type:
        headers["Content-Type"] = content_type
    hdrs = signed_headers("POST", url, pb.bootstrap["access_key"], sk or pb.bootstrap["secret_key"], body=body,
                          headers=headers, project_id=pb.bootstrap["project_id"])
    return http("POST", url, headers=hdrs, body=body)


def test_sigkill_mid_stream_and_rotation_ship_every_statement_exactly_once(pb, client, pgaudit, agents):
    instance = create_audit_instance(pb, database_limit=10)["id"]
    db_id = add_database(client, instance, "kill", "POSTGRESQL", pgaudit.port)
    agent = add_agent(client, instance, db_id)
    a = agents(pb, instance, agent["agent_id"], [(db_id, "pgaudit-jsonlog", pgaudit.log_dir)]).start()
    t = marker()
    pgaudit.psql(f"CREATE TABLE {t} (id int)")
    rounds, per_round = 8, 40
    done = threading.Event()

    def load():
        for r in range(rounds):
            pgaudit.psql(*[f"INSERT INTO {t} VALUES ({r * per_round + i})" for i in range(per_round)])
            if r in (2, 5):
                pgaudit.rotate()
        done.set()

    writer = threading.Thread(target=load)
    writer.start()
    kills = 0
    while not done.is_set() or kills < 2:
        time.sleep(0.4)
        a.stop(signal.SIGKILL)
        kills += 1
        time.sleep(0.2)
        a.start()
        if kills >= 6:
            break
    writer.join(120)
    want = rounds * per_round
    raw = wait_sqls(client, instance, want, timeout=30, sql_statement=f"insert into {t} ", size=100)
    assert raw["total"] == want, (raw["total"], a.log())
    # A sentinel after everything: once it is listed, every earlier line was shipped, so a duplicate
    # would be listed by now.
    pgaudit.psql(f"SELECT 'sentinel' FROM {t} LIMIT 1")
    assert wait_sqls(client, instance, 1, sql_statement="'sentinel' from " + t)["total"] == 1, a.log()
    seen = []
    for page in range(1, want // 100 + 2):
        seen += statements(list_sqls(client, instance, sql_statement=f"insert into {t} ", size=100, page=page))
    assert len(seen) == want and len(set(seen)) == want, (len(seen), len(set(seen)))
    assert set(seen) == {f"INSERT INTO {t} VALUES ({i})" for i in range(want)}
    assert a.stop() == 0, a.log()


def test_mariadb_rotation_under_the_agent(pb, client, maria, agents):
    instance = create_audit_instance(pb, database_limit=10)["id"]
    db_id = add_database(client, instance, "rot", "MYSQL", 3306, version="10.11")
    agent = add_agent(client, instance, db_id)
    a = agents(pb, instance, agent["agent_id"], [(db_id, "mariadb-server-audit", maria.path)]).start()
    t = marker()
    maria.sql(f"CREATE DATABASE {t}", f"CREATE TABLE {t}.x (id int)")
    # A new agent starts at the beginning of the log file it finds: it must be following the
    # file before the first rotation, or the rotated file is one it never knew.
    assert wait_sqls(client, instance, 1, sql_statement=f"create database {t}")["total"] == 1, a.log()
    for r in range(3):
        maria.sql(*[f"INSERT INTO {t}.x VALUES ({r * 10 + i})" for i in range(10)])
        maria.rotate()
        if r == 1:
            a.stop(signal.SIGKILL)
            a.start()
    raw = wait_sqls(client, instance, 30, sql_statement=f"insert into {t}.x ")
    assert raw["total"] == 30, (raw["total"], a.log())
    assert len(set(statements(raw))) == 30
    maria.sql(f"DROP DATABASE {t}")
    assert wait_sqls(client, instance, 1, sql_statement=f"drop database {t}")["total"] == 1
    assert a.stop() == 0, a.log()


def test_refusals_store_nothing(pb, client):
    instance = create_audit_instance(pb, database_limit=10)["id"]
    other = create_audit_instance(pb, database_limit=10)["id"]
    db_id = add_database(client, instance, "refuse", "POSTGRESQL", 5432)
    agent_id = add_agent(client, instance, db_id)["agent_id"]
    t = marker()
    batch = lambda n: {"batch_id": f"b-{n}", "db_id": db_id, "events": [event(n, f"select * from {t} /* {n} */")]}

    # Switched off: refused; its heartbeat still answers, with status 0.
    switch_agent(client, instance, agent_id, 0)
    resp = signed_call(pb, "POST", ingest_path(pb, instance, agent_id), batch(1))
    body = expect_dbss_error(resp, 403, REFUSED)
    assert "off" in body["error"]["error_msg"], body
    hb = signed_call(pb, "POST", ingest_path(pb, instance, agent_id).replace("statements", "heartbeat"), {})
    assert hb.status == 200 and hb.json()["status"] == 0, hb.body
    assert list_agents(client, instance, db_id, new=False)[0]["datacap_status"] == 3
    switch_agent(client, instance, agent_id, 1, new=False)

    # Of another instance: refused.
    expect_dbss_error(signed_call(pb, "POST", ingest_path(pb, other, agent_id), batch(2)), 403, REFUSED)
    # A database it does not serve: refused.
    other_db = add_database(client, instance, "refuse2", "MYSQL", 3306)
    wrong_db = dict(batch(3), db_id=other_db)
    expect_dbss_error(signed_call(pb, "POST", ingest_path(pb, instance, agent_id), wrong_db), 403, REFUSED)
    # Signed with a wrong key: the gateway refuses.
    resp = post_raw(pb, ingest_path(pb, instance, agent_id), json.dumps(batch(4)).encode(), sk="x" * 40)
    expect_gateway_error(resp, BAD_SIGNATURE)

    # Malformed, oversized, gzip bomb, bad gzip, NUL, a bad time, too many events: 400, nothing stored.
    path = ingest_path(pb, instance, agent_id)
    bomb = gzip.compress(b'{"batch_id": "x", "db_id": "' + db_id.encode() + b'", "events": [], "pad": "' +
                         b"0" * (8 << 20) + b'"}')
    assert len(bomb) < 1 << 20
    too_many = {"batch_id": "m", "db_id": db_id, "events": [event(i, f"select {t}") for i in range(1001)]}
    lz4_bomb = lz4.frame.compress(b'{"batch_id": "x", "db_id": "' + db_id.encode() + b'", "events": [], "pad": "' +
                                  b"0" * (8 << 20) + b'"}')
    assert len(lz4_bomb) < 1 << 20
    head = json.dumps({"batch_id": "l-1", "db_id": db_id, "kind": "pgaudit-jsonlog"})
    one = json.dumps(jsonlog_line("s1", f"AUDIT: SESSION,1,1,READ,SELECT,,,select * from {t},<not logged>"))
    for what, body, enc, ctype, says in [
        ("malformed JSON", b'{"batch_id": ', None, None, "JSON"),
        ("gzip bomb", bomb, "gzip", None, "larger than 4 MiB"),
        ("not gzip", b"plain text", "gzip", None, "gzip"),
        ("LZ4 bomb", lz4_bomb, "lz4", None, "larger than 4 MiB"),
        ("not LZ4", b"plain text", "lz4", None, "LZ4"),
        ("unknown encoding", b"{}", "br", None, "Content-Encoding"),
        ("unknown media type", b"{}", None, "text/csv", "Content-Type"),
        ("NUL in a statement", json.dumps(batch(5)).replace("/* 5 */", "\\u0000").encode(), None, None, "NUL"),
        ("bad time", json.dumps(dict(batch(6), events=[event(6, f"select {t}", ts="yesterday")])).encode(), None,
         None, "ts"),
        ("too many events", gzip.compress(json.dumps(too_many).encode()), "gzip", None, "1000"),
        ("unknown kind", json.dumps(dict(batch(7), events=[event(7, f"select {t}", kind="NOPE")])).encode(), None,
         None, "NOPE"),
        ("lines: no header", f"@1 1\n{one}\n".encode(), None, LINES, "header"),
        ("lines: a MariaDB source", f"{head.replace('pgaudit-jsonlog', 'mariadb-server-audit')}\n@1 1\n{one}\n"
         .encode(), None, LINES, "mariadb-server-audit"),
        ("lines: no record line", f"{head}\n{one}\n".encode(), None, LINES, "record line"),
        ("lines: fewer lines than announced", f"{head}\n@1 2\n{one}\n".encode(), "", LINES, "ends after 1"),
        ("lines: not UTF-8", lz4.frame.compress(f"{head}\n@1 1\n".encode() + b"\xff\n"), "lz4", LINES, "UTF-8"),
    ]:
        resp = post_raw(pb, path, body, enc, content_type=ctype)
        err = expect_dbss_error(resp, 400, INVALID)
        assert says.lower() in err["error"]["error_msg"].lower(), (what, err)

    # Deleted: refused.
    resp = client.delete_audit_agent_new(dbss.DeleteAuditAgentNewRequest(instance_id=instance, agent_id=agent_id,
                                                                         db_id=db_id))
    assert raw_json(resp) == {"result": "SUCCESS"}
    assert list_agents(client, instance, db_id) == []
    expect_dbss_error(signed_call(pb, "POST", path, batch(8)), 403, REFUSED)

    assert list_sqls(client, instance, sql_statement=t)["total"] == 0
    assert list_sqls(client, other, sql_statement=t)["total"] == 0


def jsonlog_line(session, message, **extra):
    """A jsonlog line as PostgreSQL 15 writes it (compact, `timestamp` first)."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"
    return dict({"timestamp": now, "user": "app", "dbname": "orders", "remote_host": "10.0.0.7",
                 "remote_port": 5000, "session_id": session, "error_severity": "LOG", "message": message,
                 "application_name": "psql"}, **extra)


def test_a_batch_of_lines_is_parsed_by_plugboard(pb, client):
    """A pgaudit source's batch as the agent ships it: each statement's own jsonlog lines, LZ4-compressed;
    plugboard makes the events (statement, objects, rows, duration, a failure) and stores a re-sent batch
    once."""
    instance = create_audit_instance(pb, database_limit=10)["id"]
    db_id = add_database(client, instance, "lines", "POSTGRESQL", 5432)
    agent_id = add_agent(client, instance, db_id)["agent_id"]
    t = marker()
    compact = lambda d: json.dumps(d, separators=(",", ":"))
    records = [
        (7, [jsonlog_line("s1", f'AUDIT: SESSION,1,1,WRITE,UPDATE,TABLE,public.{t},"update {t} set a = 1",'
                                f'<not logged>,3'),
             jsonlog_line("s1", "duration: 2.5 ms")]),
        (9, [jsonlog_line("s2", f"AUDIT: SESSION,1,1,DDL,DROP TABLE,,,drop table {t},<not logged>"),
             jsonlog_line("s2", f'table "{t}" does not exist', error_severity="ERROR", state_code="42P01",
                          statement=f"drop table {t}")]),
    ]
    text = json.dumps({"batch_id": "l-1", "db_id": db_id, "kind": "pgaudit-jsonlog"}) + "\n"
    for seq, lines in records:
        text += f"@{seq} {len(lines)}\n" + "".join(compact(l) + "\n" for l in lines)
    body = lz4.frame.compress(text.encode())
    first = post_raw(pb, ingest_path(pb, instance, agent_id), body, "lz4", content_type=LINES)
    assert (first.status, first.json()) == (200, {"accepted": 2, "duplicates": 0, "throttled": False}), first.body
    again = post_raw(pb, ingest_path(pb, instance, agent_id), body, "lz4", content_type=LINES)
    assert (again.status, again.json()) == (200, {"accepted": 0, "duplicates": 2, "throttled": False})
    raw = list_sqls(client, instance, sql_statement=t)
    assert raw["total"] == 2, raw
    got = {s["sql"]["sql_statement"]: s["sql"] for s in raw["sqls"]}
    detail = lambda s: raw_json(client.show_sql_detail(dbss.ShowSqlDetailRequest(instance_id=instance,
                                                                                 id=s["id"])))["sql"]
    update = detail(got[f"update {t} set a = 1"])
    assert (update["query_type"], update["lines"], update["object"], update["sql_response"]) == \
        ("UPDATE", "3", f"public.{t}", "SUCCESS"), update
    drop = detail(got[f"drop table {t}"])
    assert (drop["query_type"], drop["sql_response"], drop["response_status"]) == \
        ("DROP_TABLE", "FAILED", "42P01"), drop


def test_a_good_batch_twice_is_stored_once(pb, client):
    instance = create_audit_instance(pb, database_limit=10)["id"]
    db_id = add_database(client, instance, "twice", "POSTGRESQL", 5432)
    agent_id = add_agent(client, instance, db_id)["agent_id"]
    t = marker()
    body = {"batch_id": "b-1", "db_id": db_id, "events": [
        event(1, f"select * from {t}"),
        event(2, f"CREATE USER u_{t} WITH PASSWORD 'hunter2'", command="CREATE ROLE"),
        event(3, f"grant all on *.* to u identified by 'hunter2' /* {t} */", command=""),
    ]}
    first = signed_call(pb, "POST", ingest_path(pb, instance, agent_id), body)
    assert (first.status, first.json()) == (200, {"accepted": 3, "duplicates": 0, "throttled": False}), first.body
    again = post_raw(pb, ingest_path(pb, instance, agent_id), gzip.compress(json.dumps(body).encode()), "gzip")
    assert (again.status, again.json()) == (200, {"accepted": 0, "duplicates": 3, "throttled": False})
    raw = list_sqls(client, instance, sql_statement=t)
    assert raw["total"] == 3
    texts = statements(raw)
    assert all("hunter2" not in s for s in texts), texts
    assert f"CREATE USER u_{t} WITH PASSWORD '******'" in texts, texts


def test_nul_invalid_utf8_and_huge_statements(pb, client, agents, tmp_path):
    """A real agent on a jsonlog it reads from a directory of ours."""
    instance = create_audit_instance(pb, database_limit=10)["id"]
    db_id = add_database(client, instance, "odd", "POSTGRESQL", 5432)
    agent_id = add_agent(client, instance, db_id)["agent_id"]
    logdir = tmp_path / "pglog"
    logdir.mkdir()
    log = logdir / "postgresql-1.json"
    t = marker()
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"

    def audit(n, stmt):
        msg = "AUDIT: SESSION,%d,1,READ,SELECT,TABLE,public.%s,%s,<not logged>,1" % (
            n, t, '"' + stmt.replace('"', '""') + '"')
        return {"timestamp": now, "user": "app", "dbname": "orders", "remote_host": "10.0.0.7", "remote_port": 5,
                "session_id": "abc.1", "error_severity": "LOG", "message": msg, "application_name": "x"}

    huge = f"select * from {t} where note = '" + "x" * (1 << 20) + "'"
    write_jsonl(log, [audit(1, f"select '\x00' from {t} /* nul */")])
    bad = json.dumps(audit(2, f"select 'BAD' from {t} /* utf8 */")).encode().replace(b"BAD", b"\xff\xfe")
    write_jsonl(log, [bad, audit(3, huge), audit(4, f"select 1 from {t} /* last */")])
    a = agents(pb, instance, agent_id, [(db_id, "pgaudit-jsonlog", logdir)]).start()
    raw = wait_sqls(client, instance, 4, sql_statement=t)
    assert raw["total"] == 4, (raw, a.log())
    texts = statements(raw)
    assert f"select '\ufffd' from {t} /* nul */" in texts, texts
    assert f"select '\ufffd\ufffd' from {t} /* utf8 */" in texts, texts
    cut = [s for s in texts if s.startswith(f"select * from {t} where note")]
    assert len(cut) == 1 and len(cut[0].encode()) == 64 * 1024, [len(c) for c in cut]
    assert a.stop() == 0, a.log()


def test_sigterm_with_batches_on_their_way_loses_nothing(pb, client, agents, tmp_path):
    """SIGTERM while several batches are on their way (small batches, four in flight): the checkpoint
    written at the stop counts them as not acknowledged, so each restart reads them again; in the end
    every line is stored exactly once (a re-sent line has its old sequence and is not stored twice)."""
    instance = create_audit_instance(pb, database_limit=10)["id"]
    db_id = add_database(client, instance, "term", "POSTGRESQL", 5432)
    agent_id = add_agent(client, instance, db_id)["agent_id"]
    logdir = tmp_path / "pglog"
    logdir.mkdir()
    t = marker()
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"
    want = 6000
    write_jsonl(logdir / "postgresql-1.json", [
        {"timestamp": now, "user": "app", "dbname": "orders", "remote_host": "10.0.0.7", "remote_port": 5,
         "session_id": "abc.1", "error_severity": "LOG", "application_name": "x",
         "message": "AUDIT: SESSION,%d,1,READ,SELECT,TABLE,public.%s,\"select %d from %s\",<not logged>,1"
                    % (n, t, n, t)}
        for n in range(1, want + 1)])
    a = agents(pb, instance, agent_id, [(db_id, "pgaudit-jsonlog", logdir)],
               extra="batch_events = 50\nin_flight = 4")
    stops = 0
    for _ in range(8):
        a.start()
        time.sleep(0.3 + 0.1 * stops)
        assert a.stop() == 0, a.log()
        stops += 1
        if list_sqls(client, instance, sql_statement=f" from {t}", size=1)["total"] >= want:
            break
    a.start()
    raw = wait_sqls(client, instance, want, timeout=60, sql_statement=f" from {t}", size=1)
    assert raw["total"] == want, (raw["total"], stops, a.log())
    # A last line after everything: once it is listed, every earlier line was shipped, so a duplicate
    # would be counted by now.
    write_jsonl(logdir / "postgresql-1.json", [
        {"timestamp": now, "user": "app", "dbname": "orders", "remote_host": "10.0.0.7", "remote_port": 5,
         "session_id": "abc.1", "error_severity": "LOG", "application_name": "x",
         "message": "AUDIT: SESSION,%d,1,READ,SELECT,TABLE,public.%s,\"select 'sentinel' from %s\",<not logged>,1"
                    % (want + 1, t, t)}])
    assert wait_sqls(client, instance, 1, sql_statement=f"'sentinel' from {t}")["total"] == 1, a.log()
    assert list_sqls(client, instance, sql_statement=f" from {t}", size=1)["total"] == want + 1
    assert a.stop() == 0, a.log()


def test_a_switched_off_agent_ships_its_backlog_when_switched_on(pb, client, pgaudit, agents):
    instance = create_audit_instance(pb, database_limit=10)["id"]
    db_id = add_database(client, instance, "backlog", "POSTGRESQL", pgaudit.port)
    agent_id = add_agent(client, instance, db_id)["agent_id"]
    switch_agent(client, instance, agent_id, 0)
    a = agents(pb, instance, agent_id, [(db_id, "pgaudit-jsonlog", pgaudit.log_dir)]).start()
    t = marker()
    pgaudit.psql(f"CREATE TABLE {t} (id int)", f"INSERT INTO {t} VALUES (1)")
    # Off: the agent's attempts are refused; nothing is stored (bounded wait, then the check).
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        assert list_sqls(client, instance, sql_statement=t)["total"] == 0
        time.sleep(0.5)
    switch_agent(client, instance, agent_id, 1)
    raw = wait_sqls(client, instance, 2, timeout=30, sql_statement=t)
    assert raw["total"] == 2, (raw, a.log())
    assert a.stop() == 0, a.log()


def test_bad_configs_exit_with_a_sentence(pb, agents, tmp_path):
    a = agents(pb, "i" * 32, "a" * 20, [("d" * 20, "tcpdump", tmp_path)])
    a.start()
    code = a.proc.wait(10)
    a.proc = None
    a._log.close()
    assert code == 2, a.log()
    assert "kind `tcpdump` is not one this agent reads" in a.log(), a.log()


def test_the_download_bundle_runs_as_it_is_with_keys_from_the_environment(pb, client, pgaudit, tmp_path):
    import hashlib
    import io
    import os
    import subprocess
    import tarfile

    from conftest import _binary

    instance = create_audit_instance(pb, database_limit=10)["id"]
    db_id = add_database(client, instance, "bundle", "POSTGRESQL", pgaudit.port)
    agent = add_agent(client, instance, db_id)
    resp = client.download_audit_agent_new(dbss.DownloadAuditAgentNewRequest(instance_id=instance,
                                                                             agent_id=agent["agent_id"]))
    chunks = []
    resp.consume_download_stream(lambda stream: chunks.append(stream.content))
    data = chunks[0]
    assert resp.status_code == 200 and data[:2] == b"\x1f\x8b", data[:20]
    old = client.download_audit_agent(dbss.DownloadAuditAgentRequest(instance_id=instance,
                                                                     agent_id=agent["agent_id"]))
    assert old.status_code == 200
    assert hashlib.sha256(data).hexdigest() == list_agents(client, instance, db_id)[0]["sha256"]
    files = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for m in tar.getmembers():
            files[m.name.split("/", 1)[1]] = tar.extractfile(m).read().decode()
    assert set(files) == {"agent.toml", "plugboard-dbss-agent.service", "README"}, set(files)
    # The database comes first on its host: the unit runs the agent on idle CPU and I/O time.
    unit = files["plugboard-dbss-agent.service"]
    assert "\nCPUSchedulingPolicy=idle\n" in unit and "\nIOSchedulingClass=idle\n" in unit, unit
    assert "\nCPUWeight=1\n" in unit, unit
    for text in files.values():
        assert pb.bootstrap["secret_key"] not in text and pb.bootstrap["access_key"] not in text
    config = files["agent.toml"].replace("/var/lib/postgresql/15/main/log", str(pgaudit.log_dir)) \
        .replace("/var/lib/plugboard-dbss-agent", str(tmp_path / "state"))
    (tmp_path / "agent.toml").write_text(config)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGBOARD_")}
    env.update(PLUGBOARD_AK=pb.bootstrap["access_key"], PLUGBOARD_SK=pb.bootstrap["secret_key"])
    log = open(tmp_path / "agent.log", "wb")
    proc = subprocess.Popen([str(_binary()), "dbss-agent", "--config", str(tmp_path / "agent.toml")], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        t = marker()
        pgaudit.psql(f"CREATE TABLE {t} (id int)")
        raw = wait_sqls(client, instance, 1, sql_statement=t)
        assert raw["total"] == 1, (tmp_path / "agent.log").read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0, (tmp_path / "agent.log").read_text()
        log.close()


def test_an_agent_pauses_reading_while_its_host_is_over_its_thresholds(pb, client, pgaudit, agents):
    """cpu_threshold 0: any use of the CPUs by anything but the agent is over it. The agent reads
    nothing more for `max_pause_seconds`, then reads until caught up: every statement is stored."""
    instance = create_audit_instance(pb, database_limit=10)["id"]
    db_id = add_database(client, instance, "pauses", "POSTGRESQL", pgaudit.port)
    agent_id = add_agent(client, instance, db_id, cpu_threshold=0)["agent_id"]
    a = agents(pb, instance, agent_id, [(db_id, "pgaudit-jsonlog", pgaudit.log_dir)],
               extra="max_pause_seconds = 6").start()
    # Its first heartbeat told it the thresholds; its first look at the host's load is 0.2 s later.
    deadline = time.monotonic() + 15
    while list_agents(client, instance, db_id)[0]["datacap_status"] == 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.6)
    t = marker()
    pgaudit.psql(f"CREATE TABLE {t} (id int)", f"INSERT INTO {t} VALUES (1)")
    for _ in range(4):
        assert list_sqls(client, instance, sql_statement=t)["total"] == 0, a.log()
        time.sleep(0.5)
    raw = wait_sqls(client, instance, 2, timeout=30, sql_statement=t)
    assert raw["total"] == 2, (raw, a.log())
    assert "reading until caught up" in a.log(), a.log()
    assert a.stop() == 0, a.log()
    # The heartbeat's answer carries the thresholds.
    hb = signed_call(pb, "POST", ingest_path(pb, instance, agent_id).replace("statements", "heartbeat"),
                     {"version": "test", "cpu": 12.5, "mem": 40})
    assert hb.status == 200, hb.body
    assert hb.json() == {"status": 1, "databases": [{"id": db_id, "type": "POSTGRESQL", "ip": "127.0.0.1",
                         "port": str(pgaudit.port), "name": "pauses"}], "batch_max": 1000, "interval_s": 5,
                         "cpu_threshold": 0, "mem_threshold": 80}, hb.body
