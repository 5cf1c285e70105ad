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
import argparse, json, os, re, shutil, signal, subprocess, tempfile
from pathlib import Path

from benchhttp import aksk_headers, keepalive, start_serve as start, token_request


def measure(binary, scenario, n, keep=None):
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
            call = keepalive(addr, timeout=60)

            path, headers = "/healthz", {}
            if scenario == "token":
                body = json.dumps(token_request(boot))
                r = call("POST", "/v3/auth/tokens?nocatalog=true", {"content-type": "application/json"}, body)
                if r.status != 201:
                    raise SystemExit(f"token request answered {r.status}")
                path, headers = "/v3/auth/projects", {"x-auth-token": r.headers["x-subject-token"]}
            elif scenario == "aksk":
                path = "/v3/auth/projects"
                headers = aksk_headers(addr, boot, path)
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
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copy(dump, Path(keep) / f"{Path(binary).name}-{scenario}.callgrind")
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
    ap.add_argument("--keep", metavar="DIR",
                    help="copy each callgrind dump to DIR/<binary>-<scenario>.callgrind "
                         "(for callgrind_annotate: which functions the requests spend in)")
    args = ap.parse_args()
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind is not installed: apt-get install valgrind")
    print(f"{'binary':<40} {'scenario':<8} {'instructions/request':>21} {'without memset/memcpy':>22}")
    for binary in args.binaries:
        for scenario in args.scenarios.split(","):
            total, without = measure(binary, scenario, args.requests, args.keep)
            print(f"{binary:<40} {scenario:<8} {total:>21,.0f} {without:>22,.0f}", flush=True)


if __name__ == "__main__":
    main()
