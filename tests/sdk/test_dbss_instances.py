"""DBSS audit instances through the official Huawei Python SDK (huaweicloudsdkdbss 3.1.219):
the plugboard admin API that creates them, ListAuditInstances, and instances, projects and
permissions across every database API.

Contract: docs/api-coverage.md (DBSS, Every request), docs/error-codes.md, docs/contract.md (Admin API).
What the SDK sends and how it reads answers: SDK_NOTES.md ("DBSS") next to this file.

Every DBSS call the SDK has goes through the SDK (BasicCredentials, i.e. AK/SK-signed). Raw HTTP
is used for the plugboard admin API, for bodies the SDK cannot produce (malformed JSON, wrong
content type), for token authentication and for fields the SDK models drop (`audit_reason`:
read from the SDK response's raw body).

The audit monitor probes loopback targets, so the module's server runs with
`[network] probe_allow = ["127.0.0.0/8"]` and a 1 s probe interval. The real MariaDB
(127.0.0.1:3306) and PostgreSQL (127.0.0.1:5432) of this machine are the reachable targets.

Shared fixtures and helpers: dbsshelpers.py.
"""

import json
import secrets

import pytest
from huaweicloudsdkdbss.v1 import model as dbss

from sdkhelpers import (
    BAD_TOKEN, DBSS_INVALID, DBSS_NOT_FOUND, EDITION_LIMITS, FORBIDDEN, HEX32, NO_CREDENTIALS,
    create_audit_instance, create_sub_project, dbss_client, expect_gateway_error, expect_sdk_error, http,
    raw_json, signed_call, unique,
)
from dbsshelpers import (
    MALFORMED_ID_CODES, add, add_db, client, dbss_url, delete, expect_sdk_error_code_in, instance, list_dbs,
    other_project, pb, random_db_id, reader, switch, token, total, valid_db, wire_dbs,
)

# The v1 add/list, the v2 delete/switch and the instance list are marked deprecated in the SDK
# ("[待下线]", to be retired); they are still part of the contract.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


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
