"""ServiceStage add-ons run by real drivers, end to end on this machine: `local-process` (ships
with plugboard, runs through the external step protocol) installing, restarting, upgrading by
refresh + redeploy and uninstalling a real process; external drivers written as shell scripts
that fail, hang (with a grandchild), print garbage or look for secrets; and `kill -9` of
plugboard in the middle of a step.

Contract: docs/drivers.md (the registry, the step protocol, local-process) and
docs/api-coverage.md → ServiceStage.
"""

import os
import signal
import socket
import stat
import textwrap
import time
from pathlib import Path

import pytest
from huaweicloudsdkservicestage.v3 import model as ss

from sdkhelpers import signed_call
from sshelpers import (
    ADDON_NOT_FOUND, action, addons_path, bind, create_env, expect_ss_error, installed, refresh_drivers,
    show_addon, simulated_settings, ss_client, uninstall, wait_job,
)

AGENT = textwrap.dedent("""\
    import http.server, sys
    port, version = int(sys.argv[1]), sys.argv[2]
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = version.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, *a):
            pass
    http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
""")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_gone(pid, timeout=10):
    deadline = time.time() + timeout
    while alive(pid):
        if time.time() > deadline:
            return False
        time.sleep(0.05)
    return True


def payload(pb, name, version, port):
    folder = pb.data_dir / "plugins" / "local-process" / "addons" / name / version
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "agent.py").write_text(AGENT)
    (folder / "addon.toml").write_text(
        f'run = ["python3", "agent.py", "{port}", "{version}"]\n'
        f'health = {{ http = "http://127.0.0.1:{port}/healthz" }}\n'
        "stop_timeout_seconds = 5\n")


