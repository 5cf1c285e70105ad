"""DBSS audit switch through the official Huawei Python SDK (huaweicloudsdkdbss 3.1.219): switching
audit on and off, and the audit monitor's probes of real and fake loopback targets.

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

import time

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ServiceResponseException
from huaweicloudsdkdbss.v1 import model as dbss

from sdkhelpers import (
    DBSS_INVALID, DBSS_NOT_FOUND, create_audit_instance, dbss_client, expect_dbss_error, expect_sdk_error,
    http, raw_json, unique,
)
from dbsshelpers import (
    MALFORMED_ID_CODES, STATE_TIMEOUT, Listener, add_db, client, closed_port, concurrently, delete,
    expect_sdk_error_code_in, find_db, instance, list_dbs, listeners, pb, random_db_id, switch, token, total,
    wait_audit, wire_dbs,
)

# The v1 add/list, the v2 delete/switch and the instance list are marked deprecated in the SDK
# ("[待下线]", to be retired); they are still part of the contract.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


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

    results = concurrently([lambda k=k: switch_share(k) for k in range(16)])
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
        results = concurrently([lambda c=dbss_client(pb), k=k: switch(c, inst, target, status, "v2" if k % 2 else "v3")
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
