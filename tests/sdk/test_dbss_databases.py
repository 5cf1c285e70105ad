"""DBSS audited databases through the official Huawei Python SDK (huaweicloudsdkdbss 3.1.219):
add (valid and rejected fields), the database limit and duplicates, list and delete.

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

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ServiceResponseException

from sdkhelpers import (
    DBSS_DB_ID, DBSS_INVALID, DBSS_LIMIT, DBSS_NOT_FOUND, HEX32, create_audit_instance, dbss_client,
    expect_dbss_error, expect_sdk_error, http, raw_json, signed_call,
)
from dbsshelpers import (
    DATABASE_KEYS, LIMIT_MSG, MALFORMED_ID_CODES, TYPES, add, add_db, client, closed_port, concurrently,
    dbss_url, delete, expect_sdk_error_code_in, find_db, instance, list_dbs, pb, random_db_id, switch, token,
    total, valid_db, wire_dbs,
)

# The v1 add/list, the v2 delete/switch and the instance list are marked deprecated in the SDK
# ("[待下线]", to be retired); they are still part of the contract.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


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
    """Every type, charset, os and classification of docs/api-coverage.md → DBSS is accepted and echoed."""
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


def test_concurrent_adds_respect_the_limit(pb):
    inst = create_audit_instance(pb, database_limit=5)["id"]
    calls = []
    for i in range(20):
        c = dbss_client(pb)
        calls.append(lambda c=c, i=i: add(c, inst, {"database": valid_db(name=f"race{i}")}, "v1" if i % 2 else "v2"))
    results = concurrently(calls)
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
    results = concurrently(calls)
    ok = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, ServiceResponseException)]
    assert len(ok) == 1 and len(refused) == 9, [str(r) for r in results]
    assert all(e.status_code == 400 and e.error_code.startswith("DBSS.") for e in refused), [str(e) for e in refused]
    assert [d["id"] for d in wire_dbs(list_dbs(dbss_client(pb), inst))] == [ok[0].id]


@pytest.mark.parametrize("first, second", [("v1", "v2"), ("v2", "v1"), ("v2", "v2")])
def test_duplicate_rejected(client, instance, first, second):
    db_id, sent = add_db(client, instance, first, name="orders", ip="127.0.0.1", port="3306")
    again = {**sent, "instance_name": "another", "version": "11", "type": "POSTGRESQL"}
    # the vendor fixes the status (400) but not the code (docs/error-codes.md → DBSS)
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
