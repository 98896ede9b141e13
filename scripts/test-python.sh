#!/usr/bin/env bash
# The Python checks that cargo does not run: pytest over sdks/python/tests (shared BSATN
# and message vectors, the shared behaviour vectors protocol/tests/vectors/{reconnect,
# subscribe_url,cache}.json, cache semantics, the connection against a loopback WebSocket
# server), then `mypy --strict` on the SDK, on freshly generated all-features,
# quickstart-chat, procedures and nested-options bindings (`spacetime generate --lang python`, public
# and with private items; the nested options also round-trip) and on the Python chat
# client and end-to-end scripts. Exits non-zero on any failure.
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
# This checkout's SDK, whatever checkout the venv's editable install points at.
sdk="$root/sdks/python/src"
export MYPYPATH="$sdk" PYTHONPATH="$sdk"

echo "== mypy --strict: SDK and its tests"
(cd "$root/sdks/python" && "$python" -m mypy --strict --cache-dir "$out/.mypy_cache" src tests)

echo "== generated bindings"
cargo build -q -p spacetime-cli
spacetime="$CARGO_TARGET_DIR/debug/spacetime"
for def in "$root/codegen/tests/fixtures/all-features.json" "$root/codegen/tests/fixtures/quickstart-chat.json" \
    "$root/codegen/tests/fixtures/procedures.json" "$root/codegen/tests/golden/python/nested-options.json"; do
    module="$(basename "$def" .json)"
    package="${module//-/_}"
    "$spacetime" generate --lang python --out-dir "$out/bindings/$package" --module-def "$def" >/dev/null
    "$spacetime" generate --lang python --out-dir "$out/bindings/${package}_private" \
        --module-def "$def" --include-private >/dev/null
done
echo "== mypy --strict: generated bindings"
(cd "$out/bindings" && "$python" -m mypy --strict --cache-dir "$out/.mypy_cache" \
    all_features all_features_private quickstart_chat quickstart_chat_private procedures procedures_private \
    nested_options)
# Importing them runs every codec declaration; a generated nested option keeps
# `Some(None)` apart from `None`.
(cd "$out/bindings" && "$python" -c '
import all_features_private, quickstart_chat_private
from nested_options import Maybe, maybe_type
from spacetime_sdk import Some
row = Maybe(1, None, Some(None), Some(Some(None)), [Some(None), None, Some(7)])
back = maybe_type.CODEC.from_bytes(maybe_type.CODEC.to_bytes(row))
assert back == row, f"nested options did not round-trip: {row!r} read back as {back!r}"
print("nested options round-trip through generated codecs")
')

echo "== mypy --strict: chat client"
(cd "$root/examples/quickstart-chat/client-python" && "$python" -m mypy --strict --cache-dir "$out/.mypy_cache" .)

echo "== mypy --strict: the end-to-end scripts"
for script in "$root"/sdks/python/e2e/*.py; do
    # Its bindings come from the built views module: tests/e2e/view_clients.rs type-checks it.
    [ "$(basename "$script")" = views_client.py ] && continue
    MYPYPATH="$out/bindings:$sdk" "$python" -m mypy --strict --cache-dir "$out/.mypy_cache" "$script"
done

echo "== pytest"
cd "$root/sdks/python"
"$python" -m pytest -p no:cacheprovider
