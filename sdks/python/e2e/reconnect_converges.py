"""End-to-end client run by ``tests/e2e/python_reconnect.rs``: a Python client of the
all-features module that survives its server being killed and restarted.

It connects with a reconnect policy, subscribes to ``SELECT * FROM player`` and prints
every row callback (``callback insert ada/1 via applied``) and every change of the
subscription's ``async for`` stream (``stream update ada/1 -> ada/2 via applied``), each
with the event that caused it. The test drives it through stdin, one command a line:

- ``sync``: calls ``count_players`` (which changes nothing) and prints ``synced N`` once
  the result is back; the server answers in order, so every earlier change has printed;
- ``add NAME``: adds a player at level 1 through this client;
- ``dump``: prints the cached players, sorted.

``reconnected`` is printed each time a dropped connection has been resubscribed. At end
of input (or an empty line) it disconnects, waits for the stream to end and exits 0.

Usage: ``python reconnect_converges.py --host URL --db NAME --reconnect-delay SECONDS``
with the generated bindings (package ``all_features``) on ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from all_features import Color, DbConnection, EventContext, Player

from spacetime_sdk import (
    Delete,
    Event,
    Identity,
    Insert,
    ReconnectPolicy,
    ReducerEvent,
    SpacetimeError,
    SubscribeAppliedEvent,
    TransactionEvent,
    UnsubscribeAppliedEvent,
)


def say(line: str) -> None:
    print(line, flush=True)


def show(player: Player) -> str:
    return f"{player.name}/{player.level}"


def cause(event: Event) -> str:
    """A short name for why rows changed."""
    if isinstance(event, ReducerEvent):
        return "reducer"
    if isinstance(event, TransactionEvent):
        return "transaction"
    if isinstance(event, SubscribeAppliedEvent):
        return "applied"
    if isinstance(event, UnsubscribeAppliedEvent):
        return "unsubscribed"
    return "error"


def on_insert(ctx: EventContext, row: Player) -> None:
    say(f"callback insert {show(row)} via {cause(ctx.event)}")


def on_delete(ctx: EventContext, row: Player) -> None:
    say(f"callback delete {show(row)} via {cause(ctx.event)}")


def on_update(ctx: EventContext, old: Player, new: Player) -> None:
    say(f"callback update {show(old)} -> {show(new)} via {cause(ctx.event)}")


async def run(host: str, db: str, reconnect_delay: float) -> None:
    def on_reconnect(conn: DbConnection, identity: Identity, token: str) -> None:
        say("reconnected")

    def on_disconnect(ctx: object, error: SpacetimeError | None) -> None:
        say("disconnected" if error is None else f"disconnected: {error}")

    conn = await (
        DbConnection.builder()
        .with_uri(host)
        .with_database_name(db)
        .with_reconnect(ReconnectPolicy(initial_delay=reconnect_delay, max_delay=reconnect_delay))
        .on_reconnect(on_reconnect)
        .on_disconnect(on_disconnect)
        .build()
    )
    conn.db.player.on_insert(on_insert)
    conn.db.player.on_delete(on_delete)
    conn.db.player.on_update(on_update)
    handle = conn.subscription_builder().subscribe("SELECT * FROM player")

    async def print_stream() -> None:
        async for change in handle:
            if isinstance(change, Insert | Delete):
                kind = "insert" if isinstance(change, Insert) else "delete"
                say(f"stream {kind} {show(change.row)} via {cause(change.event)}")
            else:
                say(f"stream update {show(change.old)} -> {show(change.new)} via {cause(change.event)}")

    stream = asyncio.create_task(print_stream())
    await handle.applied()
    say("applied")

    syncs = 0
    while line := (await asyncio.to_thread(sys.stdin.readline)).strip():
        command, _, arg = line.partition(" ")
        if command == "sync":
            await conn.reducers.count_players(0, 1000, Color.Red)
            syncs += 1
            say(f"synced {syncs}")
        elif command == "add":
            await conn.reducers.add_player(arg, 1, 0, Color.Blue)
        elif command == "dump":
            say("dump " + ", ".join(sorted(show(p) for p in conn.db.player.iter())))
        else:
            say(f"unknown command {line!r}: use sync, add NAME or dump")
    await conn.disconnect()
    await stream


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--reconnect-delay", type=float, required=True)
    args = parser.parse_args()
    asyncio.run(run(args.host, args.db, args.reconnect_delay))
    return 0


if __name__ == "__main__":
    sys.exit(main())
