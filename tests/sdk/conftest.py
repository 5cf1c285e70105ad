"""Start real plugboard servers for the SDK tests.

Environment:
  PLUGBOARD_BIN                 server binary (default <repo>/target/debug/plugboard)
  PLUGBOARD_TEST_BACKEND        "postgres" → a fresh PostgreSQL database per server
                                (anything else / unset → the server's default SQLite)
  PLUGBOARD_TEST_PG_ADMIN_URL   where to CREATE/DROP those databases with psql
                                (default postgres://postgres@127.0.0.1:5432/postgres)
  PLUGBOARD_TEST_DATABASE_URL   without the postgres backend: passed to the server as
                                PLUGBOARD_DATABASE_URL as is
  PLUGBOARD_TEST_START_TIMEOUT  seconds to wait for a server to come up (default 15)
"""

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

pytest.register_assert_rewrite("sdkhelpers")  # detailed assertion messages inside the helpers too
pytest.register_assert_rewrite("dbsshelpers")

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
STOP_TIMEOUT = 10.0
LISTEN_ADDR_RE = re.compile(r"^(\d{1,3}(\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\]):\d{1,5}$")
BOOTSTRAP_KEYS = {
    "endpoint", "region", "domain_name", "domain_id", "user_name", "user_id", "password",
    "project_name", "project_id", "access_key", "secret_key",
}


def _start_timeout():
    return float(os.environ.get("PLUGBOARD_TEST_START_TIMEOUT", "15"))


def _binary():
    path = Path(os.environ.get("PLUGBOARD_BIN", REPO / "target" / "debug" / "plugboard"))
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"plugboard binary not found at {path}: build it (cargo build) or set PLUGBOARD_BIN",
                    pytrace=False)
    return path


class PostgresAdmin:
    """Creates and drops throw-away databases with the psql CLI."""

    def __init__(self, admin_url):
        self.admin_url = admin_url
        if shutil.which("psql") is None:
            pytest.fail("PLUGBOARD_TEST_BACKEND=postgres needs the psql CLI on PATH", pytrace=False)

    def _psql(self, sql):
        return subprocess.run(
            ["psql", self.admin_url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql],
            capture_output=True, text=True, timeout=60,
        )

    def create(self):
        name = "pbtest_" + secrets.token_hex(8)
        res = self._psql(f"CREATE DATABASE {name}")
        if res.returncode != 0:
            pytest.fail(f"CREATE DATABASE {name} via {self.admin_url} failed: {res.stderr.strip()}",
                        pytrace=False)
        parts = urlsplit(self.admin_url)
        return name, urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))

    def drop(self, name):
        res = self._psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if res.returncode != 0:  # PostgreSQL < 13 has no WITH (FORCE)
            res = self._psql(f"DROP DATABASE IF EXISTS {name}")
        return res.returncode == 0, res.stderr.strip()


