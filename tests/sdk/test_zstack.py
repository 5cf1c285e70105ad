"""ZStack sessions and plug-in drivers: the unmodified RPC client of `zstack-mcp-server` (PyPI,
`zstack_mcp.zstack_client.ZStackClient`), and raw REST calls replaying what the Python SDK
(`zssdk.py`) and the Go SDK v2 send, with every status and body pinned.

Contract: docs/api-coverage.md → ZStack, docs/error-codes.md → ZStack.
"""

import asyncio
import hashlib
import http.server as httpserver
import json
import re
import secrets
import threading
import time

import pytest
from zstack_mcp.zstack_client import ZStackApiError, ZStackClient

from sdkhelpers import create_user, http, iam_global, signed_call
from sshelpers import (
    action, bind, create_env, installed, refresh_drivers, show_addon, ss_client, wait_job,
)

PLUGIN = "org.zstack.header.core.external.plugin."
QUERY = PLUGIN + "APIQueryPluginDriversMsg"
REFRESH = PLUGIN + "APIRefreshPluginDriversMsg"
DELETE = PLUGIN + "APIDeletePluginDriversMsg"
SIMULATED = "5d3c3f0f3b2a4c1d9e8f7a6b5c4d3e2f"
GSON = re.compile(r"^[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d\d:\d\d [AP]M$")
INVENTORY_KEYS = {"uuid", "name", "type", "vendor", "version", "description", "license", "features",
                  "optionTypes", "deleted", "createDate", "lastOpDate"}


def sha512(text):
    return hashlib.sha512(text.encode()).hexdigest()


def run(coro):
    return asyncio.run(coro)


@pytest.fixture(scope="module")
def pb(plugboard):
    return plugboard


def mcp(pb, password=None, account="admin"):
    client = ZStackClient(api_url=pb.base_url, account=account, password=password or pb.bootstrap["password"])
    client.JOB_POLL_INTERVAL = 0.1
    return client


async def with_client(client, work):
    try:
        return await work(client)
    finally:
        await client.logout()


def login(pb, password=None, account="admin", **extra):
    body = {"logInByAccount": {"accountName": account, "password": sha512(password or pb.bootstrap["password"]),
                               **extra}}
    return http("PUT", pb.base_url + "/zstack/v1/accounts/login", json_body=body)


def session(pb, **kw):
    resp = login(pb, **kw)
    assert resp.status == 200, resp.body
    return resp.json()["inventory"]["uuid"]


def rest(pb, method, path, sid=None, json_body=None, headers=None):
    h = dict(headers or {})
    if sid is not None:
        h["Authorization"] = f"OAuth {sid}"
    return http(method, pb.base_url + path, headers=h, json_body=json_body)


def expect_error(resp, code, *words):
    assert resp.status == 503, (resp.status, resp.body)
    body = resp.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    for w in words:
        assert w in body["error"].get("details", "") + body["error"]["description"], body
    return body["error"]


def expect_text(resp, status, text):
    assert (resp.status, resp.body.decode()) == (status, text), (resp.status, resp.body)
    assert resp.headers.get("Content-Type", "").startswith("text/plain"), dict(resp.headers)


def poll(pb, location, timeout=30):
    assert "/zstack/v1/api-jobs/" in location, location
    path = location[location.index("/zstack/v1/api-jobs/"):]
    deadline = time.time() + timeout
    while True:
        resp = http("GET", pb.base_url + path)
        if resp.status != 202:
            return resp
        assert resp.json() == {}
        assert time.time() < deadline, f"{location} still running"
        time.sleep(0.05)


def query(pb, sid, qs=""):
    resp = rest(pb, "GET", "/zstack/v1/external/plugins" + qs, sid)
    assert resp.status == 200, resp.body
    return resp.json()


