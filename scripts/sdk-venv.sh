#!/usr/bin/env bash
# Create (if missing) and update the Python venv used by the SDK tests in tests/sdk/.
# Idempotent: pip runs only when tests/sdk/requirements.txt changed since the last install.
# Prints the venv path on stdout (everything else goes to stderr), so:
#   VENV="$(scripts/sdk-venv.sh)" && "$VENV/bin/python" -m pytest tests/sdk
# Env: PLUGBOARD_VENV (default <repo>/.venv), PYTHON (default python3).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PLUGBOARD_VENV:-$REPO/.venv}"
REQ="$REPO/tests/sdk/requirements.txt"
STAMP="$VENV/.plugboard-sdk-requirements.sha256"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    echo "sdk-venv: creating $VENV" >&2
    "$PYTHON" -m venv "$VENV" >&2
fi

want="$("$VENV/bin/python" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$REQ")"
have="$(cat "$STAMP" 2>/dev/null || true)"

if [ "$want" != "$have" ]; then
    echo "sdk-venv: installing $REQ" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ" >&2
    printf '%s\n' "$want" > "$STAMP"
fi

printf '%s\n' "$VENV"
