#!/usr/bin/env bash
# Installs what is missing, starts a local server, publishes the quickstart chat module,
# and runs two of its Rust terminal clients against it: Bob listens while Alice sets her
# name and sends messages, then SQL and the module logs show the same data.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"

"$REPO_ROOT/scripts/install-deps.sh"

step() { printf '\n==> %s\n' "$*"; }

step "building the spacetime CLI"
cargo build -p spacetime-cli
spacetime="$CARGO_TARGET_DIR/debug/spacetime"

work="$(mktemp -d)"
config="$work/cli.toml"
server_log="$work/server.log"
cleanup() {
    [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

step "starting a server (data in $work/data)"
"$spacetime" --config-path "$config" start --data-dir "$work/data" --listen-addr 127.0.0.1:0 >"$server_log" 2>&1 &
server_pid=$!
addr=""
for _ in $(seq 1 300); do
    addr="$(sed -n 's/.*Starting SpacetimeDB listening on \([0-9.:]*\).*/\1/p' "$server_log" | head -n1)"
    [ -n "$addr" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$server_log" >&2; echo "error: the server exited" >&2; exit 1; }
    sleep 0.1
done
[ -n "$addr" ] || { cat "$server_log" >&2; echo "error: the server did not start within 30 s" >&2; exit 1; }
url="http://$addr"
echo "server listening on $url"
st() { "$spacetime" --config-path "$config" "$@"; }

step "publishing examples/quickstart-chat/module as 'quickstart-chat'"
st publish --server "$url" --yes --module-path examples/quickstart-chat/module quickstart-chat

step "building the Rust chat client (examples/quickstart-chat/client-rust)"
CARGO_TARGET_DIR="$HOME/.cache/spacetime-target/native-examples" \
    cargo build --manifest-path examples/Cargo.toml -p quickstart-chat-client
client="$HOME/.cache/spacetime-target/native-examples/debug/quickstart-chat-client"

step "Bob joins and listens; Alice sets her name and sends two messages"
mkfifo "$work/bob.in"
"$client" --host "$url" --credentials-dir "$work/bob" <"$work/bob.in" >"$work/bob.out" 2>&1 &
bob_pid=$!
exec 3>"$work/bob.in"
echo "/name Bob" >&3
printf '/name Alice\nHello from Alice!\nSpacetime is running.\n' |
    "$client" --host "$url" --credentials-dir "$work/alice"
for _ in $(seq 1 100); do
    grep -q "Spacetime is running." "$work/bob.out" && break
    sleep 0.1
done
exec 3>&-
wait "$bob_pid" || true
echo "--- what Bob's client printed ---"
cat "$work/bob.out"

step "the same data through SQL"
st sql --server "$url" quickstart-chat "SELECT * FROM message"
st sql --server "$url" quickstart-chat "SELECT name, online FROM user"

step "module logs"
st logs --server "$url" quickstart-chat -n 20
