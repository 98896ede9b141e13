#!/usr/bin/env bash
# Keeps the shared build cache ($CARGO_TARGET_DIR, outside the checkout) from growing
# without bound: every change to a workspace crate links new test and binary executables
# (hundreds of MiB each) next to the old ones, and cargo never deletes the old ones. This
# keeps the two newest executables of each name in every `deps` directory of the cache,
# and drops incremental-compilation caches when CI is set (CI builds each clone once).
# Then it says how much disk is free, and warns when a full test run may not fit.
#
# Usage: scripts/prune-cache.sh   (sourcing scripts/env.sh first is not needed)
set -euo pipefail
source "$(dirname "$0")/env.sh"

# Free space (GiB) below which a full test run (module, client and SDK builds) may fail
# with "No space left on device" part-way.
min_free_gib=12

[ -d "$CARGO_TARGET_DIR" ] || exit 0

removed=0
while IFS= read -r -d '' deps; do
    # Executables are the files with no extension; their names end in -<16 hex digits>.
    while IFS= read -r stem; do
        while IFS= read -r old; do
            rm -f -- "$deps/$old"
            removed=$((removed + 1))
        done < <(cd "$deps" && ls -t -- | grep -E "^${stem}-[0-9a-f]{16}\$" | tail -n +3)
    done < <(cd "$deps" && ls -- | grep -E '^[A-Za-z0-9_]+-[0-9a-f]{16}$' | sed -E 's/-[0-9a-f]{16}$//' | sort -u)
done < <(find "$CARGO_TARGET_DIR" -maxdepth 4 -type d -name deps -print0)

if [ -n "${CI:-}" ]; then
    find "$CARGO_TARGET_DIR" -maxdepth 3 -type d -name incremental -prune -exec rm -rf {} +
fi

free_gib=$(($(df --output=avail -k "$CARGO_TARGET_DIR" | tail -n 1) / 1024 / 1024))
printf '==> build cache %s: removed %d stale executables; %d GiB free\n' "$CARGO_TARGET_DIR" "$removed" "$free_gib"
if [ "$free_gib" -lt "$min_free_gib" ]; then
    printf 'warning: only %d GiB free on the disk of %s; a full test run needs about %d GiB.\n' \
        "$free_gib" "$CARGO_TARGET_DIR" "$min_free_gib" >&2
    printf '         Free some space, or delete the cache (it is rebuilt): rm -rf %s\n' "$CARGO_TARGET_DIR" >&2
fi
