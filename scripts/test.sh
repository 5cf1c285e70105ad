#!/usr/bin/env bash
# The whole test suite: the test command of CONTRIBUTING.md, and exactly what CI runs (.ci/run).
#
#   scripts/test.sh           every stage (CI): needs root, PostgreSQL, MariaDB, Debian's apt,
#                             PyPI, node and npm, Debian's chromium (installed when missing
#                             by scripts/browser-setup.sh; the prerequisites are checked first)
#   scripts/test.sh --quick   fmt, clippy and the Rust tests on SQLite, without the few tests
#                             that need PostgreSQL, MariaDB or root (QUICK_SKIP below): needs
#                             only the Rust toolchain and python3; for contributors
#
# 1. Checks its prerequisites first (the Rust toolchain against Cargo.toml's rust-version, and
#    for the full run the services and tools below) and stops within seconds, one line per
#    missing piece saying how to get it on Debian (exit 2).
# 2. Runs every stage — fmt, clippy, build, the Rust tests on SQLite and on PostgreSQL, the
#    official-SDK tests on both back-ends, the doc tour, the Node.js SDK tests, the console's
#    browser tests — going on after a failure where the later stages can still run.
# 3. Ends with one summary table of every stage; exits 1 if any stage failed.
#
# Env: PLUGBOARD_TEST_PG_ADMIN_URL (the full run's default postgres://postgres@127.0.0.1:5432/postgres;
#      --quick sets none, and the store suite then runs on SQLite alone).
set -uo pipefail
cd "$(dirname "$0")/.."

quick=0
case "${1:-}" in
    "") ;;
    --quick) quick=1 ;;
    -h | --help)
        sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "usage: scripts/test.sh [--quick]" >&2
        exit 2
        ;;
esac

# The full run names PostgreSQL for the store suite; --quick leaves the variable as it finds it,
# so without it the store suite runs on SQLite alone (each test prints what it skipped).
[ "$quick" -eq 1 ] ||
    export PLUGBOARD_TEST_PG_ADMIN_URL="${PLUGBOARD_TEST_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

# The tests --quick leaves to the full run, as "<nextest binary id> <test name>": each needs
# PostgreSQL on 127.0.0.1:5432 (whatever the back-end under test), MariaDB on 127.0.0.1:3306,
# or root (writing into PostgreSQL's extension directories). Found by running the SQLite tests
# as an unprivileged user with no service reachable; a new test of that kind belongs here.
QUICK_SKIP=(
    "plugboard-drivers::it probe::mariadb_greets_as_mysql"
    "plugboard-drivers::it probe::mariadb_port_probed_as_postgres_is_not_postgres"
    "plugboard-drivers::it probe::policy_is_checked_before_connecting"
    "plugboard-drivers::it probe::postgres_answers_sslrequest"
    "plugboard-drivers::it probe::postgres_port_probed_as_mysql_times_out"
    "plugboard-drivers::it probe::tcp_only_on_open_ports"
    "plugboard-jobs::it batch::concurrent_batch_claims_never_hand_one_job_to_two_processes"
    "plugboard-jobs::it burst::a_burst_of_ten_thousand_submits_costs_few_claims_and_runs_each_job_once"
    "plugboard-jobs::it burst::jobs_submitted_through_the_engines_own_store_run_at_once_without_hearing_a_notification"
    "plugboard-jobs::it leases::two_engines_on_postgres_run_every_job_exactly_once"
    "plugboard::it cli_workflows::audit_a_real_mariadb_from_the_command_line"
    "plugboard::it cli_workflows::install_a_plugin_and_follow_its_job_from_the_command_line"
    "plugboard::it dbss_probes::audit_on_reaches_real_databases_and_reports_errors"
    "plugboard::it hardening_api::a_trickling_download_fails_the_job_and_the_instance_takes_another_install"
    "plugboard::it scale_out::a_dropped_listener_connection_heals_without_losing_a_job"
    "plugboard::it scale_out::a_job_submitted_on_an_api_only_node_runs_at_once_on_a_worker"
    "plugboard::it scale_out::a_process_with_another_master_key_refuses_to_start"
    "plugboard::it scale_out::processes_starting_at_once_bootstrap_exactly_once"
    "plugboard::it scale_out::readyz_says_when_the_store_is_gone"
    "plugboard::it scale_out::two_processes_share_one_lockout"
    "plugboard::it scale_out_signals::a_driver_refresh_through_one_process_is_seen_by_the_other_at_once"
    "plugboard::it scale_out_signals::an_enforcing_delete_run_by_one_process_stops_the_step_in_another_at_once"
)

# -- prerequisites ---------------------------------------------------------------------------

