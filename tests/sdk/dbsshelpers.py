"""Shared fixtures and helpers of the DBSS SDK tests (test_dbss_*.py).

A test module that imports the fixtures gets its own server: `pb` is module-scoped, started with
`[network] probe_allow = ["127.0.0.0/8"]` and a 1 s probe interval (PROBE_CONFIG), so the audit
monitor may probe the machine's loopback MariaDB (127.0.0.1:3306) and PostgreSQL (127.0.0.1:5432).
"""

import secrets
import socket
import threading
import time

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ServiceResponseException
from huaweicloudsdkdbss.v1 import model as dbss

from sdkhelpers import (
    DBSS_BAD_ID, DBSS_DB_ID, DBSS_INVALID, HEX32, admin_token, create_audit_instance, create_sub_project,
    dbss_client, provision_readonly_user, raw_json, unique,
)

PROBE_CONFIG = """\
[network]
probe_allow = ["127.0.0.0/8"]

[dbss]
probe_interval_seconds = 1
probe_timeout_ms = 1000
"""
STATE_TIMEOUT = 10.0  # seconds a probe result may take to show in the list API
LIMIT_MSG = "Failed to add database, exceeding the limit"
DATABASE_KEYS = {  # docs/api-coverage.md → DBSS, list answer, per item under "database"
    "id", "name", "type", "version", "charset", "ip", "port", "os", "status", "instance_name",
    "audit_status", "agent_url", "db_classification", "rds_audit_switch_mismatch", "rds_id",
    "rds_obj_info", "dws_obj_info", "clouddb_obj_info",
}
TYPES = ["MYSQL", "ORACLE", "POSTGRESQL", "SQLSERVER", "DAMENG", "TAURUS", "DWS", "KINGBASE",
         "GAUSSDBOPENGAUSS", "GREENPLUM", "HIGHGO", "SHENTONG", "GBASE8A", "GBASE8S", "GBASEXDM",
         "MONGODB", "DDS"]


# -- fixtures -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pb(plugboard_launcher):
    """This module's server: probes may reach loopback, re-probe every second."""
    server = plugboard_launcher.start(config=PROBE_CONFIG)
    yield server
    plugboard_launcher.finish(server)


@pytest.fixture(scope="module")
def client(pb):
    """DbssClient of the bootstrap admin (domain owner) on the bootstrap project."""
    return dbss_client(pb)


@pytest.fixture(scope="module")
def token(pb):
    return admin_token(pb)


@pytest.fixture(scope="module")
def reader(pb):
    """A user holding only `readonly` on the bootstrap project, with a permanent AK/SK."""
    return provision_readonly_user(pb)


@pytest.fixture(scope="module")
def other_project(pb):
    return create_sub_project(pb)


@pytest.fixture
def instance(pb):
    """A fresh audit instance (database_limit 100) in the bootstrap project."""
    return create_audit_instance(pb, database_limit=100)["id"]


# -- helpers ------------------------------------------------------------------------------------------
def valid_db(**overrides):
    body = {"db_classification": "ECS", "name": unique("db"), "type": "MYSQL", "version": "10.11",
            "charset": "UTF8", "ip": "127.0.0.1", "port": "3306", "os": "LINUX64", "instance_name": "maria"}
    body.update(overrides)
    return body


def add(client, instance_id, body, variant="v2"):
    """Add through the SDK. `body` is the whole request body: the SDK's CreateDatabaseRequest, or a
    dict, which the SDK sends as given (so fields can be missing, null or of the wrong type)."""
    if variant == "v1":
        return client.add_audit_database(dbss.AddAuditDatabaseRequest(instance_id=instance_id, body=body))
    return client.add_audit_database_new(dbss.AddAuditDatabaseNewRequest(instance_id=instance_id, body=body))


def add_db(client, instance_id, variant="v2", **overrides):
    """Add a valid database (with the SDK's own models) and return (id, the fields sent)."""
    fields = valid_db(**overrides)
    body = dbss.CreateDatabaseRequest(database=dbss.CreateDatabaseRequestDatabase(**fields))
    resp = add(client, instance_id, body, variant)
    assert resp.status_code == 200, resp.raw_content
    assert raw_json(resp) == {"id": resp.id}, raw_json(resp)
    assert DBSS_DB_ID.match(resp.id or ""), resp.id
    return resp.id, fields


def list_dbs(client, instance_id, variant="v2", status=None, offset=None, limit=None):
    if variant == "v1":
        return client.list_audit_databases(dbss.ListAuditDatabasesRequest(
            instance_id=instance_id, status=status, offset=offset, limit=limit))
    return client.list_audit_databases_new(dbss.ListAuditDatabasesNewRequest(
        instance_id=instance_id, status=status, offset=offset, limit=limit))


