"""Helpers of the ServiceStage tests: the official SDK's clients (huaweicloudsdkservicestage
3.1.219, v3 and v2), signed raw calls for the add-on APIs (in no SDK), the simulated driver's
settings file, and polling a job to its end."""

import json
import time

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkservicestage.v2 import ServiceStageClient as ServiceStageClientV2
from huaweicloudsdkservicestage.v3 import ServiceStageClient
from huaweicloudsdkservicestage.v3 import model as ss

from sdkhelpers import HEX32, _config, signed_call, unique

INVALID = "SVCSTG.00100400"
NAME_TAKEN = "SVCSTG.00100449"
ENV_NOT_FOUND = "SVCSTG.00100411"
JOB_NOT_FOUND = "SVCSTG.00100429"
ADDON_NOT_FOUND = "SVCSTG.00100430"
TERMINAL = {"SUCCEEDED", "FAILED", "UNKNOWN"}
ENV_KEYS = {"id", "project_id", "name", "description", "enterprise_project_id", "vpc_id", "creator",
            "create_time", "update_time", "deploy_mode", "labels"}
ADDON_KEYS = {"id", "name", "version", "cce_id", "cse_id", "job_id", "environment_id", "status"}


def ss_client(pb, project_id=None):
    boot = pb.bootstrap
    creds = BasicCredentials(boot["access_key"], boot["secret_key"], project_id or boot["project_id"])
    return ServiceStageClient.new_builder().with_http_config(_config()).with_credentials(creds) \
        .with_endpoints([pb.base_url]).build()


def ss_client_v2(pb, project_id=None):
    boot = pb.bootstrap
    creds = BasicCredentials(boot["access_key"], boot["secret_key"], project_id or boot["project_id"])
    return ServiceStageClientV2.new_builder().with_http_config(_config()).with_credentials(creds) \
        .with_endpoints([pb.base_url]).build()


def create_env(client, name=None, **fields):
    body = ss.EnvironmentCreate(name=name or unique("env"), vpc_id=fields.pop("vpc_id", "vpc-1"), **fields)
    return client.create_environment(ss.CreateEnvironmentRequest(body=body))


def bind(client, env_id, resources):
    """Replace the environment's resources: [(type, id), ...]."""
    return client.modify_resource_in_environment(ss.ModifyResourceInEnvironmentRequest(
        environment_id=env_id,
        body=ss.EnvironmentResourceModify(resources=[ss.Resource(id=i, type=t) for t, i in resources])))


def env_with_cluster(client):
    """An environment with a cce and a cse resource bound; (env id, cce id, cse id)."""
    env = create_env(client)
    bind(client, env.id, [("cce", "cce-1"), ("cse", "cse-1")])
    return env.id, "cce-1", "cse-1"


def addons_path(pb, env_id, rest=""):
    return f"/v3/{pb.bootstrap['project_id']}/cas/environments/{env_id}/addons{rest}"


def install(pb, env_id, name="sermantInjector", cce_id="cce-1", cse_id="cse-1"):
    body = {"name": name, "cce_id": cce_id}
    if cse_id is not None:
        body["cse_id"] = cse_id
    return signed_call(pb, "POST", addons_path(pb, env_id), body)


def installed(pb, env_id, **kw):
    resp = install(pb, env_id, **kw)
    assert resp.status == 200, resp.body
    body = resp.json()
    assert set(body) == {"job_id", "id"}, body
    return body["id"], body["job_id"]


def show_addon(pb, env_id, addon_id):
    return signed_call(pb, "GET", addons_path(pb, env_id, f"/{addon_id}"))


def action(pb, env_id, addon_id, what):
    return signed_call(pb, "POST", addons_path(pb, env_id, f"/{addon_id}/action"), {"action": what})


def uninstall(pb, env_id, addon_id):
    return signed_call(pb, "DELETE", addons_path(pb, env_id, f"/{addon_id}"))


def job_info(client, job_id, **q):
    return client.show_job_info(ss.ShowJobInfoRequest(job_id=job_id, **q))


def wait_job(client, job_id, timeout=60):
    """Poll the job the way Terraform does until SUCCEEDED, FAILED or UNKNOWN; the last answer."""
    deadline = time.time() + timeout
    while True:
        got = job_info(client, job_id)
        if got.job.execution_status in TERMINAL:
            return got
        if time.time() > deadline:
            pytest.fail(f"job {job_id} still {got.job.execution_status} after {timeout}s: {got}")
        time.sleep(0.05)


def expect_ss_error(resp, status, code, field=None):
    """A raw response in ServiceStage's flat envelope."""
    assert resp.status == status, (resp.status, resp.body)
    body = resp.json()
    assert set(body) == {"error_code", "error_msg"}, body
    assert body["error_code"] == code, body
    if field is not None:
        assert field in body["error_msg"], f"error_msg must name {field!r}: {body}"
    assert HEX32.match(resp.headers.get("X-Request-Id") or ""), dict(resp.headers)
    return body


def simulated_settings(pb, text):
    """Write the simulated driver's settings (read again at every step)."""
    folder = pb.data_dir / "plugins" / "simulated"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "simulated.toml").write_text(text)


def refresh_drivers(pb):
    resp = signed_call(pb, "POST", "/plugboard/v1/drivers/refresh")
    assert resp.status == 200, resp.body
    return resp.json()


def raw(resp):
    return json.loads(resp.raw_content)
