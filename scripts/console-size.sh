#!/usr/bin/env bash
# What the web console adds to a plugboard binary (docs/console.md → Speed), measured on the
# binary's symbol table (the way `cargo bloat --crates` does, without installing it):
#   - code: every function whose demangled name mentions the console crate or maud, its
#     template engine — the console's own functions and the generic code (axum handlers,
#     futures, serde) instantiated for them;
#   - data: the console's string literals (an upper bound: every "..." in crates/console/src,
#     whether or not the compiler kept it) and its embedded stylesheet and script.
# Usage: bash scripts/console-size.sh [target/release/plugboard]
set -euo pipefail
bin="${1:-target/release/plugboard}"
cd "$(dirname "$0")/.."
[ -x "$bin" ] || { echo "no binary at $bin: cargo build --release -p plugboard" >&2; exit 2; }
total=$(stat -c %s "$bin")
code=$(nm -C -S --size-sort "$bin" 2>/dev/null | grep -E 'plugboard_console|maud' \
    | awk '{ s += strtonum("0x" $2) } END { print s + 0 }')
literals=$(python3 - <<'PY'
import pathlib, re
total = 0
for f in pathlib.Path("crates/console/src").glob("*.rs"):
    for m in re.finditer(r'"((?:[^"\\]|\\.)*)"', f.read_text()):
        total += len(m.group(1).encode())
print(total)
PY
)
assets=$(cat crates/console/assets/* | wc -c)
kib() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }
echo "binary:                 $(kib "$total")"
echo "console code (symbols): $(kib "$code")"
echo "string literals (max):  $(kib "$literals")"
echo "embedded assets:        $(kib "$assets")"
sum=$((code + literals + assets))
echo "console in all:         $(kib "$sum") ($(awk -v a="$sum" -v b="$total" 'BEGIN { printf "%.2f", 100 * a / b }')% of the binary)"
