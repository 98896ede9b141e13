#!/usr/bin/env bash
# Installs what is missing, then runs every test of the project.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"

"$REPO_ROOT/scripts/install-deps.sh"

step() { printf '\n==> %s\n' "$*"; }

step "building the example modules for wasm32"
CARGO_TARGET_DIR="$CARGO_TARGET_DIR/wasm-examples" \
    cargo build --manifest-path examples/Cargo.toml --target wasm32-unknown-unknown --release

step "building the workspace (the spacetime binary is needed by the end-to-end tests)"
cargo build --workspace --all-targets

step "running the tests"
cargo test --workspace --no-fail-fast

# Each client SDK's own tests (unit tests, type checks), one script per language.
for sdk_tests in "$REPO_ROOT"/scripts/test-*.sh; do
    [ -e "$sdk_tests" ] || continue
    step "running $(basename "$sdk_tests")"
    "$sdk_tests"
done