def wire_dbs(resp):
    """The listed databases as sent on the wire (unwrapped), checking the envelope."""
    assert resp.status_code == 200, resp.raw_content
    body = raw_json(resp)
    assert set(body) >= {"databases", "total"}, body
    assert type(body["total"]) is int, body
    items = body["databases"]
    assert isinstance(items, list)
    for item in items:
        assert set(item) == {"database"}, f"each listed item is wrapped in 'database': {item}"
    return [item["database"] for item in items]


def total(client, instance_id):
    resp = list_dbs(client, instance_id, limit="10000")
    wire_dbs(resp)
    return raw_json(resp)["total"]


def find_db(client, instance_id, db_id):
    matches = [d for d in wire_dbs(list_dbs(client, instance_id, limit="10000")) if d["id"] == db_id]
    assert len(matches) <= 1, matches
    return matches[0] if matches else None


def wait_audit(client, instance_id, db_id, want, timeout=STATE_TIMEOUT):
    """Poll the list API (bounded) until the database's audit_status is `want`; return it (wire dict)."""
    deadline = time.monotonic() + timeout
    seen = None
    while True:
        seen = find_db(client, instance_id, db_id)
        assert seen is not None, f"database {db_id} vanished"
        if seen["audit_status"] == want:
            return seen
        if time.monotonic() > deadline:
            pytest.fail(f"audit_status of {db_id} did not become {want} within {timeout:.0f}s; last seen: {seen}")
        time.sleep(0.2)


def switch(client, instance_id, db_id, status, variant="v3"):
    body = dbss.SwitchAuditDbRequest(id=db_id, status=status)
    if variant == "v2":
        resp = client.switch_audit_database(dbss.SwitchAuditDatabaseRequest(instance_id=instance_id, body=body))
    else:
        resp = client.switch_audit_database_new(dbss.SwitchAuditDatabaseNewRequest(instance_id=instance_id,
                                                                                   body=body))
    assert resp.status_code == 200, resp.raw_content
    assert raw_json(resp) == {"status": "SUCCESS"}
    return resp


def delete(client, instance_id, db_id, variant="v3"):
    if variant == "v2":
        return client.delete_audit_database(dbss.DeleteAuditDatabaseRequest(instance_id=instance_id, db_id=db_id))
    return client.delete_audit_database_new(dbss.DeleteAuditDatabaseNewRequest(instance_id=instance_id, id=db_id))


# A malformed id is a 400 in the DBSS envelope (common.md); which of the two codes is not fixed.
MALFORMED_ID_CODES = (DBSS_BAD_ID, DBSS_INVALID)


def expect_sdk_error_code_in(call, status, codes):
    """Like expect_sdk_error where the spec fixes the status but not the exact code:
    `codes` = the acceptable codes (None: any DBSS.* code)."""
    with pytest.raises(ServiceResponseException) as info:
        call()
    e = info.value
    assert e.status_code == status, str(e)
    if codes is None:
        assert (e.error_code or "").startswith("DBSS."), str(e)
    else:
        assert e.error_code in codes, str(e)
    assert e.error_msg, str(e)
    assert HEX32.match(e.request_id or ""), str(e)
    return e


def dbss_url(pb, path):
    return pb.base_url + path.format(project_id=pb.bootstrap["project_id"])


def closed_port():
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def random_db_id():
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    return "".join(secrets.choice(alphabet) for _ in range(20))


def concurrently(calls):
    """Run the calls at once (one thread and one SDK client each); return results/exceptions."""
    results = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(i):
        start.wait()
        try:
            results[i] = calls[i]()
        except Exception as e:  # noqa: BLE001 - collected and checked by the caller
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results



class Listener:
    """A loopback TCP listener to probe: after accepting it reads `read` bytes (if any), sends
    `reply` (if any) and keeps the connection open until closed."""

    def __init__(self, port=0, read=0, reply=None):
        self.read, self.reply = read, reply
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._conns = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            self._conns.append(conn)
            try:
                conn.settimeout(2)
                if self.read:
                    conn.recv(self.read)
                if self.reply is not None:
                    conn.sendall(self.reply)
            except OSError:
                pass

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.sock.close()
        for conn in self._conns:
            conn.close()


@pytest.fixture
def listeners():
    opened = []

    def _open(**kwargs):
        lst = Listener(**kwargs)
        opened.append(lst)
        return lst

    yield _open
    for lst in opened:
        lst.close()
