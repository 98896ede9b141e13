#!/usr/bin/env bash
# The Python checks that cargo does not run: pytest over sdks/python/tests (shared BSATN
# and message vectors, cache semantics, the connection against a loopback WebSocket
# server), then `mypy --strict` on the SDK, on freshly generated all-features and
# quickstart-chat bindings (`spacetime generate --lang python`, public and with private
# items) and on the Python chat client. Exits non-zero on any failure.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=env.sh
source "$root/scripts/env.sh"
python="$SPACETIME_VENV/bin/python"
if [ ! -x "$python" ]; then
    echo "no Python virtual environment at $SPACETIME_VENV: run scripts/install-deps.sh" >&2
    exit 1
fi
out="$CARGO_TARGET_DIR/python"
rm -rf "$out"
mkdir -p "$out"

echo "== mypy --strict: SDK and its tests"
(cd "$root/sdks/python" && "$python" -m mypy --strict --cache-dir "$out/.mypy_cache" src tests)

echo "== generated bindings"
cargo build -q -p spacetime-cli
spacetime="$CARGO_TARGET_DIR/debug/spacetime"
for module in all-features quickstart-chat; do
    package="${module//-/_}"
    "$spacetime" generate --lang python --out-dir "$out/bindings/$package" \
        --module-def "$root/codegen/tests/fixtures/$module.json" >/dev/null
    "$spacetime" generate --lang python --out-dir "$out/bindings/${package}_private" \
        --module-def "$root/codegen/tests/fixtures/$module.json" --include-private >/dev/null
done
echo "== mypy --strict: generated bindings"
(cd "$out/bindings" && "$python" -m mypy --strict --cache-dir "$out/.mypy_cache" \
    all_features all_features_private quickstart_chat quickstart_chat_private)
# Importing them runs every codec declaration.
(cd "$out/bindings" && "$python" -c 'import all_features_private, quickstart_chat_private')

echo "== mypy --strict: chat client"
(cd "$root/examples/quickstart-chat/client-python" && "$python" -m mypy --strict --cache-dir "$out/.mypy_cache" .)

echo "== mypy --strict: the every-type end-to-end script"
MYPYPATH="$out/bindings" "$python" -m mypy --strict --cache-dir "$out/.mypy_cache" "$root/sdks/python/e2e/every_type_roundtrip.py"

echo "== pytest"
cd "$root/sdks/python"
"$python" -m pytest -p no:cacheprovider
