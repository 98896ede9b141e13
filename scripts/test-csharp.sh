#!/usr/bin/env bash
# The C# checks that cargo does not run: compiles the SDK (sdks/csharp) with Mono's mcs,
# warnings as errors; compiles and runs its unit tests on mono (among them the shared BSATN,
# message and behaviour vectors; the runner's last line is "N passed, N failed"); then
# generates the all-features, quickstart-chat and procedures bindings with `spacetime generate
# --lang csharp` and compiles them against the SDK, warnings as errors, and compiles the console
# chat client and the procedures end-to-end program against them. Exits non-zero on any failure.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/spacetime-target}"
out="$CARGO_TARGET_DIR/csharp"
rm -rf "$out"
mkdir -p "$out"
refs=(-r:System.Numerics.dll -r:System.IO.Compression.dll)
sdk_src=("$root"/sdks/csharp/src/*.cs)

echo "== mcs: SDK library"
mcs -target:library -warnaserror+ -doc:"$out/SpacetimeDB.ClientSDK.xml" "${refs[@]}" \
    -out:"$out/SpacetimeDB.ClientSDK.dll" "${sdk_src[@]}"

echo "== mcs: SDK unit tests"
# Compiled together with the SDK's sources, so tests can reach its internals.
mcs -warnaserror+ "${refs[@]}" -out:"$out/SpacetimeDB.Tests.exe" "${sdk_src[@]}" "$root"/sdks/csharp/tests/*.cs

echo "== generated bindings"
cargo build -q -p spacetime-cli
spacetime="$CARGO_TARGET_DIR/debug/spacetime"
for module in all-features quickstart-chat procedures; do
    "$spacetime" generate --lang csharp --out-dir "$out/bindings-$module" \
        --module-def "$root/codegen/tests/fixtures/$module.json" --include-private >/dev/null
    mcs -target:library -warnaserror+ "${refs[@]}" -r:"$out/SpacetimeDB.ClientSDK.dll" \
        -out:"$out/bindings-$module.dll" $(find "$out/bindings-$module" -name '*.cs' | sort)
    echo "compiled $(find "$out/bindings-$module" -name '*.cs' | wc -l) generated files of $module"
done

echo "== mcs: console chat client"
client="$root/examples/quickstart-chat/client-csharp"
mcs -warnaserror+ "${refs[@]}" -r:"$out/SpacetimeDB.ClientSDK.dll" -out:"$out/quickstart-chat-client.exe" \
    $(find "$client" -name '*.cs' | sort)

echo "== mcs: the procedures end-to-end program"
mcs -warnaserror+ "${refs[@]}" -r:"$out/SpacetimeDB.ClientSDK.dll" -r:"$out/bindings-procedures.dll" \
    -out:"$out/ProceduresAndQueries.exe" "$root/sdks/csharp/e2e/ProceduresAndQueries.cs"

echo "== mono: SDK unit tests"
SPACETIME_REPO="$root" mono "$out/SpacetimeDB.Tests.exe"