# == the mcp client (RPC) ===========================================================================
def test_mcp_client_logs_in_queries_refreshes_deletes_and_logs_out(start_plugboard):
    pb = start_plugboard()

    async def work(c):
        s = await c.login()
        assert re.match(r"^[0-9a-f]{32}$", s.uuid) and s.account_uuid, s
        found = await c.execute("QueryPluginDrivers", QUERY, {
            "conditions": [{"name": "type", "op": "=", "value": "addon"},
                           {"name": "name", "op": "in", "value": "simulated,local-process"}]})
        assert sorted(i["name"] for i in found["inventories"]) == ["local-process", "simulated"], found
        for inv in found["inventories"]:
            assert set(inv) == INVENTORY_KEYS, inv
            assert isinstance(inv["features"], str) and json.loads(inv["features"]) == \
                {"redeploy": True, "restart": True}, inv
            assert inv["deleted"] is False and GSON.match(inv["createDate"]), inv
        counted = await c.execute("QueryPluginDrivers", QUERY, {"conditions": [], "count": True})
        assert counted["total"] == 4 and "inventories" not in counted, counted
        assert await c.execute("RefreshPluginDrivers", REFRESH, {"name": "simulated"}) == {"success": True}
        assert await c.execute("DeletePluginDrivers", DELETE, {"uuid": SIMULATED}) == {"success": True}
        soft = await c.execute("QueryPluginDrivers", QUERY, {
            "conditions": [{"name": "uuid", "op": "=", "value": SIMULATED}]})
        assert [i["deleted"] for i in soft["inventories"]] == [True], soft
        await c.execute("DeletePluginDrivers", DELETE, {"uuid": SIMULATED, "deleteMode": "Enforcing"})
        gone = await c.execute("QueryPluginDrivers", QUERY, {
            "conditions": [{"name": "uuid", "op": "=", "value": SIMULATED}]})
        assert gone["inventories"] == [], gone
        # a refresh brings it back (not deleted: the row is new)
        await c.execute("RefreshPluginDrivers", REFRESH, {})
        back = await c.execute("QueryPluginDrivers", QUERY, {
            "conditions": [{"name": "uuid", "op": "=", "value": SIMULATED}]})
        assert [i["deleted"] for i in back["inventories"]] == [False], back
        with pytest.raises(ZStackApiError) as e:
            await c.execute("QueryPluginDrivers", QUERY, {"conditions": [{"name": "colour", "op": "=", "value": "x"}]})
        assert e.value.code == "SYS.1007" and "colour" in e.value.details["details"]
        with pytest.raises(ZStackApiError) as e:
            await c.execute("QueryPluginDrivers", QUERY, {})
        assert e.value.code == "SYS.1007" and "conditions" in e.value.details["details"]
        with pytest.raises(ZStackApiError) as e:
            await c.execute("DeletePluginDrivers", DELETE, {"uuid": "not-a-uuid"})
        assert e.value.code == "SYS.1003", e.value.details
        return s.uuid

    sid = run(with_client(mcp(pb), work))
    # logged out: the session is no longer valid
    assert rest(pb, "GET", f"/zstack/v1/accounts/sessions/{sid}/valid").json() == {"valid": False}


def test_mcp_client_logs_in_again_after_its_session_expires(start_plugboard):
    pb = start_plugboard(config="[zstack]\nsession_timeout_seconds = 1\n")

    async def work(c):
        first = (await c.login()).uuid
        await asyncio.sleep(1.5)
        found = await c.execute("QueryPluginDrivers", QUERY, {"conditions": []})
        assert len(found["inventories"]) == 4
        assert c.session.uuid != first, "the client logged in again by itself"

    run(with_client(mcp(pb), work))


def test_mcp_client_wrong_password(pb):
    async def work(c):
        with pytest.raises(ZStackApiError) as e:
            await c.login()
        assert e.value.code == "ID.1000", e.value.details

    run(work(mcp(pb, password="not-the-password")))


