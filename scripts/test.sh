#!/usr/bin/env bash
# The whole test suite: the README's test command, and exactly what CI runs (.ci/run).
#
# 1. Checks its prerequisites first and stops within seconds, one line per missing piece saying
#    how to get it on Debian (exit 2).
# 2. Runs every stage — fmt, clippy, build, the Rust tests on SQLite and on PostgreSQL, the
#    official-SDK tests on both back-ends, the doc tour — going on after a failure where the
#    later stages can still run.
# 3. Ends with one summary table of every stage; exits 1 if any stage failed.
#
# Env: PLUGBOARD_TEST_PG_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres).
set -uo pipefail
cd "$(dirname "$0")/.."

export PLUGBOARD_TEST_PG_ADMIN_URL="${PLUGBOARD_TEST_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

# -- prerequisites ---------------------------------------------------------------------------

missing=()
need() { missing+=("$1"); }
have() { command -v "$1" >/dev/null 2>&1; }
port_open() { timeout 3 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

if ! have cargo; then
    need "cargo: the Rust toolchain (>= 1.85): curl --proto '=https' -sSf https://sh.rustup.rs | sh"
else
    cargo fmt --version >/dev/null 2>&1 || need "rustfmt: rustup component add rustfmt"
    cargo clippy --version >/dev/null 2>&1 || need "clippy: rustup component add clippy"
fi
have psql || need "psql: apt-get install postgresql-client"
if ! have pg_config; then
    need "pg_config (names PostgreSQL's sharedir and pkglibdir): apt-get install postgresql-15 libpq-dev"
fi
if ! port_open 127.0.0.1 5432; then
    need "PostgreSQL on 127.0.0.1:5432: apt-get install postgresql-15 && service postgresql start"
elif have psql && ! psql "$PLUGBOARD_TEST_PG_ADMIN_URL" -X -q -t -c 'SELECT 1' >/dev/null 2>&1; then
    need "PostgreSQL at $PLUGBOARD_TEST_PG_ADMIN_URL refuses the tests: allow trust auth for 127.0.0.1 (pg_hba.conf: 'host all all 127.0.0.1/32 trust'), then service postgresql reload"
fi
if have pg_config; then
    for d in "$(pg_config --sharedir)/extension" "$(pg_config --pkglibdir)"; do
        [ -w "$d" ] || need "write access to $d (the GaussDB tests install extensions there): run the tests as root"
    done
fi
port_open 127.0.0.1 3306 ||
    need "MariaDB on 127.0.0.1:3306 (the DBSS tests probe it): apt-get install mariadb-server && service mariadb start"
if ! have python3; then
    need "python3: apt-get install python3 python3-venv"
elif ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    need "python3's venv module: apt-get install python3-venv"
fi
for tool in apt-get dpkg dpkg-deb; do
    have "$tool" || need "$tool (scripts/postgis-package.sh builds the PostGIS package from Debian's packages): a Debian system"
done
have curl || need "curl (the doc tour): apt-get install curl"
have mariadb || need "the mariadb client (the DBSS audit tests drive MariaDB's server_audit): apt-get install mariadb-client"
have runuser || need "runuser (the DBSS audit tests run initdb as postgres): apt-get install util-linux"
[ -x /usr/lib/postgresql/15/bin/initdb ] ||
    need "PostgreSQL 15's server binaries (the DBSS audit tests start a private pgaudit cluster): apt-get install postgresql-15"

if [ "${#missing[@]}" -gt 0 ]; then
    echo "scripts/test.sh: missing prerequisites:" >&2
    for m in "${missing[@]}"; do echo "  - $m" >&2; done
    exit 2
fi
have cargo-nextest || echo "note: cargo-nextest not found; using cargo test (cargo install cargo-nextest --locked for nextest)" >&2

# -- stages ----------------------------------------------------------------------------------

names=() results=() times=() details=()
logdir="$(mktemp -d)"
trap 'rm -rf "$logdir"' EXIT
[ -t 1 ] && export CARGO_TERM_COLOR=always

# Run one stage: stage NAME COMMAND... — its output as usual (also kept for the summary).
stage() {
    local name="$1"; shift
    local log="$logdir/${#names[@]}.log" start=$SECONDS rc
    echo
    echo "== $name"
    "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    names+=("$name")
    times+=("$((SECONDS - start))s")
    details+=("$(summary_of "$log" "$rc")")
    if [ "$rc" -eq 0 ]; then results+=("ok"); else results+=("FAILED"); fi
    return "$rc"
}

# A stage that cannot run because an earlier one failed.
skip() {
    names+=("$1"); results+=("skipped"); times+=("-"); details+=("$2")
}

# The runner's closing line: nextest's summary, cargo test's totals, pytest's last line.
summary_of() {
    local plain
    plain="$(sed -E 's/\x1b\[[0-9;]*[mK]//g' "$1")"
    if grep -q "tests run:" <<<"$plain"; then
        grep "tests run:" <<<"$plain" | tail -n 1 | sed -E 's/^.*\] +//'
    elif grep -q "^test result:" <<<"$plain"; then
        grep "^test result:" <<<"$plain" |
            awk '{p+=$4; f+=$6; i+=$8} END {printf "%d passed, %d failed, %d ignored\n", p, f, i}'
    elif grep -Eq "^pytest collected no tests" <<<"$plain"; then
        echo "pytest collected no tests (exit 5)"
    elif grep -Eq "^(=+ )?[0-9]+ (passed|failed|errors?|deselected|skipped)|^(=+ )?no tests ran" <<<"$plain"; then
        grep -E "^(=+ )?[0-9]+ (passed|failed|errors?|deselected|skipped)|^(=+ )?no tests ran" <<<"$plain" |
            tail -n 1 | sed -E 's/^=+ //; s/ =+$//'
    elif grep -q "^doc-tour: [0-9]* documents" <<<"$plain"; then
        grep "^doc-tour: [0-9]* documents" <<<"$plain" | tail -n 1 | sed 's/^doc-tour: //'
    elif [ "$2" -ne 0 ]; then
        tail -n 1 <<<"$plain" | cut -c1-70
    fi
}

if have cargo-nextest; then
    run_rust() { cargo nextest run --workspace --no-fail-fast "$@"; }
else
    run_rust() { cargo test --workspace --no-fail-fast "$@"; }
fi

# pytest exits 5 when it collected no tests: that is a failure here, never a pass.
run_pytest() {
    "$venv/bin/python" -m pytest -q "$@"
    local rc=$?
    [ "$rc" -eq 5 ] && echo "pytest collected no tests: failing the stage"
    return "$rc"
}

# Stages run in a pipeline's subshell (their output goes through tee), so this one hands its
# results to the later stages in a file.
sdk_setup() {
    local venv package
    venv="$(bash scripts/sdk-venv.sh)" &&
        package="$(bash scripts/postgis-package.sh)" &&
        bash scripts/audit-capture.sh install &&
        printf 'venv=%q\nexport PLUGBOARD_TEST_POSTGIS_PACKAGE=%q\n' "$venv" "$package" >"$logdir/sdk.env" &&
        echo "venv $venv, PostGIS package $package, pgaudit present"
}

stage "fmt" cargo fmt --all -- --check
stage "clippy" cargo clippy --workspace --all-targets -- -D warnings
if stage "build" cargo build --workspace --all-targets; then
    export PLUGBOARD_BIN="$PWD/target/debug/plugboard"
    PLUGBOARD_TEST_BACKEND=sqlite stage "Rust tests, SQLite" run_rust
    PLUGBOARD_TEST_BACKEND=postgres stage "Rust tests, PostgreSQL" run_rust
    venv=""
    if stage "SDK set-up (venv, PostGIS package)" sdk_setup && . "$logdir/sdk.env"; then
        PLUGBOARD_TEST_BACKEND=sqlite stage "SDK tests, SQLite" run_pytest tests/sdk
        PLUGBOARD_TEST_BACKEND=postgres stage "SDK tests, PostgreSQL" run_pytest tests/sdk
        stage "doc tour (README, walk-throughs)" \
            "$venv/bin/python" scripts/doc-tour.py --binary "$PLUGBOARD_BIN" --python "$venv/bin/python"
        stage "schemathesis (contract fuzzing of /openapi.json)" bash scripts/schemathesis.sh
    else
        for s in "SDK tests, SQLite" "SDK tests, PostgreSQL" "doc tour (README, walk-throughs)" \
            "schemathesis (contract fuzzing of /openapi.json)"; do
            skip "$s" "needs the SDK set-up"
        done
    fi
else
    for s in "Rust tests, SQLite" "Rust tests, PostgreSQL" "SDK set-up (venv, PostGIS package)" \
        "SDK tests, SQLite" "SDK tests, PostgreSQL" "doc tour (README, walk-throughs)" \
        "schemathesis (contract fuzzing of /openapi.json)"; do
        skip "$s" "needs the build"
    done
fi

# -- summary ---------------------------------------------------------------------------------

failed=0
echo
echo "== summary"
printf '%-40s %-8s %7s  %s\n' "STAGE" "RESULT" "TIME" "DETAIL"
for i in "${!names[@]}"; do
    printf '%-40s %-8s %7s  %s\n' "${names[$i]}" "${results[$i]}" "${times[$i]}" "${details[$i]}"
    [ "${results[$i]}" = "ok" ] || failed=1
done
if [ "$failed" -ne 0 ]; then
    echo "scripts/test.sh: FAILED (see the stages above)"
    exit 1
fi
echo "scripts/test.sh: every stage passed"
