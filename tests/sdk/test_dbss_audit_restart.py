"""plugboard restarted while the agent ships (docs/dbss-audit.md → The agent): the agent backs off
while the server is away and ships what was captured meanwhile once it is back, every statement
exactly once. The agent reaches the server through a loopback relay, so the server can come back on
a new port. Its own module: restarting the module's server would strand other tests' clients.
"""

import socket
import threading

import pytest

from sdkhelpers import create_audit_instance, dbss_client
from dbsshelpers import pb  # noqa: F401 - fixture
from audithelpers import add_agent, add_database, agents, list_sqls, marker, pgaudit, statements, wait_sqls

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
