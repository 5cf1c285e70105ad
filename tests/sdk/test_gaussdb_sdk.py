"""GaussDB kernel plug-ins through the official Huawei Python SDK
(huaweicloudsdkgaussdbforopengauss 3.1.219), against the machine's real PostgreSQL as the
managed instance (mode `local`): packages are built here, served over loopback (allowed by the
module's config), downloaded, verified, unpacked and installed by the server into the real
`sharedir`/`pkglibdir`, and extensions are switched on and off in a real database.

Contract: docs/api-coverage.md (GaussDB, Every request), docs/contract.md (Admin API, Plug-in
package format, Jobs), docs/error-codes.md. Every GaussDB call goes through the SDK; raw HTTP only for the plugboard admin
API, bodies the SDK cannot produce, and wire-shape checks (the SDK's `raw_content`).
"""

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ServiceResponseException
from huaweicloudsdkgaussdbforopengauss.v3 import GaussDBforopenGaussClient
from huaweicloudsdkgaussdbforopengauss.v3 import model as gdb

import pkgserver as pkgs
from sdkhelpers import FORBIDDEN, _config, expect_sdk_error, http, provision_readonly_user, raw_json, \
    signed_call, unique

# list_instances is marked deprecated by the SDK; it is still part of the contract.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PG_CONFIG = os.environ.get("PLUGBOARD_TEST_PG_CONFIG") or shutil.which("pg_config") \
    or "/usr/lib/postgresql/15/bin/pg_config"
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
SUFFIX = secrets.token_hex(3)
GOOD = f"pbhello_{SUFFIX}"          # the plug-in of the main flow
OTHER = f"pbother_{SUFFIX}"         # used by the concurrency and crash tests
HOSTILE = f"pbhostile_{SUFFIX}"     # every hostile package claims this name
SIMULATED = f"pbsim_{SUFFIX}"
LICENSED = f"pblic_{SUFFIX}"        # in [gaussdb] license_required
ELSEWHERE = f"pbelse_{SUFFIX}"      # installed where the server does not read
ALL_NAMES = [GOOD, OTHER, HOSTILE, SIMULATED, LICENSED, ELSEWHERE]
MAX_PACKAGE = 16 * 1024 * 1024  # the PostGIS package is ~8.2 MB
JOB_TIMEOUT = 60.0
JOB_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
JOB_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$")
INSTANCE_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")


def pg_config(flag):
    return subprocess.run([PG_CONFIG, flag], capture_output=True, text=True, check=True).stdout.strip()


SHAREDIR = Path(pg_config("--sharedir"))
PKGLIBDIR = Path(pg_config("--pkglibdir"))
PG_MAJOR = int(re.search(r"PostgreSQL (\d+)", pg_config("--version")).group(1))


