#!/usr/bin/env bash
# Installs whatever this project needs that the machine lacks. Idempotent: every step
# checks first, so a second run does nothing and needs no network.
#
#   Rust      the wasm32-unknown-unknown target (modules compile to it)
#   Debian    Mono (mcs, mono and the class libraries the C# SDK uses), Chromium
#             (browser tests), systemd (`systemd-analyze verify` checks the unit in
#             packaging/), python3-yaml (reads docker-compose.yml in a test),
#             postgresql-client (psql against --pg-port in a test), etcd (the
#             replicated log's tests run a 3-member cluster) and protoc with its
#             well-known types (the etcd client's build script), through apt-get, when
#             missing
#   Node      `npm ci` in every directory of the repository with a package-lock.json,
#             when its lock file changed since the last install
#   Python    a virtual environment ($SPACETIME_VENV) with the Python SDK installed
#             editable plus its dev tools, when sdks/python/pyproject.toml changed
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"

step() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# --- Rust ---------------------------------------------------------------------------
command -v cargo >/dev/null 2>&1 ||
    die "cargo is not installed. Install Rust with rustup (https://rustup.rs) and run this again."
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    step "adding the wasm32-unknown-unknown target (modules compile to it)"
    rustup target add wasm32-unknown-unknown
fi
# scripts/test.sh checks formatting and lints.
for component in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
        step "adding the $component component (the test script checks formatting and lints)"
        rustup component add "$component"
    fi
done

# --- Debian packages ------------------------------------------------------------------
# Each entry: a file that proves the package is installed, then the package.
debian_packages=(
    /usr/bin/mcs:mono-mcs
    /usr/bin/mono:mono-runtime
    /usr/lib/mono/4.5/System.dll:libmono-system4.0-cil
    /usr/lib/mono/4.5/System.Core.dll:libmono-system-core4.0-cil
    /usr/lib/mono/4.5/System.Numerics.dll:libmono-system-numerics4.0-cil
    /usr/lib/mono/4.5/System.IO.Compression.dll:libmono-system-io-compression4.0-cil
    /usr/bin/chromium:chromium
    /usr/bin/systemd-analyze:systemd
    /usr/lib/python3/dist-packages/yaml/__init__.py:python3-yaml
    /usr/bin/psql:postgresql-client
    /usr/bin/etcd:etcd-server
    /usr/bin/protoc:protobuf-compiler
    /usr/include/google/protobuf/descriptor.proto:libprotobuf-dev
)
missing=()
for entry in "${debian_packages[@]}"; do
    [ -e "${entry%%:*}" ] || missing+=("${entry#*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
    command -v apt-get >/dev/null 2>&1 ||
        die "these Debian packages are missing and apt-get is not available: ${missing[*]}. Install them (or their equivalents) and run this again."
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || die "installing ${missing[*]} needs root: run this script as root or install sudo."
        sudo=(sudo)
    fi
    step "installing Debian packages: ${missing[*]}"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- Node -----------------------------------------------------------------------------
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
    die "Node.js 20 or newer with npm is required (the TypeScript SDK and its tests). Install it and run this again."
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "Node.js $(node --version) is too old: version 20 or newer is required."
while IFS= read -r lock; do
    dir="$(dirname "$lock")"
    stamp="$dir/node_modules/.spacetime-installed"
    if [ ! -e "$stamp" ] || [ "$lock" -nt "$stamp" ] || [ "$dir/package.json" -nt "$stamp" ]; then
        step "installing npm packages in $dir"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
        touch "$stamp"
    fi
done < <(git ls-files -- 'package-lock.json' '*/package-lock.json')

# --- Python ---------------------------------------------------------------------------
command -v python3 >/dev/null 2>&1 || die "Python 3.11 or newer is required (the Python SDK). Install it and run this again."
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    die "Python $(python3 --version) is too old: 3.11 or newer is required."
if [ -e sdks/python/pyproject.toml ]; then
    stamp="$SPACETIME_VENV/.spacetime-installed"
    if [ ! -x "$SPACETIME_VENV/bin/python" ]; then
        step "creating the Python virtual environment $SPACETIME_VENV"
        python3 -m venv "$SPACETIME_VENV"
    fi
    # The install is editable, so it points at one checkout: the stamp names that checkout,
    # and another checkout sharing the venv installs itself again.
    if [ ! -e "$stamp" ] || [ sdks/python/pyproject.toml -nt "$stamp" ] || [ "$(cat "$stamp")" != "$REPO_ROOT" ]; then
        step "installing the Python SDK and its dev tools into $SPACETIME_VENV"
        "$SPACETIME_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e 'sdks/python[dev]'
        printf '%s' "$REPO_ROOT" > "$stamp"
    fi
    # The SDK's runtime dependency and its build backend as wheels, so tests can
    # `pip install` the SDK into a fresh environment as its README says, offline
    # (--no-index --find-links).
    wheelhouse="$SPACETIME_VENV/wheelhouse"
    if [ ! -e "$wheelhouse/.complete" ]; then
        step "downloading the Python SDK's dependencies into $wheelhouse"
        "$SPACETIME_VENV/bin/python" -m pip download --quiet --disable-pip-version-check --dest "$wheelhouse" 'websockets>=13' 'setuptools>=64' wheel
        touch "$wheelhouse/.complete"
    fi
fi
