#!/usr/bin/env bash
# Installs Spacetime from this checkout:
#   * checks that Rust is there (and says how to get it when it is not),
#   * adds the wasm32-unknown-unknown target modules are built for,
#   * builds the `spacetime` CLI and puts it in <prefix>/bin (default prefix: ~/.local),
#   * copies what `spacetime init` needs to <prefix>/share/spacetime: the module bindings
#     crate (with the crates it is built from), the client SDKs and the project templates.
#
# Usage: ./install.sh [--prefix DIR] [--debug | --bin FILE]
#   --prefix DIR  install into DIR/bin and DIR/share/spacetime instead of ~/.local
#   --debug       build the CLI without optimizations (faster to build, slower to run)
#   --bin FILE    install this already built `spacetime` binary instead of building one
set -euo pipefail

prefix="$HOME/.local"
profile="release"
prebuilt=""
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) [ $# -ge 2 ] || { echo "error: --prefix needs a directory" >&2; exit 2; }; prefix="$2"; shift 2 ;;
        --prefix=*) prefix="${1#--prefix=}"; shift ;;
        --debug) profile="debug"; shift ;;
        --bin) [ $# -ge 2 ] || { echo "error: --bin needs a file" >&2; exit 2; }; prebuilt="$2"; shift 2 ;;
        -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "error: unknown option $1 (see ./install.sh --help)" >&2; exit 2 ;;
    esac
done

repo="$(cd "$(dirname "$0")" && pwd)"
bin_dir="$prefix/bin"
share="$prefix/share/spacetime"

step() { printf '==> %s\n' "$*"; }

if ! command -v cargo >/dev/null 2>&1 || ! command -v rustc >/dev/null 2>&1; then
    cat >&2 <<'EOF'
error: Rust is not installed (no `cargo` or `rustc` on PATH).
Install it with rustup, then run this script again:
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh
    . "$HOME/.cargo/env"
EOF
    exit 1
fi
step "Rust: $(rustc --version)"

sysroot="$(rustc --print sysroot)"
if [ -d "$sysroot/lib/rustlib/wasm32-unknown-unknown" ]; then
    step "the wasm32-unknown-unknown target is installed"
elif command -v rustup >/dev/null 2>&1; then
    step "adding the wasm32-unknown-unknown target (modules are built for it)"
    rustup target add wasm32-unknown-unknown
else
    echo "error: the wasm32-unknown-unknown target is missing for $sysroot and rustup is not there to add it;" >&2
    echo "install the target for your toolchain (with rustup: rustup target add wasm32-unknown-unknown)" >&2
    exit 1
fi

if [ -n "$prebuilt" ]; then
    [ -x "$prebuilt" ] || { echo "error: --bin $prebuilt is not an executable file" >&2; exit 1; }
    binary="$prebuilt"
else
    step "building the spacetime CLI ($profile)"
    if [ "$profile" = "release" ]; then
        cargo build --manifest-path "$repo/Cargo.toml" -p spacetime-cli --release
    else
        cargo build --manifest-path "$repo/Cargo.toml" -p spacetime-cli
    fi
    binary="${CARGO_TARGET_DIR:-$repo/target}/$profile/spacetime"
fi
mkdir -p "$bin_dir"
# Copy, then rename: replacing a running binary in place would fail with "text file busy".
cp "$binary" "$bin_dir/.spacetime.new"
mv -f "$bin_dir/.spacetime.new" "$bin_dir/spacetime"
step "installed $bin_dir/spacetime"

step "copying the bindings, the SDKs and the templates to $share"
rm -rf "$share.new"
mkdir -p "$share.new"
copy() {
    # Sources only: no build output, no installed packages, no caches.
    (cd "$repo" && tar --exclude=target --exclude=node_modules --exclude=__pycache__ --exclude=dist-test --exclude=dist-e2e \
        --exclude='*.egg-info' --exclude=bin --exclude=obj -cf - "$@") | (cd "$share.new" && tar -xf -)
}
copy bindings macros sats protocol sdks templates rustfmt.toml Cargo.lock LICENSE-MIT LICENSE-APACHE
# The TypeScript SDK ships built (`npm install <share>/sdks/typescript` then needs no
# TypeScript of its own), with its one runtime dependency, when this checkout's npm
# workspace is installed (`npm ci` at the repository root); otherwise it is left as source.
if command -v node >/dev/null 2>&1 && [ -f "$repo/node_modules/typescript/bin/tsc" ]; then
    step "building the TypeScript SDK"
    # Straight into the copy: the checkout is left as it is (and concurrent installs do
    # not write the same files).
    rm -rf "$share.new/sdks/typescript/dist"
    node "$repo/node_modules/typescript/bin/tsc" -p "$repo/sdks/typescript/tsconfig.json" \
        --outDir "$share.new/sdks/typescript/dist"
    mkdir -p "$share.new/sdks/typescript/node_modules"
    (cd "$repo/node_modules" && tar -cf - ws) | (cd "$share.new/sdks/typescript/node_modules" && tar -xf -)
fi
# A workspace of just the copied crates, so `bindings` builds with its path dependencies.
{
    printf '# The crates `spacetime init` projects depend on (copied by install.sh).\n'
    printf '[workspace]\nresolver = "2"\nmembers = ["sats", "macros", "bindings", "protocol", "sdks/rust"]\n\n'
    sed -n '/^\[workspace\.package\]/,$p' "$repo/Cargo.toml"
} >"$share.new/Cargo.toml"
printf '%s\n' "$repo" >"$share.new/SOURCE"
rm -rf "$share"
mv "$share.new" "$share"

case ":$PATH:" in
    *":$bin_dir:"*) ;;
    *) printf '\nNote: %s is not on your PATH. Add it, e.g.:\n    export PATH="%s:$PATH"\n' "$bin_dir" "$bin_dir" ;;
esac
printf '\nDone. Next:\n    spacetime version\n    spacetime start &\n    spacetime init my-project && cd my-project && spacetime publish\n'