def test_rpc_envelopes(pb):
    url = pb.base_url + "/zstack/api/"
    resp = http("POST", url, json_body={QUERY: {"conditions": [], "session": {"uuid": "0" * 32}}})
    assert resp.status == 200, resp.body
    body = resp.json()
    assert set(body) == {"state", "createdDate", "finishedDate", "result"} and body["state"] == "Done", body
    result = json.loads(body["result"])
    assert list(result) == ["org.zstack.header.message.APIReply"], result
    assert result["org.zstack.header.message.APIReply"]["success"] is False
    assert result["org.zstack.header.message.APIReply"]["error"]["code"] == "ID.1001"
    # an async message refused before it ran: the generic event
    resp = http("POST", pb.base_url + "/zstack/api", json_body={REFRESH: {"session": {"uuid": "x"}}})
    assert list(json.loads(resp.json()["result"])) == ["org.zstack.header.message.APIEvent"]
    login_body = {"org.zstack.header.identity.APILogInByAccountMsg": {
        "accountName": "admin", "password": sha512(pb.bootstrap["password"])}}
    got = json.loads(http("POST", url, json_body=login_body).json()["result"])
    reply = got["org.zstack.header.identity.APILogInReply"]
    assert reply["success"] is True and set(reply["inventory"]) == {
        "uuid", "accountUuid", "userUuid", "userType", "expiredDate", "createDate"}, reply
    sid = reply["inventory"]["uuid"]
    async_answer = http("POST", url, json_body={REFRESH: {"session": {"uuid": sid}}}).json()
    assert set(async_answer) == {"uuid", "state", "createdDate"} and async_answer["state"] == "Processing"
    deadline = time.time() + 30
    while True:
        polled = http("GET", pb.base_url + f"/zstack/api/result/{async_answer['uuid']}").json()
        if polled["state"] == "Done":
            break
        assert time.time() < deadline
        time.sleep(0.05)
    assert json.loads(polled["result"]) == {PLUGIN + "APIRefreshPluginDriversEvent": {"success": True}}
    assert http("GET", pb.base_url + f"/zstack/api/result/{secrets.token_hex(16)}").status == 404
    unknown = http("POST", url, json_body={"org.zstack.header.vm.APIQueryVmInstanceMsg": {}}).json()
    assert json.loads(unknown["result"])["org.zstack.header.message.APIReply"]["error"]["code"] == "SYS.1007"


# == REST ============================================================================================
def test_rest_login_logout_validate(pb):
    resp = login(pb)
    assert resp.status == 200, resp.body
    inv = resp.json()["inventory"]
    assert set(resp.json()) == {"inventory"}
    assert set(inv) == {"uuid", "accountUuid", "userUuid", "userType", "expiredDate", "createDate"}, inv
    assert inv["accountUuid"] == pb.bootstrap["user_id"] and GSON.match(inv["expiredDate"]), inv
    sid = inv["uuid"]
    for t in (None, "", "account"):
        assert login(pb, accountType=t).status == 200
    expect_error(login(pb, accountType="iam2"), "SYS.1007", "accountType")
    expect_error(login(pb, password="wrong"), "ID.1000", "wrong account name or password")
    assert rest(pb, "GET", f"/zstack/v1/accounts/sessions/{sid}/valid").json() == {"valid": True}
    resp = rest(pb, "DELETE", f"/zstack/v1/accounts/sessions/{sid}")
    assert (resp.status, resp.json()) == (200, {})
    assert rest(pb, "GET", f"/zstack/v1/accounts/sessions/{sid}/valid").json() == {"valid": False}
    resp = rest(pb, "DELETE", f"/zstack/v1/accounts/sessions/{secrets.token_hex(16)}")
    assert (resp.status, resp.json()) == (200, {}), "an unknown session logs out too"
    expect_text(http("PUT", pb.base_url + "/zstack/v1/accounts/login", json_body={"params": {}}), 400,
                "the body doesn't contain action mapping to the URL[/v1/accounts/login]")


def test_rest_auth_header_rules(pb):
    path = "/zstack/v1/external/plugins"
    expect_text(http("GET", pb.base_url + path), 400, "missing header 'Authorization'")
    expect_text(http("GET", pb.base_url + path, headers={"Authorization": "Bearer x"}), 400,
                "Authorization type must be 'OAuth'")
    expect_error(rest(pb, "GET", path, secrets.token_hex(16)), "ID.1001")
    sid = session(pb)
    # the Go SDK also sends x-session-id; the Python SDK X-Job-UUID on every call
    resp = rest(pb, "GET", path, sid, headers={"x-session-id": sid, "X-Job-UUID": secrets.token_hex(16)})
    assert resp.status == 200, resp.body
    expect_text(rest(pb, "GET", path, sid, headers={"X-Job-UUID": "short"}), 400,
                "Invalid header[X-Job-UUID], it must be a UUID with '-' stripped")
    expect_text(rest(pb, "GET", "/zstack/v1/nowhere", sid), 404, "no api mapping to /v1/nowhere")
    expect_text(rest(pb, "GET", "/zstack/v1/external/plugins/" + SIMULATED, sid), 404,
                "no api mapping to /v1/external/plugins/" + SIMULATED)


