#!/usr/bin/env bash
# The TypeScript checks that are not cargo tests:
#   1. builds the SDK (`sdks/typescript`, tsc),
#   2. regenerates the all-features, chat, procedures and views bindings with the real CLI
#      (`spacetime generate --lang typescript --module-def codegen/tests/fixtures/<module>.json`),
#      adds codegen's golden output for procedures with views, and type-checks them all with
#      `tsc --noEmit` under strict settings,
#   3. type-checks the SDK's e2e script and the two TypeScript chat clients,
#   4. runs the SDK's unit tests with node's test runner.
# Exits non-zero on any failure. Needs `npm ci` at the repository root (scripts/install-deps.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/env.sh"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/spacetime-target}"
sdk="$root/sdks/typescript"
tsc="$root/node_modules/.bin/tsc"
[ -x "$tsc" ] || { echo "typescript is not installed: run scripts/install-deps.sh (npm ci at the repository root)" >&2; exit 1; }

echo "== building the TypeScript SDK"
"$tsc" -p "$sdk/tsconfig.json"

echo "== generating the all-features bindings with spacetime generate --lang typescript"
cargo build -q -p spacetime-cli
rm -rf "$sdk/bindings-check"
"$CARGO_TARGET_DIR/debug/spacetime" generate --lang typescript \
    --module-def "$root/codegen/tests/fixtures/all-features.json" --out-dir "$sdk/bindings-check/all-features"
"$CARGO_TARGET_DIR/debug/spacetime" generate --lang typescript --include-private \
    --module-def "$root/codegen/tests/fixtures/all-features.json" --out-dir "$sdk/bindings-check/all-features-private"
"$CARGO_TARGET_DIR/debug/spacetime" generate --lang typescript \
    --module-def "$root/codegen/tests/fixtures/quickstart-chat.json" --out-dir "$sdk/bindings-check/quickstart-chat"
"$CARGO_TARGET_DIR/debug/spacetime" generate --lang typescript \
    --module-def "$root/codegen/tests/fixtures/procedures.json" --out-dir "$sdk/bindings-check/procedures"
"$CARGO_TARGET_DIR/debug/spacetime" generate --lang typescript \
    --module-def "$root/codegen/tests/fixtures/views.json" --out-dir "$sdk/bindings-check/views"
# Procedures with two views added to the definition: codegen's golden copy, which its cargo
# tests keep equal to the generator's output.
cp -r "$root/codegen/tests/golden/typescript/procedures" "$sdk/bindings-check/procedures-views"

echo "== tsc --noEmit on the generated bindings"
"$tsc" -p "$sdk/tsconfig.bindings.json"
echo "tsc: no errors in $(find "$sdk/bindings-check" -name '*.ts' | wc -l) generated files"

echo "== tsc --noEmit on the SDK's end-to-end script (run by the e2e tests)"
rm -rf "$sdk/bindings-e2e"
mkdir -p "$sdk/bindings-e2e"
cp -r "$sdk/bindings-check/all-features" "$sdk/bindings-e2e/all-features"
"$tsc" --noEmit -p "$sdk/tsconfig.e2e.json"

for client in client-typescript client-web; do
    dir="$root/examples/quickstart-chat/$client"
    if [ -f "$dir/tsconfig.json" ]; then
        echo "== tsc --noEmit in examples/quickstart-chat/$client"
        "$tsc" --noEmit -p "$dir/tsconfig.json"
    fi
done

echo "== SDK unit tests (node --test)"
"$tsc" -p "$sdk/tsconfig.test.json"
cd "$sdk"
node --test dist-test/test/
