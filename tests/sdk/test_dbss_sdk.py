"""DBSS audited databases through the official Huawei Python SDK (huaweicloudsdkdbss 3.1.219).

Contract: spec/dbss.md, spec/common.md, spec/plugboard.md (Admin API → DBSS audit instances).
What the SDK sends and how it reads answers: SDK_NOTES.md ("DBSS") next to this file.

Every DBSS call the SDK has goes through the SDK (BasicCredentials, i.e. AK/SK-signed). Raw HTTP
is used for the plugboard admin API, for bodies the SDK cannot produce (malformed JSON, wrong
content type), for token authentication and for fields the SDK models drop (`audit_reason`:
read from the SDK response's raw body).

The audit monitor probes loopback targets, so the module's server runs with
`[network] probe_allow = ["127.0.0.0/8"]` and a 1 s probe interval. The real MariaDB
(127.0.0.1:3306) and PostgreSQL (127.0.0.1:5432) of this machine are the reachable targets.
"""

import json
import secrets
import socket
import threading
import time

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ServiceResponseException
from huaweicloudsdkdbss.v1 import model as dbss

from sdkhelpers import (
    BAD_TOKEN, DBSS_BAD_ID, DBSS_DB_ID, DBSS_INVALID, DBSS_LIMIT, DBSS_NOT_FOUND, EDITION_LIMITS, FORBIDDEN,
    HEX32, NO_CREDENTIALS, admin_token, create_audit_instance, create_sub_project, dbss_client,
    expect_dbss_error, expect_gateway_error, expect_sdk_error, http, provision_readonly_user, raw_json,
    signed_call, unique,
)

# The v1 add/list, the v2 delete/switch and the instance list are marked deprecated in the SDK
# ("[待下线]", to be retired); they are still part of the contract.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PROBE_CONFIG = """\
[network]
probe_allow = ["127.0.0.0/8"]

