"""ServiceStage through the official Huawei Python SDK (huaweicloudsdkservicestage 3.1.219):
environments (v3, and the v2 list), the add-on APIs (signed raw HTTP: no SDK has them) run by the
built-in `simulated` driver, and the add-on jobs (v3 `show_job_info`, v2 `show_job_detail`).

Contract: docs/api-coverage.md → ServiceStage. Every rule's refusal is checked for status, code,
the named field and nothing stored; every answer's JSON keys are pinned from the raw body.
"""

import time

import pytest
from huaweicloudsdkservicestage.v2 import model as ss2
from huaweicloudsdkservicestage.v3 import model as ss

from sdkhelpers import HEX32, create_sub_project, expect_sdk_error, signed_call, unique
from sshelpers import (
    ADDON_KEYS, ADDON_NOT_FOUND, ENV_KEYS, ENV_NOT_FOUND, INVALID, JOB_NOT_FOUND, NAME_TAKEN, action,
    addons_path, bind, create_env, env_with_cluster, expect_ss_error, install, installed, job_info, raw,
    show_addon, simulated_settings, ss_client, ss_client_v2, uninstall, wait_job,
)

UUID_RE = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


@pytest.fixture(scope="module")
def pb(plugboard):
    return plugboard


@pytest.fixture(scope="module")
def client(pb):
    return ss_client(pb)


def count(client):
    return client.show_environments(ss.ShowEnvironmentsRequest()).count


# == environments ==================================================================================
def test_create_environment_answers_the_view_with_defaults(pb, client):
    import re
    name = unique("env")
    before = int(time.time() * 1000)
    got = create_env(client, name, labels=[ss.EnvironmentCreateLabels(key="team", value="a")])
    body = raw(got)
    assert set(body) == ENV_KEYS, body
    assert re.match(UUID_RE, body["id"]), body
    assert (body["name"], body["vpc_id"], body["deploy_mode"], body["enterprise_project_id"],
            body["description"], body["creator"], body["project_id"]) == \
        (name, "vpc-1", "mixed", "0", "", "admin", pb.bootstrap["project_id"]), body
    assert body["labels"] == [{"key": "team", "value": "a"}], body
    assert isinstance(body["create_time"], int) and body["create_time"] >= before - 1000, body
    assert body["update_time"] == body["create_time"], body
    shown = raw(client.show_environment_info(ss.ShowEnvironmentInfoRequest(environment_id=body["id"])))
    assert set(shown) == ENV_KEYS | {"resources"} and shown["resources"] == [], shown
    assert {k: v for k, v in shown.items() if k != "resources"} == body


def test_create_environment_accepts_newer_vendor_fields(pb):
    resp = signed_call(pb, "POST", f"/v3/{pb.bootstrap['project_id']}/cas/environments", {
        "name": unique("env"), "vpc_id": "vpc-2", "deploy_mode": "container", "type": "non-production",
        "config_mode": "ui", "resource_create_mode": "manual", "charge_mode": "provided", "resources": []})
    assert resp.status == 200, resp.body
    assert resp.json()["deploy_mode"] == "container"


@pytest.mark.parametrize("fields, named", [
    ({"vpc_id": "vpc-1"}, "name"),
    ({"name": "ok-name"}, "vpc_id"),
    ({"name": "1abc", "vpc_id": "v"}, "name"),
    ({"name": "a", "vpc_id": "v"}, "name"),
    ({"name": "abc-", "vpc_id": "v"}, "name"),
    ({"name": "a" * 65, "vpc_id": "v"}, "name"),
    ({"name": "ab cd", "vpc_id": "v"}, "name"),
    ({"name": "abcd", "vpc_id": "v", "description": "d" * 129}, "description"),
    ({"name": "abcd", "vpc_id": "v", "deploy_mode": "kubernetes"}, "deploy_mode"),
    ({"name": "abcd", "vpc_id": "v", "labels": [{"key": f"k{i}", "value": "v"} for i in range(21)]},
     "labels"),
    ({"name": "abcd", "vpc_id": "v", "labels": [{"key": "", "value": "v"}]}, "labels[0].key"),
    ({"name": 5, "vpc_id": "v"}, "name"),
    ({"name": "abcd", "vpc_id": "v", "labels": "x"}, "labels"),
])
def test_create_environment_rules(pb, client, fields, named):
    before = count(client)
    resp = signed_call(pb, "POST", f"/v3/{pb.bootstrap['project_id']}/cas/environments", fields)
    body = expect_ss_error(resp, 400, INVALID, named)
    if named in ("deploy_mode",):
        assert "virtualmachine" in body["error_msg"], body
    assert count(client) == before


