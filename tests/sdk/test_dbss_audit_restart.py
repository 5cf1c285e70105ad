"""plugboard restarted while the agent ships (docs/dbss-audit.md → The agent): the agent backs off
while the server is away and ships what was captured meanwhile once it is back, every statement
exactly once. The agent reaches the server through a loopback relay, so the server can come back on
a new port. Its own module: restarting the module's server would strand other tests' clients.
"""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sdkhelpers import create_audit_instance, dbss_client
from dbsshelpers import pb  # noqa: F401 - fixture
from audithelpers import add_agent, add_database, agents, decode_batch, list_sqls, marker, pgaudit, statements, wait_sqls

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class Relay:
    """Loopback TCP relay to the server's current port (read at each new connection)."""

    def __init__(self, target):
        self.target = target
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target()), timeout=2)
            except OSError:
                client.close()
                continue
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.stopped = True
        self.sock.close()


def test_plugboard_restarted_while_the_agent_ships(pb, pgaudit, agents):
    client = dbss_client(pb)
    instance = create_audit_instance(pb, database_limit=10)["id"]
    db_id = add_database(client, instance, "restart", "POSTGRESQL", pgaudit.port)
    agent_id = add_agent(client, instance, db_id)["agent_id"]
    relay = Relay(lambda: int(pb.addr.rsplit(":", 1)[1]))
    try:
        a = agents(pb, instance, agent_id, [(db_id, "pgaudit-jsonlog", pgaudit.log_dir)])
        a.config.write_text(a.config.read_text().replace(pb.base_url, f"http://127.0.0.1:{relay.port}"))
        a.start()
        t = marker()
        pgaudit.psql(f"CREATE TABLE {t} (id int)", *[f"INSERT INTO {t} VALUES ({i})" for i in range(20)])
        assert wait_sqls(client, instance, 21, sql_statement=t)["total"] == 21, a.log()
        pb.stop_checked()
        pgaudit.psql(*[f"INSERT INTO {t} VALUES ({i})" for i in range(20, 60)])
        pb.start()
        client = dbss_client(pb)
        raw = wait_sqls(client, instance, 61, timeout=60, sql_statement=t)
        assert raw["total"] == 61, (raw["total"], a.log())
        seen = []
        for page in (1, 2):
            seen += statements(list_sqls(client, instance, sql_statement=f"insert into {t} ", size=50, page=page))
        assert len(seen) == 60 and len(set(seen)) == 60
        assert a.stop() == 0, a.log()
    finally:
        relay.close()


class HeldServer:
    """A stand-in for plugboard that answers the heartbeat and holds every batch of statements
    unanswered until `release` (then answers each as stored): what an agent stopped before its
    first answer leaves behind is all a test looks at."""

    def __init__(self):
        self.batches = []
        self.arrived = threading.Event()
        self.released = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path.endswith("/heartbeat"):
                    answer = {"status": 1, "databases": [], "batch_max": 1000, "interval_s": 5,
                              "cpu_threshold": 100, "mem_threshold": 100}
                else:
                    batch = decode_batch(self.headers, body)
                    outer.batches.append(batch)
                    outer.arrived.set()
                    outer.released.wait(30)
                    answer = {"accepted": len(batch["events"]), "duplicates": 0, "throttled": False}
                raw = json.dumps(answer).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except OSError:
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


def test_an_agent_stopped_before_its_first_answer_sends_the_same_numbers_again(agents, tmp_path):
    """A new agent writes its checkpoint before its first batch leaves: stopped before plugboard
    answered, it numbers the same lines the same way when it starts again, so a batch that was
    stored after all is recognised (without the checkpoint the restart chose a new numbering base
    and the same statements were stored twice)."""
    held = HeldServer()
    try:
        log_dir = tmp_path / "pglog"
        log_dir.mkdir()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S.000 UTC", time.gmtime())
        lines = []
        for i in range(1, 21):
            base = {"timestamp": stamp, "user": "app", "dbname": "orders", "remote_host": "[local]",
                    "session_id": "6630f2a1.1", "error_severity": "LOG", "application_name": "psql"}
            lines.append(dict(base, message=f"AUDIT: SESSION,{i},1,READ,SELECT,,,select {i},<not logged>"))
            lines.append(dict(base, message="duration: 0.100 ms"))
        (log_dir / "postgresql-1.json").write_text("".join(json.dumps(l) + "\n" for l in lines))
        pb = type("Held", (), {"base_url": held.base_url,
                               "bootstrap": {"project_id": "p" * 32, "access_key": "A" * 20,
                                             "secret_key": "s" * 40}})()
        agent = agents(pb, "i" * 32, "agentheld0000000", [("dbheld00000000000000", "pgaudit-jsonlog", log_dir)])
        agent.start()
        assert held.arrived.wait(20), agent.log()
        assert agent.stop() == 0, agent.log()
        first = held.batches[0]
        assert len(first["events"]) == 20
        state = list((agent.state_dir).iterdir())
        assert state, "a checkpoint was written before the first batch left"
        held.released.set()
        held.arrived.clear()
        agent.start()
        assert held.arrived.wait(20), agent.log()
        again = held.batches[1]
        assert again["batch_id"] == first["batch_id"]
        assert [e["seq"] for e in again["events"]] == [e["seq"] for e in first["events"]]
        # A pgaudit source ships each statement's lines (plugboard parses them): the AUDIT line
        # and its duration line.
        assert [e["lines"][0]["message"].split(",")[7] for e in again["events"]] == [
            f"select {i}" for i in range(1, 21)]
        assert all(e["lines"][1]["message"] == "duration: 0.100 ms" for e in again["events"])
    finally:
        held.close()
