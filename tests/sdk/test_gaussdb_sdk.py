"""GaussDB kernel plug-ins through the official Huawei Python SDK
(huaweicloudsdkgaussdbforopengauss 3.1.219), against the machine's real PostgreSQL as the
managed instance (mode `local`): packages are built here, served over loopback (allowed by the
module's config), downloaded, verified, unpacked and installed by the server into the real
`sharedir`/`pkglibdir`, and extensions are switched on and off in a real database.

Contract: docs/api-coverage.md (GaussDB, Every request), docs/contract.md (Admin API, Plug-in
package format, Jobs), docs/error-codes.md. Every GaussDB call goes through the SDK; raw HTTP only for the plugboard admin
API, bodies the SDK cannot produce, and wire-shape checks (the SDK's `raw_content`).

The main flow, job and task shapes, refusals at submit, extensions' limits, licences, languages,
simulated instances and the admin API. Hostile packages and the install check:
test_gaussdb_packages.py; crashes and restarts: test_gaussdb_restarts.py.
"""

import os
import re

import pytest
from huaweicloudsdkgaussdbforopengauss.v3 import model as gdb

import pkgserver as pkgs
from sdkhelpers import FORBIDDEN, expect_sdk_error, provision_readonly_user, raw_json, signed_call
from gaussdbhelpers import (  # noqa: F401 - client, extdb, instance, packages, pb: fixtures
    ALL_NAMES, GOOD, INSTANCE_TIME, JOB_TIME, LICENSED, OTHER, PG_CONFIG, PG_MAJOR, PG_PORT, PKGLIBDIR, SHAREDIR,
    SIMULATED, SUFFIX, client, expect_code, extdb, gaussdb_client, install, instance, job, packages, pb, psql,
    publish, register, signed_call_raw, slow_package, wait_job,
)

# list_instances is marked deprecated by the SDK; it is still part of the contract.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


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
    # the instance is answered for before the request's own fields
    expect_code(call(plugin="nosuchplugin", instance_id="0" * 32 + "in14"), 404, "DBS.200002")
    expect_code(call(u="http://127.0.0.2:9/x.tar.gz", instance_id="0" * 32 + "in14"), 404, "DBS.200002")
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
    url, sha, _ = slow_package(packages, OTHER, mib=1, delay_ms=100)
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