[dbss]
probe_interval_seconds = 1
probe_timeout_ms = 1000
"""
STATE_TIMEOUT = 10.0  # seconds a probe result may take to show in the list API
LIMIT_MSG = "Failed to add database, exceeding the limit"
DATABASE_KEYS = {  # spec/dbss.md, list answer, per item under "database"
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


# == plugboard admin API: audit instances ==============================================================
@pytest.mark.parametrize("edition", sorted(EDITION_LIMITS))
def test_admin_create_instance_by_edition(pb, client, edition):
    name = unique("audit")
    view = create_audit_instance(pb, name=name, edition=edition)
    assert (view["name"], view["edition"], view["database_limit"], view["status"]) == \
        (name, edition, EDITION_LIMITS[edition], "ACTIVE"), view
    assert "created" in view, view
    project = pb.bootstrap["project_id"]
    got = signed_call(pb, "GET", f"/plugboard/v1/projects/{project}/dbss/instances/{view['id']}")
    assert got.status == 200, got.body
    assert got.json() == view
    listed = signed_call(pb, "GET", f"/plugboard/v1/projects/{project}/dbss/instances")
    assert listed.status == 200, listed.body
    body = listed.json()
    assert view["id"] in [i["id"] for i in body["instances"]], body
    assert body["total"] == len(body["instances"]), body


def test_admin_create_instance_by_limit_with_token(pb, token):
    project = pb.bootstrap["project_id"]
    url = f"{pb.base_url}/plugboard/v1/projects/{project}/dbss/instances"
    resp = http("POST", url, headers={"X-Auth-Token": token}, json_body={"name": "by-limit", "database_limit": 7})
    assert resp.status == 201, resp.body
    view = resp.json()
    assert HEX32.match(view["id"]) and (view["name"], view["database_limit"], view["status"]) == \
        ("by-limit", 7, "ACTIVE"), view
    assert resp.headers.get("Content-Type", "").startswith("application/json")
    assert HEX32.match(resp.headers.get("X-Request-Id") or "")


ADMIN_REJECTED = [
    ({"name": "x", "edition": "ultimate"}, "edition", "unknown edition"),
    ({"name": "x", "edition": "Entry"}, "edition", "edition is case-sensitive"),
    ({"edition": "entry"}, "name", "name missing"),
    ({"name": "", "edition": "entry"}, "name", "name empty"),
    ({"name": "   ", "edition": "entry"}, "name", "name only whitespace"),
    ({"name": "n" * 65, "edition": "entry"}, "name", "name over 64 characters"),
    ({"name": "é" * 65, "edition": "entry"}, "name", "name over 64 characters (multibyte)"),
    ({"name": None, "edition": "entry"}, "name", "name null"),
    ({"name": 7, "edition": "entry"}, "name", "name a number"),
    ({"name": "x", "database_limit": -1}, "database_limit", "negative limit"),
    ({"name": "x", "database_limit": 0}, "database_limit", "limit 0"),
    ({"name": "x", "database_limit": 1_000_001}, "database_limit", "limit over 1,000,000"),
    ({"name": "x", "database_limit": 2 ** 63}, "database_limit", "limit past i64"),
    ({"name": "x", "database_limit": 1.5}, "database_limit", "limit a fraction"),
    ({"name": "x", "database_limit": "5"}, "database_limit", "limit as a string"),
    ({"name": "x", "edition": "entry", "database_limit": 1}, "database_limit", "edition and limit both"),
    ({"name": "x"}, "database_limit", "neither edition nor limit"),
]


@pytest.mark.parametrize("body, field, why", ADMIN_REJECTED, ids=[c[2] for c in ADMIN_REJECTED])
def test_admin_create_instance_rejected(pb, body, field, why):
    project = pb.bootstrap["project_id"]
    before = signed_call(pb, "GET", f"/plugboard/v1/projects/{project}/dbss/instances").json()["total"]
    resp = signed_call(pb, "POST", f"/plugboard/v1/projects/{project}/dbss/instances", body)
    assert resp.status == 400, (why, resp.status, resp.body)
    err = resp.json()
    assert err.get("error_code") == "PLUGBOARD.0400", (why, err)
    assert field in (err.get("error_msg") or ""), f"{why}: error_msg must name {field!r}: {err}"
    assert signed_call(pb, "GET", f"/plugboard/v1/projects/{project}/dbss/instances").json()["total"] == before


@pytest.mark.parametrize("name", ["n" * 64, "é" * 64])
def test_admin_create_instance_name_of_64_characters(pb, name):
    """64 characters (not bytes) is the longest name; database_limit 1 and 1,000,000 are the bounds."""
    for limit in (1, 1_000_000):
        view = create_audit_instance(pb, name=name, database_limit=limit)
        assert (view["name"], view["database_limit"], view["edition"]) == (name, limit, "custom"), view


ADMIN_LIST_REJECTED = [
    ("limit=0", "limit"), ("limit=1001", "limit"), ("limit=-1", "limit"), ("limit=abc", "limit"),
    ("limit=1.5", "limit"), ("offset=-1", "offset"), ("offset=abc", "offset"),
]


@pytest.mark.parametrize("query, field", ADMIN_LIST_REJECTED, ids=[c[0] for c in ADMIN_LIST_REJECTED])
def test_admin_list_instances_rejected(pb, query, field):
    project = pb.bootstrap["project_id"]
    path = f"/plugboard/v1/projects/{project}/dbss/instances"
    before = signed_call(pb, "GET", path).json()["total"]
    resp = signed_call(pb, "GET", f"{path}?{query}")
    assert resp.status == 400, (query, resp.status, resp.body)
    err = resp.json()
    assert err.get("error_code") == "PLUGBOARD.0400", (query, err)
    assert field in (err.get("error_msg") or ""), f"error_msg must name {field!r}: {err}"
    other = "offset" if field == "limit" else "limit"
    assert other not in err["error_msg"], f"error_msg must name only the wrong parameter: {err}"
    assert signed_call(pb, "GET", path).json()["total"] == before, "nothing may change"


def test_admin_list_instances_limit_bounds(pb):
    project = create_sub_project(pb)
    for _ in range(2):
        create_audit_instance(pb, project_id=project, edition="entry")
    path = f"/plugboard/v1/projects/{project}/dbss/instances"
    for query, count in (("limit=1", 1), ("limit=1000", 2), ("offset=1&limit=1000", 1), ("offset=2", 0)):
        resp = signed_call(pb, "GET", f"{path}?{query}", project_id=project)
        assert resp.status == 200, (query, resp.body)
        assert (len(resp.json()["instances"]), resp.json()["total"]) == (count, 2), (query, resp.body)


def test_admin_delete_instance_deletes_its_databases(pb, client):
    project = pb.bootstrap["project_id"]
    inst = create_audit_instance(pb, edition="basic")["id"]
    add_db(client, inst)
    path = f"/plugboard/v1/projects/{project}/dbss/instances/{inst}"
    resp = signed_call(pb, "DELETE", path)
    assert resp.status == 204, resp.body
    gone = signed_call(pb, "GET", path)
    assert gone.status == 404, gone.body
    assert gone.json().get("error_code", "").startswith("PLUGBOARD."), gone.body
    assert signed_call(pb, "DELETE", path).status == 404
    expect_sdk_error(lambda: list_dbs(client, inst), (404, DBSS_NOT_FOUND, None))
    servers = client.list_audit_instances(dbss.ListAuditInstancesRequest(limit="1000")).servers
    assert inst not in [s.id for s in servers]


def test_admin_api_needs_admin(pb, reader):
    project = pb.bootstrap["project_id"]
    resp = signed_call(pb, "POST", f"/plugboard/v1/projects/{project}/dbss/instances",
                       {"name": "nope", "edition": "entry"}, ak=reader.access_key, sk=reader.secret_key)
    assert resp.status == 403, resp.body
    expect_gateway_error(http("GET", f"{pb.base_url}/plugboard/v1/projects/{project}/dbss/instances"),
                         NO_CREDENTIALS)


# == ListAuditInstances ==============================================================================
def test_list_audit_instances(pb, other_project):
    """A project of its own, so the list holds exactly what this test created."""
    project = create_sub_project(pb)
    client = dbss_client(pb, project_id=project)
    made = [create_audit_instance(pb, project_id=project, edition=e) for e in ("entry", "basic", "advanced")]
    add_db(client, made[1]["id"])
    add_db(client, made[1]["id"])
    create_audit_instance(pb, project_id=other_project, edition="entry")  # must not show up

    resp = client.list_audit_instances(dbss.ListAuditInstancesRequest())
    assert resp.status_code == 200
    assert resp.total == 3
    by_id = {s.id: s for s in resp.servers}
    assert set(by_id) == {m["id"] for m in made}
    for m in made:
        server = by_id[m["id"]]
        assert (server.name, server.status, server.database_limit) == (m["name"], "ACTIVE", m["database_limit"])
    assert by_id[made[1]["id"]].config_num == 2, "config_num: databases configured on the instance"
    assert by_id[made[0]["id"]].config_num == 0
    wire = raw_json(resp)
    assert type(wire["total"]) is int
    for s in wire["servers"]:
        assert type(s["database_limit"]) is int and type(s["config_num"]) is int, s
        assert isinstance(s["created"], str) and s["created"], s

    first = client.list_audit_instances(dbss.ListAuditInstancesRequest(offset="0", limit="2"))
    rest = client.list_audit_instances(dbss.ListAuditInstancesRequest(offset="2", limit="2"))
    assert (first.total, rest.total) == (3, 3)
    assert len(first.servers) == 2 and len(rest.servers) == 1
    assert {s.id for s in first.servers} | {s.id for s in rest.servers} == set(by_id)


INSTANCES_LIST_REJECTED = [
    ({"limit": "0"}, "limit"), ({"limit": "10001"}, "limit"), ({"limit": "-1"}, "limit"),
    ({"limit": "abc"}, "limit"), ({"limit": "1.5"}, "limit"), ({"limit": ""}, "limit"),
    ({"offset": "-1"}, "offset"), ({"offset": "abc"}, "offset"), ({"offset": "1e3"}, "offset"),
]


@pytest.mark.parametrize("params, field", INSTANCES_LIST_REJECTED, ids=lambda v: json.dumps(v) if isinstance(v, dict) else v)
def test_list_audit_instances_rejected(pb, client, params, field):
    """Bad offset/limit on GET /v1/{project_id}/dbss/audit/instances: 400 naming the parameter."""
    before = client.list_audit_instances(dbss.ListAuditInstancesRequest(limit="10000")).total
    e = expect_sdk_error(lambda: client.list_audit_instances(dbss.ListAuditInstancesRequest(**params)),
                         (400, DBSS_INVALID, None))
    assert field in (e.error_msg or ""), f"error_msg must name {field!r}: {e.error_msg!r}"
    assert client.list_audit_instances(dbss.ListAuditInstancesRequest(limit="10000")).total == before


# == add ===================================================================================================
@pytest.mark.parametrize("variant", ["v1", "v2"])
def test_add_and_list(pb, client, instance, variant):
    db_id, sent = add_db(client, instance, variant)
    resp = list_dbs(client, instance, variant)
    [listed] = wire_dbs(resp)
    assert raw_json(resp)["total"] == 1
    assert DATABASE_KEYS <= set(listed), f"missing: {DATABASE_KEYS - set(listed)}"
    assert listed["id"] == db_id
    for key, value in sent.items():
        assert listed[key] == value, (key, listed)
    assert type(listed["port"]) is str, "port is a string on the wire"
    assert (listed["status"], listed["audit_status"]) == ("OFF", "SHUTOFF"), listed
    assert listed["agent_url"] == [] and listed["rds_audit_switch_mismatch"] is False, listed
    assert listed.get("audit_reason") == "", f"audit_reason must be present and empty: {listed}"
    # the SDK model reads the vendor fields (and has no audit_reason)
    model = resp.databases[0].database
    assert (model.id, model.name, model.port, model.status, model.audit_status) == \
        (db_id, sent["name"], sent["port"], "OFF", "SHUTOFF")
    assert not hasattr(model, "audit_reason")


def test_add_without_instance_name(client, instance):
    fields = valid_db()
    del fields["instance_name"]
    resp = add(client, instance, {"database": fields})
    assert resp.status_code == 200 and DBSS_DB_ID.match(resp.id or ""), resp.raw_content
    listed = find_db(client, instance, resp.id)
    assert listed["name"] == fields["name"] and listed.get("instance_name") in ("", None), listed


def test_add_every_enum_value(pb, client):
    """Every type, charset, os and classification of spec/dbss.md is accepted and echoed."""
    inst = create_audit_instance(pb, database_limit=len(TYPES))["id"]
    charsets, oses, classes = ["UTF8", "GBK"], ["LINUX64", "WINDOWS64", "UNIX"], ["ECS", "RDS"]
    sent = {}
    for i, db_type in enumerate(TYPES):
        db_id, fields = add_db(client, inst, "v1" if i % 2 else "v2", type=db_type, charset=charsets[i % 2],
                               os=oses[i % 3], db_classification=classes[i % 2], port=str(40000 + i))
        sent[db_id] = fields
    listed = {d["id"]: d for d in wire_dbs(list_dbs(client, inst))}
    assert set(listed) == set(sent)
    for db_id, fields in sent.items():
        for key, value in fields.items():
            assert listed[db_id][key] == value, (key, listed[db_id])


# (ip sent, ip stored and listed): one spelling per address — IPv4-mapped IPv6 is the IPv4
# address, IPv6 as RFC 5952 writes it (lower case, leading zeros dropped, longest zero run "::").
CANONICAL_IPS = [
    ("::1", "::1"), ("2001:db8::10", "2001:db8::10"), ("fe80::1", "fe80::1"), ("10.0.0.1", "10.0.0.1"),
    ("192.168.1.254", "192.168.1.254"), ("::ffff:10.0.0.1", "10.0.0.1"), ("::FFFF:127.0.0.1", "127.0.0.1"),
    ("0:0:0:0:0:0:0:1", "::1"), ("0000:0000:0000:0000:0000:0000:0000:0001", "::1"),
    ("2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329"), ("2001:DB8::A", "2001:db8::a"),
    ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
]


@pytest.mark.parametrize("ip, stored", CANONICAL_IPS, ids=[c[0] for c in CANONICAL_IPS])
def test_add_valid_ip(client, instance, ip, stored):
    db_id, _ = add_db(client, instance, ip=ip)
    assert find_db(client, instance, db_id)["ip"] == stored


@pytest.mark.parametrize("port", ["1", "65535", "5432"])
def test_add_valid_port(client, instance, port):
    db_id, _ = add_db(client, instance, port=port)
    assert find_db(client, instance, db_id)["port"] == port


def _without(field):
    return lambda d: {"database": {k: v for k, v in d.items() if k != field}}


def _with(field, value):
    return lambda d: {"database": {**d, field: value}}


# (case id, valid database dict → request body, field the message must name)
FIELD_CASES = [
    ("db_classification-missing", _without("db_classification"), "db_classification"),
    ("db_classification-null", _with("db_classification", None), "db_classification"),
    ("db_classification-unknown", _with("db_classification", "VM"), "db_classification"),
    ("db_classification-lowercase", _with("db_classification", "ecs"), "db_classification"),
    ("name-missing", _without("name"), "name"),
    ("name-empty", _with("name", ""), "name"),
    ("name-number", _with("name", 42), "name"),
    ("name-null", _with("name", None), "name"),
    ("name-list", _with("name", ["orders"]), "name"),
    ("name-whitespace", _with("name", " \t \n "), "name"),
    ("name-256", _with("name", "n" * 256), "name"),
    ("name-256-multibyte", _with("name", "é" * 256), "name"),
    ("type-missing", _without("type"), "type"),
    ("type-unknown", _with("type", "MARIADB"), "type"),
    ("type-lowercase", _with("type", "mysql"), "type"),
    ("type-number", _with("type", 1), "type"),
    ("type-null", _with("type", None), "type"),
    ("type-list", _with("type", ["MYSQL"]), "type"),
    ("version-missing", _without("version"), "version"),
    ("version-empty", _with("version", ""), "version"),
    ("version-number", _with("version", 10), "version"),
    ("version-null", _with("version", None), "version"),
    ("version-list", _with("version", ["10.11"]), "version"),
    ("version-whitespace", _with("version", "   "), "version"),
    ("version-256", _with("version", "1" * 256), "version"),
    ("charset-missing", _without("charset"), "charset"),
    ("charset-unknown", _with("charset", "LATIN1"), "charset"),
    ("charset-dashed", _with("charset", "UTF-8"), "charset"),
    ("charset-lowercase", _with("charset", "utf8"), "charset"),
    ("charset-null", _with("charset", None), "charset"),
    ("charset-number", _with("charset", 8), "charset"),
    ("charset-list", _with("charset", ["UTF8"]), "charset"),
    ("ip-missing", _without("ip"), "ip"),
    ("ip-empty", _with("ip", ""), "ip"),
    ("ip-garbage", _with("ip", "not-an-ip"), "ip"),
    ("ip-hostname", _with("ip", "localhost"), "ip"),
    ("ip-octet-too-big", _with("ip", "256.1.1.1"), "ip"),
    ("ip-three-octets", _with("ip", "10.0.0"), "ip"),
    ("ip-with-port", _with("ip", "127.0.0.1:3306"), "ip"),
    ("ip-cidr", _with("ip", "10.0.0.0/8"), "ip"),
    ("ip-v6-garbage", _with("ip", "2001:db8:::1"), "ip"),
    ("ip-v6-bracketed", _with("ip", "[::1]"), "ip"),
    ("ip-number", _with("ip", 2130706433), "ip"),
    ("ip-null", _with("ip", None), "ip"),
    ("ip-list", _with("ip", ["127.0.0.1"]), "ip"),
    ("ip-v6-zone", _with("ip", "fe80::1%eth0"), "ip"),
    ("port-missing", _without("port"), "port"),
    ("port-null", _with("port", None), "port"),
    ("port-integer", _with("port", 3306), "port"),
    ("port-zero", _with("port", "0"), "port"),
    ("port-65536", _with("port", "65536"), "port"),
    ("port-letters", _with("port", "abc"), "port"),
    ("port-empty", _with("port", ""), "port"),
    ("port-negative", _with("port", "-1"), "port"),
    ("port-huge", _with("port", "99999999999999999999"), "port"),
    ("port-fraction", _with("port", "3306.5"), "port"),
    ("port-leading-zero", _with("port", "03306"), "port"),
    ("port-leading-zeros", _with("port", "00001"), "port"),
    ("port-plus", _with("port", "+3306"), "port"),
    ("port-spaces", _with("port", " 3306"), "port"),
    ("os-missing", _without("os"), "os"),
    ("os-unknown", _with("os", "LINUX"), "os"),
    ("os-lowercase", _with("os", "linux64"), "os"),
    ("os-null", _with("os", None), "os"),
    ("os-number", _with("os", 64), "os"),
    ("os-list", _with("os", ["LINUX64"]), "os"),
    ("instance_name-number", _with("instance_name", 7), "instance_name"),
    ("instance_name-list", _with("instance_name", ["maria"]), "instance_name"),
    ("instance_name-256", _with("instance_name", "i" * 256), "instance_name"),
    ("no-database-wrapper", lambda d: d, "database"),
    ("empty-object", lambda d: {}, "database"),
    ("database-null", lambda d: {"database": None}, "database"),
    ("database-array", lambda d: {"database": [d]}, "database"),
    ("database-string", lambda d: {"database": "orders"}, "database"),
]


@pytest.fixture(scope="module")
def reject_instance(pb):
    """One instance for all the rejected adds: nothing may ever be stored in it."""
    return create_audit_instance(pb, database_limit=100)["id"]


@pytest.mark.parametrize("variant", ["v1", "v2"])
@pytest.mark.parametrize("case, make_body, field", FIELD_CASES, ids=[c[0] for c in FIELD_CASES])
def test_add_rejected(client, reject_instance, variant, case, make_body, field):
    before = total(client, reject_instance)
    body = make_body(valid_db())
    e = expect_sdk_error(lambda: add(client, reject_instance, body, variant), (400, DBSS_INVALID, None))
    assert field in (e.error_msg or ""), f"error_msg must name {field!r}: {e.error_msg!r}"
    if field != "database" and not case.endswith("-missing"):
        # the full path, so `name` is not satisfied by a message about `instance_name`
        assert f"database.{field}" in e.error_msg, f"error_msg must name database.{field}: {e.error_msg!r}"
    assert total(client, reject_instance) == before, "nothing may be stored"


@pytest.mark.parametrize("field", ["name", "version", "instance_name"])
@pytest.mark.parametrize("text", ["x" * 255, "é" * 255], ids=["ascii", "multibyte"])
def test_add_text_at_255_characters(client, instance, field, text):
    """255 characters (not bytes) is the longest text accepted; listed unchanged."""
    db_id, _ = add_db(client, instance, **{field: text})
    assert find_db(client, instance, db_id)[field] == text


@pytest.mark.parametrize("field", ["name", "version", "instance_name"])
def test_add_text_with_nul_character(client, reject_instance, field):
    """A NUL character in a text field: either refused like any invalid value (400 naming the
    field, nothing stored) or stored and listed unchanged — the same on both back-ends, and
    never a 500 (common.md)."""
    before = total(client, reject_instance)
    body = {"database": valid_db(**{field: "a\u0000b"})}
    try:
        resp = add(client, reject_instance, body)
    except ServiceResponseException as e:
        assert (e.status_code, e.error_code) == (400, DBSS_INVALID), str(e)
        assert field in (e.error_msg or ""), str(e)
        assert total(client, reject_instance) == before, "nothing may be stored"
        return
    try:
        assert find_db(client, reject_instance, resp.id)[field] == "a\u0000b"
    finally:
        delete(client, reject_instance, resp.id)


def test_admin_instance_name_with_nul_character(pb):
    project = pb.bootstrap["project_id"]
    path = f"/plugboard/v1/projects/{project}/dbss/instances"
    resp = signed_call(pb, "POST", path, {"name": "a\u0000b", "edition": "entry"})
    if resp.status == 201:
        assert resp.json()["name"] == "a\u0000b"
        assert signed_call(pb, "DELETE", f"{path}/{resp.json()['id']}").status == 204
    else:
        assert resp.status == 400, (resp.status, resp.body)
        assert resp.json().get("error_code", "").startswith("PLUGBOARD."), resp.body


RAW_CASES = [
    ("malformed-json", "application/json;charset=UTF-8", b'{"database": {"name": "orders", '),
    ("trailing-garbage", "application/json;charset=UTF-8", b'{"database": {}} x'),
    ("empty-body", "application/json;charset=UTF-8", b""),
    ("json-array", "application/json;charset=UTF-8", b"[]"),
    ("not-json", "application/json;charset=UTF-8", b"database=orders"),
    ("wrong-content-type", "text/plain", None),  # a valid body
]


@pytest.mark.parametrize("path", ["/v1/{project_id}/{instance}/audit/databases",
                                  "/v2/{project_id}/audit/{instance}/databases"], ids=["v1", "v2"])
@pytest.mark.parametrize("case, content_type, body", RAW_CASES, ids=[c[0] for c in RAW_CASES])
def test_add_rejected_raw(pb, client, token, reject_instance, path, case, content_type, body):
    """Bodies the SDK cannot send: 400 DBSS.10000001 in the nested envelope, nothing stored."""
    before = total(client, reject_instance)
    if body is None:
        body = json.dumps({"database": valid_db()}).encode()
    url = pb.base_url + path.format(project_id=pb.bootstrap["project_id"], instance=reject_instance)
    resp = http("POST", url, headers={"X-Auth-Token": token, "Content-Type": content_type}, body=body)
    expect_dbss_error(resp, 400, DBSS_INVALID)
    assert total(client, reject_instance) == before, "nothing may be stored"


# -- limit and duplicates ----------------------------------------------------------------------------
@pytest.mark.parametrize("variant", ["v1", "v2"])
def test_limit_entry_edition(pb, client, variant):
    inst = create_audit_instance(pb, edition="entry")["id"]
    first, _ = add_db(client, inst, variant)
    expect_sdk_error(lambda: add_db(client, inst, variant), (400, DBSS_LIMIT, LIMIT_MSG))
    assert [d["id"] for d in wire_dbs(list_dbs(client, inst))] == [first]
    # the limit counts what is configured now: after a delete there is room again
    assert delete(client, inst, first).status_code == 200
    add_db(client, inst, variant)
    assert total(client, inst) == 1


def test_limit_by_database_limit_and_raw_envelope(pb, client, token):
    inst = create_audit_instance(pb, database_limit=2)["id"]
    add_db(client, inst, "v1")
    add_db(client, inst, "v2")
    url = dbss_url(pb, "/v2/{project_id}/audit/") + inst + "/databases"
    resp = http("POST", url, headers={"X-Auth-Token": token}, json_body={"database": valid_db()})
    body = expect_dbss_error(resp, 400, DBSS_LIMIT)
    assert body["error"]["error_msg"] == LIMIT_MSG
    assert total(client, inst) == 2


def test_limit_basic_edition(pb, client):
    inst = create_audit_instance(pb, edition="basic")["id"]
    for _ in range(3):
        add_db(client, inst)
    expect_sdk_error(lambda: add_db(client, inst, "v1"), (400, DBSS_LIMIT, LIMIT_MSG))
    assert total(client, inst) == 3


def _concurrently(calls):
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


def test_concurrent_adds_respect_the_limit(pb):
    inst = create_audit_instance(pb, database_limit=5)["id"]
    calls = []
    for i in range(20):
        c = dbss_client(pb)
        calls.append(lambda c=c, i=i: add(c, inst, {"database": valid_db(name=f"race{i}")}, "v1" if i % 2 else "v2"))
    results = _concurrently(calls)
    ok = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, ServiceResponseException)]
    assert len(ok) + len(refused) == 20, [r for r in results if isinstance(r, Exception)
                                          and not isinstance(r, ServiceResponseException)]
    assert len(ok) == 5, f"{len(ok)} adds succeeded past database_limit 5: {[str(e) for e in refused][:3]}"
    assert {(e.status_code, e.error_code) for e in refused} == {(400, DBSS_LIMIT)}, [str(e) for e in refused]
    client = dbss_client(pb)
    assert {d["id"] for d in wire_dbs(list_dbs(client, inst))} == {r.id for r in ok}
    assert total(client, inst) == 5


def test_concurrent_duplicates_store_one(pb):
    inst = create_audit_instance(pb, database_limit=100)["id"]
    fields = valid_db(name="same")
    calls = [lambda c=dbss_client(pb): add(c, inst, {"database": fields}) for _ in range(10)]
    results = _concurrently(calls)
    ok = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, ServiceResponseException)]
    assert len(ok) == 1 and len(refused) == 9, [str(r) for r in results]
    assert all(e.status_code == 400 and e.error_code.startswith("DBSS.") for e in refused), [str(e) for e in refused]
    assert [d["id"] for d in wire_dbs(list_dbs(dbss_client(pb), inst))] == [ok[0].id]


@pytest.mark.parametrize("first, second", [("v1", "v2"), ("v2", "v1"), ("v2", "v2")])
def test_duplicate_rejected(client, instance, first, second):
    db_id, sent = add_db(client, instance, first, name="orders", ip="127.0.0.1", port="3306")
    again = {**sent, "instance_name": "another", "version": "11", "type": "POSTGRESQL"}
    # spec/dbss.md fixes the status (400) but not the code
    expect_sdk_error_code_in(lambda: add(client, instance, {"database": again}, second), 400, None)
    assert [d["id"] for d in wire_dbs(list_dbs(client, instance))] == [db_id], "nothing may be stored"


# (spelling added first, another spelling of the same address, the one spelling listed)
SAME_ADDRESS = [
    ("127.0.0.1", "::ffff:127.0.0.1", "127.0.0.1"),
    ("::ffff:127.0.0.1", "127.0.0.1", "127.0.0.1"),
    ("::1", "0:0:0:0:0:0:0:1", "::1"),
    ("0:0:0:0:0:0:0:1", "::1", "::1"),
    ("::1", "0000:0000:0000:0000:0000:0000:0000:0001", "::1"),
    ("2001:db8::a", "2001:DB8:0:0:0:0:0:A", "2001:db8::a"),
    ("2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329", "2001:db8::ff00:42:8329"),
]


@pytest.mark.parametrize("first, again, canonical", SAME_ADDRESS, ids=[f"{a} then {b}" for a, b, _ in SAME_ADDRESS])
def test_duplicate_rule_sees_every_spelling_of_an_address(client, instance, first, again, canonical):
    """The duplicate rule compares addresses, not spellings: the ip is stored canonically."""
    db_id, _ = add_db(client, instance, name="orders", ip=first, port="3306")
    [listed] = wire_dbs(list_dbs(client, instance))
    assert listed["ip"] == canonical, listed
    for variant in ("v1", "v2"):
        e = expect_sdk_error(lambda: add(client, instance, {"database": valid_db(name="orders", ip=again,
                                                                                   port="3306")}, variant),
                             (400, DBSS_INVALID, None))
        assert "already audited" in e.error_msg and canonical in e.error_msg, e.error_msg
    assert [d["id"] for d in wire_dbs(list_dbs(client, instance))] == [db_id], "nothing may be stored"
    assert total(client, instance) == 1


@pytest.mark.parametrize("variant", ["v1", "v2"])
def test_port_with_leading_zeros_is_not_a_second_spelling(client, instance, variant):
    """"03306" is refused (400 naming port), so it can never be stored beside "3306"."""
    db_id, _ = add_db(client, instance, name="orders", ip="127.0.0.1", port="3306")
    for port in ("03306", "003306", "0003306"):
        e = expect_sdk_error(lambda: add(client, instance, {"database": valid_db(name="orders", port=port)},
                                         variant), (400, DBSS_INVALID, None))
        assert "database.port" in e.error_msg and "leading zeros" in e.error_msg, e.error_msg
    assert [(d["id"], d["port"]) for d in wire_dbs(list_dbs(client, instance))] == [(db_id, "3306")]


def test_duplicate_rule_is_ip_port_name_per_instance(pb, client, instance):
    add_db(client, instance, name="orders", ip="127.0.0.1", port="3306")
    add_db(client, instance, name="orders", ip="127.0.0.1", port="3307")   # other port
    add_db(client, instance, name="orders", ip="127.0.0.2", port="3306")   # other ip
    add_db(client, instance, name="billing", ip="127.0.0.1", port="3306")  # other name
    other = create_audit_instance(pb, edition="entry")["id"]
    add_db(client, other, name="orders", ip="127.0.0.1", port="3306")      # other instance
    assert total(client, instance) == 4
    # once deleted, the same triple may be added again
    [dup] = [d for d in wire_dbs(list_dbs(client, instance))
             if (d["name"], d["ip"], d["port"]) == ("orders", "127.0.0.1", "3306")]
    assert delete(client, instance, dup["id"], "v2").status_code == 200
    add_db(client, instance, name="orders", ip="127.0.0.1", port="3306")
    assert total(client, instance) == 4


# == list ===================================================================================================
@pytest.mark.parametrize("variant", ["v1", "v2"])
def test_list_status_filter(pb, client, variant):
    inst = create_audit_instance(pb, edition="professional")["id"]
    on, _ = add_db(client, inst, ip="127.0.0.1", port=str(closed_port()))
    off = {add_db(client, inst)[0], add_db(client, inst)[0]}
    switch(client, inst, on, "ON")

    resp = list_dbs(client, inst, variant, status="ON")
    assert [d["id"] for d in wire_dbs(resp)] == [on] and raw_json(resp)["total"] == 1
    resp = list_dbs(client, inst, variant, status="OFF")
    listed = wire_dbs(resp)
    assert {d["id"] for d in listed} == off and raw_json(resp)["total"] == 2
    assert all(d["status"] == "OFF" for d in listed)
    resp = list_dbs(client, inst, variant)
    assert len(wire_dbs(resp)) == 3 and raw_json(resp)["total"] == 3


@pytest.mark.parametrize("variant", ["v1", "v2"])
def test_list_paging(pb, client, variant):
    inst = create_audit_instance(pb, edition="professional")["id"]
    ids = {add_db(client, inst)[0] for _ in range(5)}
    seen = []
    for offset, count in (("0", 2), ("2", 2), ("4", 1), ("5", 0), ("100", 0)):
        resp = list_dbs(client, inst, variant, offset=offset, limit="2")
        page = wire_dbs(resp)
        assert len(page) == count, (offset, page)
        assert raw_json(resp)["total"] == 5, "total counts every match, not the page"
        seen += [d["id"] for d in page]
    assert len(seen) == 5 and set(seen) == ids, "pages are disjoint and cover everything"
    # the same pages again come back in the same order
    again = [d["id"] for o in ("0", "2", "4") for d in wire_dbs(list_dbs(client, inst, variant, offset=o, limit="2"))]
    assert again == seen


def test_list_default_limit_is_100(pb, client):
    inst = create_audit_instance(pb, database_limit=101)["id"]
    for i in range(101):
        add_db(client, inst, name=f"db{i:03d}")
    for variant in ("v1", "v2"):
        resp = list_dbs(client, inst, variant)
        assert len(wire_dbs(resp)) == 100 and raw_json(resp)["total"] == 101
        resp = list_dbs(client, inst, variant, limit="10000")
        assert len(wire_dbs(resp)) == 101


@pytest.mark.parametrize("variant", ["v1", "v2"])
@pytest.mark.parametrize("params, field", [
    ({"limit": "0"}, "limit"), ({"limit": "10001"}, "limit"), ({"limit": "-1"}, "limit"),
    ({"limit": "abc"}, "limit"), ({"limit": "1.5"}, "limit"), ({"offset": "-1"}, "offset"),
    ({"offset": "abc"}, "offset"), ({"status": "MAYBE"}, "status"), ({"status": "on"}, "status"),
], ids=lambda v: json.dumps(v) if isinstance(v, dict) else v)
def test_list_rejected(client, instance, variant, params, field):
    e = expect_sdk_error(lambda: list_dbs(client, instance, variant, **params), (400, DBSS_INVALID, None))
    assert field in (e.error_msg or ""), f"error_msg must name {field!r}: {e.error_msg!r}"


def test_list_with_token_and_headers(pb, client, token, instance):
    db_id, _ = add_db(client, instance)
    for path in ("/v1/{project_id}/%s/dbss/audit/databases?limit=10&offset=0&status=OFF" % instance,
                 "/v2/{project_id}/audit/%s/databases" % instance):
        resp = http("GET", dbss_url(pb, path), headers={"X-Auth-Token": token})
        assert resp.status == 200, resp.body
        assert resp.headers.get("Content-Type", "").startswith("application/json"), dict(resp.headers)
        assert HEX32.match(resp.headers.get("X-Request-Id") or "")
        body = resp.json()
        assert [item["database"]["id"] for item in body["databases"]] == [db_id] and body["total"] == 1


# == delete =================================================================================================
def test_delete_v2(client, instance):
    db_id, _ = add_db(client, instance)
    keep, _ = add_db(client, instance)
    resp = delete(client, instance, db_id, "v2")
    assert resp.status_code == 200
    assert raw_json(resp) == {"result": "SUCCESS"} and resp.result == "SUCCESS"
    assert [d["id"] for d in wire_dbs(list_dbs(client, instance))] == [keep]
    expect_sdk_error(lambda: delete(client, instance, db_id, "v2"), (404, DBSS_NOT_FOUND, None))


def test_delete_v3(client, instance):
    db_id, _ = add_db(client, instance)
    keep, _ = add_db(client, instance)
    resp = delete(client, instance, db_id, "v3")
    assert resp.status_code == 200
    assert raw_json(resp) == {"status": "SUCCESS"} and resp.status == "SUCCESS"
    assert [d["id"] for d in wire_dbs(list_dbs(client, instance))] == [keep]
    expect_sdk_error(lambda: delete(client, instance, db_id, "v3"), (404, DBSS_NOT_FOUND, None))


def test_delete_audited_database(client, instance):
    db_id, _ = add_db(client, instance, ip="127.0.0.1", port="3306")
    switch(client, instance, db_id, "ON")
    assert delete(client, instance, db_id).status_code == 200
    assert total(client, instance) == 0


@pytest.mark.parametrize("variant", ["v2", "v3"])
def test_delete_unknown_or_foreign(pb, client, instance, variant):
    keep, _ = add_db(client, instance)
    expect_sdk_error(lambda: delete(client, instance, random_db_id(), variant), (404, DBSS_NOT_FOUND, None))
    # a database of another instance, named under this one
    other = create_audit_instance(pb, edition="entry")["id"]
    foreign, _ = add_db(client, other)
    expect_sdk_error(lambda: delete(client, instance, foreign, variant), (404, DBSS_NOT_FOUND, None))
    assert find_db(client, other, foreign) is not None
    assert [d["id"] for d in wire_dbs(list_dbs(client, instance))] == [keep]


@pytest.mark.parametrize("variant", ["v2", "v3"])
@pytest.mark.parametrize("bad_id", ["short", "x" * 21, "has*star*in*it*12345"])
def test_delete_malformed_id(client, instance, variant, bad_id):
    expect_sdk_error_code_in(lambda: delete(client, instance, bad_id, variant), 400, MALFORMED_ID_CODES)


# == switch ===============================================================================================
def test_real_databases_become_active(client, instance):
    """The machine's MariaDB and PostgreSQL: switch audit ON → ACTIVE within seconds."""
    maria, _ = add_db(client, instance, "v1", name="mysql", type="MYSQL", version="10.11", ip="127.0.0.1",
                      port="3306")
    pg, _ = add_db(client, instance, "v2", name="postgres", type="POSTGRESQL", version="15", ip="127.0.0.1",
                   port="5432", instance_name="pg-main")
    for db_id in (maria, pg):
        assert (find_db(client, instance, db_id)["status"], find_db(client, instance, db_id)["audit_status"]) == \
            ("OFF", "SHUTOFF")
    started = time.monotonic()
    switch(client, instance, maria, "ON", "v2")
    switch(client, instance, pg, "ON", "v3")
    for db_id in (maria, pg):
        assert find_db(client, instance, db_id)["status"] == "ON"
    for db_id in (maria, pg):
        seen = wait_audit(client, instance, db_id, "ACTIVE")
        assert seen["status"] == "ON" and seen["audit_reason"] == "", seen
    assert time.monotonic() - started < STATE_TIMEOUT
    # v1 list shows the same; the SDK model reads it
    resp = list_dbs(client, instance, "v1", status="ON")
    assert {d.database.id: d.database.audit_status for d in resp.databases} == {maria: "ACTIVE", pg: "ACTIVE"}

    # OFF → SHUTOFF, and it stays so (the monitor leaves OFF databases alone)
    switch(client, instance, maria, "OFF", "v3")
    switch(client, instance, pg, "OFF", "v2")
    for db_id in (maria, pg):
        seen = wait_audit(client, instance, db_id, "SHUTOFF", timeout=3)
        assert seen["status"] == "OFF" and seen["audit_reason"] == "", seen
    time.sleep(2.5)
    for db_id in (maria, pg):
        assert find_db(client, instance, db_id)["audit_status"] == "SHUTOFF"