def health(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    return data.split(b"\r\n\r\n", 1)[1].decode()


def env_bound(client):
    env = create_env(client)
    bind(client, env.id, [("cce", "cce-1"), ("cse", "cse-1")])
    return env.id


def catalog(pb, env_id):
    resp = signed_call(pb, "GET", addons_path(pb, env_id, "-metadata"))
    assert resp.status == 200, resp.body
    return {a["name"]: a["latest_version"] for a in resp.json()["addons"]}


def test_local_process_lifecycle(start_plugboard):
    pb = start_plugboard()
    client = ss_client(pb)
    port = free_port()
    payload(pb, "agent", "1.0.0", port)
    drivers = refresh_drivers(pb)
    local = next(d for d in drivers["drivers"] if d["name"] == "local-process")
    assert local["uuid"] == "e90949fe5ddd3e68a4646b97b812f905" and local["source"] == "builtin", local
    assert local["addons"] == [{"name": "agent", "versions": ["1.0.0"], "latest_version": "1.0.0"}], local
    env_id = env_bound(client)
    assert catalog(pb, env_id)["agent"] == "1.0.0"

    addon_id, job = installed(pb, env_id, name="agent", cse_id=None)
    done = wait_job(client, job)
    assert done.job.execution_status == "SUCCEEDED", done
    assert [t.task_name for t in done.tasks] == ["deploy", "start", "verify"]
    assert "health check passed" in done.tasks[2].messages, done.tasks[2]
    workdir = pb.data_dir / "addons" / addon_id
    pid = int((workdir / "pid").read_text().split()[0])
    assert alive(pid)
    assert os.readlink(f"/proc/{pid}/cwd") == str(workdir / "1.0.0")
    assert health(port) == "1.0.0"
    assert show_addon(pb, env_id, addon_id).json()["version"] == "1.0.0"

    job = action(pb, env_id, addon_id, "restart").json()["job_id"]
    assert wait_job(client, job).job.execution_status == "SUCCEEDED"
    restarted = int((workdir / "pid").read_text().split()[0])
    assert restarted != pid and alive(restarted) and wait_gone(pid)

    # a refresh that brings a new version, then redeploy: the add-on is upgraded
    payload(pb, "agent", "1.1.0", port)
    refresh_drivers(pb)
    assert catalog(pb, env_id)["agent"] == "1.1.0"
    job = action(pb, env_id, addon_id, "redeploy").json()["job_id"]
    assert wait_job(client, job).job.execution_status == "SUCCEEDED"
    upgraded = int((workdir / "pid").read_text().split()[0])
    assert wait_gone(restarted) and alive(upgraded)
    assert os.readlink(f"/proc/{upgraded}/cwd") == str(workdir / "1.1.0")
    assert health(port) == "1.1.0"
    assert show_addon(pb, env_id, addon_id).json()["version"] == "1.1.0"

    job = uninstall(pb, env_id, addon_id).json()["job_id"]
    assert wait_job(client, job).job.execution_status == "SUCCEEDED"
    assert wait_gone(upgraded)
    assert not workdir.exists()
    expect_ss_error(show_addon(pb, env_id, addon_id), 404, ADDON_NOT_FOUND)


def test_local_process_with_a_relative_data_dir(start_plugboard):
    """`--data-dir data` (relative): the add-on's files land in <data-dir>/addons/<id>/, never
    under the driver's folder, and uninstall leaves nothing (docs/configuration.md)."""
    pb = start_plugboard(relative_data_dir=True)
    client = ss_client(pb)
    port = free_port()
    payload(pb, "agent", "1.0.0", port)
    refresh_drivers(pb)
    env_id = env_bound(client)
    addon_id, job = installed(pb, env_id, name="agent", cse_id=None)
    assert wait_job(client, job).job.execution_status == "SUCCEEDED"
    workdir = pb.data_dir / "addons" / addon_id
    pid = int((workdir / "pid").read_text().split()[0])
    assert os.readlink(f"/proc/{pid}/cwd") == str(workdir / "1.0.0")
    driver_folder = pb.data_dir / "plugins" / "local-process"
    assert sorted(p.name for p in driver_folder.iterdir()) == ["addons"], list(driver_folder.iterdir())
    assert not (pb.root / "plugins").exists()

    job = uninstall(pb, env_id, addon_id).json()["job_id"]
    assert wait_job(client, job).job.execution_status == "SUCCEEDED"
    assert wait_gone(pid)
    assert not workdir.exists()
    assert list((pb.data_dir / "addons").iterdir()) == []
    assert sorted(p.name for p in driver_folder.iterdir()) == ["addons"]


def external_driver(pb, name, script, timeout=300, addon=None):
    """An external driver in <data-dir>/plugins/<name>/ whose executable is `script` (sh)."""
    folder = pb.data_dir / "plugins" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "driver.toml").write_text(textwrap.dedent(f"""\
        uuid = "{os.urandom(16).hex()[:12]}4{os.urandom(16).hex()[:3]}8{os.urandom(16).hex()[:15]}"
        name = "{name}"
        type = "addon"
        executable = "driver"
        timeout_seconds = {timeout}
        [[addons]]
        name = "{addon or name}"
        versions = ["1.0"]
        [steps]
        install = ["only"]
    """))
    exe = folder / "driver"
    exe.write_text("#!/bin/sh\n" + script)
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)


def install_failed(pb, client, addon):
    env_id = env_bound(client)
    addon_id, job = installed(pb, env_id, name=addon, cse_id=None)
    done = wait_job(client, job)
    assert done.job.execution_status == "FAILED", done
    assert show_addon(pb, env_id, addon_id).json()["status"] == "FAILED"
    return done.tasks[0]


