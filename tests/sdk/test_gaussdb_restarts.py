"""GaussDB install jobs across crashes and restarts, through the official Huawei Python SDK: a
server killed mid-download finishes the job once after a restart, `max_concurrent = 0` keeps
jobs for a process that runs them, and a second server on the same PostgreSQL database takes
over a killed one's job when its lease expires.

Contract: docs/contract.md (Jobs), docs/reliability.md.
"""

import os
import secrets
import shutil
import signal
import time

import pytest
from huaweicloudsdkgaussdbforopengauss.v3 import model as gdb

from sdkhelpers import raw_json
from gaussdbhelpers import (  # noqa: F401 - packages: a fixture
    OTHER, SIMULATED, SUFFIX, slow_package, wait_downloading, config, gaussdb_client, install, job, packages,
    register, wait_job,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_kill_9_during_download_then_restart_completes_once(start_plugboard, packages):
    server = start_plugboard(config=config(packages, lease=2))
    c = gaussdb_client(server)
    resp = register(server)
    assert resp.status == 201, resp.body
    iid = resp.json()["id"]
    url, sha, name = slow_package(packages, OTHER)
    job_id = install(c, iid, OTHER, url, sha)
    wait_downloading(c, job_id)
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
        url, sha, _ = slow_package(packages, OTHER)
        ca = gaussdb_client(a)
        job_id = install(ca, iid, OTHER, url, sha)
        wait_downloading(ca, job_id)
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
