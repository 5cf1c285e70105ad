#!/usr/bin/env bash
# Set up the browser tests in tests/browser/ (idempotent):
#   - Debian's chromium (apt), when /usr/bin/chromium is missing (Playwright's own browser
#     download is not used: the tests launch /usr/bin/chromium by executable_path);
#   - Playwright for Python into the SDK venv (tests/browser/requirements.txt, re-installed
#     only when that file changes);
#   - axe-core from npm into tests/browser/node_modules (tests/browser/package-lock.json).
# Prints the venv path on stdout (everything else goes to stderr):
#   VENV="$(bash scripts/browser-setup.sh)" && "$VENV/bin/python" -m pytest tests/browser
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHROMIUM="${PLUGBOARD_CHROMIUM:-/usr/bin/chromium}"

if [ ! -x "$CHROMIUM" ]; then
    echo "browser-setup: installing Debian's chromium" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >&2
fi

VENV="$(bash "$REPO/scripts/sdk-venv.sh")"
REQ="$REPO/tests/browser/requirements.txt"
STAMP="$VENV/.plugboard-browser-requirements.sha256"
want="$("$VENV/bin/python" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$REQ")"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
    echo "browser-setup: installing $REQ" >&2
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 "$VENV/bin/python" -m pip install --quiet \
        --disable-pip-version-check -r "$REQ" >&2
    printf '%s\n' "$want" > "$STAMP"
fi

if [ ! -f "$REPO/tests/browser/node_modules/axe-core/axe.min.js" ]; then
    echo "browser-setup: installing axe-core (npm)" >&2
    (cd "$REPO/tests/browser" && npm ci --no-audit --no-fund --silent >&2)
fi

printf '%s\n' "$VENV"
