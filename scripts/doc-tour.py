#!/usr/bin/env python3
"""The doc tour: runs the README's tour and the walk-throughs exactly as written.

Every fenced block of README.md and the walk-throughs (docs/kernel-plugins.md,
docs/servicestage.md, docs/zstack.md, docs/dbss-audit.md; or of the ones named on the command
line) whose info
string carries the word `tour` is a step:
```sh tour``` and ```python tour``` run once the server is up, ```sh tour-setup``` before it
starts (writing a config file, say). For each document, in a fresh empty directory (the
reader's working directory):
  1. the `tour-setup` blocks run;
  2. `plugboard serve` starts there, as the document says to start it;
  3. the `tour` blocks run in order, in one bash session (`set -euo pipefail`); consecutive
     python blocks run as one program (the reader's one Python session) with `--python`.
The only rewriting: the ports 8080 (plugboard) and 8000 (the package server) become free ports,
so the tour can run beside a server already on 8080. `plugboard` is the binary given, on PATH;
the CLI profile lives in the tour's directory. Also checked: the SDK versions the documents
tell readers to install (the Huawei SDKs, zstack-mcp-server) are the ones
tests/sdk/requirements.txt pins.

  python3 scripts/doc-tour.py --binary target/debug/plugboard --python .venv/bin/python
Exit 0 when every document ran to its end. The tour's output is printed with the server's
bootstrap password (and its SHA-512 hex, ZStack's login), secret key and any JSON password
field masked as `***`.
"""
import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOCS = ["README.md", "docs/kernel-plugins.md", "docs/servicestage.md", "docs/zstack.md", "docs/dbss-audit.md"]
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```\s*$", re.S | re.M)


def blocks(text):
    """(language, role, body) of each fenced block marked for the tour, in order."""
    out = []
    for m in FENCE.finditer(text):
        words = m.group(1).split()
        if len(words) >= 2 and words[1] in ("tour", "tour-setup"):
            out.append((words[0], words[1], m.group(2)))
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_versions(texts):
    clients = r"(huaweicloudsdk\w+|zstack-mcp-server)==([\w.]+)"
    pinned = dict(re.findall("^" + clients, (REPO / "tests/sdk/requirements.txt").read_text(), re.M))
    problems = []
    for doc, text in texts.items():
        for name, version in re.findall(clients, text):
            if pinned.get(name) != version:
                problems.append(f"{doc}: {name}=={version}, but tests/sdk/requirements.txt pins {pinned.get(name)}")
    return problems


def stop_addons(work):
    """Stop the add-ons a tour left running (one that failed half-way, say): `local-process`
    keeps `<pid> <start time>` in each add-on's `pid` file (docs/drivers.md) and runs it in its
    own process group; a pid is signalled only while /proc says it is still that process."""
    for pid_file in work.rglob("addons/*/pid"):
        try:
            pid, started = pid_file.read_text().split()[:2]
            stat = Path(f"/proc/{pid}/stat").read_text()
            if stat.rsplit(")", 1)[1].split()[19] == started:
                os.killpg(int(pid), signal.SIGTERM)
                print(f"doc-tour: stopped add-on process {pid} ({pid_file.parent.name})")
        except (OSError, ValueError, IndexError):
            pass


def script_for(doc, steps, python, port):
    """One bash script: setup blocks, start the server, then the tour blocks."""
    lines = [
        "set -euo pipefail",
        "PS4='+ tour: '",
        "cleanup() { kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; }",
        "trap cleanup EXIT",
    ]
    for lang, role, body in steps:
        if role == "tour-setup":
            lines += [f"# --- {doc}: tour-setup ({lang})", "set -x", body.rstrip(), "set +x"]
    lines += [
        f"# --- {doc}: plugboard serve",
        "mkdir -p plugboard-data && rm -f plugboard-data/listen-addr",
        f"plugboard serve --listen 127.0.0.1:{port} > serve.log 2>&1 &",
        "for _ in $(seq 300); do [ -s plugboard-data/listen-addr ] && break; sleep 0.1; done",
        "[ -s plugboard-data/listen-addr ] || { echo 'the server did not start:'; cat serve.log; exit 1; }",
    ]
    pending = []

    def flush():
        if pending:
            lines.append(f"# --- {doc}: python")
            lines.append(f"{shlex.quote(python)} - <<'PYTHON_TOUR_EOF'")
            lines.append("\n".join(pending).rstrip())
            lines.append("PYTHON_TOUR_EOF")
            pending.clear()

    for lang, role, body in steps:
        if role != "tour":
            continue
        if lang == "python":
            pending.append(body)
            continue
        flush()
        lines += [f"# --- {doc}: {lang}", "set -x", body.rstrip(), "set +x"]
    flush()
    return "\n".join(lines) + "\n"


SECRET_FIELD = re.compile(r'("(?:password|secret_key|secret|new_password)"\s*:\s*")[^"]*(")')


def redact(line, secrets):
    """`line` without the tour server's secrets: the bootstrap password and secret key, and any
    JSON `"password": "..."`-like field (the tour traces its commands with `set -x`)."""
    for secret in secrets:
        line = line.replace(secret, "***")
    return SECRET_FIELD.sub(r"\1***\2", line)


def bootstrap_secrets(work):
    """The secrets of the tour server's bootstrap file, once it exists (with the password's
    SHA-512 hex, ZStack's login)."""
    try:
        boot = json.loads((work / "plugboard-data" / "bootstrap.json").read_text())
    except (OSError, ValueError):
        return []
    secrets = [boot[k] for k in ("password", "secret_key") if isinstance(boot.get(k), str) and boot[k]]
    if secrets and isinstance(boot.get("password"), str):
        # ZStack logs in with the password's SHA-512 hex: as good as the password
        secrets.append(hashlib.sha512(boot["password"].encode()).hexdigest())
    return secrets


def run_redacted(cmd, work, env):
    """Run the tour, its output (stdout and stderr) printed line by line with secrets masked."""
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    secrets = []
    for raw in proc.stdout:
        if not secrets:
            secrets = bootstrap_secrets(work)
        sys.stdout.write(redact(raw.decode(errors="replace"), secrets))
        sys.stdout.flush()
    return proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=str(REPO / "target/debug/plugboard"))
    ap.add_argument("--python", default=sys.executable, help="a python with the SDKs of tests/sdk/requirements.txt")
    ap.add_argument("--keep", action="store_true", help="keep the tour directories")
    ap.add_argument("docs", nargs="*", metavar="DOC", help=f"run only these (default: all of {', '.join(DOCS)})")
    args = ap.parse_args()
    unknown = [d for d in args.docs if d not in DOCS]
    if unknown:
        ap.error(f"not a toured document: {', '.join(unknown)} (choose from {', '.join(DOCS)})")
    docs = args.docs or DOCS
    binary = Path(args.binary).resolve()
    if not binary.is_file():
        raise SystemExit(f"doc-tour: no binary at {binary}: cargo build -p plugboard")
    texts = {doc: (REPO / doc).read_text() for doc in docs}
    problems = check_versions(texts)
    for p in problems:
        print(f"doc-tour: {p}")
    failures = len(problems)
    for doc, text in texts.items():
        steps = blocks(text)
        if not steps:
            print(f"doc-tour: {doc} has no block marked `tour`")
            failures += 1
            continue
        port, pkg_port = free_port(), free_port()
        script = script_for(doc, steps, str(Path(args.python).absolute()), port)
        script = script.replace("127.0.0.1:8080", f"127.0.0.1:{port}").replace("127.0.0.1:8000", f"127.0.0.1:{pkg_port}")
        script = re.sub(r"\b8000\b", str(pkg_port), script)
        work = Path(tempfile.mkdtemp(prefix="plugboard-tour-"))
        (work / "tour.sh").write_text(script)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGBOARD_")}
        env.update({
            "PATH": f"{binary.parent}{os.pathsep}{env.get('PATH', '')}",
            "PLUGBOARD_CLI_CONFIG": str(work / "credentials.json"),
            "PLUGBOARD_LOG": "warn",
        })
        print(f"\n=== doc tour: {doc} ({len(steps)} blocks) in {work}", flush=True)
        rc = run_redacted(["bash", str(work / "tour.sh")], work, env)
        if rc != 0:
            failures += 1
            stop_addons(work)
            print(f"doc-tour: {doc} FAILED (exit {rc}); the script is {work / 'tour.sh'}, the server's log {work / 'serve.log'}")
            serve_log = work / "serve.log"
            if serve_log.exists():
                print("--- serve.log (last lines)")
                print("\n".join(serve_log.read_text(errors="replace").splitlines()[-20:]))
        else:
            stop_addons(work)
            print(f"doc-tour: {doc} ran to its end")
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
    print(f"doc-tour: {len(docs)} documents, {failures} failed" if failures else f"doc-tour: {len(docs)} documents passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
