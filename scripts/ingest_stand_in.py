#!/usr/bin/env python3
"""A stand-in for a plugboard server on another machine, for `bench-audit.py --plugboard-at
elsewhere` (docs/benchmarks.md → DBSS audit): the agent ships to it as to plugboard.

The pgbench scenario measures what the agent costs the database host. A deployment runs the
server on another machine; on this one it can only run on the other CPU, where its ingest
shares the memory bus and the last-level cache with the database (a memory-streaming process
there costs pgbench 5-12 %, `--calibrate`). This stand-in answers statement batches the way the
server does — `{"accepted": n, "duplicates": 0, "throttled": false}`, `n` the events of the
batch, a batch id seen before counted as a duplicate — without storing them, and relays every
other request (the heartbeat, which tells the agent its batch size and thresholds) to the real
server unchanged (the AK/SK signature covers the Host header as the agent sent it).

    python3 scripts/ingest_stand_in.py UPSTREAM_HOST:PORT ADDR_FILE

It listens on 127.0.0.1 on a free port, writes `host:port` to ADDR_FILE, and answers
`GET /__stand_in` with `{"events": unique events received, "batches": n, "resent": n}`.
Standard library only, plus the `lz4` command (Debian's `lz4`) for the agent's LZ4 frames.
"""
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

UPSTREAM = sys.argv[1]
LOCK = threading.Lock()
SEEN = {}  # batch id -> events
RESENT = 0
BATCH_ID = re.compile(rb'"batch_id":"([^"]+)"')


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def reply(self, status, body, content_type="application/json;charset=UTF-8"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self):
        if self.path == "/__stand_in":
            with LOCK:
                out = {"events": sum(SEEN.values()), "batches": len(SEEN), "resent": RESENT}
            return self.reply(200, json.dumps(out).encode())
        self.relay(b"")

    def do_POST(self):
        body = self.body()
        if not self.path.endswith("/statements"):
            return self.relay(body)
        encoding = self.headers.get("Content-Encoding")
        if encoding == "gzip":
            raw = zlib.decompress(body, 16 + zlib.MAX_WBITS)
        elif encoding == "lz4":
            raw = subprocess.run(["lz4", "-d", "-c"], input=body, capture_output=True, check=True).stdout
        else:
            raw = body
        # Counted without parsing (a stand-in for another machine should cost this one little).
        if self.headers.get("Content-Type", "").startswith("application/x-plugboard-audit-lines"):
            # A header line naming the batch, then per event a line `@<seq> <n>` and its n log
            # lines (jsonlog lines start with `{`).
            found = BATCH_ID.search(raw, 0, raw.find(b"\n"))
            n = raw.count(b"\n@")
        else:
            # The agent writes each event's `seq` first, and a `{"seq":` inside a string is
            # escaped; the batch id comes after the events.
            found = BATCH_ID.search(raw, max(0, len(raw) - 1024))
            n = raw.count(b'{"seq":')
        if found is None:
            return self.reply(400, b'{"error": "no batch_id"}')
        batch_id = found.group(1)
        global RESENT
        with LOCK:
            duplicate = batch_id in SEEN
            if duplicate:
                RESENT += 1
            else:
                SEEN[batch_id] = n
        answer = {"accepted": 0 if duplicate else n, "duplicates": n if duplicate else 0, "throttled": False}
        self.reply(200, json.dumps(answer).encode())

    def relay(self, body):
        conn = http.client.HTTPConnection(UPSTREAM, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "content-length")}
        conn.request(self.command, self.path, body=body or None, headers=headers)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        self.reply(r.status, data, r.getheader("Content-Type") or "application/json")


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    with open(sys.argv[2] + ".tmp", "w") as f:
        f.write(f"{host}:{port}\n")
    os.replace(sys.argv[2] + ".tmp", sys.argv[2])
    server.serve_forever()


if __name__ == "__main__":
    main()