def test_rest_query_grammar(pb):
    sid = session(pb)
    every = query(pb, sid)
    assert set(every) == {"inventories"} and len(every["inventories"]) == 4, every
    names = lambda qs: [i["name"] for i in query(pb, sid, qs)["inventories"]]  # noqa: E731
    assert names("?q=name=simulated") == ["simulated"]
    assert sorted(names("?q=type!=addon")) == ["database-probes", "postgresql-package-installer"]
    assert names("?q=name?=simulated,local-process&sort=%2Bname") == ["local-process", "simulated"]
    assert names("?q=name!?=simulated,local-process&sort=-name") == ["postgresql-package-installer",
                                                                     "database-probes"]
    assert names("?q=name~=%25process&q=type=addon") == ["local-process"]
    assert sorted(names("?q=name!~=%25process")) == ["database-probes", "postgresql-package-installer", "simulated"]
    assert names("?q=license%20is%20null") == []
    assert len(names("?q=license%20not%20null")) == 4
    assert names("?q=createDate%3E2000-01-01%2000:00:00&limit=1&start=1&sort=%2Bname") == ["local-process"]
    assert names("?q=createDate%3C2000-01-01%2000:00:00") == []
    assert query(pb, sid, "?count=true") == {"total": 4}
    both = query(pb, sid, "?limit=2&replyWithCount=true&fields=name,uuid")
    assert both["total"] == 4 and [set(i) for i in both["inventories"]] == [{"name", "uuid"}] * 2, both
    expect_error(rest(pb, "GET", "/zstack/v1/external/plugins?q=colour=red", sid), "SYS.1007", "colour")
    expect_error(rest(pb, "GET", "/zstack/v1/external/plugins?q=name", sid), "SYS.1007", "name")
    expect_error(rest(pb, "GET", "/zstack/v1/external/plugins?limit=many", sid), "SYS.1007", "limit")


def test_rest_refresh_and_delete_are_api_jobs(pb):
    sid = session(pb)
    body = {"refreshPluginDrivers": {"name": "simulated", "systemTags": [], "userTags": []}}
    resp = rest(pb, "PUT", "/zstack/v1/external/plugins", sid, json_body=body)
    assert resp.status == 202, resp.body
    answer = resp.json()
    assert set(answer) == {"location", "apiTimeout"} and answer["apiTimeout"] > 0, answer
    done = poll(pb, answer["location"])
    assert (done.status, done.json()) == (200, {}), done.body
    # X-Job-UUID becomes the job's id; twice is refused
    job = secrets.token_hex(16)
    resp = rest(pb, "PUT", "/zstack/v1/external/plugins", sid, json_body={"refreshPluginDrivers": {},
                                                                          "systemTags": []},
                headers={"X-Job-UUID": job})
    assert resp.json()["location"].endswith(f"/zstack/v1/api-jobs/{job}"), resp.body
    poll(pb, resp.json()["location"])
    expect_text(rest(pb, "PUT", "/zstack/v1/external/plugins", sid, json_body={"refreshPluginDrivers": {}},
                     headers={"X-Job-UUID": job}), 400, f"Duplicate job uuid[{job}]")
    expect_text(rest(pb, "PUT", "/zstack/v1/external/plugins", sid, json_body={"params": {"name": "x"}}), 400,
                "the body doesn't contain action mapping to the URL[/v1/external/plugins]")
    # delete: the Python SDK's extra query keys are ignored
    unknown = "0c2f1e3d4b5a4c6d8e7f9a0b1c2d3e4f"
    resp = rest(pb, "DELETE", f"/zstack/v1/external/plugins/{unknown}?uuid={unknown}&deleteMode=Permissive"
                f"&sessionId={sid}", sid)
    assert resp.status == 202, resp.body
    assert poll(pb, resp.json()["location"]).status == 200, "an unknown UUID-shaped driver is deleted already"
    expect_error(rest(pb, "DELETE", "/zstack/v1/external/plugins/not-a-uuid", sid), "SYS.1003",
                 "invalid value[not-a-uuid] of field [uuid]")
    expect_error(rest(pb, "DELETE", f"/zstack/v1/external/plugins/{unknown}?deleteMode=permissive", sid),
                 "SYS.1007", "Permissive")
    expect_text(rest(pb, "DELETE", "/zstack/v1/external/plugins/%7Buuid%7D", sid), 404,
                "no api mapping to /v1/external/plugins/{uuid}")
    expect_text(http("GET", pb.base_url + f"/zstack/v1/api-jobs/{secrets.token_hex(16)}"), 404,
                "the job has been expired")
    expect_text(http("POST", pb.base_url + f"/zstack/v1/api-jobs/{job}"), 405,
                "only GET method is allowed for querying job status")