@pytest.mark.parametrize("variant", ["v2", "v3"])
def test_closed_port_becomes_error(client, instance, variant):
    db_id, _ = add_db(client, instance, type="MYSQL", ip="127.0.0.1", port=str(closed_port()))
    switch(client, instance, db_id, "ON", variant)
    seen = wait_audit(client, instance, db_id, "ERROR")
    assert seen["status"] == "ON"
    assert isinstance(seen["audit_reason"], str) and seen["audit_reason"].strip(), seen
    # the SDK model reads the state (not the reason)
    model = list_dbs(client, instance, "v1").databases[0].database
    assert (model.status, model.audit_status) == ("ON", "ERROR")
    switch(client, instance, db_id, "OFF", variant)
    seen = wait_audit(client, instance, db_id, "SHUTOFF", timeout=3)
    assert seen["audit_reason"] == "", "audit_reason is empty unless audit_status is ERROR"


@pytest.mark.parametrize("db_type, port, why", [
    ("POSTGRESQL", "3306", "MariaDB does not answer an SSLRequest with S or N"),
    ("MYSQL", "5432", "PostgreSQL sends no MySQL handshake"),
])
def test_wrong_protocol_becomes_error(client, instance, db_type, port, why):
    db_id, _ = add_db(client, instance, type=db_type, ip="127.0.0.1", port=port)
    switch(client, instance, db_id, "ON")
    seen = wait_audit(client, instance, db_id, "ERROR")
    assert seen["audit_reason"].strip(), (why, seen)


