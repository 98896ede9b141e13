#!/usr/bin/env bash
# Installs whatever this project needs that the machine lacks. Idempotent: every step
# checks first, so a second run does nothing and needs no network.
set -euo pipefail
source "$(dirname "$0")/env.sh"

step() { printf '==> %s\n' "$*"; }

if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo is not installed. Install Rust with rustup (https://rustup.rs) and run this again." >&2
    exit 1
fi

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    step "adding the wasm32-unknown-unknown target (modules compile to it)"
    rustup target add wasm32-unknown-unknown
fi
