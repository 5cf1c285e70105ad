"""Shared constants, fixtures and helpers of the GaussDB SDK tests (test_gaussdb_*.py).

A test module that imports the fixtures gets its own server: `pb` is module-scoped, started with
the plug-ins of the tests supported (`config`) and the loopback package server (`packages`)
allowed; `instance` is the machine's real PostgreSQL registered in mode `local`. Files a module
installs into the real `sharedir`/`pkglibdir` carry SUFFIX and are removed when its package
server closes.
"""

import os
import re
import secrets
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ServiceResponseException
from huaweicloudsdkgaussdbforopengauss.v3 import GaussDBforopenGaussClient
from huaweicloudsdkgaussdbforopengauss.v3 import model as gdb

import pkgserver as pkgs
from sdkhelpers import _config, http, raw_json, signed_call, unique

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


def signed_call_raw(pb, method, path, body):
    from sdkhelpers import signed_headers
    boot = pb.bootstrap
    url = pb.base_url + path
    headers = signed_headers(method, url, boot["access_key"], boot["secret_key"], body=body,
                             project_id=boot["project_id"])
    return http(method, url, headers=headers, body=body)


def slow_package(packages, name, mib=3, delay_ms=60):
    path = packages.root / f"{name}-crash-{secrets.token_hex(3)}.tar.gz"
    pkgs.build_package(path, pkgs.extension_files(name), extra=pkgs.file_entry(
        f"share/extension/{name}--pad.sql", os.urandom(mib * 1024 * 1024)))
    return f"{packages.base}/slow/{delay_ms}/{path.name}", pkgs.sha256_file(path), path.name


def wait_downloading(client, job_id, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        j = job(client, job_id)
        assert j["status"] == "Running", j
        if j["progress"] not in ("0%",):
            return j
        assert time.monotonic() < deadline, j
        time.sleep(0.05)