def test_probe_protocols_against_listeners(client, instance, listeners):
    silent = listeners()                              # accepts, says nothing
    pg_like = listeners(read=8, reply=b"N")           # answers an SSLRequest with N
    pg_wrong = listeners(read=8, reply=b"X")          # answers an SSLRequest with garbage
    http_like = listeners(reply=b"HTTP/1.1 400 Bad Request\r\n\r\n")
    cases = {
        "ORACLE on a silent listener (TCP only)": ("ORACLE", silent, "ACTIVE"),
        "MONGODB on a silent listener (TCP only)": ("MONGODB", silent, "ACTIVE"),
        "MYSQL on a silent listener": ("MYSQL", silent, "ERROR"),
        "MYSQL on an HTTP server": ("MYSQL", http_like, "ERROR"),
        "POSTGRESQL answering N": ("POSTGRESQL", pg_like, "ACTIVE"),
        "GAUSSDBOPENGAUSS answering N": ("GAUSSDBOPENGAUSS", pg_like, "ACTIVE"),
        "POSTGRESQL answering X": ("POSTGRESQL", pg_wrong, "ERROR"),
    }
    ids = {}
    for what, (db_type, lst, _) in cases.items():
        db_id, _ = add_db(client, instance, type=db_type, ip="127.0.0.1", port=str(lst.port), name=unique("p"))
        switch(client, instance, db_id, "ON")
        ids[what] = db_id
    failures = []
    for what, (_, _, want) in cases.items():
        try:
            seen = wait_audit(client, instance, ids[what], want)
            if want == "ERROR" and not seen["audit_reason"].strip():
                failures.append(f"{what}: ERROR without audit_reason")
            if want == "ACTIVE" and seen["audit_reason"] != "":
                failures.append(f"{what}: ACTIVE with audit_reason {seen['audit_reason']!r}")
        except pytest.fail.Exception as e:
            failures.append(f"{what}: {e}")
    assert not failures, "\n".join(failures)


