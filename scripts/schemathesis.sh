#!/usr/bin/env bash
# Contract fuzzing: schemathesis (PyPI, pinned in tests/sdk/requirements.txt) generates requests
# from GET /openapi.json and sends them to a real server started here on a fresh data directory
# (SQLite; PLUGBOARD_TEST_BACKEND=postgres: a fresh PostgreSQL database), as the bootstrap admin
# (a project-scoped X-Auth-Token made from the bootstrap password). Exits non-zero when any
# response is a 5xx or does not match the document. Bounded: with the DBSS audit operations
# (123 fuzzed) a run took 322 s on this shared 2-core machine; killed at PLUGBOARD_ST_TIMEOUT
# seconds (default 600).
#
# Checks, and why these:
#   not_a_server_error            no 5xx, whatever is sent (the point of the stage)
#   status_code_conformance       every status is one the document lists for the operation
#   content_type_conformance      the Content-Type is the documented one
#   response_schema_conformance   the body matches the documented schema of its status
#   response_headers_conformance  documented headers (X-Request-Id, X-Subject-Token) are there
#   negative_data_rejection       input that breaks the schema is refused with a 4xx
#   missing_required_header       a request without a required header (X-Subject-Token) is a 4xx
#   ignored_auth                  an operation that needs credentials refuses a request without
# Left out: positive_data_acceptance (schema-valid input is still refused by the handlers' own
# rules, e.g. an IP that is not one, a made-up id: 400/404 is right there); unsupported_method
# and allow_header_conformance (an unknown method is the gateway's 404 APIG.0101 like the
# vendor's, not a 405 with Allow); use_after_free, ensure_resource_availability and
# object_level_authorization (they need the document's links, which it has none of yet).
#
# Not sent: RegisterGaussDbInstance (its connection test would make the server connect to
# whatever host the fuzzer writes, and run the pg_config it names). UpdateUser always targets a
# throw-away user, and validate/revoke a throw-away token, so the admin's own password and token
# stay as they are for the whole run (schemathesis reuses ids it read in earlier answers).
#
# One worker: with two, hypothesis's lambda-source parsing (ast.parse in threads) was seen to
# crash inside CPython 3.11 ("AST constructor recursion depth mismatch"), failing a run that
# found nothing wrong.
#
# Run alone: scripts/schemathesis.sh (builds target/debug/plugboard if missing).
# Env: PLUGBOARD_BIN, PLUGBOARD_TEST_BACKEND, PLUGBOARD_TEST_PG_ADMIN_URL, PLUGBOARD_ST_SEED
# (default fixed, so a failure reproduces; `random` for a new one), PLUGBOARD_ST_EXAMPLES
# (test cases per operation and phase, default 50), PLUGBOARD_ST_TIMEOUT.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

bin="${PLUGBOARD_BIN:-$repo/target/debug/plugboard}"
if [ ! -x "$bin" ]; then
  echo "schemathesis: building $bin" >&2
  cargo build -p plugboard >&2
fi
venv="$(bash scripts/sdk-venv.sh)"

work="$(mktemp -d "${TMPDIR:-/tmp}/plugboard-schemathesis.XXXXXX")"
server_pid=""
pg_db=""
pg_admin="${PLUGBOARD_TEST_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ -n "$pg_db" ]; then
    psql "$pg_admin" -X -q -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# The server sees no PLUGBOARD_* of the caller's environment but the database URL given here.
unset_args=()
for v in $(compgen -e); do
  case "$v" in PLUGBOARD_*) unset_args+=(-u "$v") ;; esac
done
db_env=()
if [ "${PLUGBOARD_TEST_BACKEND:-sqlite}" = postgres ]; then
  pg_db="pbst_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
  psql "$pg_admin" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $pg_db" >/dev/null
  db_env=("PLUGBOARD_DATABASE_URL=${pg_admin%/*}/$pg_db")
fi

mkdir -p "$work/data"
env "${unset_args[@]}" "${db_env[@]}" PLUGBOARD_LOG=warn \
  "$bin" serve --listen 127.0.0.1:0 --data-dir "$work/data" >"$work/server.log" 2>&1 &
server_pid=$!

# Wait for the server, then make the admin's token and the throw-away user and token.
"$venv/bin/python" - "$work" >"$work/env" <<'PY'
import json, sys, time, urllib.request, urllib.error
from pathlib import Path

data = Path(sys.argv[1]) / "data"
deadline = time.monotonic() + 30
while True:
    try:
        addr = (data / "listen-addr").read_text().strip()
        boot = json.loads((data / "bootstrap.json").read_text())
        with urllib.request.urlopen(f"http://{addr}/healthz", timeout=1) as r:
            if r.status == 200:
                break
    except (OSError, ValueError, urllib.error.URLError):
        pass
    if time.monotonic() > deadline:
        sys.exit("schemathesis: the server did not come up within 30 s")
    time.sleep(0.1)
base = f"http://{addr}"

def call(method, path, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["X-Auth-Token"] = token
    req = urllib.request.Request(base + path, method=method, headers=headers,
                                 data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.headers, json.loads(r.read() or b"null")

def token(name, password, project=None):
    auth = {"identity": {"methods": ["password"], "password": {"user": {
        "name": name, "password": password, "domain": {"name": boot["domain_name"]}}}}}
    if project:
        auth["scope"] = {"project": {"id": project}}
    headers, _ = call("POST", "/v3/auth/tokens?nocatalog=true", {"auth": auth})
    return headers["X-Subject-Token"]

admin = token(boot["user_name"], boot["password"], boot["project_id"])
victim_password = "Victim-pass-1234"
_, created = call("POST", "/v3.0/OS-USER/users", {"user": {
    "name": "schemathesis-victim", "domain_id": boot["domain_id"],
    "password": victim_password}}, admin)
victim = created["user"]["id"]
print(f"ST_URL={base}")
print(f"PLUGBOARD_ST_TOKEN={admin}")
print(f"PLUGBOARD_ST_PROJECT_ID={boot['project_id']}")
print(f"PLUGBOARD_ST_VICTIM_USER_ID={victim}")
print(f"PLUGBOARD_ST_VICTIM_TOKEN={token('schemathesis-victim', victim_password)}")
PY
set -a
# shellcheck disable=SC1091
. "$work/env"
set +a

seed="${PLUGBOARD_ST_SEED:-20261201}"
seed_args=(--seed "$seed")
[ "$seed" = random ] && seed_args=()
echo "== schemathesis against $ST_URL (seed ${seed})"
status=0
timeout "${PLUGBOARD_ST_TIMEOUT:-600}" "$venv/bin/schemathesis" \
  --config-file tests/schemathesis/schemathesis.toml --no-color \
  run "$ST_URL/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,negative_data_rejection,missing_required_header,ignored_auth \
  --phases examples,coverage,fuzzing \
  --max-examples "${PLUGBOARD_ST_EXAMPLES:-50}" \
  --workers 1 \
  --request-timeout 10 \
  "${seed_args[@]}" || status=$?

if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "schemathesis: the server died during the run; its log:" >&2
  tail -n 50 "$work/server.log" >&2
  exit 1
fi
if grep -q 'ERROR' "$work/server.log"; then
  echo "schemathesis: the server logged errors:" >&2
  grep 'ERROR' "$work/server.log" | tail -n 20 >&2
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "schemathesis: FAILED (exit $status); rerun alone with scripts/schemathesis.sh" >&2
fi
exit "$status"
