#!/usr/bin/env bash
# Installs what is missing, then runs every test of the project: formatting and lints
# (rustfmt over the Rust workspaces, clippy with warnings as errors), the Rust
# workspace (unit, integration and end-to-end tests), then each client SDK's own tests
# (`scripts/test-<lang>.sh`). Every suite runs even if an earlier one failed; the last
# line adds up the counts of all of them, and the exit code is non-zero if anything failed.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"

"$REPO_ROOT/scripts/install-deps.sh"
"$REPO_ROOT/scripts/prune-cache.sh"

step() { printf '\n==> %s\n' "$*"; }

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
failed_suites=()

# Runs one suite, showing its output as it goes and keeping a copy for the totals.
suite() {
    local name="$1"
    shift
    step "$name"
    if ! "$@" 2>&1 | tee "$logs/$(printf '%03d' "$(ls "$logs" | wc -l)").log"; then
        failed_suites+=("$name")
    fi
}

suite "rustfmt --check (workspace, examples, test modules, fuzz targets)" bash -c '
    cargo fmt --all --check &&
    cargo fmt --all --check --manifest-path examples/Cargo.toml &&
    cargo fmt --all --check --manifest-path tests/modules/Cargo.toml &&
    cargo fmt --check --manifest-path fuzz/Cargo.toml'

suite "clippy -D warnings" cargo clippy --workspace --all-targets -- -D warnings

suite "building the example modules for wasm32" \
    env CARGO_TARGET_DIR="$CARGO_TARGET_DIR/wasm-examples" \
    cargo build --manifest-path examples/Cargo.toml --target wasm32-unknown-unknown --release

# The spacetime binary must exist before the end-to-end tests start.
suite "building the workspace" cargo build --workspace --all-targets

suite "running the Rust tests" cargo test --workspace --no-fail-fast

for sdk_tests in "$REPO_ROOT"/scripts/test-*.sh; do
    [ -e "$sdk_tests" ] || continue
    suite "running $(basename "$sdk_tests")" "$sdk_tests"
done

# Totals from each runner's own summary lines: cargo's `test result:`, node's test
# runner (`ℹ pass N` / `# pass N`), pytest's closing line, and the plain `N passed, N
# failed` of the C# runner.
read -r passed failed < <(cat "$logs"/*.log | awk '
    /^test result: / { for (i = 1; i <= NF; i++) { if ($(i) ~ /^passed;?$/) p += $(i-1); if ($(i) ~ /^failed;?$/) f += $(i-1) } next }
    /^(ℹ|#) pass [0-9]+$/ { p += $3; next }
    /^(ℹ|#) fail [0-9]+$/ { f += $3; next }
    /^=+ .*(passed|failed).* in [0-9.]+s/ { for (i = 1; i <= NF; i++) { if ($(i) ~ /^passed,?$/) p += $(i-1); if ($(i) ~ /^failed,?$/) f += $(i-1) } next }
    /^[0-9]+ passed, [0-9]+ failed/ { p += $1; f += $3 }
    END { print p + 0, f + 0 }')

echo
if [ "${#failed_suites[@]}" -gt 0 ]; then
    printf 'failed suites: %s\n' "${failed_suites[*]}"
    # A suite that failed without a failing test (a build error, a type check) still counts.
    [ "$failed" -gt 0 ] || failed="${#failed_suites[@]}"
    echo "all: $passed passed, $failed failed"
    exit 1
fi
echo "all: $passed passed, $failed failed"