def test_state_follows_the_target(client, instance):
    """The probe repeats while audit is ON: a target going away → ERROR, coming back → ACTIVE."""
    lst = Listener()
    port = lst.port
    try:
        db_id, _ = add_db(client, instance, type="SQLSERVER", ip="127.0.0.1", port=str(port))
        switch(client, instance, db_id, "ON")
        wait_audit(client, instance, db_id, "ACTIVE")
        lst.close()
        seen = wait_audit(client, instance, db_id, "ERROR")
        assert seen["audit_reason"].strip(), seen
        lst = Listener(port=port)
        seen = wait_audit(client, instance, db_id, "ACTIVE")
        assert seen["audit_reason"] == "", seen
    finally:
        lst.close()


def test_concurrent_switches_while_probing(pb, client):
    """Many switches at once while the monitor records probe results: every call succeeds
    (no 500 from store contention) and every database ends in its true state."""
    inst = create_audit_instance(pb, database_limit=200)["id"]
    port = closed_port()
    ids = [add_db(client, inst, type="ORACLE", ip="127.0.0.1", port=str(port), name=f"c{i}")[0]
           for i in range(160)]
    clients = [dbss_client(pb) for _ in range(16)]

    def switch_share(k):
        errors = []
        for db_id in ids[k::16]:
            try:
                switch(clients[k], inst, db_id, "ON", "v2" if k % 2 else "v3")
            except ServiceResponseException as e:
                errors.append(str(e))
        return errors

    results = _concurrently([lambda k=k: switch_share(k) for k in range(16)])
    errors = [e for r in results for e in (r if isinstance(r, list) else [repr(r)])]
    assert not errors, f"{len(errors)} of {len(ids)} switches failed, e.g. {errors[:2]}"
    deadline = time.monotonic() + STATE_TIMEOUT
    while True:
        listed = wire_dbs(list_dbs(client, inst, limit="1000"))
        states = {d["id"]: (d["status"], d["audit_status"]) for d in listed}
        if set(states.values()) == {("ON", "ERROR")} and len(states) == len(ids):
            break
        assert time.monotonic() < deadline, f"not all ON/ERROR: {sorted(set(states.values()))}"
        time.sleep(0.2)