def test_permissive_delete_knows_what_uses_a_driver(start_plugboard):
    pb = start_plugboard()
    sid = session(pb)
    client = ss_client(pb)
    env = create_env(client)
    bind(client, env.id, [("cce", "cce-1"), ("cse", "cse-1")])
    addon_id, job = installed(pb, env.id)
    assert wait_job(client, job).job.execution_status == "SUCCEEDED"
    resp = rest(pb, "DELETE", f"/zstack/v1/external/plugins/{SIMULATED}", sid)
    failed = poll(pb, resp.json()["location"])
    err = expect_error(failed, "SYS.1006", "1 add-ons", "Enforcing")
    assert "simulated" in err["details"], err
    (inv,) = query(pb, sid, f"?q=uuid={SIMULATED}")["inventories"]
    assert inv["deleted"] is False, "a refused delete changes nothing"
    # Enforcing: the add-on's next job fails saying its driver is gone
    resp = rest(pb, "DELETE", f"/zstack/v1/external/plugins/{SIMULATED}?deleteMode=Enforcing", sid)
    assert poll(pb, resp.json()["location"]).status == 200
    assert query(pb, sid, f"?q=uuid={SIMULATED}")["inventories"] == []
    gone = action(pb, env.id, addon_id, "restart").json()["job_id"]
    done = wait_job(client, gone)
    assert done.job.execution_status == "FAILED" and "is gone" in done.tasks[0].messages, done
    assert show_addon(pb, env.id, addon_id).json()["status"] == "FAILED"
    # the same through RPC: a refresh brings the driver back, and the add-on works again
    refresh_drivers(pb)
    again = action(pb, env.id, addon_id, "restart").json()["job_id"]
    assert wait_job(client, again).job.execution_status == "SUCCEEDED"


def test_admin_only_and_default_deny(pb):
    admin = iam_global(pb)
    _, name, password = create_user(admin, pb)
    sid = session(pb, account=name, password=password)
    err = expect_error(rest(pb, "GET", "/zstack/v1/external/plugins", sid), "ID.1002")
    assert err["details"] == f"request api[name: {QUERY}] is admin only, can not be executed by current user"
    err = expect_error(rest(pb, "DELETE", f"/zstack/v1/external/plugins/{SIMULATED}", sid), "SYS.1006")
    assert err["details"] == (f"operation[API:{DELETE}] is denied by default, please contact admin to "
                              "correct it")
    rpc = http("POST", pb.base_url + "/zstack/api/", json_body={QUERY: {"conditions": [], "session": {"uuid": sid}}})
    result = json.loads(rpc.json()["result"])["org.zstack.header.message.APIReply"]
    assert result["error"]["code"] == "ID.1002", result


def test_sessions_per_account_are_bounded(start_plugboard):
    pb = start_plugboard(config="[zstack]\nmax_sessions_per_account = 2\n")
    first = session(pb)
    session(pb)
    expect_error(login(pb), "ID.1006")
    rest(pb, "DELETE", f"/zstack/v1/accounts/sessions/{first}")
    assert login(pb).status == 200


