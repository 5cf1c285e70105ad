#!/usr/bin/env python3
"""Instructions per request of the authentication benchmark's three requests, counted by
valgrind (callgrind) over the whole server process: a figure other processes on a shared
machine do not move, unlike requests/s (docs/benchmarks.md → Authentication).

For each binary and scenario (`healthz`, `token`, `aksk`): first start natively on a fresh
SQLite data directory (bootstrap), restart under callgrind, warm up with 200 requests, zero the
counters, send `--requests` sequential keep-alive requests on one connection, dump, and print
the instructions per request, also without libc's memset/memcpy (valgrind counts every byte
of a `rep` string instruction as one instruction, which real CPUs do not spend).

    python3 scripts/auth-instructions.py target/release/plugboard [other binaries ...]

Standard library only; needs valgrind (`apt-get install valgrind`).
"""
import argparse, datetime, hashlib, hmac, http.client, json, os, re, shutil, signal, subprocess, tempfile, time
from pathlib import Path


def start(cmd, data, env):
    (data / "listen-addr").unlink(missing_ok=True)
    proc = subprocess.Popen(cmd + ["serve", "--listen", "127.0.0.1:0", "--data-dir", str(data)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while True:
        try:
            addr = (data / "listen-addr").read_text()
            if addr.endswith("\n"):
                addr = addr.strip()
                break
        except FileNotFoundError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit(f"{cmd[-1]} did not start")
        time.sleep(0.05)
    while True:
        try:
            c = http.client.HTTPConnection(addr, timeout=60)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return proc, addr
        except OSError:
            time.sleep(0.1)


def measure(binary, scenario, n):
    env = dict(os.environ, PLUGBOARD_LOG="warn")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        proc, _ = start([binary], data, env)
        proc.send_signal(signal.SIGTERM)
        proc.wait()
        boot = json.loads((data / "bootstrap.json").read_text())
        out = Path(tmp) / "callgrind.out"
        proc, addr = start(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}.%p", binary], data, env)
        try:
            conn = http.client.HTTPConnection(addr, timeout=60)

            def call(method, path, headers, body=None):
                conn.request(method, path, body=body, headers=headers)
                r = conn.getresponse()
                r.read()
                return r

            path, headers = "/healthz", {}
            if scenario == "token":
                body = json.dumps({"auth": {"identity": {"methods": ["password"], "password": {"user": {
                    "domain": {"name": boot["domain_name"]}, "name": boot["user_name"],
                    "password": boot["password"]}}}, "scope": {"project": {"id": boot["project_id"]}}}})
                r = call("POST", "/v3/auth/tokens?nocatalog=true", {"content-type": "application/json"}, body)
                if r.status != 201:
                    raise SystemExit(f"token request answered {r.status}")
                path, headers = "/v3/auth/projects", {"x-auth-token": r.headers["x-subject-token"]}
            elif scenario == "aksk":
                # The same signed request as plugboard-bench's (SDK-HMAC-SHA256, docs/contract.md).
                date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
                path = "/v3/auth/projects"
                canonical = "\n".join(["GET", path + "/", "",
                                       f"host:{addr}\nx-project-id:{boot['project_id']}\nx-sdk-date:{date}\n",
                                       "host;x-project-id;x-sdk-date", hashlib.sha256(b"").hexdigest()])
                to_sign = f"SDK-HMAC-SHA256\n{date}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
                signature = hmac.new(boot["secret_key"].encode(), to_sign.encode(), hashlib.sha256).hexdigest()
                headers = {"x-project-id": boot["project_id"], "x-sdk-date": date,
                           "authorization": f"SDK-HMAC-SHA256 Access={boot['access_key']}, "
                                            f"SignedHeaders=host;x-project-id;x-sdk-date, Signature={signature}"}
            for _ in range(200):
                if call("GET", path, headers).status != 200:
                    raise SystemExit(f"{scenario}: a warm-up request failed")
            subprocess.run(["callgrind_control", "-z", str(proc.pid)], check=True, stdout=subprocess.DEVNULL)
            for _ in range(n):
                if call("GET", path, headers).status != 200:
                    raise SystemExit(f"{scenario}: a request failed")
            subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True, stdout=subprocess.DEVNULL)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait()
        dump = f"{out}.{proc.pid}.1"
        annotated = subprocess.run(["callgrind_annotate", "--threshold=100", dump],
                                   capture_output=True, text=True, check=True).stdout
        total = strings = 0
        for line in annotated.splitlines():
            m = re.match(r"\s*([\d,]+) \(", line)
            if not m:
                continue
            value = int(m.group(1).replace(",", ""))
            if "PROGRAM TOTALS" in line:
                total = value
            elif re.search(r"mem(set|move|cpy)", line) and "libc" in line:
                strings += value
        return total / n, (total - strings) / n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binaries", nargs="+")
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--scenarios", default="healthz,token,aksk")
    args = ap.parse_args()
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind is not installed: apt-get install valgrind")
    print(f"{'binary':<40} {'scenario':<8} {'instructions/request':>21} {'without memset/memcpy':>22}")
    for binary in args.binaries:
        for scenario in args.scenarios.split(","):
            total, without = measure(binary, scenario, args.requests)
            print(f"{binary:<40} {scenario:<8} {total:>21,.0f} {without:>22,.0f}", flush=True)


if __name__ == "__main__":
    main()