missing=()
need() { missing+=("$1"); }
have() { command -v "$1" >/dev/null 2>&1; }
port_open() { timeout 3 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# The full run's prerequisites (services, root, Debian tools, Python).
full_prerequisites() {
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
    if have python3 && ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
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
    if ! have node || ! have npm; then
        need "node (>= 18) and npm (the Node.js SDK tests, tests/node; axe-core for the browser tests): apt-get install nodejs npm"
    elif [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -lt 18 ]; then
        need "node >= 18 (the Node.js SDK tests use node's test runner; this node is $(node --version)): a newer nodejs"
    fi
}

# The toolchain the workspace declares (Cargo.toml's rust-version), checked, not assumed.
rust_version="$(sed -nE 's/^rust-version *= *"([0-9.]+)".*/\1/p' Cargo.toml | head -n 1)"
if ! have cargo; then
    need "cargo: the Rust toolchain (>= ${rust_version}, Cargo.toml's rust-version): curl --proto '=https' -sSf https://sh.rustup.rs | sh"
else
    rustc_version="$(rustc --version 2>/dev/null | awk '{print $2}')"
    if [ -z "$rustc_version" ] ||
        [ "$(printf '%s\n%s\n' "$rust_version" "$rustc_version" | sort -V | head -n 1)" != "$rust_version" ]; then
        need "Rust >= ${rust_version} (Cargo.toml's rust-version; this rustc is ${rustc_version:-missing}): rustup update stable"
    fi
    cargo fmt --version >/dev/null 2>&1 || need "rustfmt: rustup component add rustfmt"
    cargo clippy --version >/dev/null 2>&1 || need "clippy: rustup component add clippy"
fi
# Some tests run `python3 -m http.server` as an add-on (standard library only).
have python3 || need "python3 (some tests run python3 -m http.server as an add-on): apt-get install python3"
[ "$quick" -eq 1 ] || full_prerequisites

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
    elif grep -Eq "^# pass [0-9]+" <<<"$plain"; then
        local passed failed
        passed="$(grep -E "^# pass [0-9]+" <<<"$plain" | tail -n 1 | awk '{print $3}')"
        failed="$(grep -E "^# fail [0-9]+" <<<"$plain" | tail -n 1 | awk '{print $3}')"
        echo "node --test: ${passed} passed, ${failed:-0} failed"
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

# The Rust tests without QUICK_SKIP: a nextest filter, or cargo test's exact --skip names.
run_rust_quick() {
    local entry filter="" skips=()
    for entry in "${QUICK_SKIP[@]}"; do
        filter+="${filter:+ | }(binary_id(${entry%% *}) & test(=${entry#* }))"
        skips+=(--skip "${entry#* }")
    done
    echo "quick: ${#QUICK_SKIP[@]} tests that need PostgreSQL, MariaDB or root are left to the full run"
    if have cargo-nextest; then
        cargo nextest run --workspace --no-fail-fast -E "not (${filter})"
    else
        cargo test --workspace --no-fail-fast -- --exact "${skips[@]}"
    fi
}

# pytest exits 5 when it collected no tests: that is a failure here, never a pass.
run_pytest() {
    "$venv/bin/python" -m pytest -q "$@"
    local rc=$?
    [ "$rc" -eq 5 ] && echo "pytest collected no tests: failing the stage"
    return "$rc"
}

# The official Node.js SDK (tests/node): npm ci from its lock file, then node's test runner in
# TAP, whose closing lines (# pass N, # fail N) are the stage's summary; it starts its own
# server on SQLite with $PLUGBOARD_BIN.
run_node_sdk() {
    (cd tests/node && npm ci --no-audit --no-fund --loglevel=error && node --test --test-reporter=tap)
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
if [ "$quick" -eq 1 ]; then
    PLUGBOARD_TEST_BACKEND=sqlite stage "Rust tests, SQLite (quick)" run_rust_quick
elif stage "build" cargo build --workspace --all-targets; then
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
        if stage "browser set-up (chromium, Playwright, axe-core)" bash scripts/browser-setup.sh; then
            stage "browser tests (web console)" run_pytest tests/browser
        else
            skip "browser tests (web console)" "needs the browser set-up"
        fi
    else
        for s in "SDK tests, SQLite" "SDK tests, PostgreSQL" "doc tour (README, walk-throughs)" \
            "schemathesis (contract fuzzing of /openapi.json)" \
            "browser set-up (chromium, Playwright, axe-core)" "browser tests (web console)"; do
            skip "$s" "needs the SDK set-up"
        done
    fi
    stage "Node.js SDK tests (IAM), SQLite" run_node_sdk
else
    for s in "Rust tests, SQLite" "Rust tests, PostgreSQL" "SDK set-up (venv, PostGIS package)" \
        "SDK tests, SQLite" "SDK tests, PostgreSQL" "doc tour (README, walk-throughs)" \
        "schemathesis (contract fuzzing of /openapi.json)" "Node.js SDK tests (IAM), SQLite" \
        "browser set-up (chromium, Playwright, axe-core)" "browser tests (web console)"; do
        skip "$s" "needs the build"
    done
fi

# -- summary ---------------------------------------------------------------------------------

failed=0
width=5
for n in "${names[@]}"; do [ "${#n}" -gt "$width" ] && width=${#n}; done
echo
echo "== summary"
printf '%-*s  %-7s  %6s  %s\n' "$width" "STAGE" "RESULT" "TIME" "DETAIL"
for i in "${!names[@]}"; do
    printf '%-*s  %-7s  %6s  %s\n' "$width" "${names[$i]}" "${results[$i]}" "${times[$i]}" "${details[$i]}"
    [ "${results[$i]}" = "ok" ] || failed=1
done
if [ "$failed" -ne 0 ]; then
    echo "scripts/test.sh: FAILED (see the stages above)"
    exit 1
fi
echo "scripts/test.sh: every stage passed"