def test_concurrent_switches_of_one_database_keep_totals(pb, client):
    """The same database switched ON (then OFF) by many callers at once: each call succeeds and
    the filtered totals still count what is listed."""
    inst = create_audit_instance(pb, database_limit=10)["id"]
    port = str(closed_port())
    target, _ = add_db(client, inst, type="ORACLE", ip="127.0.0.1", port=port, name="target")
    add_db(client, inst, type="ORACLE", ip="127.0.0.1", port=port, name="bystander")
    for status in ("ON", "OFF", "ON"):
        results = _concurrently([lambda c=dbss_client(pb), k=k: switch(c, inst, target, status, "v2" if k % 2 else "v3")
                                 for k in range(12)])
        failed = [str(r) for r in results if isinstance(r, Exception)]
        assert not failed, f"{len(failed)} of 12 concurrent switches {status} failed, e.g. {failed[:2]}"
        for variant in ("v1", "v2"):
            for filt in ("ON", "OFF"):
                resp = list_dbs(client, inst, variant, status=filt)
                listed = wire_dbs(resp)
                assert raw_json(resp)["total"] == len(listed), \
                    f"after {status}: status={filt} lists {len(listed)} but total is {raw_json(resp)['total']}"
        on = [d["id"] for d in wire_dbs(list_dbs(client, inst, status="ON"))]
        assert on == ([target] if status == "ON" else [])