def test_external_driver_failures_reach_the_task(start_plugboard, tmp_path):
    pb = start_plugboard(env={"PLUGBOARD_ADMIN_PASSWORD": "Sup3r-Secret-Admin-Pw"})
    client = ss_client(pb)
    grandchild = tmp_path / "grandchild.pid"
    external_driver(pb, "fails", 'cat >/dev/null\necho "disk quota exceeded" >&2\n'
                    'echo \'{"log": "preparing"}\'\necho \'{"error": "the cluster refused the chart"}\'\nexit 3\n')
    external_driver(pb, "hangs", f'cat >/dev/null\nsleep 600 &\necho $! > {grandchild}\nwait\n', timeout=2)
    external_driver(pb, "garbage", 'cat >/dev/null\necho "this is not json"\n')
    external_driver(pb, "floods", 'cat >/dev/null\nyes \'{"log": "spam"}\' | head -c 50000000\n')
    external_driver(pb, "snoops", "cat >/dev/null\nexec python3 -c 'import json, os\n"
                    "for k, v in os.environ.items(): print(json.dumps({\"log\": k + \"=\" + v}))\n"
                    "print(json.dumps({\"error\": \"shown\"}))'\n")
    broken = pb.data_dir / "plugins" / "broken"
    broken.mkdir(parents=True)
    (broken / "driver.toml").write_text('uuid = "nope"\nname = "broken"\ntype = "addon"\n')
    drivers = refresh_drivers(pb)
    assert {"fails", "hangs", "garbage", "floods", "snoops"} <= {d["name"] for d in drivers["drivers"]}
    assert any("broken" in e["path"] and "uuid" in e["reason"] for e in drivers["errors"]), drivers["errors"]

    task = install_failed(pb, client, "fails")
    assert task.messages.startswith("preparing\n"), task
    assert "the cluster refused the chart" in task.messages and "disk quota exceeded" in task.messages, task

    started = time.time()
    task = install_failed(pb, client, "hangs")
    assert time.time() - started < 30
    assert "did not finish within its timeout of 2 s" in task.messages, task
    assert wait_gone(int(grandchild.read_text())), "the driver's whole process group is killed"

    task = install_failed(pb, client, "garbage")
    assert "not a protocol message" in task.messages and "this is not json" in task.messages, task

    task = install_failed(pb, client, "floods")
    assert "more than 10000 messages" in task.messages, task
    assert len(task.messages) < 64 * 1024, "the task keeps a bounded log"

    task = install_failed(pb, client, "snoops")
    seen = dict(line.split("=", 1) for line in task.messages.splitlines() if "=" in line)
    assert seen.get("PLUGBOARD_DRIVER_PROTOCOL") == "1", task.messages
    assert set(seen) <= {"PATH", "LANG", "HOME", "PLUGBOARD_DRIVER_PROTOCOL", "PWD", "SHLVL", "_"}, seen
    assert "Sup3r-Secret-Admin-Pw" not in task.messages, task


@pytest.fixture
def lease_config():
    return "[jobs]\nlease_seconds = 2\n"


def test_kill_9_mid_step_runs_the_step_again_and_ends_once(start_plugboard, lease_config):
    pb = start_plugboard(config=lease_config)
    client = ss_client(pb)
    simulated_settings(pb, "step_delay_ms = 1500\n")
    env_id = env_bound(client)
    addon_id, job = installed(pb, env_id)
    deadline = time.time() + 10
    while client.show_job_info(ss.ShowJobInfoRequest(job_id=job)).job.execution_status != "RUNNING":
        assert time.time() < deadline
        time.sleep(0.05)
    pb.proc.send_signal(signal.SIGKILL)
    pb.proc.wait(timeout=10)
    pb.proc = None
    simulated_settings(pb, "step_delay_ms = 100\n")
    pb.start()
    client = ss_client(pb)
    done = wait_job(client, job, timeout=60)
    assert done.job.execution_status == "SUCCEEDED", done
    assert [t.task_status for t in done.tasks] == ["SUCCEEDED"] * 3
    shown = show_addon(pb, env_id, addon_id).json()
    assert (shown["status"], shown["job_id"]) == ("SUCCEEDED", job), shown