class PlugboardServer:
    """One `plugboard serve` process with its own data directory (and database)."""

    def __init__(self, root, binary, database_url=None, database_name=None, config=None, env=None,
                 extra_args=(), relative_data_dir=False):
        self.root = Path(root)
        # `--data-dir data` from the server's working directory (`root`) instead of the absolute path
        self.relative_data_dir = relative_data_dir
        self.data_dir = self.root / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.binary = binary
        self.database_url = database_url
        self.database_name = database_name  # set when this server owns a throw-away PG database
        self.extra_env = dict(env or {})
        self.extra_args = list(extra_args)
        self.proc = None
        self.addr = None
        self.bootstrap = None
        self.starts = 0
        self._log_file = None
        if config is not None:
            (self.data_dir / "plugboard.toml").write_text(config)

    # -- public surface -------------------------------------------------------------------
    @property
    def base_url(self):
        return f"http://{self.addr}"

    @property
    def log_path(self):
        return self.root / f"server-{self.starts}.log"

    @property
    def listen_addr_file(self):
        return self.data_dir / "listen-addr"

    @property
    def bootstrap_file(self):
        return self.data_dir / "bootstrap.json"

    def start(self):
        assert self.proc is None, "server already running"
        self.starts += 1
        # A stale listen-addr from a previous run must not be mistaken for the new one.
        self.listen_addr_file.unlink(missing_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGBOARD_")}
        if self.database_url:
            env["PLUGBOARD_DATABASE_URL"] = self.database_url
        env.update(self.extra_env)
        data_dir = "data" if self.relative_data_dir else str(self.data_dir)
        args = [str(self.binary), "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir,
                *self.extra_args]
        self._log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, stdout=self._log_file,
                                     stderr=subprocess.STDOUT, cwd=self.root)
        try:
            self._wait_ready(_start_timeout())
        except BaseException:
            self._kill()
            raise
        return self

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, wait; returns the exit code (None if it had to be killed)."""
        if self.proc is None:
            return 0
        proc, self.proc = self.proc, None
        code = None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        else:
            code = proc.returncode
        self._close_log()
        return code

    def stop_checked(self, timeout=STOP_TIMEOUT):
        code = self.stop(timeout)
        assert code == 0, (f"plugboard did not exit 0 within {timeout:.0f}s of SIGTERM "
                           f"(exit code {code}); log tail:\n{self.log_tail()}")

    def restart(self):
        """SIGTERM (must exit 0), start again on a new port with the same data dir / database."""
        self.stop_checked()
        return self.start()

    def log_tail(self, lines=60):
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "<no log>"
        return "\n".join(text.splitlines()[-lines:])

    # -- internals ------------------------------------------------------------------------
    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        last = "nothing yet"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"plugboard exited with {self.proc.returncode} during start-up; log tail:\n"
                            f"{self.log_tail()}", pytrace=False)
            addr = self._read_listen_addr()
            boot = self._read_bootstrap()
            if addr is None:
                last = f"{self.listen_addr_file} not written"
            elif boot is None:
                last = f"{self.bootstrap_file} not written"
            else:
                try:
                    with urllib.request.urlopen(f"http://{addr}/healthz", timeout=1) as resp:
                        status = resp.status
                except urllib.error.HTTPError as e:
                    status = e.code
                except (urllib.error.URLError, OSError) as e:
                    status = None
                    last = f"GET /healthz: {e}"
                if status == 200:
                    self.addr, self.bootstrap = addr, boot
                    return
                if status is not None:
                    last = f"GET /healthz answered {status}"
            time.sleep(0.1)
        pytest.fail(f"plugboard not ready within {timeout:.0f}s ({last}); log tail:\n{self.log_tail()}",
                    pytrace=False)

    def _read_listen_addr(self):
        try:
            text = self.listen_addr_file.read_text().strip()
        except OSError:
            return None
        return text if LISTEN_ADDR_RE.match(text) else None  # may be half-written

    def _read_bootstrap(self):
        try:
            data = json.loads(self.bootstrap_file.read_text())
        except (OSError, ValueError):
            return None  # missing or half-written
        return data if isinstance(data, dict) and BOOTSTRAP_KEYS <= data.keys() else None

    def _kill(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        self._close_log()

    def _close_log(self):
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


class Launcher:
    """Starts servers in fresh directories (and fresh PG databases when asked) and cleans up."""

    def __init__(self, tmp_path_factory):
        self.tmp_path_factory = tmp_path_factory
        self.backend = os.environ.get("PLUGBOARD_TEST_BACKEND", "sqlite").strip().lower()
        self.pg = None
        if self.backend == "postgres":
            self.pg = PostgresAdmin(os.environ.get("PLUGBOARD_TEST_PG_ADMIN_URL", DEFAULT_PG_ADMIN_URL))
        self.live = []

    def start(self, config=None, env=None, extra_args=(), share_store_with=None, relative_data_dir=False):
        """Start a server. `config` is written to <data-dir>/plugboard.toml first.
        `share_store_with=<server>` reuses that server's database (PostgreSQL scale-out);
        `relative_data_dir=True` passes `--data-dir data` relative to the server's working directory."""
        root = self.tmp_path_factory.mktemp("plugboard")
        db_url, db_name = None, None
        if share_store_with is not None:
            db_url = share_store_with.database_url
        elif self.pg is not None:
            db_name, db_url = self.pg.create()
        elif os.environ.get("PLUGBOARD_TEST_DATABASE_URL"):
            db_url = os.environ["PLUGBOARD_TEST_DATABASE_URL"]
        server = PlugboardServer(root, _binary(), database_url=db_url, database_name=db_name,
                                 config=config, env=env, extra_args=extra_args,
                                 relative_data_dir=relative_data_dir)
        self.live.append(server)
        try:
            server.start()
        except BaseException:
            self._drop_db(server)
            self.live.remove(server)
            raise
        return server

    def finish(self, server):
        """SIGTERM the server, drop its database, assert it exited 0 within 10 s."""
        if server not in self.live:
            return
        self.live.remove(server)
        try:
            code = server.stop()
        finally:
            self._drop_db(server)
        assert code == 0, (f"plugboard did not exit 0 within {STOP_TIMEOUT:.0f}s of SIGTERM "
                           f"(exit code {code}); log tail:\n{server.log_tail()}")

    def close(self):
        for server in list(self.live):
            self.live.remove(server)
            server.stop()
            self._drop_db(server)

    def _drop_db(self, server):
        if self.pg is not None and server.database_name:
            ok, err = self.pg.drop(server.database_name)
            if not ok:
                print(f"warning: could not drop {server.database_name}: {err}")
            server.database_name = None


@pytest.fixture(scope="session")
def plugboard_launcher(tmp_path_factory):
    launcher = Launcher(tmp_path_factory)
    yield launcher
    launcher.close()


@pytest.fixture(scope="module")
def plugboard(plugboard_launcher):
    """The shared server of a test module (default config)."""
    server = plugboard_launcher.start()
    yield server
    plugboard_launcher.finish(server)


@pytest.fixture
def start_plugboard(plugboard_launcher):
    """Factory for servers private to one test: start_plugboard(config="[iam]\\n...")."""
    started = []

    def _start(**kwargs):
        server = plugboard_launcher.start(**kwargs)
        started.append(server)
        return server

    yield _start
    errors = []
    for server in started:
        try:
            plugboard_launcher.finish(server)
        except AssertionError as e:
            errors.append(str(e))
    assert not errors, "\n\n".join(errors)