def test_create_environment_name_taken_in_the_project_only(pb, client):
    name = unique("env")
    create_env(client, name)
    e = expect_sdk_error(lambda: create_env(client, name), (400, NAME_TAKEN, None))
    assert name in e.error_msg
    other = ss_client(pb, create_sub_project(pb))
    assert create_env(other, name).name == name


def test_show_environment_missing_or_of_another_project_is_404(pb, client):
    env = create_env(client)
    missing = "00000000-0000-4000-8000-000000000000"
    for env_id in (missing, "not-a-uuid"):
        expect_sdk_error(lambda: client.show_environment_info(ss.ShowEnvironmentInfoRequest(
            environment_id=env_id)), (404, ENV_NOT_FOUND, None))
    other = ss_client(pb, create_sub_project(pb))
    expect_sdk_error(lambda: other.show_environment_info(ss.ShowEnvironmentInfoRequest(
        environment_id=env.id)), (404, ENV_NOT_FOUND, None))
    expect_sdk_error(lambda: other.delete_environment(ss.DeleteEnvironmentRequest(environment_id=env.id)),
                     (404, ENV_NOT_FOUND, None))
    assert client.show_environment_info(ss.ShowEnvironmentInfoRequest(environment_id=env.id)).id == env.id


def test_show_environments_pages_orders_and_filters(pb):
    client = ss_client(pb, create_sub_project(pb))
    names = [f"pg{i}-{unique('e')}" for i in range(5)]
    ids = [create_env(client, n).id for n in names]
    full = raw(client.show_environments(ss.ShowEnvironmentsRequest()))
    assert set(full) == {"count", "environments"} and full["count"] == 5, full
    assert [e["id"] for e in full["environments"]] == ids[::-1], "newest first by default"
    assert all(set(e) == ENV_KEYS for e in full["environments"]), full
    page = client.show_environments(ss.ShowEnvironmentsRequest(limit=2, offset=1))
    assert page.count == 5 and [e.id for e in page.environments] == ids[::-1][1:3]
    past = raw(client.show_environments(ss.ShowEnvironmentsRequest(limit=2, offset=10)))
    assert past == {"count": 5, "environments": []}
    asc = client.show_environments(ss.ShowEnvironmentsRequest(order_by="name", order="asc"))
    assert [e.name for e in asc.environments] == sorted(names)
    one = client.show_environments(ss.ShowEnvironmentsRequest(name=names[2]))
    assert one.count == 1 and one.environments[0].id == ids[2]
    by_id = client.show_environments(ss.ShowEnvironmentsRequest(environment_id=ids[4]))
    assert [e.id for e in by_id.environments] == [ids[4]]


@pytest.mark.parametrize("query, named", [
    ("limit=101", "limit"), ("limit=x", "limit"), ("offset=-1", "offset"), ("order_by=size", "order_by"),
    ("order=up", "order"),
])
def test_show_environments_query_rules(pb, query, named):
    resp = signed_call(pb, "GET", f"/v3/{pb.bootstrap['project_id']}/cas/environments?{query}")
    expect_ss_error(resp, 400, INVALID, named)


def test_modify_environment_changes_clears_and_keeps(pb, client):
    env = create_env(client, description="first", labels=[ss.EnvironmentCreateLabels(key="a", value="1")])
    new_name = unique("renamed")
    got = raw(client.modify_environment(ss.ModifyEnvironmentRequest(
        environment_id=env.id, body=ss.EnvironmentModify(name=new_name))))
    assert set(got) == ENV_KEYS | {"resources"}, got
    assert (got["name"], got["description"], got["labels"]) == (new_name, "first", [{"key": "a", "value": "1"}])
    assert got["update_time"] >= got["create_time"]
    cleared = client.modify_environment(ss.ModifyEnvironmentRequest(
        environment_id=env.id, body=ss.EnvironmentModify(description="", labels=[])))
    assert (cleared.name, cleared.description, cleared.labels) == (new_name, "", [])
    taken = create_env(client).name
    expect_sdk_error(lambda: client.modify_environment(ss.ModifyEnvironmentRequest(
        environment_id=env.id, body=ss.EnvironmentModify(name=taken))), (400, NAME_TAKEN, None))
    resp = signed_call(pb, "PUT", f"/v3/{pb.bootstrap['project_id']}/cas/environments/{env.id}",
                       {"name": "9bad"})
    expect_ss_error(resp, 400, INVALID, "name")
    shown = client.show_environment_info(ss.ShowEnvironmentInfoRequest(environment_id=env.id))
    assert shown.name == new_name


