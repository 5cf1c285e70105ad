#!/usr/bin/env python3
"""Write or check `crates/plugboard/link-order.txt`: the functions of the release binary that a
start of `plugboard serve` and its most common requests run, in that order. The release build
hands the file to the linker (`crates/plugboard/build.rs`, lld's `--symbol-ordering-file`),
which lays those functions out together at the start of the code, so the pages a start touches
are a few hundred kilobytes in one run instead of 64 KiB windows spread over all 20 MiB of
code (docs/benchmarks.md → Authentication → idle RSS).

    python3 scripts/link-order.py write   # callgrind over starts (SQLite, PostgreSQL) + requests
    python3 scripts/link-order.py check   # how many of the file's functions the release binary has

The names are the linker's (mangled) symbol names, the same in every checkout. Edits rename some
(LLVM's `.llvm.N` suffixes of locals promoted out of a changed codegen unit: a day's merges left
86 %), and a new toolchain or a changed dependency in Cargo.lock renames many: the linker skips
names it does not find (no error), so the layout decays instead of breaking. Run `check` after
merges or such a change, and `write` when it reports under 90 %.

Standard library only; needs valgrind (`apt-get install valgrind`) and nm (binutils).
"""
import argparse, datetime, json, os, re, signal, subprocess, sys, tempfile, time
from pathlib import Path

from benchhttp import aksk_headers, keepalive, start_serve as start, token_request

ROOT = Path(__file__).resolve().parent.parent
ORDER = ROOT / "crates" / "plugboard" / "link-order.txt"
BINARY = ROOT / "target" / "release" / "plugboard"


def requests(addr, boot):
    """The requests whose code follows the start's: health, a token, a token-authenticated and an
    AK/SK-signed GET (the authentication benchmark's three), and the refusals of a missing token
    and of an unknown path."""
    call = keepalive(addr, timeout=120)

    for _ in range(20):
        call("GET", "/healthz", {})
    body = json.dumps(token_request(boot))
    r = call("POST", "/v3/auth/tokens?nocatalog=true", {"content-type": "application/json"}, body)
    if r.status != 201:
        raise SystemExit(f"token request answered {r.status}")
    token = r.headers["x-subject-token"]
    for _ in range(20):
        call("GET", "/v3/auth/projects", {"x-auth-token": token})
    path = "/v3/auth/projects"
    for _ in range(20):
        r = call("GET", path, aksk_headers(addr, boot, path))
        if r.status != 200:
            raise SystemExit(f"signed request answered {r.status}")
    for _ in range(5):
        call("GET", "/v3/auth/projects", {})
        call("GET", "/no/such/path", {})


def functions(dump, binary_name):
    """The binary's functions that ran, as callgrind names them (mangled: `--demangle=no`)."""
    names, obs, fns, current = [], {}, {}, None
    for line in open(dump, errors="replace"):
        m = re.match(r"^(ob|cob|fn|cfn)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
        if not m:
            continue
        kind, ident, name = m.groups()
        table = obs if kind.endswith("ob") else fns
        if name is not None:
            table[ident] = name
        if kind == "ob":
            current = obs.get(ident, "")
        elif kind == "fn" and current.endswith("/" + binary_name):
            name = re.sub(r"'\d+$", "", fns[ident])  # callgrind's mark of a recursion level
            if not name.startswith("0x") and " " not in name:
                names.append(name)
    return names


def profile(binary, database_url, settle):
    """The binary's functions a start on `database_url` (None: SQLite) runs, and then the requests'."""
    env = dict(os.environ, PLUGBOARD_LOG="warn")
    if database_url:
        env["PLUGBOARD_DATABASE_URL"] = database_url
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        proc, _ = start([str(binary)], data, env)  # the first start bootstraps
        proc.send_signal(signal.SIGTERM)
        proc.wait()
        boot = json.loads((data / "bootstrap.json").read_text())
        out = Path(tmp) / "callgrind.out"
        proc, addr = start(["valgrind", "--tool=callgrind", "--demangle=no", "--dump-instr=no",
                            f"--callgrind-out-file={out}", str(binary)], data, env)
        try:
            time.sleep(settle)  # the engine's, the pruner's and the listeners' first rounds
            subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True, stdout=subprocess.DEVNULL)
            requests(addr, boot)
            subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True, stdout=subprocess.DEVNULL)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait()
        return functions(f"{out}.1", binary.name), functions(f"{out}.2", binary.name)


def postgres(admin):
    """A fresh database on the PostgreSQL of `admin`, or None when none answers."""
    if subprocess.run(["psql", admin, "-qc", "select 1"], capture_output=True).returncode != 0:
        return None
    name = f"pblinkorder_{os.getpid()}"
    subprocess.run(["psql", admin, "-qc", f"create database {name}"], check=True, capture_output=True)
    return name


def write(args):
    if args.build:
        subprocess.run(["cargo", "build", "--release", "-p", "plugboard"], cwd=ROOT, check=True)
    binary = Path(args.binary).resolve()
    starts, served = profile(binary, None, args.settle)
    admin = os.environ.get("PLUGBOARD_TEST_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    db = postgres(admin)
    if db:
        try:
            pg_starts, pg_served = profile(binary, f"{admin.rsplit('/', 1)[0]}/{db}", args.settle)
        finally:
            subprocess.run(["psql", admin, "-qc", f"drop database if exists {db} with (force)"], capture_output=True)
        starts, served = starts + pg_starts, served + pg_served
    else:
        print("no PostgreSQL answers: the file orders the SQLite start alone")
    ordered, seen = [], set()
    for name in starts + served:  # the starts' code first, then the requests'
        if name not in seen:
            seen.add(name)
            ordered.append(name)
    header = [
        "# The release binary's functions that a start of `plugboard serve` (SQLite, then PostgreSQL) and",
        "# its common requests run, laid out first by the linker (crates/plugboard/build.rs). Written by",
        f"# `python3 scripts/link-order.py write` on {datetime.date.today()} "
        f"({subprocess.run(['rustc', '--version'], capture_output=True, text=True).stdout.strip()}).",
    ]
    ORDER.write_text("\n".join(header + ordered) + "\n")
    print(f"{ORDER.relative_to(ROOT)}: {len(ordered)} functions")


def check(args):
    wanted = [l for l in (l.split("#")[0].strip() for l in ORDER.read_text().splitlines()) if l]
    have = set()
    nm = subprocess.run(["nm", "--defined-only", args.binary], capture_output=True, text=True, check=True).stdout
    for line in nm.splitlines():
        parts = line.split()
        if len(parts) == 3:
            have.add(parts[2])
    found = sum(1 for name in wanted if name in have)
    share = found / max(1, len(wanted))
    print(f"{found} of {len(wanted)} functions of {ORDER.relative_to(ROOT)} are in {args.binary} ({share:.0%})")
    if share < 0.9:
        print("under 90 %: run `python3 scripts/link-order.py write` (a new toolchain or Cargo.lock renamed them)")
        sys.exit(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["write", "check"])
    ap.add_argument("--binary", default=str(BINARY))
    ap.add_argument("--build", action="store_true", help="cargo build --release -p plugboard first")
    ap.add_argument("--settle", type=float, default=3.0, help="seconds after the start before the first dump")
    args = ap.parse_args()
    write(args) if args.command == "write" else check(args)


if __name__ == "__main__":
    main()
