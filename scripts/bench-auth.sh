#!/usr/bin/env bash
# The authentication benchmark (docs/benchmarks.md): the release build (the README's run command), then SQLite and, when
# PostgreSQL answers on 127.0.0.1:5432, a fresh PostgreSQL database. Prints its figures.
# plugboard-bench starts the server with PLUGBOARD_LOG=warn: the per-request `info` log line
# would otherwise be part of what is measured.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p plugboard -p plugboard-bench
./target/release/plugboard-bench auth --binary target/release/plugboard "$@"
admin="${PLUGBOARD_TEST_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
if psql "$admin" -qc 'select 1' >/dev/null 2>&1; then
  db="pbbench_$(date +%s)"
  psql "$admin" -qc "create database $db"
  trap 'psql "$admin" -qc "drop database if exists $db with (force)" >/dev/null 2>&1 || true' EXIT
  echo
  ./target/release/plugboard-bench auth --binary target/release/plugboard --database-url "${admin%/*}/$db" "$@"
fi
