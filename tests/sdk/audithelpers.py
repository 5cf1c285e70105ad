"""Fixtures and helpers of the DBSS audit tests (test_dbss_audit*.py): the real capture set-up of
docs/dbss-audit.md, started by the tests themselves.

- `pgaudit`: a private PostgreSQL 15 cluster with pgaudit writing jsonlog, made by
  scripts/audit-capture.sh (initdb as `postgres` in a temporary directory, a free port).
- `maria`: MariaDB's server_audit on the machine's MariaDB (127.0.0.1:3306, root), logging to a
  temporary file; the previous server_audit settings are put back afterwards (logging OFF if it
  was), since the server is shared.
- `Agent`: a real `plugboard dbss-agent` process with its TOML config and state directory.
"""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from huaweicloudsdkdbss.v1 import model as dbss

from sdkhelpers import raw_json, unique
from conftest import REPO, _binary

CAPTURE = str(REPO / "scripts" / "audit-capture.sh")
SEEN_TIMEOUT = 10.0  # §0: a statement is listed within 10 s


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgAudit:
    """A private pgaudit cluster."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="pb-pgaudit-"))
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        res = subprocess.run(["bash", CAPTURE, "pg-start", str(self.dir), str(self.port)], capture_output=True,
                             text=True, timeout=120)
        if res.returncode != 0:
            pytest.fail(f"the pgaudit cluster did not start: {res.stderr.strip()}", pytrace=False)
        self.log_dir = self.dir / "log"

    def psql(self, *statements, user="postgres", db="postgres", app="pbtest", check=True, password=None):
        """Run each statement as its own query in one session."""
        args = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1" if check else "ON_ERROR_STOP=0", "-h", "127.0.0.1",
                "-p", str(self.port), "-U", user, "-d", db]
        for s in statements:
            args += ["-c", s]
        env = dict(os.environ, PGAPPNAME=app)
        if password is not None:
            env["PGPASSWORD"] = password
        res = subprocess.run(args, capture_output=True, text=True, timeout=60, env=env)
        if check:
            assert res.returncode == 0, res.stderr
        return res

    def rotate(self):
        self.psql("SELECT pg_rotate_logfile()")

    def close(self):
        subprocess.run(["bash", CAPTURE, "pg-stop", str(self.dir)], capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


class MariaAudit:
    """server_audit on the machine's MariaDB, logging to a file of ours."""

    VARS = ("server_audit_logging", "server_audit_file_path", "server_audit_events",
            "server_audit_query_log_limit", "server_audit_output_type")

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="pb-maria-audit-"))
        os.chmod(self.dir, 0o777)
        self.path = self.dir / "server_audit.log"
        plugins = self.sql("SELECT PLUGIN_NAME FROM information_schema.PLUGINS WHERE PLUGIN_NAME='SERVER_AUDIT'")
        if "SERVER_AUDIT" not in plugins:
            self.sql("INSTALL SONAME 'server_audit'")
        self.saved = {}
        for v in self.VARS:
            out = self.sql(f"SELECT @@global.{v}").strip()
            self.saved[v] = out
        self.sql("SET GLOBAL server_audit_output_type = 'file'",
                 f"SET GLOBAL server_audit_file_path = '{self.path}'",
                 "SET GLOBAL server_audit_events = 'CONNECT,QUERY_DDL,QUERY_DML,QUERY_DCL,TABLE'",
                 "SET GLOBAL server_audit_query_log_limit = 2097152",
                 "SET GLOBAL server_audit_logging = ON")

    @staticmethod
    def sql(*statements, user="root", password=None, check=True, db=None):
        args = ["mariadb", "-h", "127.0.0.1", "-P", "3306", "-u", user, "-N", "-B"]
        if password is not None:
            args.append(f"-p{password}")
        if db:
            args += ["-D", db]
        args += ["-e", ";\n".join(statements)]
        res = subprocess.run(args, capture_output=True, text=True, timeout=60)
        if check:
            assert res.returncode == 0, res.stderr
        return res.stdout

    def rotate(self):
        self.sql("SET GLOBAL server_audit_file_rotate_now = ON")

    def close(self):
        try:
            self.sql("SET GLOBAL server_audit_logging = OFF")
            for v in ("server_audit_events", "server_audit_query_log_limit", "server_audit_output_type"):
                value = self.saved.get(v, "")
                if v == "server_audit_query_log_limit":
                    self.sql(f"SET GLOBAL {v} = {int(value or 1024)}")
                else:
                    self.sql(f"SET GLOBAL {v} = '{value}'")
            if self.saved.get("server_audit_file_path"):
                self.sql(f"SET GLOBAL server_audit_file_path = '{self.saved['server_audit_file_path']}'")
            if self.saved.get("server_audit_logging") in ("ON", "1"):
                self.sql("SET GLOBAL server_audit_logging = ON")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def pgaudit():
    cluster = PgAudit()
    yield cluster
    cluster.close()