def test_resources_are_replaced_as_a_whole(pb, client):
    env = create_env(client)
    got = raw(bind(client, env.id, [("cce", "c1"), ("rds", "r1")]))
    assert got == {"resources": [{"id": "c1", "name": "", "type": "cce"}, {"id": "r1", "name": "", "type": "rds"}]}
    got = raw(bind(client, env.id, [("elb", "e1")]))
    assert got == {"resources": [{"id": "e1", "name": "", "type": "elb"}]}
    shown = raw(client.show_environment_resources(ss.ShowEnvironmentResourcesRequest(environment_id=env.id)))
    assert shown == got
    info = raw(client.show_environment_info(ss.ShowEnvironmentInfoRequest(environment_id=env.id)))
    assert info["resources"] == got["resources"]
    path = f"/v3/{pb.bootstrap['project_id']}/cas/environments/{env.id}/resources"
    for body, named in [({"resources": [{"id": "x", "type": "k8s"}]}, "resources[0].type"),
                        ({"resources": [{"id": "", "type": "cce"}]}, "resources[0].id"),
                        ({"resources": [{"id": "a", "type": "cce"}, {"id": "a", "type": "cce"}]}, "resources[1]"),
                        ({}, "resources")]:
        expect_ss_error(signed_call(pb, "PUT", path, body), 400, INVALID, named)
    assert raw(client.show_environment_resources(ss.ShowEnvironmentResourcesRequest(
        environment_id=env.id))) == got, "a refused change stores nothing"


def test_delete_environment_is_204_and_then_gone(pb, client):
    env = create_env(client)
    resp = signed_call(pb, "DELETE", f"/v3/{pb.bootstrap['project_id']}/cas/environments/{env.id}")
    assert (resp.status, resp.body) == (204, b""), resp.body
    expect_sdk_error(lambda: client.show_environment_info(ss.ShowEnvironmentInfoRequest(environment_id=env.id)),
                     (404, ENV_NOT_FOUND, None))
    expect_sdk_error(lambda: client.delete_environment(ss.DeleteEnvironmentRequest(environment_id=env.id)),
                     (404, ENV_NOT_FOUND, None))
    other = create_env(client)
    client.delete_environment(ss.DeleteEnvironmentRequest(environment_id=other.id))


def test_v2_list_environments(pb):
    project = create_sub_project(pb)
    client = ss_client(pb, project)
    env = create_env(client)
    bind(client, env.id, [("cce", "c1")])
    got = ss_client_v2(pb, project).list_environments(ss2.ListEnvironmentsRequest(limit=10))
    body = raw(got)
    assert body["count"] == 1, body
    (e,) = body["environments"]
    assert set(e) == {"id", "name", "alias", "description", "project_id", "enterprise_project_id",
                      "charge_mode", "deploy_mode", "vpc_id", "base_resources", "optional_resources",
                      "creator", "create_time", "update_time"}, e
    assert (e["id"], e["base_resources"]) == (env.id, [{"id": "c1", "name": "", "type": "cce"}]), e


# == add-ons (simulated driver) =====================================================================
def test_catalog_is_what_the_drivers_provide(pb, client):
    env = create_env(client)
    resp = signed_call(pb, "GET", addons_path(pb, env.id, "-metadata"))
    assert resp.status == 200, resp.body
    assert resp.json() == {"addons": [{"name": "sermantInjector", "latest_version": "1.3.1.0"}]}
    missing = "00000000-0000-4000-8000-000000000000"
    expect_ss_error(signed_call(pb, "GET", addons_path(pb, missing, "-metadata")), 404, ENV_NOT_FOUND)