class Hooks(httpserver.BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Hooks.received.append((self.path, dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def test_web_hooks(start_plugboard):
    server = httpserver.ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        pb = start_plugboard(config=f'[network]\nallow = ["http://127.0.0.1:{port}/"]\nallow_private = true\n')
        sid = session(pb)
        Hooks.received.clear()
        job = secrets.token_hex(16)
        resp = rest(pb, "PUT", "/zstack/v1/external/plugins", sid, json_body={"refreshPluginDrivers": {}},
                    headers={"X-Web-Hook": f"http://127.0.0.1:{port}/done", "X-Job-UUID": job})
        assert resp.status == 202, resp.body
        poll(pb, resp.json()["location"])
        deadline = time.time() + 20
        while not Hooks.received:
            assert time.time() < deadline, "the web hook was not called"
            time.sleep(0.05)
        time.sleep(0.5)
        assert len(Hooks.received) == 1, Hooks.received
        path, headers, body = Hooks.received[0]
        headers = {k.lower(): v for k, v in headers.items()}
        assert (path, headers["x-job-uuid"], headers["x-job-success"], json.loads(body)) == \
            ("/done", job, "true", {})
        # a delete's hook too
        Hooks.received.clear()
        resp = rest(pb, "DELETE", f"/zstack/v1/external/plugins/{SIMULATED}?deleteMode=Permissive", sid,
                    headers={"X-Web-Hook": f"http://127.0.0.1:{port}/failed"})
        assert poll(pb, resp.json()["location"]).status == 200  # nothing uses it yet: soft-deleted
        while not Hooks.received:
            assert time.time() < deadline + 20
            time.sleep(0.05)
        assert {k.lower(): v for k, v in Hooks.received[0][1].items()}["x-job-success"] == "true"
        # a failed api-job's hook says so, with its error
        Hooks.received.clear()
        broken = pb.data_dir / "plugins" / "broken"
        broken.mkdir(parents=True)
        (broken / "driver.toml").write_text('uuid = "nope"\nname = "broken"\ntype = "addon"\n')
        failed_job = secrets.token_hex(16)
        resp = rest(pb, "PUT", "/zstack/v1/external/plugins", sid, json_body={"refreshPluginDrivers": {}},
                    headers={"X-Web-Hook": f"http://127.0.0.1:{port}/failed", "X-Job-UUID": failed_job})
        expect_error(poll(pb, resp.json()["location"]), "SYS.1006", "broken")
        deadline = time.time() + 20
        while not Hooks.received:
            assert time.time() < deadline, "the failed job's web hook was not called"
            time.sleep(0.05)
        path, headers, body = Hooks.received[0]
        headers = {k.lower(): v for k, v in headers.items()}
        assert (path, headers["x-job-uuid"], headers["x-job-success"]) == ("/failed", failed_job, "false")
        error = json.loads(body)["error"]
        assert error["code"] == "SYS.1006" and "broken" in error["details"], error
        # a hook the network policy forbids is refused, and never called
        Hooks.received.clear()
        for bad in ("http://169.254.169.254/latest", "http://127.0.0.1:1/elsewhere", "file:///etc/passwd"):
            err = expect_error(rest(pb, "PUT", "/zstack/v1/external/plugins", sid,
                                    json_body={"refreshPluginDrivers": {}}, headers={"X-Web-Hook": bad}),
                               "SYS.1007", "X-Web-Hook")
            assert bad in err["details"], err
        time.sleep(0.5)
        assert Hooks.received == []
    finally:
        server.shutdown()


def test_drivers_refreshed_through_zstack_show_in_servicestage(start_plugboard):
    pb = start_plugboard()
    sid = session(pb)
    folder = pb.data_dir / "plugins" / "local-process" / "addons" / "agent" / "1.0.0"
    folder.mkdir(parents=True)
    (folder / "addon.toml").write_text('run = ["sleep", "60"]\n')
    resp = rest(pb, "PUT", "/zstack/v1/external/plugins", sid, json_body={"refreshPluginDrivers": {"name": "local-process"}})
    assert poll(pb, resp.json()["location"]).status == 200
    client = ss_client(pb)
    env = create_env(client)
    got = signed_call(pb, "GET", f"/v3/{pb.bootstrap['project_id']}/cas/environments/{env.id}/addons-metadata")
    assert {"name": "agent", "latest_version": "1.0.0"} in got.json()["addons"], got.body


def test_enforcing_delete_stops_the_drivers_running_steps(start_plugboard, tmp_path):
    from test_servicestage_drivers import alive, external_driver, wait_gone
    pb = start_plugboard()
    sid = session(pb)
    child = tmp_path / "step.pid"
    external_driver(pb, "slow", f"cat >/dev/null\nsleep 600 &\necho $! > {child}\nwait\n")
    drivers = refresh_drivers(pb)
    uuid = next(d["uuid"] for d in drivers["drivers"] if d["name"] == "slow")
    client = ss_client(pb)
    env = create_env(client)
    bind(client, env.id, [("cce", "cce-1")])
    resp = signed_call(pb, "POST", f"/v3/{pb.bootstrap['project_id']}/cas/environments/{env.id}/addons",
                       {"name": "slow", "cce_id": "cce-1"})
    assert resp.status == 200, resp.body
    job = resp.json()["job_id"]
    deadline = time.time() + 20
    while not child.exists() or not child.read_text().strip():
        assert time.time() < deadline, "the step never started"
        time.sleep(0.05)
    step = int(child.read_text())
    assert alive(step)
    resp = rest(pb, "DELETE", f"/zstack/v1/external/plugins/{uuid}?deleteMode=Enforcing", sid)
    assert poll(pb, resp.json()["location"]).status == 200
    done = wait_job(client, job, timeout=30)
    assert done.job.execution_status == "FAILED", done
    assert "was deleted while the step ran" in done.tasks[0].messages, done.tasks[0]
    assert wait_gone(step), "the step's processes were killed"


def test_sessions_are_shared_by_a_scale_out(start_plugboard, tmp_path):
    import os
    import shutil
    from conftest import DEFAULT_PG_ADMIN_URL, PlugboardServer, PostgresAdmin, _binary
    admin = PostgresAdmin(os.environ.get("PLUGBOARD_TEST_PG_ADMIN_URL", DEFAULT_PG_ADMIN_URL))
    db_name, db_url = admin.create()
    key = tmp_path / "shared.key"
    key.write_text(secrets.token_hex(32))
    cfg = f'master_key_file = "{key}"\n'
    b = None
    try:
        a = start_plugboard(config=cfg, env={"PLUGBOARD_DATABASE_URL": db_url})
        b = PlugboardServer(tmp_path / "b", _binary(), database_url=db_url, config=cfg)
        shutil.copy(a.bootstrap_file, b.bootstrap_file)
        b.start()
        sid = session(a)
        assert len(query(b, sid)["inventories"]) == 4
        assert rest(b, "GET", f"/zstack/v1/accounts/sessions/{sid}/valid").json() == {"valid": True}
        rest(b, "DELETE", f"/zstack/v1/accounts/sessions/{sid}")
        expect_error(rest(a, "GET", "/zstack/v1/external/plugins", sid), "ID.1001")
        # an api-job submitted through one process is polled through the other
        resp = rest(a, "PUT", "/zstack/v1/external/plugins", session(a), json_body={"refreshPluginDrivers": {}})
        location = resp.json()["location"]
        assert poll(b, location).status == 200
    finally:
        if b is not None:
            b.stop()
        admin.drop(db_name)


class FlakyHook(httpserver.BaseHTTPRequestHandler):
    """Answers 500 to the first two deliveries, then 200."""
    calls = []

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        FlakyHook.calls.append(self.headers.get("X-Job-UUID"))
        self.send_response(500 if len(FlakyHook.calls) <= 2 else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def test_a_web_hook_answering_5xx_is_retried_until_it_takes_it(start_plugboard):
    server = httpserver.ThreadingHTTPServer(("127.0.0.1", 0), FlakyHook)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        pb = start_plugboard(config=f'[network]\nallow = ["http://127.0.0.1:{port}/"]\nallow_private = true\n')
        FlakyHook.calls.clear()
        job = secrets.token_hex(16)
        resp = rest(pb, "PUT", "/zstack/v1/external/plugins", session(pb), json_body={"refreshPluginDrivers": {}},
                    headers={"X-Web-Hook": f"http://127.0.0.1:{port}/hook", "X-Job-UUID": job})
        poll(pb, resp.json()["location"])
        deadline = time.time() + 30
        while len(FlakyHook.calls) < 3:
            assert time.time() < deadline, f"only {len(FlakyHook.calls)} deliveries"
            time.sleep(0.1)
        time.sleep(2.5)  # past the retry interval: no delivery after the one that was taken
        assert FlakyHook.calls == [job] * 3, FlakyHook.calls
    finally:
        server.shutdown()
