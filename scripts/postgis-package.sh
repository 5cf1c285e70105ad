#!/usr/bin/env bash
# Build the PostGIS 3 kernel plug-in package of the GaussDB tests from Debian's packages, the way
# docs/contract.md (Plug-in package format) describes, and install PostGIS's runtime libraries
# so the server can load it. Idempotent: the package is built once (cached), apt runs only when
# a library is missing. Needs root (apt) and Debian's package mirror.
#
#   bash scripts/postgis-package.sh [OUT]      # default OUT: target/fixtures/postgis.tar.gz
#
# Prints the package path on stdout (everything else goes to stderr).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$REPO/target/fixtures/postgis.tar.gz}"
PG_CONFIG="${PG_CONFIG:-$(command -v pg_config || echo /usr/lib/postgresql/15/bin/pg_config)}"
MAJOR="$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')"
DEBS=("postgresql-$MAJOR-postgis-3" "postgresql-$MAJOR-postgis-3-scripts")
RUNTIME=(libgdal32 libgeos-c1v5 libjson-c5 libproj25 libprotobuf-c1 libsfcgal1)

apt_updated=""
apt_update() {
    if [ -z "$apt_updated" ]; then
        echo "postgis-package: apt-get update" >&2
        apt-get update -qq >&2
        apt_updated=1
    fi
}

missing=()
for p in "${RUNTIME[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    apt_update
    echo "postgis-package: installing ${missing[*]}" >&2
    log="$(mktemp)"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        exit 1
    fi
    rm -f "$log"
fi

if [ ! -s "$OUT" ]; then
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    (
        cd "$work"
        apt-get download -qq "${DEBS[@]}" >/dev/null 2>&1 || { apt_update; apt-get download -qq "${DEBS[@]}" >&2; }
        for deb in ./*.deb; do dpkg-deb -x "$deb" root; done
    )
    pkg="$work/pkg"
    mkdir -p "$pkg/share" "$pkg/lib"
    cp -a "$work/root/usr/share/postgresql/$MAJOR/." "$pkg/share/"
    cp -a "$work/root/usr/lib/postgresql/$MAJOR/lib/." "$pkg/lib/"
    # Packages may hold no links. Debian links ~600 upgrade scripts (`<ext>--<old>--<new>.sql`)
    # to one file each; they only serve ALTER EXTENSION UPDATE from old versions, so they are
    # left out; any other link becomes a plain file.
    find "$pkg" -type l -name '*--*--*.sql' -delete
    find "$pkg" -type l | while read -r link; do
        cp --remove-destination "$(readlink -f "$link")" "$link"
    done
    # Debian ships <name>-3.control and makes <name>.control in its install script.
    for control in "$pkg"/share/extension/*-3.control; do
        plain="${control%-3.control}.control"
        [ -e "$plain" ] || cp "$control" "$plain"
    done
    version="$(sed -nE "s/^default_version = '([^']+)'.*/\1/p" "$pkg/share/extension/postgis.control")"
    printf 'name = "postgis"\nversion = "%s"\npg_major = %s\n' "$version" "$MAJOR" > "$pkg/plugboard-package.toml"
    mkdir -p "$(dirname "$OUT")"
    tar -C "$pkg" -czf "$OUT.tmp" plugboard-package.toml share lib
    mv "$OUT.tmp" "$OUT"
    echo "postgis-package: built $OUT ($(du -h "$OUT" | cut -f1), PostGIS $version for PostgreSQL $MAJOR)" >&2
fi

printf '%s\n' "$OUT"
