# Shared settings for the project scripts. Sourced, not run.
#
# Builds go to a persistent directory outside the checkout so a fresh clone (and CI)
# reuses what an earlier run compiled. Module builds (wasm32) get their own target
# directories under it, so they never wait on the outer cargo's lock.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/spacetime-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_ROOT

# The Python SDK and its dev tools (pytest, mypy) live in a virtual environment kept with
# the build cache; scripts run its python first.
export SPACETIME_VENV="${SPACETIME_VENV:-$HOME/.cache/spacetime-venv}"
export PATH="$SPACETIME_VENV/bin:$PATH"

# CI builds each clean clone once: incremental-compilation caches (tens of GiB across
# runs) would only fill the disk.
if [ -n "${CI:-}" ]; then
    export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
fi