@pytest.mark.parametrize("body, named", [
    ({"cce_id": "cce-1", "cse_id": "cse-1"}, "name"),
    ({"name": "nginx", "cce_id": "cce-1"}, "name"),
    ({"name": "sermantInjector", "cse_id": "cse-1"}, "cce_id"),
    ({"name": "sermantInjector", "cce_id": "cce-9", "cse_id": "cse-1"}, "cce_id"),
    ({"name": "sermantInjector", "cce_id": "cse-1", "cse_id": "cse-1"}, "cce_id"),
    ({"name": "sermantInjector", "cce_id": "cce-1"}, "cse_id"),
    ({"name": "sermantInjector", "cce_id": "cce-1", "cse_id": "cce-1"}, "cse_id"),
    ({"name": ["x"], "cce_id": "cce-1"}, "name"),
])
def test_install_rules(pb, client, body, named):
    env_id, _, _ = env_with_cluster(client)
    resp = signed_call(pb, "POST", addons_path(pb, env_id), body)
    expect_ss_error(resp, 400, INVALID, named)
    listed = signed_call(pb, "GET", addons_path(pb, env_id))
    assert listed.json() == {"addons": []}, "a refused install stores nothing"


def test_install_runs_a_job_and_the_addon_follows_it(pb, client):
    env_id, cce, cse = env_with_cluster(client)
    addon_id, job_id = installed(pb, env_id)
    import re
    assert re.match(UUID_RE, addon_id) and job_id.startswith("JOB") and re.match(UUID_RE, job_id[3:]), job_id
    first = show_addon(pb, env_id, addon_id).json()
    assert set(first) == ADDON_KEYS, first
    assert (first["name"], first["version"], first["cce_id"], first["cse_id"], first["job_id"],
            first["environment_id"]) == ("sermantInjector", "1.3.1.0", cce, cse, job_id, env_id), first
    assert first["status"] in ("INITIALIZING", "SUCCEEDED"), first
    done = wait_job(client, job_id)
    body = raw(done)
    assert set(body) == {"task_count", "job", "tasks"}, body
    assert body["job"] == {"execution_status": "SUCCEEDED", "job_id": job_id, "job_type": "PROVISION",
                           "rollback_enabled": False, "project_id": pb.bootstrap["project_id"],
                           "order_id": "", "service_instance_id": addon_id}, body
    assert body["task_count"] == 3
    assert [t["task_name"] for t in body["tasks"]] == ["prepare", "deploy", "verify"]
    for i, t in enumerate(body["tasks"]):
        assert set(t) == {"task_id", "task_name", "task_status", "task_type", "task_index", "messages",
                          "created_at", "update_at"}, t
        assert (t["task_status"], t["task_index"], t["task_type"]) == ("SUCCEEDED", i, "install"), t
        assert "simulated: install" in t["messages"], t
    shown = show_addon(pb, env_id, addon_id).json()
    assert shown["status"] == "SUCCEEDED", shown
    listed = signed_call(pb, "GET", addons_path(pb, env_id)).json()
    assert listed == {"addons": [shown]}
    # one add-on of a name per environment
    expect_ss_error(install(pb, env_id), 400, INVALID, "sermantInjector")


def test_job_tasks_page_and_order(pb, client):
    env_id, _, _ = env_with_cluster(client)
    _, job_id = installed(pb, env_id)
    wait_job(client, job_id)
    names = lambda got: [t.task_name for t in got.tasks]  # noqa: E731
    assert names(job_info(client, job_id, desc="true")) == ["verify", "deploy", "prepare"]
    page = job_info(client, job_id, limit="1", offset="1")
    assert (page.task_count, names(page)) == (3, ["deploy"])
    assert names(job_info(client, job_id, offset="5")) == []
    for q, named in [({"desc": "maybe"}, "desc"), ({"limit": "x"}, "limit"), ({"offset": "-2"}, "offset")]:
        expect_sdk_error(lambda: job_info(client, job_id, **q), (400, INVALID, named))
    missing = "JOB00000000-0000-4000-8000-000000000000"
    expect_sdk_error(lambda: job_info(client, missing), (404, JOB_NOT_FOUND, None))
    blank = signed_call(pb, "GET", f"/v3/{pb.bootstrap['project_id']}/cas/jobs/%20")
    expect_ss_error(blank, 400, "SVCSTG.00100414", "job id can not empty")
    expect_sdk_error(lambda: job_info(client, job_id, instance_id="other"), (404, JOB_NOT_FOUND, None))
    other = ss_client(pb, create_sub_project(pb))
    expect_sdk_error(lambda: job_info(other, job_id), (404, JOB_NOT_FOUND, None))


