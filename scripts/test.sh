#!/usr/bin/env bash
# The whole test suite: Rust tests on SQLite, then on PostgreSQL, then the official-SDK tests
# on both back-ends. Needs PostgreSQL on 127.0.0.1:5432 (trust auth) and python3 with PyPI;
# the GaussDB tests install extensions into that server's directories (root) and build a
# PostGIS package from Debian's packages (apt). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

export PLUGBOARD_TEST_PG_ADMIN_URL="${PLUGBOARD_TEST_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

if command -v cargo-nextest >/dev/null 2>&1; then
  run_rust() { cargo nextest run --workspace --no-fail-fast "$@"; }
else
  run_rust() { cargo test --workspace --no-fail-fast "$@"; }
fi

echo "== build"
cargo build --workspace --all-targets

echo "== Rust tests, SQLite"
PLUGBOARD_TEST_BACKEND=sqlite run_rust

echo "== Rust tests, PostgreSQL"
PLUGBOARD_TEST_BACKEND=postgres run_rust

echo "== official SDK tests"
venv="$(bash scripts/sdk-venv.sh)"
PLUGBOARD_TEST_POSTGIS_PACKAGE="$(bash scripts/postgis-package.sh)"
export PLUGBOARD_TEST_POSTGIS_PACKAGE
export PLUGBOARD_BIN="$PWD/target/debug/plugboard"
PLUGBOARD_TEST_BACKEND=sqlite "$venv/bin/python" -m pytest -q tests/sdk
PLUGBOARD_TEST_BACKEND=postgres "$venv/bin/python" -m pytest -q tests/sdk
echo "== schemathesis (contract fuzzing of /openapi.json)"; bash scripts/schemathesis.sh