def test_switch_off_during_a_probe_stays_shutoff(client, instance, listeners):
    """A probe still in flight when audit is switched OFF must not overwrite SHUTOFF (nor leave
    a reason behind); the same for a database deleted mid-probe."""
    silent = listeners()  # MYSQL probe waits for a greeting until probe_timeout_ms (1 s)
    off_id, _ = add_db(client, instance, type="MYSQL", ip="127.0.0.1", port=str(silent.port), name="off")
    gone_id, _ = add_db(client, instance, type="MYSQL", ip="127.0.0.1", port=str(silent.port), name="gone")
    switch(client, instance, off_id, "ON")
    switch(client, instance, gone_id, "ON")
    deadline = time.monotonic() + 3
    while silent.accepted < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert silent.accepted >= 2, "the probes did not start within 3 s of switching ON"
    switch(client, instance, off_id, "OFF")
    assert delete(client, instance, gone_id).status_code == 200
    time.sleep(2.5)  # the in-flight probes time out and report ERROR
    seen = find_db(client, instance, off_id)
    assert (seen["status"], seen["audit_status"], seen["audit_reason"]) == ("OFF", "SHUTOFF", ""), seen
    assert find_db(client, instance, gone_id) is None and total(client, instance) == 1


def test_probe_needs_probe_allow(start_plugboard):
    """Without [network] probe_allow a loopback target is refused by policy, with a reason."""
    pb = start_plugboard(config="[dbss]\nprobe_interval_seconds = 1\nprobe_timeout_ms = 1000\n")
    client = dbss_client(pb)
    inst = create_audit_instance(pb, edition="basic")["id"]
    db_id, _ = add_db(client, inst, type="MYSQL", ip="127.0.0.1", port="3306")
    switch(client, inst, db_id, "ON")
    seen = wait_audit(client, inst, db_id, "ERROR")
    assert "probe_allow" in seen["audit_reason"], seen


@pytest.mark.parametrize("variant", ["v2", "v3"])
@pytest.mark.parametrize("body, field, code", [
    ({"status": "ON"}, "id", DBSS_INVALID),
    ({"id": None, "status": "ON"}, "id", DBSS_INVALID),
    ({"id": "@ID@"}, "status", DBSS_INVALID),
    ({"id": "@ID@", "status": None}, "status", DBSS_INVALID),
    ({"id": "@ID@", "status": "on"}, "status", DBSS_INVALID),
    ({"id": "@ID@", "status": "MAYBE"}, "status", DBSS_INVALID),
    ({"id": "@ID@", "status": True}, "status", DBSS_INVALID),
    ({}, None, DBSS_INVALID),
], ids=["id-missing", "id-null", "status-missing", "status-null", "status-lowercase", "status-unknown",
        "status-bool", "empty"])
def test_switch_rejected(client, instance, variant, body, field, code):
    db_id, _ = add_db(client, instance)
    body = {k: (db_id if v == "@ID@" else v) for k, v in body.items()}
    request = (dbss.SwitchAuditDatabaseRequest if variant == "v2" else dbss.SwitchAuditDatabaseNewRequest)(
        instance_id=instance, body=body)
    call = client.switch_audit_database if variant == "v2" else client.switch_audit_database_new
    e = expect_sdk_error(lambda: call(request), (400, code, None))
    if field:
        assert field in (e.error_msg or ""), f"error_msg must name {field!r}: {e.error_msg!r}"
    seen = find_db(client, instance, db_id)
    assert (seen["status"], seen["audit_status"]) == ("OFF", "SHUTOFF"), "nothing changed"