def test_v2_job_detail_has_upper_case_inner_keys(pb, client):
    env_id, _, _ = env_with_cluster(client)
    addon_id, job_id = installed(pb, env_id)
    wait_job(client, job_id)
    got = ss_client_v2(pb).show_job_detail(ss2.ShowJobDetailRequest(job_id=job_id))
    body = raw(got)
    assert set(body) == {"task_count", "job", "tasks"}, body
    assert set(body["job"]) == {"CREATED_BY", "EXECUTION_STATUS", "JOB_DESC", "JOB_ID", "JOB_NAME", "JOB_TYPE",
                                "ORDER_ID", "PROJECT_ID", "SERVICE_INSTANCE_ID"}, body
    assert (got.job.execution_status, got.job.job_id, got.job.service_instance_id, got.job.created_by) == \
        ("SUCCEEDED", job_id, addon_id, "admin")
    for i, t in enumerate(body["tasks"]):
        assert set(t) == {"CREATED_AT", "LAST_HEALTH_CHECK", "MESSAGES", "OWNER_ID", "TASK_ID", "TASK_INDEX",
                          "TASK_NAME", "TASK_STATUS", "TASK_TYPE"}, t
        assert t["TASK_INDEX"] == i and t["TASK_STATUS"] == "SUCCEEDED", t


def test_redeploy_and_restart(pb, client):
    env_id, _, _ = env_with_cluster(client)
    addon_id, job_id = installed(pb, env_id)
    wait_job(client, job_id)
    resp = action(pb, env_id, addon_id, "redeploy")
    assert resp.status == 200, resp.body
    assert set(resp.json()) == {"job_id"}
    redeploy = resp.json()["job_id"]
    assert show_addon(pb, env_id, addon_id).json()["job_id"] == redeploy
    done = wait_job(client, redeploy)
    assert (done.job.execution_status, done.job.job_type) == ("SUCCEEDED", "DAILY_OPERATION")
    assert [t.task_name for t in done.tasks] == ["deploy", "verify"]
    restart = action(pb, env_id, addon_id, "restart").json()["job_id"]
    assert [t.task_name for t in wait_job(client, restart).tasks] == ["restart", "verify"]
    shown = show_addon(pb, env_id, addon_id).json()
    assert (shown["status"], shown["job_id"], shown["version"]) == ("SUCCEEDED", restart, "1.3.1.0"), shown


@pytest.mark.parametrize("body, named", [
    ({"action": "upgrade"}, "action"), ({}, "action"), ({"action": 1}, "action"), ({"action": None}, "action"),
])
def test_action_rules(pb, client, body, named):
    env_id, _, _ = env_with_cluster(client)
    addon_id, job_id = installed(pb, env_id)
    wait_job(client, job_id)
    resp = signed_call(pb, "POST", addons_path(pb, env_id, f"/{addon_id}/action"), body)
    err = expect_ss_error(resp, 400, INVALID, named)
    if body.get("action") == "upgrade":
        assert "restart" in err["error_msg"] and "redeploy" in err["error_msg"], err
    assert show_addon(pb, env_id, addon_id).json()["job_id"] == job_id, "a refused action starts nothing"


def test_addon_not_found(pb, client):
    env_id, _, _ = env_with_cluster(client)
    missing = "00000000-0000-4000-8000-000000000000"
    expect_ss_error(show_addon(pb, env_id, missing), 404, ADDON_NOT_FOUND)
    expect_ss_error(action(pb, env_id, missing, "restart"), 404, ADDON_NOT_FOUND)
    expect_ss_error(uninstall(pb, env_id, missing), 404, ADDON_NOT_FOUND)
    expect_ss_error(show_addon(pb, missing, missing), 404, ENV_NOT_FOUND)


def test_uninstall_removes_the_addon_when_its_job_succeeds(pb, client):
    env_id, _, _ = env_with_cluster(client)
    addon_id, job_id = installed(pb, env_id)
    wait_job(client, job_id)
    expect_ss_error(signed_call(pb, "DELETE", f"/v3/{pb.bootstrap['project_id']}/cas/environments/{env_id}"),
                    400, INVALID, "add-on")
    resp = uninstall(pb, env_id, addon_id)
    assert resp.status == 200 and set(resp.json()) == {"job_id"}, resp.body
    done = wait_job(client, resp.json()["job_id"])
    assert (done.job.execution_status, done.job.job_type) == ("SUCCEEDED", "DEPROVISION")
    expect_ss_error(show_addon(pb, env_id, addon_id), 404, ADDON_NOT_FOUND)
    assert signed_call(pb, "GET", addons_path(pb, env_id)).json() == {"addons": []}
    resp = signed_call(pb, "DELETE", f"/v3/{pb.bootstrap['project_id']}/cas/environments/{env_id}")
    assert resp.status == 204, resp.body