def test_scale_out_refresh_takeover_and_host_affinity(start_plugboard, tmp_path):
    """Two processes on one PostgreSQL database, A on host `alpha`, B on host `beta`:
    a refresh through A is seen by B (each rescans its own plug-in folder); a `simulated` job A
    runs is taken over by B when A is killed; a `local-process` add-on installed through A
    belongs to `alpha`: its later jobs wait while no process of `alpha` is up, even when they
    are submitted through B, and run once A is back."""
    import secrets
    import shutil
    from conftest import DEFAULT_PG_ADMIN_URL, PlugboardServer, PostgresAdmin, _binary
    admin = PostgresAdmin(os.environ.get("PLUGBOARD_TEST_PG_ADMIN_URL", DEFAULT_PG_ADMIN_URL))
    db_name, db_url = admin.create()
    key = tmp_path / "shared.key"
    key.write_text(secrets.token_hex(32))
    common = f'master_key_file = "{key}"\n[jobs]\nlease_seconds = 2\npoll_interval_ms = 100\n'
    b = None
    try:
        a = start_plugboard(config=common + 'host = "alpha"\n', env={"PLUGBOARD_DATABASE_URL": db_url})
        b = PlugboardServer(tmp_path / "b", _binary(), database_url=db_url, config=common + 'host = "beta"\n')
        shutil.copy(a.bootstrap_file, b.bootstrap_file)
        b.start()
        ca, cb = ss_client(a), ss_client(b)
        env_id = env_bound(ca)

        # a refresh through A is seen by B within a second or so
        port = free_port()
        for server in (a, b):
            payload(server, "agent", "1.0.0", port)
        assert "agent" not in catalog(b, env_id)
        refresh_drivers(a)
        deadline = time.time() + 5
        while "agent" not in catalog(b, env_id):
            assert time.time() < deadline, "B never saw A's refresh"
            time.sleep(0.1)

        # takeover: B finishes the job A was running when it died (B is down while the job is
        # claimed, so that A is the one running it: B would finish it at once without A's delay)
        simulated_settings(a, "step_delay_ms = 1500\n")
        other_env = env_bound(ca)
        b.stop()
        sim_id, job = installed(a, other_env)
        deadline = time.time() + 10
        while ca.show_job_info(ss.ShowJobInfoRequest(job_id=job)).job.execution_status != "RUNNING":
            assert time.time() < deadline
            time.sleep(0.05)
        b.start()
        cb = ss_client(b)
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait()
        a.proc = None
        done = wait_job(cb, job, timeout=60)
        assert done.job.execution_status == "SUCCEEDED", done
        assert show_addon(b, other_env, sim_id).json()["status"] == "SUCCEEDED"

        # host affinity: installed through A (alpha), restarted through B (beta)
        a.start()
        ca = ss_client(a)
        addon_id, job = installed(a, env_id, name="agent", cse_id=None)
        assert wait_job(ca, job).job.execution_status == "SUCCEEDED"
        pid = int((a.data_dir / "addons" / addon_id / "pid").read_text().split()[0])
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait()
        a.proc = None
        job = action(b, env_id, addon_id, "restart").json()["job_id"]
        time.sleep(4)  # past A's lease: B could have claimed it by now
        waiting = cb.show_job_info(ss.ShowJobInfoRequest(job_id=job))
        assert waiting.job.execution_status == "SUBMITTED", waiting
        assert alive(pid), "nothing touched the add-on while its host was down"
        a.start()
        done = wait_job(ss_client(a), job, timeout=60)
        assert done.job.execution_status == "SUCCEEDED", done
        restarted = int((a.data_dir / "addons" / addon_id / "pid").read_text().split()[0])
        assert restarted != pid and alive(restarted) and wait_gone(pid)
        job = uninstall(b, env_id, addon_id).json()["job_id"]
        assert wait_job(cb, job, timeout=60).job.execution_status == "SUCCEEDED"
        assert wait_gone(restarted)
    finally:
        if b is not None:
            b.stop()
        admin.drop(db_name)