@pytest.mark.parametrize("variant", ["v2", "v3"])
def test_switch_unknown_or_foreign(pb, client, instance, variant):
    expect_sdk_error(lambda: switch(client, instance, random_db_id(), "ON", variant), (404, DBSS_NOT_FOUND, None))
    other = create_audit_instance(pb, edition="entry")["id"]
    foreign, _ = add_db(client, other)
    expect_sdk_error(lambda: switch(client, instance, foreign, "ON", variant), (404, DBSS_NOT_FOUND, None))
    assert find_db(client, other, foreign)["status"] == "OFF"
    expect_sdk_error_code_in(lambda: switch(client, instance, "not-an-id", "ON", variant), 400, MALFORMED_ID_CODES)


@pytest.mark.parametrize("path", ["/v2/{project_id}/{instance}/audit/databases/switch",
                                  "/v3/{project_id}/audit/{instance}/databases/switch"], ids=["v2", "v3"])
def test_switch_malformed_json(pb, client, token, instance, path):
    db_id, _ = add_db(client, instance)
    url = pb.base_url + path.format(project_id=pb.bootstrap["project_id"], instance=instance)
    resp = http("POST", url, headers={"X-Auth-Token": token, "Content-Type": "application/json"},
                body=b'{"id": "%s", "status": "ON"' % db_id.encode())
    expect_dbss_error(resp, 400, DBSS_INVALID)
    assert find_db(client, instance, db_id)["status"] == "OFF"
    # the same, well-formed, over raw HTTP with a token
    resp = http("POST", url, headers={"X-Auth-Token": token}, json_body={"id": db_id, "status": "ON"})
    assert resp.status == 200 and resp.json() == {"status": "SUCCESS"}, resp.body
    assert find_db(client, instance, db_id)["status"] == "ON"


def test_switch_is_idempotent(client, instance):
    db_id, _ = add_db(client, instance, ip="127.0.0.1", port="5432", type="POSTGRESQL")
    switch(client, instance, db_id, "ON")
    switch(client, instance, db_id, "ON", "v2")
    wait_audit(client, instance, db_id, "ACTIVE")
    switch(client, instance, db_id, "OFF")
    switch(client, instance, db_id, "OFF", "v2")
    assert find_db(client, instance, db_id)["audit_status"] == "SHUTOFF"


# == instances, projects, permissions ================================================================
def _every_call(client, inst, db_id):
    """(what, call) for every DBSS database API of the SDK, aimed at audit instance `inst`."""
    body = {"database": valid_db()}
    return [
        ("add v1", lambda: add(client, inst, body, "v1")),
        ("add v2", lambda: add(client, inst, body, "v2")),
        ("list v1", lambda: list_dbs(client, inst, "v1")),
        ("list v2", lambda: list_dbs(client, inst, "v2")),
        ("switch v2", lambda: switch(client, inst, db_id, "ON", "v2")),
        ("switch v3", lambda: switch(client, inst, db_id, "ON", "v3")),
        ("delete v2", lambda: delete(client, inst, db_id, "v2")),
        ("delete v3", lambda: delete(client, inst, db_id, "v3")),
    ]


def test_unknown_instance_is_not_found(client):
    inst = secrets.token_hex(16)
    for what, call in _every_call(client, inst, random_db_id()):
        e = expect_sdk_error(call, (404, DBSS_NOT_FOUND, None))
        assert e.error_msg, what


def test_malformed_instance_id(client):
    for what, call in _every_call(client, "not-an-instance", random_db_id()):
        expect_sdk_error_code_in(call, 400, MALFORMED_ID_CODES)


def test_instance_of_another_project_is_not_found(pb, client, other_project):
    """An instance id of project B used under the caller's own project A path → 404, nothing changed."""
    theirs = create_audit_instance(pb, project_id=other_project, edition="basic")["id"]
    their_client = dbss_client(pb, project_id=other_project)
    their_db, _ = add_db(their_client, theirs)  # positive control: fine under its own project
    for what, call in _every_call(client, theirs, their_db):
        expect_sdk_error(call, (404, DBSS_NOT_FOUND, None))
    [seen] = wire_dbs(list_dbs(their_client, theirs))
    assert (seen["id"], seen["status"]) == (their_db, "OFF"), "nothing stored, switched or deleted"
    # and the instance list of project A does not show it
    servers = client.list_audit_instances(dbss.ListAuditInstancesRequest(limit="1000")).servers
    assert theirs not in [s.id for s in servers]


def test_path_of_another_project_is_forbidden(pb, client, token, reader, other_project):
    """The path names a project that is not the caller's → 403 APIG.0302 (flat gateway envelope)."""
    boot = pb.bootstrap
    mine = create_audit_instance(pb, edition="basic")["id"]
    theirs = create_audit_instance(pb, project_id=other_project, edition="basic")["id"]

    # a token scoped to project A, path naming project B (where the instance exists) or a stranger
    for project in (other_project, secrets.token_hex(16)):
        for inst in (theirs, mine):
            url = f"{pb.base_url}/v2/{project}/audit/{inst}/databases"
            expect_gateway_error(http("GET", url, headers={"X-Auth-Token": token}), FORBIDDEN)
            expect_gateway_error(http("POST", url, headers={"X-Auth-Token": token},
                                      json_body={"database": valid_db()}), FORBIDDEN)

    # AK/SK with X-Project-Id A but path B
    resp = signed_call(pb, "GET", f"/v2/{other_project}/audit/{theirs}/databases", project_id=boot["project_id"])
    expect_gateway_error(resp, FORBIDDEN)

    # the SDK, as a user who holds a role in project A only, pointed at project B
    stranger = dbss_client(pb, reader.access_key, reader.secret_key, project_id=other_project)
    for what, call in _every_call(stranger, theirs, random_db_id()):
        expect_sdk_error(call, FORBIDDEN)
    expect_sdk_error(lambda: stranger.list_audit_instances(dbss.ListAuditInstancesRequest()), FORBIDDEN)
    assert total(dbss_client(pb, project_id=other_project), theirs) == 0


def test_readonly_user_can_list_but_not_change(pb, client, reader, instance):
    db_id, _ = add_db(client, instance)
    ro = dbss_client(pb, reader.access_key, reader.secret_key)
    assert [d["id"] for d in wire_dbs(list_dbs(ro, instance, "v1"))] == [db_id]
    assert [d["id"] for d in wire_dbs(list_dbs(ro, instance, "v2"))] == [db_id]
    assert instance in [s.id for s in ro.list_audit_instances(dbss.ListAuditInstancesRequest(limit="1000")).servers]
    for what, call in _every_call(ro, instance, db_id):
        if what.startswith("list"):
            continue
        expect_sdk_error(call, FORBIDDEN)
    [seen] = wire_dbs(list_dbs(client, instance))
    assert (seen["id"], seen["status"]) == (db_id, "OFF"), "nothing stored, switched or deleted"


def test_authentication_failures(pb, instance):
    url = dbss_url(pb, "/v2/{project_id}/audit/") + instance + "/databases"
    expect_gateway_error(http("GET", url), NO_CREDENTIALS)
    expect_gateway_error(http("POST", url, json_body={"database": valid_db()}), NO_CREDENTIALS)
    expect_gateway_error(http("GET", url, headers={"X-Auth-Token": "not-a-token-" + secrets.token_hex(8)}),
                         BAD_TOKEN)
