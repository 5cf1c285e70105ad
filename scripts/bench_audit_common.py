"""What the DBSS audit benchmark's scenarios share (scripts/bench-audit.py): the harness of
scripts/bench-dbss.py, the audit instance with its database and agent made through the API,
and CPU time read from /proc. Standard library only."""
import importlib.util
import json
import os
import signal
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("bench_dbss", REPO / "scripts" / "bench-dbss.py")
bd = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bd)
CAPTURE = REPO / "scripts" / "audit-capture.sh"


def pct(values, p):
    return bd.pct(values, p)


def psql(url, sql):
    return subprocess.run(["psql", "-X", "-q", "-At", url, "-c", sql], check=True, capture_output=True,
                          text=True).stdout


# -- the audit instance, database and agent --------------------------------------------------------------
class Target:
    """An audit instance with one PostgreSQL database and one agent, made through the API."""

    def __init__(self, server, token, name, edition=None, cpu_threshold=100, kept=None):
        self.server, self.token = server, token
        p = self.project = server.boot["project_id"]
        if kept:  # made by an earlier run on this data directory (--list-data)
            self.instance, self.db_id, self.agent_id = kept["instance"], kept["db_id"], kept["agent_id"]
            return
        body = {"name": name, "edition": edition} if edition else {"name": name, "database_limit": 10}
        self.instance = json.loads(bd.call(server, "POST", f"/plugboard/v1/projects/{p}/dbss/instances", token,
                                           body, expect=201)[0])["id"]
        db = {"database": {"db_classification": "ECS", "name": name, "type": "POSTGRESQL", "version": "15",
                           "charset": "UTF8", "ip": "127.0.0.1", "port": "5432", "os": "LINUX64"}}
        self.db_id = json.loads(bd.call(server, "POST", f"/v2/{p}/audit/{self.instance}/databases", token,
                                        db)[0])["id"]
        # cpu_threshold 100: never pause over the host's load (the ingest scenario's server, which
        # stands for another machine, keeps these two CPUs busy); the pgbench scenario passes its own.
        agent = {"db_id": self.db_id, "mode": 0, "agent_type": "DB", "agent_os": "LINUX64_X86",
                 "cpu_threshold": cpu_threshold, "mem_threshold": 80}
        bd.call(server, "POST", f"/v3/{p}/audit/{self.instance}/agents", token, agent)
        listed = json.loads(bd.call(server, "GET", f"/v3/{p}/audit/{self.instance}/agents?db_id={self.db_id}",
                                    token)[0])
        self.agent_id = listed["agents"][0]["agent_id"]

    def total(self, body=None):
        body = body or {"time": {"time_range": "DAY"}, "size": 1}
        raw = bd.call(self.server, "POST", f"/v2/{self.project}/audit/{self.instance}/sqls", self.token, body)[0]
        return json.loads(raw)["total"]

    def agent(self, binary, root, log_dir, tuning="", prefix=(), endpoint=None):
        root.mkdir(parents=True, exist_ok=True)
        boot = self.server.boot
        cfg = root / "agent.toml"
        endpoint = endpoint or f"http://{self.server.addr[0]}:{self.server.addr[1]}"
        cfg.write_text("\n".join([
            f'endpoint = "{endpoint}"',
            f'project_id = "{self.project}"', f'instance_id = "{self.instance}"',
            f'agent_id = "{self.agent_id}"', f'access_key = "{boot["access_key"]}"',
            f'secret_key = "{boot["secret_key"]}"', f'state_dir = "{root / "state"}"', tuning,
            "[[source]]", f'db_id = "{self.db_id}"', 'kind = "pgaudit-jsonlog"', f'path = "{log_dir}"', ""]))
        env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGBOARD_")}
        env["PLUGBOARD_LOG"] = "warn"
        log = open(root / "agent.log", "wb")
        return subprocess.Popen(list(prefix) + [str(binary), "dbss-agent", "--config", str(cfg)], env=env, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def cpu_seconds(pid):
    """User + system CPU seconds a process (all its threads) has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def pg_backend_cpu(database_url):
    """CPU seconds of the PostgreSQL backends serving `database_url`'s database, by pid."""
    if not database_url:
        return {}
    name = database_url.rsplit("/", 1)[1].split("?")[0]
    admin = database_url.rsplit("/", 1)[0] + "/postgres"
    pids = psql(admin, f"SELECT pid FROM pg_stat_activity WHERE datname = '{name}'").split()
    return {p: cpu_seconds(p) for p in pids}


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