def psql(db, sql):
    res = subprocess.run(["psql", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, "-d", db, "-X", "-tA",
                          "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


def config(server, lease=2, extra=""):
    names = ", ".join(f'"{n}"' for n in ["postgis", *ALL_NAMES])
    return f"""
[gaussdb]
supported_plugins = [{names}]
license_required = ["{LICENSED}"]

[network]
allow = ["{server.base}/"]
allow_private = true
max_package_bytes = {MAX_PACKAGE}

[jobs]
lease_seconds = {lease}
poll_interval_ms = 100
{extra}"""


def snapshot():
    """Every file name under the server's extension and library directories."""
    names = set()
    for root in (SHAREDIR, PKGLIBDIR):
        for dirpath, _, files in os.walk(root):
            names.update(os.path.join(dirpath, f) for f in files)
    return names


def remove_test_files():
    for root in (SHAREDIR, PKGLIBDIR):
        for dirpath, _, files in os.walk(root):
            for f in files:
                if SUFFIX in f:
                    os.unlink(os.path.join(dirpath, f))


# -- fixtures -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    root = tmp_path_factory.mktemp("packages")
    server = pkgs.PackageServer(root)
    server.root = root
    yield server
    server.close()
    remove_test_files()


@pytest.fixture(scope="module")
def pb(plugboard_launcher, packages):
    server = plugboard_launcher.start(config=config(packages))
    yield server
    plugboard_launcher.finish(server)


def gaussdb_client(pb, ak=None, sk=None):
    boot = pb.bootstrap
    creds = BasicCredentials(ak or boot["access_key"], sk or boot["secret_key"], boot["project_id"])
    return GaussDBforopenGaussClient.new_builder().with_http_config(_config()).with_credentials(creds) \
        .with_endpoints([pb.base_url]).build()


@pytest.fixture(scope="module")
def client(pb):
    return gaussdb_client(pb)


def register(pb, mode="local", name=None, **overrides):
    body = {"name": name or unique("pg"), "host": PG_HOST, "port": PG_PORT, "user": PG_USER, "password": "",
            "database": "postgres", "install": {"mode": mode}}
    if mode == "local":
        body["install"]["pg_config"] = PG_CONFIG
    body.update(overrides)
    pid = pb.bootstrap["project_id"]
    return signed_call(pb, "POST", f"/plugboard/v1/projects/{pid}/gaussdb/instances", body)


@pytest.fixture(scope="module")
def instance(pb):
    resp = register(pb)
    assert resp.status == 201, resp.body
    return resp.json()


@pytest.fixture(scope="module")
def extdb():
    name = f"pbext_{SUFFIX}"
    psql("postgres", f"CREATE DATABASE {name}")
    yield name
    psql("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def publish(packages, name, files=None, extra=None, **kw):
    """Build a package into the package server's directory; return (url, sha256)."""
    path = packages.root / f"{name}-{secrets.token_hex(4)}.tar.gz"
    pkgs.build_package(path, files if files is not None else pkgs.extension_files(name, **kw), extra)
    return packages.url(path.name), pkgs.sha256_file(path)


def install(client, instance_id, plugin, url, sha):
    resp = client.install_kernel_plugin(gdb.InstallKernelPluginRequest(
        instance_id=instance_id,
        body=gdb.InstallKernelPluginRequestBody(plugin_name=plugin, url=url, sha_256=sha)))
    assert resp.status_code == 200, resp.raw_content
    assert raw_json(resp) == {"job_id": resp.job_id}
    assert JOB_ID.match(resp.job_id), resp.job_id
    return resp.job_id


def job(client, job_id):
    resp = client.show_job_detail(gdb.ShowJobDetailRequest(id=job_id))
    assert resp.status_code == 200, resp.raw_content
    return raw_json(resp)["job"]


def wait_job(client, job_id, timeout=JOB_TIMEOUT):
    deadline = time.monotonic() + timeout
    while True:
        j = job(client, job_id)
        if j["status"] != "Running":
            return j
        assert time.monotonic() < deadline, f"job {job_id} still running after {timeout:.0f}s: {j}"
        time.sleep(0.1)


def expect_code(call, status, code, fragment=None):
    with pytest.raises(ServiceResponseException) as info:
        call()
    e = info.value
    assert (e.status_code, e.error_code) == (status, code), str(e)
    if fragment:
        assert fragment in (e.error_msg or ""), str(e)
    return e


# -- the main flow ----------------------------------------------------------------------------------
def test_install_then_extension_on_and_off(pb, client, packages, instance, extdb):
    url, sha = publish(packages, GOOD, version="1.2")
    job_id = install(client, instance["id"], GOOD, url, sha)
    done = wait_job(client, job_id)
    assert done["status"] == "Completed", done
    assert done["progress"] == "100%" and done["fail_reason"] == ""
    assert (SHAREDIR / "extension" / f"{GOOD}.control").is_file()
    assert psql("postgres", f"SELECT default_version FROM pg_available_extensions WHERE name = '{GOOD}'") == "1.2"

    resp = client.list_kernel_plugins(gdb.ListKernelPluginsRequest(instance_id=instance["id"]))
    assert GOOD in resp.body and raw_json(resp) == resp.body, "a bare JSON array of names"

    on = client.resume_plugin_extensions(gdb.ResumePluginExtensionsRequest(
        instance_id=instance["id"], body=gdb.ResumePluginExtensionsRequestBody(
            plugin_name=GOOD, db_list=[extdb], extension_name=GOOD, extension_action="on")))
    assert on.status_code == 200 and raw_json(on) == "SUCCESS" and on.body == "SUCCESS"
    assert psql(extdb, f"SELECT extversion FROM pg_extension WHERE extname = '{GOOD}'") == "1.2"
    assert psql(extdb, f"SELECT {GOOD}_hello()") == f"hello from {GOOD}"

    listed = client.list_plugin_extensions(gdb.ListPluginExtensionsRequest(
        instance_id=instance["id"], db_name=extdb, plugin_name=GOOD))
    assert raw_json(listed) == [{"extension_name": GOOD, "status": "on"}]
    assert listed.body[0].status == "on"

    off = client.resume_plugin_extensions(gdb.ResumePluginExtensionsRequest(
        instance_id=instance["id"], body=gdb.ResumePluginExtensionsRequestBody(
            plugin_name=GOOD, db_list=[extdb], extension_name=GOOD, extension_action="off")))
    assert raw_json(off) == "SUCCESS"
    assert psql(extdb, f"SELECT count(*) FROM pg_extension WHERE extname = '{GOOD}'") == "0"
    listed = client.list_plugin_extensions(gdb.ListPluginExtensionsRequest(
        instance_id=instance["id"], db_name=extdb, plugin_name=GOOD))
    assert raw_json(listed) == [{"extension_name": GOOD, "status": "off"}]

    # a repeat install of the same package is allowed and changes nothing
    before = {p: p.stat().st_mtime_ns for p in (SHAREDIR / "extension").glob(f"{GOOD}*")}
    again = wait_job(client, install(client, instance["id"], GOOD, url, sha))
    assert again["status"] == "Completed", again
    assert {p: p.stat().st_mtime_ns for p in (SHAREDIR / "extension").glob(f"{GOOD}*")} == before
    resp = client.list_kernel_plugins(gdb.ListKernelPluginsRequest(instance_id=instance["id"]))
    assert resp.body.count(GOOD) == 1


def test_job_detail_and_tasks_shapes(pb, client, packages, instance):
    url, sha = publish(packages, OTHER)
    job_id = install(client, instance["id"], OTHER, url, sha)
    done = wait_job(client, job_id)
    assert set(done) == {"id", "name", "status", "created", "ended", "progress", "instance", "fail_reason"}
    assert done["id"] == job_id and done["name"] == "InstallKernelPlugin" and done["status"] == "Completed"
    assert JOB_TIME.match(done["created"]) and JOB_TIME.match(done["ended"]), done
    assert done["instance"] == {"id": instance["id"], "name": instance["name"]}

    tasks = client.list_tasks(gdb.ListTasksRequest(status="Completed", name="InstallKernelPlugin", limit=100))
    body = raw_json(tasks)
    assert set(body) == {"tasks", "total_count"} and type(body["total_count"]) is int
    mine = [t for t in body["tasks"] if t["job_id"] == job_id]
    assert len(mine) == 1, body
    assert mine[0] == {
        "instance_info": {"instance_id": instance["id"], "instance_name": instance["name"],
                          "instance_status": "ACTIVE"},
        "job_id": job_id, "name": "InstallKernelPlugin", "status": "Completed", "process": "100%",
        "created_at": done["created"], "ended_at": done["ended"], "fail_reason": ""}
    failed = client.list_tasks(gdb.ListTasksRequest(status="Failed", limit=100))
    assert all(t["status"] == "Failed" for t in raw_json(failed)["tasks"])

    deleted = client.delete_job(gdb.DeleteJobRequest(job_id=job_id))
    assert deleted.status_code == 200
    expect_code(lambda: client.show_job_detail(gdb.ShowJobDetailRequest(id=job_id)), 404, "DBS.280007")
    expect_code(lambda: client.delete_job(gdb.DeleteJobRequest(job_id=job_id)), 404, "DBS.280007")


def test_support_list_plugin_info_and_license(pb, client, instance):
    support = client.list_support_kernel_plugins(gdb.ListSupportKernelPluginsRequest())
    assert raw_json(support) == ["postgis", *ALL_NAMES]
    info = client.list_plugin_info_list(gdb.ListPluginInfoListRequest(instance_id=instance["id"], plugin_name="postgis"))
    assert raw_json(info) == {"total_count": 1, "plugins": [
        {"plugin_name": "postgis", "installed": False, "port": str(PG_PORT), "plugin_version": ""}]}
    page = raw_json(client.list_plugin_info_list(gdb.ListPluginInfoListRequest(
        instance_id=instance["id"], offset=1, limit=2)))
    assert page["total_count"] == 1 + len(ALL_NAMES) and len(page["plugins"]) == 2
    expect_code(lambda: client.list_plugin_info_list(gdb.ListPluginInfoListRequest(
        instance_id=instance["id"], limit=101)), 400, "DBS.200001", "limit")

    lic = client.set_kernel_plugin_license(gdb.SetKernelPluginLicenseRequest(
        instance_id=instance["id"], body=gdb.SetKernelPluginLicenseRequestBody(license_str="LICENSE-" + SUFFIX)))
    assert lic.status_code == 200 and raw_json(lic) == "SUCCESS"


def test_list_instances(pb, client, instance):
    resp = client.list_instances(gdb.ListInstancesRequest(id=instance["id"]))
    body = raw_json(resp)
    assert body["total_count"] == 1
    item = body["instances"][0]
    for key in ("id", "name", "status", "private_ips", "public_ips", "port", "type", "datastore", "created",
                "updated", "region", "db_user_name", "time_zone", "nodes", "enterprise_project_id", "tags"):
        assert key in item, key
    assert (item["id"], item["name"], item["status"], item["port"]) == (instance["id"], instance["name"], "ACTIVE", 5432)
    assert item["datastore"]["type"] == "GaussDB" and item["datastore"]["version"].startswith(str(PG_MAJOR))
    assert INSTANCE_TIME.match(item["created"]) and item["enterprise_project_id"] == "0"
    fuzzy = raw_json(client.list_instances(gdb.ListInstancesRequest(name="*" + instance["name"][3:])))
    assert instance["id"] in [i["id"] for i in fuzzy["instances"]]
    exact = raw_json(client.list_instances(gdb.ListInstancesRequest(name=instance["name"][3:])))
    assert instance["id"] not in [i["id"] for i in exact["instances"]]


# -- refusals at submit time -------------------------------------------------------------------------
def test_install_refused_at_submit(pb, client, packages, instance):
    url, sha = publish(packages, GOOD)
    iid = instance["id"]

    def call(plugin=GOOD, u=url, s=sha, instance_id=iid):
        return lambda: client.install_kernel_plugin(gdb.InstallKernelPluginRequest(
            instance_id=instance_id, body=gdb.InstallKernelPluginRequestBody(plugin_name=plugin, url=u, sha_256=s)))

    expect_code(call(plugin="nosuchplugin"), 400, "DBS.280001", "nosuchplugin")
    expect_code(call(s="abc"), 400, "DBS.200001", "sha_256")
    expect_code(call(s="z" * 64), 400, "DBS.200001", "sha_256")
    expect_code(call(u="http://127.0.0.2:9/x.tar.gz"), 400, "DBS.280003")
    expect_code(call(u="http://169.254.169.254/latest/x.tar.gz"), 400, "DBS.280003")
    expect_code(call(u="ftp://127.0.0.1/x.tar.gz"), 400, "DBS.280003")
    expect_code(call(instance_id="0" * 32 + "in14"), 404, "DBS.200002")
    expect_code(call(instance_id="not-an-instance"), 400, "DBS.200001", "instance_id")
    expect_code(lambda: client.install_kernel_plugin(gdb.InstallKernelPluginRequest(
        instance_id=iid, body={"plugin_name": GOOD, "url": url})), 400, "DBS.200001", "sha_256")
    expect_code(lambda: client.install_kernel_plugin(gdb.InstallKernelPluginRequest(
        instance_id=iid, body={"plugin_name": GOOD, "url": url, "sha_256": 5})), 400, "DBS.200001", "sha_256")
    pid = pb.bootstrap["project_id"]
    for raw in (b"{not json", b""):
        resp = signed_call_raw(pb, "POST", f"/v3/{pid}/instances/{iid}/kernel-plugin", raw)
        assert resp.status == 400, resp.body
        assert resp.json()["error_code"] in ("DBS.200001", "DBS.200006"), resp.body
    tasks = raw_json(client.list_tasks(gdb.ListTasksRequest(limit=100)))
    assert all(t["status"] != "Running" for t in tasks["tasks"]), "nothing refused may leave a job"


def signed_call_raw(pb, method, path, body):
    from sdkhelpers import signed_headers
    boot = pb.bootstrap
    url = pb.base_url + path
    headers = signed_headers(method, url, boot["access_key"], boot["secret_key"], body=body,
                             project_id=boot["project_id"])
    return http(method, url, headers=headers, body=body)


def test_readonly_user_cannot_install(pb, client, packages, instance):
    reader = provision_readonly_user(pb)
    ro = gaussdb_client(pb, reader.access_key, reader.secret_key)
    assert ro.list_kernel_plugins(gdb.ListKernelPluginsRequest(instance_id=instance["id"])).status_code == 200
    url, sha = publish(packages, GOOD)
    expect_sdk_error(lambda: ro.install_kernel_plugin(gdb.InstallKernelPluginRequest(
        instance_id=instance["id"], body=gdb.InstallKernelPluginRequestBody(plugin_name=GOOD, url=url, sha_256=sha))),
        FORBIDDEN)


def test_second_install_while_one_runs_is_409(pb, client, packages, instance):
    path = packages.root / f"slow-{SUFFIX}.tar.gz"
    pkgs.build_package(path, pkgs.extension_files(OTHER), extra=pkgs.file_entry(
        f"share/extension/{OTHER}--pad.sql", os.urandom(1024 * 1024)))
    sha = pkgs.sha256_file(path)
    slow = f"{packages.base}/slow/100/{path.name}"   # ~1.6 s
    first = install(client, instance["id"], OTHER, slow, sha)
    e = expect_code(lambda: install(client, instance["id"], OTHER, slow, sha), 409, "DBS.200011")
    assert "Another operation" in e.error_msg
    done = wait_job(client, first)
    assert done["status"] == "Completed", done
    assert wait_job(client, install(client, instance["id"], OTHER, packages.url(path.name), sha))["status"] == "Completed"


# -- hostile packages ---------------------------------------------------------------------------------
def _files(**kw):
    return pkgs.extension_files(HOSTILE, **kw)


def _without_control():
    files = _files()
    del files[f"share/extension/{HOSTILE}.control"]
    return files


HOSTILE_CASES = {
    "path traversal": (_files(), pkgs.file_entry(f"share/extension/../../../../tmp/pbevil-{SUFFIX}"), ".."),
    "absolute path": (_files(), pkgs.file_entry(f"/tmp/pbevil-{SUFFIX}"), "absolute"),
    "symlink": (_files(), pkgs.symlink_entry(f"lib/{HOSTILE}.so", "/etc/passwd"), "link"),
    "hard link": (_files(), pkgs.hardlink_entry(f"lib/{HOSTILE}.so", f"share/extension/{HOSTILE}.control"), "link"),
    "device file": (_files(), pkgs.device_entry(f"lib/{HOSTILE}-null"), "device"),
    "outside share and lib": (_files(), pkgs.file_entry("etc/cron.d/pbevil"), "etc/cron.d/pbevil"),
    "gzip bomb": (_files(), pkgs.zeros_entry(f"share/extension/{HOSTILE}--bomb.sql", 400 * 1024 * 1024), "gzip bomb"),
    "missing control file": (_without_control(), None, f"share/extension/{HOSTILE}.control"),
    "wrong pg_major": (_files(pg_major=PG_MAJOR - 1), None, "pg_major"),
    "preload": (_files(preload=True), None, "preload"),
}


@pytest.mark.parametrize("case", list(HOSTILE_CASES))
def test_hostile_package_fails_and_writes_nothing(pb, client, packages, instance, case):
    files, extra, reason = HOSTILE_CASES[case]
    url, sha = publish(packages, HOSTILE, files=files, extra=extra)
    before = snapshot()
    done = wait_job(client, install(client, instance["id"], HOSTILE, url, sha))
    assert done["status"] == "Failed", done
    assert reason in done["fail_reason"], done["fail_reason"]
    assert snapshot() == before, "nothing new may appear in sharedir or pkglibdir"
    assert not Path(f"/tmp/pbevil-{SUFFIX}").exists()
    assert HOSTILE not in client.list_kernel_plugins(gdb.ListKernelPluginsRequest(instance_id=instance["id"])).body


def test_sha_mismatch_over_cap_and_forbidden_redirect(pb, client, packages, instance):
    url, sha = publish(packages, HOSTILE)
    before = snapshot()
    wrong = "0" * 64
    done = wait_job(client, install(client, instance["id"], HOSTILE, url, wrong))
    assert done["status"] == "Failed" and "sha_256 mismatch" in done["fail_reason"], done
    assert wrong in done["fail_reason"] and sha in done["fail_reason"]

    big = pkgs.random_file(packages.root / f"big-{SUFFIX}.tar.gz", MAX_PACKAGE + 1024)
    done = wait_job(client, install(client, instance["id"], HOSTILE, packages.url(big.name), pkgs.sha256_file(big)))
    assert done["status"] == "Failed" and str(MAX_PACKAGE) in done["fail_reason"], done

    for target in ("http://169.254.169.254/latest/meta-data", "http://127.0.0.2:9/x.tar.gz"):
        redirect = f"{packages.base}/redirect?to={target}"
        done = wait_job(client, install(client, instance["id"], HOSTILE, redirect, sha))
        assert done["status"] == "Failed" and "redirect" in done["fail_reason"], done

    done = wait_job(client, install(client, instance["id"], HOSTILE, f"{packages.base}/status/404", sha))
    assert done["status"] == "Failed" and "404" in done["fail_reason"], done
    assert snapshot() == before


# -- extensions: limits and refusals -------------------------------------------------------------------
def test_extension_refusals(pb, client, instance, extdb):
    iid = instance["id"]

    def resume(**kw):
        body = {"plugin_name": GOOD, "db_list": [extdb], "extension_name": GOOD, "extension_action": "on"}
        body.update(kw)
        return lambda: client.resume_plugin_extensions(gdb.ResumePluginExtensionsRequest(
            instance_id=iid, body=gdb.ResumePluginExtensionsRequestBody(**body)))

    expect_code(resume(db_list=[f"db{i}" for i in range(11)]), 400, "DBS.280006", "10")
    expect_code(resume(extension_action="maybe"), 400, "DBS.200001", "extension_action")
    expect_code(resume(db_list=[]), 400, "DBS.200001", "db_list")
    expect_code(resume(plugin_name="postgis", extension_name="postgis"), 400, "DBS.280004")
    expect_code(resume(extension_name="plpgsql"), 400, "DBS.280005")
    expect_code(resume(db_list=[f"nosuchdb_{SUFFIX}"]), 400, "DBS.280009", f"nosuchdb_{SUFFIX}")
    expect_code(lambda: client.list_plugin_extensions(gdb.ListPluginExtensionsRequest(
        instance_id=iid, plugin_name=GOOD)), 400, "DBS.200001", "db_name")


def test_extension_limit_of_200_databases_per_instance(pb, client, packages):
    sim = register(pb, mode="simulated").json()
    # a simulated install downloads nothing: the URL only has to pass the policy
    url = packages.url(f"never-fetched-{SUFFIX}.tar.gz")
    assert wait_job(client, install(client, sim["id"], SIMULATED, url, "a" * 64))["status"] == "Completed"

    def on(dbs):
        return client.resume_plugin_extensions(gdb.ResumePluginExtensionsRequest(
            instance_id=sim["id"], body=gdb.ResumePluginExtensionsRequestBody(
                plugin_name=SIMULATED, db_list=dbs, extension_name=SIMULATED, extension_action="on")))

    for start in range(0, 200, 10):
        assert raw_json(on([f"db{i}" for i in range(start, start + 10)])) == "SUCCESS"
    # the same databases again are no new ones; a 201st is refused and stored nowhere
    assert raw_json(on(["db0", "db199"])) == "SUCCESS"
    expect_code(lambda: on(["db200"]), 400, "DBS.280006", "200")
    listed = client.list_plugin_extensions(gdb.ListPluginExtensionsRequest(
        instance_id=sim["id"], db_name="db200", plugin_name=SIMULATED))
    assert raw_json(listed) == [{"extension_name": SIMULATED, "status": "off"}]


def test_license_required_before_install(pb, client, packages):
    sim = register(pb, mode="simulated").json()
    url, sha = publish(packages, LICENSED)
    e = expect_code(lambda: install(client, sim["id"], LICENSED, url, sha), 400, "DBS.280002", LICENSED)
    assert "kernel-plugin-license" in e.error_msg
    tasks = raw_json(client.list_tasks(gdb.ListTasksRequest(limit=100)))["tasks"]
    assert all(t["instance_info"]["instance_id"] != sim["id"] for t in tasks), "a refused install leaves no job"
    lic = client.set_kernel_plugin_license(gdb.SetKernelPluginLicenseRequest(
        instance_id=sim["id"], body=gdb.SetKernelPluginLicenseRequestBody(license_str="LICENSE-" + SUFFIX)))
    assert raw_json(lic) == "SUCCESS"
    assert wait_job(client, install(client, sim["id"], LICENSED, url, sha))["status"] == "Completed"
    assert LICENSED in client.list_kernel_plugins(gdb.ListKernelPluginsRequest(instance_id=sim["id"])).body


def test_a_running_job_cannot_be_deleted(pb, client, packages, instance):
    url, sha, _ = _slow_package(packages, OTHER, mib=1, delay_ms=100)
    job_id = install(client, instance["id"], OTHER, url, sha)
    e = expect_code(lambda: client.delete_job(gdb.DeleteJobRequest(job_id=job_id)), 409, "DBS.280008", job_id)
    assert job(client, job_id)["id"] == job_id
    assert wait_job(client, job_id)["status"] == "Completed"
    assert client.delete_job(gdb.DeleteJobRequest(job_id=job_id)).status_code == 200
    assert e.request_id


def test_x_language_zh_cn_gives_chinese_messages(pb, client, packages, instance):
    url, sha = publish(packages, GOOD)
    zh = lambda **kw: client.install_kernel_plugin(gdb.InstallKernelPluginRequest(  # noqa: E731
        instance_id=instance["id"], x_language="zh-cn",
        body=gdb.InstallKernelPluginRequestBody(**{"plugin_name": GOOD, "url": url, "sha_256": sha, **kw})))
    en = lambda **kw: client.install_kernel_plugin(gdb.InstallKernelPluginRequest(  # noqa: E731
        instance_id=instance["id"], x_language="en-us",
        body=gdb.InstallKernelPluginRequestBody(**{"plugin_name": GOOD, "url": url, "sha_256": sha, **kw})))
    e = expect_code(lambda: zh(sha_256="xyz"), 400, "DBS.200001")
    assert e.error_msg.startswith("参数错误。") and "sha_256" in e.error_msg, e.error_msg
    e = expect_code(lambda: en(sha_256="xyz"), 400, "DBS.200001")
    assert e.error_msg.startswith("Parameter error.") and "sha_256" in e.error_msg, e.error_msg
    e = expect_code(lambda: zh(plugin_name="nosuch"), 400, "DBS.280001")
    assert e.error_msg.startswith("不支持该插件：`nosuch`"), e.error_msg
    missing = "0" * 32 + "in14"
    e = expect_code(lambda: client.list_kernel_plugins(gdb.ListKernelPluginsRequest(
        instance_id=missing, x_language="zh-cn")), 404, "DBS.200002")
    assert e.error_msg == "实例不存在。", e.error_msg
    e = expect_code(lambda: client.list_kernel_plugins(gdb.ListKernelPluginsRequest(instance_id=missing)),
                    404, "DBS.200002")
    assert e.error_msg == "The DB instance does not exist.", e.error_msg


def test_check_fails_when_the_server_reads_another_sharedir(pb, client, packages, tmp_path):
    """The check must prove the server reads the job's own files: here the instance names a
    sharedir the server does not read, while the server lists the plug-in's name from someone
    else's control file in its real sharedir (issue 9.13)."""
    theirs = SHAREDIR / "extension" / f"{ELSEWHERE}.control"
    theirs.write_text(f"comment = 'someone else'\ndefault_version = '0.9'\nrelocatable = true\n")
    try:
        share, lib = tmp_path / "share", tmp_path / "lib"
        (share / "extension").mkdir(parents=True)
        lib.mkdir()
        resp = register(pb, install={"mode": "local", "sharedir": str(share), "pkglibdir": str(lib)})
        assert resp.status == 201, resp.body
        elsewhere = resp.json()
        assert ELSEWHERE in psql("postgres", f"SELECT name FROM pg_available_extensions WHERE name = '{ELSEWHERE}'")
        url, sha = publish(packages, ELSEWHERE)
        done = wait_job(client, install(client, elsewhere["id"], ELSEWHERE, url, sha))
        assert done["status"] == "Failed", done
        assert "does not read extension files from" in done["fail_reason"], done
        assert str(share) in done["fail_reason"], done
        assert (share / "extension" / f"{ELSEWHERE}.control").exists(), "the job did install its files"
        left = [p.name for p in (share / "extension").iterdir() if p.name.startswith("plugboard_check_")]
        assert left == [], f"the check's marker is removed: {left}"
        installed = raw_json(client.list_kernel_plugins(gdb.ListKernelPluginsRequest(instance_id=elsewhere["id"])))
        assert installed == [], "a failed check records no install"
    finally:
        theirs.unlink(missing_ok=True)


# -- simulated instances ------------------------------------------------------------------------------
def test_simulated_instance_walks_the_steps(pb, client, packages):
    resp = register(pb, mode="simulated", host="db.example.internal", port=6000)
    assert resp.status == 201, resp.body
    sim = resp.json()
    assert sim["install"] == {"mode": "simulated"} and "password" not in sim
    url, sha = publish(packages, SIMULATED)
    hits = len(packages.hits)
    done = wait_job(client, install(client, sim["id"], SIMULATED, url, sha))
    assert done["status"] == "Completed", done
    assert len(packages.hits) == hits, "a simulated install downloads nothing"
    assert not (SHAREDIR / "extension" / f"{SIMULATED}.control").exists()
    assert SIMULATED in client.list_kernel_plugins(gdb.ListKernelPluginsRequest(instance_id=sim["id"])).body
    on = client.resume_plugin_extensions(gdb.ResumePluginExtensionsRequest(
        instance_id=sim["id"], body=gdb.ResumePluginExtensionsRequestBody(
            plugin_name=SIMULATED, db_list=["app"], extension_name=SIMULATED, extension_action="on")))
    assert raw_json(on) == "SUCCESS"
    listed = client.list_plugin_extensions(gdb.ListPluginExtensionsRequest(
        instance_id=sim["id"], db_name="app", plugin_name=SIMULATED))
    assert raw_json(listed) == [{"extension_name": SIMULATED, "status": "on"}]


# -- admin API ----------------------------------------------------------------------------------------
def test_admin_instances(pb):
    pid = pb.bootstrap["project_id"]
    bad = register(pb, port=1)
    assert bad.status == 400 and bad.json()["error_code"] == "PLUGBOARD.0400", bad.body
    assert "connection test failed" in bad.json()["error_msg"]
    bad = register(pb, install={"mode": "agent"})
    assert bad.status == 400 and "install.mode" in bad.json()["error_msg"], bad.body
    bad = register(pb, install={"mode": "local", "pg_config": "/nonexistent/pg_config"})
    assert bad.status == 400 and "pg_config" in bad.json()["error_msg"], bad.body

    resp = register(pb, password="not-needed-with-trust")
    assert resp.status == 201, resp.body
    view = resp.json()
    assert re.match(r"^[0-9a-f]{32}in14$", view["id"]) and view["status"] == "ACTIVE"
    assert "password" not in view and "not-needed-with-trust" not in resp.body.decode()
    assert view["install"] == {"mode": "local", "pg_config": PG_CONFIG, "sharedir": str(SHAREDIR),
                               "pkglibdir": str(PKGLIBDIR)}
    dup = register(pb, name=view["name"])
    assert dup.status == 409 and dup.json()["error_code"] == "PLUGBOARD.0409", dup.body
    got = signed_call(pb, "GET", f"/plugboard/v1/projects/{pid}/gaussdb/instances/{view['id']}")
    assert got.status == 200 and got.json() == view
    listed = signed_call(pb, "GET", f"/plugboard/v1/projects/{pid}/gaussdb/instances")
    assert view["id"] in [i["id"] for i in listed.json()["instances"]]
    # the layout given explicitly instead of pg_config
    explicit = register(pb, install={"mode": "local", "sharedir": str(SHAREDIR), "pkglibdir": str(PKGLIBDIR)})
    assert explicit.status == 201, explicit.body
    assert explicit.json()["install"] == {"mode": "local", "sharedir": str(SHAREDIR), "pkglibdir": str(PKGLIBDIR)}
    for install, named in [
        ({"mode": "local", "sharedir": "/nonexistent/share", "pkglibdir": str(PKGLIBDIR)}, "install.sharedir"),
        ({"mode": "local", "sharedir": str(SHAREDIR), "pkglibdir": "relative/lib"}, "install.pkglibdir"),
        ({"mode": "local", "sharedir": str(SHAREDIR)}, "install.pkglibdir"),
        ({"mode": "simulated", "sharedir": str(SHAREDIR)}, "install.sharedir"),
    ]:
        bad = register(pb, install=install)
        assert bad.status == 400 and named in bad.json()["error_msg"], (install, bad.body)
    gone = signed_call(pb, "DELETE", f"/plugboard/v1/projects/{pid}/gaussdb/instances/{view['id']}")
    assert gone.status == 204
    again = signed_call(pb, "GET", f"/plugboard/v1/projects/{pid}/gaussdb/instances/{view['id']}")
    assert again.status == 404 and again.json()["error_code"] == "PLUGBOARD.0404"


# -- crash safety -------------------------------------------------------------------------------------
def _slow_package(packages, name, mib=3, delay_ms=60):
    path = packages.root / f"{name}-crash-{secrets.token_hex(3)}.tar.gz"
    pkgs.build_package(path, pkgs.extension_files(name), extra=pkgs.file_entry(
        f"share/extension/{name}--pad.sql", os.urandom(mib * 1024 * 1024)))
    return f"{packages.base}/slow/{delay_ms}/{path.name}", pkgs.sha256_file(path), path.name


def _wait_downloading(client, job_id, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        j = job(client, job_id)
        assert j["status"] == "Running", j
        if j["progress"] not in ("0%",):
            return j
        assert time.monotonic() < deadline, j
        time.sleep(0.05)


def test_kill_9_during_download_then_restart_completes_once(start_plugboard, packages):
    server = start_plugboard(config=config(packages, lease=2))
    c = gaussdb_client(server)
    resp = register(server)
    assert resp.status == 201, resp.body
    iid = resp.json()["id"]
    url, sha, name = _slow_package(packages, OTHER)
    job_id = install(c, iid, OTHER, url, sha)
    _wait_downloading(c, job_id)
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait()
    server.proc = None
    server.start()
    c = gaussdb_client(server)
    done = wait_job(c, job_id, timeout=90)
    assert done["status"] == "Completed", done
    assert sum(1 for h in packages.hits if h.endswith(name)) >= 2, "the download started again"
    tasks = raw_json(c.list_tasks(gdb.ListTasksRequest(limit=100)))["tasks"]
    assert [t["job_id"] for t in tasks].count(job_id) == 1
    staging = server.data_dir / "staging"
    assert not any(staging.iterdir()), f"leftover staging: {list(staging.iterdir())}"


def test_a_process_with_max_concurrent_0_runs_no_jobs(start_plugboard, packages):
    """`[jobs] max_concurrent = 0`: the job is accepted and kept; a process that runs jobs
    (here the same data, restarted with the default) runs it."""
    server = start_plugboard(config=config(packages, extra="max_concurrent = 0"))
    c = gaussdb_client(server)
    sim = register(server, mode="simulated").json()
    job_id = install(c, sim["id"], SIMULATED, packages.url(f"never-fetched-{SUFFIX}.tar.gz"), "b" * 64)
    time.sleep(1.0)  # ten poll intervals of the config
    held = job(c, job_id)
    assert (held["status"], held["progress"]) == ("Running", "0%"), held
    (server.data_dir / "plugboard.toml").write_text(config(packages))
    server.restart()
    c = gaussdb_client(server)
    assert wait_job(c, job_id)["status"] == "Completed"


def test_two_servers_on_postgres_take_over_a_killed_ones_job(start_plugboard, packages, tmp_path):
    """A runs the job; B (same PostgreSQL database, same master key) starts while A downloads;
    A is killed; B finishes the job once A's lease has expired."""
    from conftest import DEFAULT_PG_ADMIN_URL, PlugboardServer, PostgresAdmin, _binary
    admin = PostgresAdmin(os.environ.get("PLUGBOARD_TEST_PG_ADMIN_URL", DEFAULT_PG_ADMIN_URL))
    db_name, db_url = admin.create()
    key = tmp_path / "shared.key"
    key.write_text(secrets.token_hex(32))
    cfg = f'master_key_file = "{key}"\n' + config(packages, lease=2)
    b = None
    try:
        a = start_plugboard(config=cfg, env={"PLUGBOARD_DATABASE_URL": db_url})
        resp = register(a)
        assert resp.status == 201, resp.body
        iid = resp.json()["id"]
        url, sha, _ = _slow_package(packages, OTHER)
        ca = gaussdb_client(a)
        job_id = install(ca, iid, OTHER, url, sha)
        _wait_downloading(ca, job_id)
        b = PlugboardServer(tmp_path / "b", _binary(), database_url=db_url, config=cfg)
        shutil.copy(a.bootstrap_file, b.bootstrap_file)  # B does not bootstrap: the store already is
        b.start()
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait()
        a.proc = None
        cb = gaussdb_client(b)
        done = wait_job(cb, job_id, timeout=90)
        assert done["status"] == "Completed", done
        assert OTHER in cb.list_kernel_plugins(gdb.ListKernelPluginsRequest(instance_id=iid)).body
        tasks = raw_json(cb.list_tasks(gdb.ListTasksRequest(limit=100)))["tasks"]
        assert [t["job_id"] for t in tasks].count(job_id) == 1
        staging = b.data_dir / "staging"
        assert not any(staging.iterdir()), f"B left staging behind: {list(staging.iterdir())}"
        # A's own staging (it died mid-download) is cleared when A starts again
        assert any((a.data_dir / "staging").iterdir()), "A was killed while downloading"
        a.start()
        assert not any((a.data_dir / "staging").iterdir())
        assert a.stop() == 0
        assert b.stop() == 0
    finally:
        if b is not None:
            b.stop()
        admin.drop(db_name)


# -- the seed's own example: PostGIS 3 from Debian's packages ------------------------------------------
def postgis_package():
    """The package built by scripts/postgis-package.sh (scripts/test.sh builds it first and passes
    its path; run alone, the test builds it)."""
    path = os.environ.get("PLUGBOARD_TEST_POSTGIS_PACKAGE")
    if not path:
        script = Path(__file__).resolve().parents[2] / "scripts" / "postgis-package.sh"
        res = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, res.stderr
        path = res.stdout.strip()
    assert Path(path).is_file(), path
    return Path(path)


def test_postgis_from_debian_packages(pb, client, packages, instance, extdb):
    import tarfile
    pkg = postgis_package()
    served = packages.root / f"postgis-{SUFFIX}.tar.gz"
    served.symlink_to(pkg)
    with tarfile.open(pkg) as tar:
        members = [m.name for m in tar.getmembers() if m.isfile()]
    targets = [SHAREDIR / m[len("share/"):] for m in members if m.startswith("share/")] + \
              [PKGLIBDIR / m[len("lib/"):] for m in members if m.startswith("lib/")]
    preexisting = {t for t in targets if t.exists()}
    try:
        job_id = install(client, instance["id"], "postgis", packages.url(served.name), pkgs.sha256_file(pkg))
        done = wait_job(client, job_id, timeout=300)
        assert done["status"] == "Completed", done
        assert "postgis" in client.list_kernel_plugins(gdb.ListKernelPluginsRequest(instance_id=instance["id"])).body
        info = raw_json(client.list_plugin_info_list(gdb.ListPluginInfoListRequest(
            instance_id=instance["id"], plugin_name="postgis")))
        assert info["plugins"][0]["installed"] is True and info["plugins"][0]["plugin_version"].startswith("3."), info

        on = client.resume_plugin_extensions(gdb.ResumePluginExtensionsRequest(
            instance_id=instance["id"], body=gdb.ResumePluginExtensionsRequestBody(
                plugin_name="postgis", db_list=[extdb], extension_name="postgis", extension_action="on")))
        assert raw_json(on) == "SUCCESS"
        version = psql(extdb, "SELECT postgis_full_version()")
        assert version.startswith('POSTGIS="3.') and f'PGSQL="{PG_MAJOR}0"' in version, version
        assert psql(extdb, "SELECT ST_AsText(ST_Buffer(ST_GeomFromText('POINT(0 0)'), 1, 1))").startswith("POLYGON")
        listed = raw_json(client.list_plugin_extensions(gdb.ListPluginExtensionsRequest(
            instance_id=instance["id"], db_name=extdb, plugin_name="postgis")))
        assert {"extension_name": "postgis", "status": "on"} in listed
        assert {"extension_name": "postgis_topology", "status": "off"} in listed
        off = client.resume_plugin_extensions(gdb.ResumePluginExtensionsRequest(
            instance_id=instance["id"], body=gdb.ResumePluginExtensionsRequestBody(
                plugin_name="postgis", db_list=[extdb], extension_name="postgis", extension_action="off")))
        assert raw_json(off) == "SUCCESS"
        assert psql(extdb, "SELECT count(*) FROM pg_extension WHERE extname = 'postgis'") == "0"
    finally:
        for t in targets:  # leave the machine's PostgreSQL as it was
            if t not in preexisting and t.exists():
                t.unlink()