@pytest.fixture(scope="module")
def maria():
    m = MariaAudit()
    yield m
    m.close()


class Agent:
    """A `plugboard dbss-agent` process."""

    def __init__(self, pb, instance_id, agent_id, sources, root, sk=None, extra=""):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.state_dir = self.root / "state"
        self.config = self.root / "agent.toml"
        boot = pb.bootstrap
        lines = [
            f'endpoint = "{pb.base_url}"',
            f'project_id = "{boot["project_id"]}"',
            f'instance_id = "{instance_id}"',
            f'agent_id = "{agent_id}"',
            f'access_key = "{boot["access_key"]}"',
            f'secret_key = "{sk or boot["secret_key"]}"',
            f'state_dir = "{self.state_dir}"',
            # The tests' machine is busy with the server beside the agent: no pause over the
            # thresholds unless a test asks for one (test_an_agent_pauses_...).
            extra if "max_pause_seconds" in extra else f"{extra}\nmax_pause_seconds = 0",
        ]
        for db_id, kind, path in sources:
            lines += ["[[source]]", f'db_id = "{db_id}"', f'kind = "{kind}"', f'path = "{path}"']
        self.config.write_text("\n".join(lines) + "\n")
        self.proc = None
        self.starts = 0

    @property
    def log_path(self):
        return self.root / f"agent-{self.starts}.log"

    def start(self):
        assert self.proc is None
        self.starts += 1
        self._log = open(self.log_path, "wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGBOARD_")}
        self.proc = subprocess.Popen([str(_binary()), "dbss-agent", "--config", str(self.config)], env=env,
                                     stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
        return self

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        proc.send_signal(sig)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = None
        self._log.close()
        return code

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return "<no log>"


@pytest.fixture
def agents(tmp_path):
    started = []

    def _make(*args, **kwargs):
        a = Agent(*args, root=tmp_path / f"agent{len(started)}", **kwargs)
        started.append(a)
        return a

    yield _make
    for a in started:
        a.stop(signal.SIGKILL)


# -- SDK helpers -----------------------------------------------------------------------------------------
def add_database(client, instance_id, name, db_type, port, version="15"):
    body = dbss.CreateDatabaseRequest(database=dbss.CreateDatabaseRequestDatabase(
        db_classification="ECS", name=name, type=db_type, version=version, charset="UTF8", ip="127.0.0.1",
        port=str(port), os="LINUX64"))
    resp = client.add_audit_database_new(dbss.AddAuditDatabaseNewRequest(instance_id=instance_id, body=body))
    assert resp.status_code == 200, resp.raw_content
    db_id = resp.id
    resp = client.switch_audit_database_new(dbss.SwitchAuditDatabaseNewRequest(
        instance_id=instance_id, body=dbss.SwitchAuditDbRequest(id=db_id, status="ON")))
    assert raw_json(resp) == {"status": "SUCCESS"}
    return db_id


AGENT_KEYS = {"agent_id", "agent_type", "agent_os", "agent_ip", "mem_threshold", "cpu_threshold", "status",
              "agent_nic", "db_name", "datacap_status", "agent_url", "universal", "sha256"}


def add_agent(client, instance_id, db_id, new=True, cpu_threshold=80):
    """AddAuditAgent(New) for `db_id`; returns the new agent's listed item (wire dict)."""
    before = {a["agent_id"] for a in list_agents(client, instance_id, db_id)}
    body = dbss.AuditAgentRequest(db_id=db_id, mode=0, agent_type="DB", agent_os="LINUX64_X86",
                                  cpu_threshold=cpu_threshold, mem_threshold=80)
    if new:
        resp = client.add_audit_agent_new(dbss.AddAuditAgentNewRequest(instance_id=instance_id, body=body))
    else:
        resp = client.add_audit_agent(dbss.AddAuditAgentRequest(instance_id=instance_id, body=body))
    assert raw_json(resp) == {"result": "SUCCESS"}, raw_json(resp)
    added = [a for a in list_agents(client, instance_id, db_id) if a["agent_id"] not in before]
    assert len(added) == 1, added
    return added[0]


def list_agents(client, instance_id, db_id, new=True):
    if new:
        resp = client.list_audit_agent_new(dbss.ListAuditAgentNewRequest(instance_id=instance_id, db_id=db_id))
    else:
        resp = client.list_audit_agent(dbss.ListAuditAgentRequest(instance_id=instance_id, db_id=db_id))
    body = raw_json(resp)
    assert set(body) == {"agents"}, body
    for a in body["agents"]:
        assert set(a) == AGENT_KEYS, a
    return body["agents"]


def switch_agent(client, instance_id, agent_id, status, new=True):
    body = dbss.AgentSwitchRequest(agent_id=agent_id, status=status)
    if new:
        resp = client.switch_agent_new(dbss.SwitchAgentNewRequest(instance_id=instance_id, body=body))
    else:
        resp = client.switch_agent(dbss.SwitchAgentRequest(instance_id=instance_id, body=body))
    assert raw_json(resp) == {"result": "SUCCESS"}


SQL_KEYS = {"id", "sql_statement", "client_ip", "client_name", "db_ip", "db_user", "query_type",
            "operated_obj_info", "rule_name", "risk_level", "start_time", "sql_response", "db_instance"}
OBJ_KEYS = {"column_name", "object_type", "schema_name", "sql_type", "sys_name", "table_name"}


def list_sqls(client, instance_id, new=True, **filters):
    """ListAuditSqls(New) over the last half hour; returns the raw body, its shape checked."""
    filters.setdefault("size", 100)
    body = dbss.AuditSqlRequest(time=dbss.AuditSqlRequestTime(time_range="HALF_HOUR"), **filters)
    if new:
        resp = client.list_audit_sqls_new(dbss.ListAuditSqlsNewRequest(instance_id=instance_id, body=body))
    else:
        resp = client.list_audit_sqls(dbss.ListAuditSqlsRequest(instance_id=instance_id, body=body))
    raw = raw_json(resp)
    assert set(raw) == {"total", "count", "sqls"}, raw
    assert type(raw["total"]) is int and raw["count"] == len(raw["sqls"]), raw
    for item in raw["sqls"]:
        assert set(item) == {"sql"}, item
        assert set(item["sql"]) == SQL_KEYS, item
        for o in item["sql"]["operated_obj_info"]:
            assert set(o) == OBJ_KEYS, o
    return raw


def wait_sqls(client, instance_id, want, timeout=SEEN_TIMEOUT, **filters):
    """Poll ListAuditSqls until `total` reaches `want`; returns the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        raw = list_sqls(client, instance_id, **filters)
        if raw["total"] >= want or time.monotonic() > deadline:
            return raw
        time.sleep(0.3)


def statements(raw):
    return [i["sql"]["sql_statement"] for i in raw["sqls"]]


def marker():
    return "t_" + secrets.token_hex(5)


def write_jsonl(path, lines):
    with open(path, "ab") as f:
        for line in lines:
            f.write(line if isinstance(line, bytes) else json.dumps(line).encode())
            f.write(b"\n")


__all__ = ["unique"]


def decode_batch(headers, body):
    """A batch of statements as the agent sent it (docs/dbss-audit.md → What plugboard does with
    a batch): decompressed (gzip or an LZ4 frame), then the JSON events, or for a batch of lines
    its header's keys and `events` as `{"seq", "lines": [each jsonlog line as JSON]}`."""
    import gzip
    import lz4.frame

    encoding = headers.get("Content-Encoding")
    if encoding == "gzip":
        body = gzip.decompress(body)
    elif encoding == "lz4":
        body = lz4.frame.decompress(body)
    if not (headers.get("Content-Type") or "").startswith("application/x-plugboard-audit-lines"):
        return json.loads(body)
    head, *rest = body.decode().split("\n")
    batch = dict(json.loads(head), events=[])
    while rest and rest[0]:
        seq, n = rest[0][1:].split(" ")
        batch["events"].append({"seq": int(seq), "lines": [json.loads(l) for l in rest[1:1 + int(n)]]})
        rest = rest[1 + int(n):]
    return batch