# == scripted outcomes ==============================================================================
@pytest.fixture
def scripted(start_plugboard):
    """A server of its own whose simulated driver the test scripts."""
    server = start_plugboard()
    yield server, ss_client(server)


def test_a_failing_step_fails_the_job_and_the_addon_together(scripted):
    pb, client = scripted
    env_id, _, _ = env_with_cluster(client)
    addon_id, job_id = installed(pb, env_id)
    wait_job(client, job_id)
    simulated_settings(pb, '[[fail]]\naction = "redeploy"\nstep = "deploy"\nmessage = "the cluster said no"\n')
    job = action(pb, env_id, addon_id, "redeploy").json()["job_id"]
    done = wait_job(client, job)
    assert done.job.execution_status == "FAILED"
    (deploy, verify) = done.tasks
    assert (deploy.task_status, verify.task_status) == ("FAILED", "SKIPPED")
    assert "the cluster said no" in deploy.messages, deploy
    shown = show_addon(pb, env_id, addon_id).json()
    assert (shown["status"], shown["job_id"]) == ("FAILED", job), shown
    # a FAILED add-on can be redeployed once the cause is gone
    simulated_settings(pb, "")
    again = action(pb, env_id, addon_id, "redeploy").json()["job_id"]
    assert wait_job(client, again).job.execution_status == "SUCCEEDED"
    assert show_addon(pb, env_id, addon_id).json()["status"] == "SUCCEEDED"


def test_one_job_per_addon_at_a_time(scripted):
    pb, client = scripted
    env_id, _, _ = env_with_cluster(client)
    simulated_settings(pb, "step_delay_ms = 400\n")
    addon_id, job_id = installed(pb, env_id)
    assert show_addon(pb, env_id, addon_id).json()["status"] == "INITIALIZING"
    busy = expect_ss_error(action(pb, env_id, addon_id, "restart"), 400, INVALID, "job is running")
    assert addon_id in busy["error_msg"]
    expect_ss_error(uninstall(pb, env_id, addon_id), 400, INVALID, "job is running")
    running = job_info(client, job_id)
    assert running.job.execution_status in ("SUBMITTED", "RUNNING")
    assert wait_job(client, job_id).job.execution_status == "SUCCEEDED"
    simulated_settings(pb, "step_delay_ms = 300\n")
    job = action(pb, env_id, addon_id, "restart").json()["job_id"]
    assert show_addon(pb, env_id, addon_id).json()["status"] == "UPGRADING"
    assert wait_job(client, job).job.execution_status == "SUCCEEDED"


def test_a_failed_uninstall_keeps_the_addon(scripted):
    pb, client = scripted
    env_id, _, _ = env_with_cluster(client)
    addon_id, job_id = installed(pb, env_id)
    wait_job(client, job_id)
    simulated_settings(pb, '[[fail]]\naction = "uninstall"\nmessage = "stuck finalizer"\n')
    job = uninstall(pb, env_id, addon_id).json()["job_id"]
    assert show_addon(pb, env_id, addon_id).json()["status"] in ("DELETING", "FAILED")
    done = wait_job(client, job)
    assert done.job.execution_status == "FAILED" and "stuck finalizer" in done.tasks[0].messages
    assert show_addon(pb, env_id, addon_id).json()["status"] == "FAILED"
    simulated_settings(pb, "")
    job = uninstall(pb, env_id, addon_id).json()["job_id"]
    assert wait_job(client, job).job.execution_status == "SUCCEEDED"
    expect_ss_error(show_addon(pb, env_id, addon_id), 404, ADDON_NOT_FOUND)


def test_project_isolation_of_addons(pb, client):
    env_id, _, _ = env_with_cluster(client)
    addon_id, job_id = installed(pb, env_id)
    other_project = create_sub_project(pb)
    other = f"/v3/{other_project}/cas/environments/{env_id}/addons/{addon_id}"
    expect_ss_error(signed_call(pb, "GET", other, project_id=other_project), 404, ENV_NOT_FOUND)
    expect_ss_error(signed_call(pb, "POST", other + "/action", {"action": "restart"}, project_id=other_project),
                    404, ENV_NOT_FOUND)
    wait_job(client, job_id)
    assert HEX32.match(other_project)
