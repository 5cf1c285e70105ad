#!/usr/bin/env bash
# What the DBSS audit tests capture from (docs/dbss-audit.md): PostgreSQL 15 with pgaudit.
#
#   scripts/audit-capture.sh install          install postgresql-15-pgaudit if it is missing
#   scripts/audit-capture.sh pg-start DIR PORT  a private cluster in DIR (created), on PORT, with
#                                             pgaudit writing jsonlog to DIR/log; prints nothing
#   scripts/audit-capture.sh pg-stop DIR      stop it (the caller removes DIR)
#
# The cluster runs as the `postgres` user (initdb refuses root); trust authentication on
# 127.0.0.1 only, with a `wrongpw` role that needs a password (for failed-login tests).
set -euo pipefail

PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"

pgaudit_present() {
    [ -f "$("$PGBIN/pg_config" --pkglibdir 2>/dev/null || echo /usr/lib/postgresql/15/lib)/pgaudit.so" ] ||
        [ -f /usr/lib/postgresql/15/lib/pgaudit.so ]
}

as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

case "${1:-}" in
install)
    if pgaudit_present; then
        echo "audit-capture: pgaudit present" >&2
        exit 0
    fi
    echo "audit-capture: installing postgresql-15-pgaudit" >&2
    if [ "$(id -u)" != 0 ]; then
        echo "audit-capture: postgresql-15-pgaudit is missing: apt-get install -y postgresql-15-pgaudit (as root)" >&2
        exit 2
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql-15-pgaudit >&2 || {
        apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql-15-pgaudit >&2
    }
    ;;
pg-start)
    dir="$2" port="$3"
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    as_postgres "$PGBIN/initdb" -D "$dir/data" -U postgres -A trust --no-sync >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        exit 1
    }
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
shared_preload_libraries = 'pgaudit'
pgaudit.log = 'read, write, ddl, role, misc'
pgaudit.log_catalog = off
pgaudit.log_parameter = off
pgaudit.log_relation = on
pgaudit.log_rows = on
log_destination = 'jsonlog'
logging_collector = on
log_directory = '$dir/log'
log_filename = 'postgresql-%Y-%m-%d_%H%M%S.log'
log_file_mode = 0644
log_rotation_age = 0
log_rotation_size = 0
log_connections = on
log_disconnections = on
log_min_duration_statement = 0
log_timezone = 'UTC'
fsync = off
CONF
    cat >"$dir/data/pg_hba.conf" <<HBA
local all all trust
host all wrongpw 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 trust
HBA
    as_postgres "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null || {
        cat "$dir/server.log" >&2
        exit 1
    }
    chmod 755 "$dir/log" 2>/dev/null || true
    psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres \
        -c "CREATE EXTENSION IF NOT EXISTS pgaudit" \
        -c "CREATE ROLE wrongpw LOGIN PASSWORD 'right-password'" >/dev/null
    ;;
pg-stop)
    dir="$2"
    [ -d "$dir/data" ] && as_postgres "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    ;;
*)
    sed -n '2,12p' "$0" >&2
    exit 2
    ;;
esac
