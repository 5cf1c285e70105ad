"""The HTTP harness of the benchmarks (scripts/bench-dbss.py, and bench-audit.py through it;
scripts/auth-instructions.py and link-order.py for their start and signing; standard library
only): small statistics, a minimal HTTP/1.1 keep-alive client on asyncio streams, the plugboard
server under test, blocking set-up calls, an admin token and an AK/SK-signed request's headers.
"""

import asyncio
import datetime
import hashlib
import hmac
import http.client
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

# -- small statistics ------------------------------------------------------------------------------
def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100 * len(s) + 0.5)) - 1))]


def ms(seconds):
    return f"{seconds * 1000:.2f}"


# -- a minimal HTTP/1.1 keep-alive client on asyncio streams -------------------------------------------
class Conn:
    def __init__(self, host, port):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def request(self, method, path, headers, body=b""):
        if self.writer is None:
            await self.open()
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("server closed the connection")
        status = int(status_line.split()[1])
        hdrs = {}
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            k, _, v = line.decode("latin-1").partition(":")
            hdrs[k.strip().lower()] = v.strip()
        if "content-length" in hdrs:
            data = await self.reader.readexactly(int(hdrs["content-length"]))
        elif hdrs.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readline()
                    break
                chunks.append(await self.reader.readexactly(size))
                await self.reader.readline()
            data = b"".join(chunks)
        else:
            data = b""
        if hdrs.get("connection", "").lower() == "close":
            self.close()
        return status, data

    def close(self):
        if self.writer is not None:
            self.writer.close()
            self.writer = self.reader = None


async def run_pool(addr, jobs, connections, expect=200, tolerate=False):
    """Run (method, path, headers, body) jobs over `connections` keep-alive connections, one
    request in flight each. Returns (elapsed seconds, latencies, responses in job order); with
    `tolerate`, a failed job's response is (status, body) instead of failing the run."""
    host, port = addr
    jobs = list(jobs)
    latencies, answers = [0.0] * len(jobs), [None] * len(jobs)
    nxt = iter(range(len(jobs)))
    failures = []

    async def worker():
        conn = Conn(host, port)
        try:
            for i in nxt:
                method, path, headers, body = jobs[i]
                t0 = time.perf_counter()
                status, data = await conn.request(method, path, headers, body)
                latencies[i] = time.perf_counter() - t0
                answers[i] = data
                if status != expect:
                    if tolerate:
                        answers[i] = (status, data)
                    elif len(failures) < 5:
                        failures.append((method, path, status, data[:300]))
        finally:
            conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(connections, max(1, len(jobs))))))
    elapsed = time.perf_counter() - t0
    if failures:
        raise SystemExit(f"unexpected answers (first {len(failures)}): {failures}")
    return elapsed, latencies, answers


# -- the server ----------------------------------------------------------------------------------------
class Server:
    def __init__(self, binary, root, database_url=None, config=""):
        self.binary, self.root, self.database_url = binary, Path(root), database_url
        self.data = self.root / "data"
        self.data.mkdir(parents=True, exist_ok=True)  # a kept data directory is started again
        (self.data / "plugboard.toml").write_text(config)
        self.proc = None

    def start(self, timeout=30):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGBOARD_")}
        env["PLUGBOARD_LOG"] = "warn"
        if self.database_url:
            env["PLUGBOARD_DATABASE_URL"] = self.database_url
        self.log = open(self.root / "server.log", "wb")
        self.proc = subprocess.Popen([str(self.binary), "serve", "--listen", "127.0.0.1:0", "--data-dir",
                                      str(self.data)], env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"plugboard exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                addr = (self.data / "listen-addr").read_text().strip()
                self.boot = json.loads((self.data / "bootstrap.json").read_text())
                with urllib.request.urlopen(f"http://{addr}/healthz", timeout=1) as r:
                    if r.status == 200:
                        host, port = addr.rsplit(":", 1)
                        self.addr = (host, int(port))
                        return self
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        raise SystemExit(f"plugboard not ready within {timeout}s:\n{self.log_tail()}")

    def log_tail(self, n=30):
        try:
            return "\n".join((self.root / "server.log").read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "<no log>"

    def rss_mib(self):
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return float("nan")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def call(server, method, path, token=None, body=None, expect=200):
    """One blocking call (set-up only)."""
    url = f"http://{server.addr[0]}:{server.addr[1]}{path}"
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("X-Auth-Token", token)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            status, payload, headers = r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        status, payload, headers = e.code, e.read(), e.headers
    if status != expect:
        raise SystemExit(f"{method} {path} answered {status}, expected {expect}: {payload[:300]!r}")
    return payload, headers


def token_request(boot):
    """The body of a password token request for the bootstrap administrator, scoped to its project."""
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "domain": {"name": boot["domain_name"]}, "name": boot["user_name"], "password": boot["password"]}}},
        "scope": {"project": {"id": boot["project_id"]}}}}


def keepalive(addr, timeout=120):
    """`call(method, path, headers, body=None)` on one keep-alive connection to `addr`; the response
    is read whole and returned."""
    conn = http.client.HTTPConnection(addr, timeout=timeout)

    def call(method, path, headers, body=None):
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        r.read()
        return r

    return call


def get_token(server):
    body = token_request(server.boot)
    _, headers = call(server, "POST", "/v3/auth/tokens?nocatalog=true", body=body, expect=201)
    return headers["X-Subject-Token"]


def start_serve(cmd, data, env, timeout=120):
    """`cmd serve` on a loopback port with `data` as its data directory (`cmd` may put valgrind in
    front of the binary); returns the process and its address once `listen-addr` is written."""
    (data / "listen-addr").unlink(missing_ok=True)
    proc = subprocess.Popen(cmd + ["serve", "--listen", "127.0.0.1:0", "--data-dir", str(data)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while True:
        try:
            addr = (data / "listen-addr").read_text()
            if addr.endswith("\n"):
                return proc, addr.strip()
        except FileNotFoundError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit(f"{cmd[-1]} did not start")
        time.sleep(0.05)


def aksk_headers(addr, boot, path):
    """The headers of a GET of `path` signed with the bootstrap access key (SDK-HMAC-SHA256, the
    same signed request as plugboard-bench's; docs/contract.md)."""
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    canonical = "\n".join(["GET", path + "/", "",
                           f"host:{addr}\nx-project-id:{boot['project_id']}\nx-sdk-date:{date}\n",
                           "host;x-project-id;x-sdk-date", hashlib.sha256(b"").hexdigest()])
    to_sign = f"SDK-HMAC-SHA256\n{date}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    signature = hmac.new(boot["secret_key"].encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    return {"x-project-id": boot["project_id"], "x-sdk-date": date,
            "authorization": f"SDK-HMAC-SHA256 Access={boot['access_key']}, "
                             f"SignedHeaders=host;x-project-id;x-sdk-date, Signature={signature}"}
