"""End-to-end check run by ``tests/e2e/view_clients.rs`` against a real server with the
views module (``tests/modules/views``) and bindings generated from it: views as read-only
table handles in the Python SDK.

It subscribes to the keyed per-caller view ``my_player`` and the anonymous view
``expensive_items``; ``set_player`` makes its row appear (``on_insert``, ``find`` by the
key) and then change (``on_update`` with the old and new rows); an expensive item enters
``expensive_items`` (``on_insert``, ``count``) and leaves it when removed
(``on_delete``), while a cheap one never does; a one-off query of a view gives typed rows.
Prints one line per check; exits 1 on the first failure.

Usage: ``python views_client.py --host URL --db NAME`` with the generated bindings
(package ``views``) on ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from views import DbConnection, EventContext, Item, Player

TIMEOUT = 30.0


def check(ok: bool, what: str) -> None:
    if not ok:
        print(f"FAILED: {what}", flush=True)
        sys.exit(1)
    print(what, flush=True)


async def run(host: str, db: str) -> None:
    conn = await DbConnection.builder().with_uri(host).with_database_name(db).build()
    events: list[str] = []

    def player_inserted(ctx: EventContext, row: Player) -> None:
        events.append(f"my_player insert {row.name} {row.score}")

    def player_updated(ctx: EventContext, old: Player, new: Player) -> None:
        events.append(f"my_player update {old.score}->{new.score}")

    def item_inserted(ctx: EventContext, row: Item) -> None:
        events.append(f"expensive_items insert {row.name}")

    def item_deleted(ctx: EventContext, row: Item) -> None:
        events.append(f"expensive_items delete {row.name}")

    conn.db.my_player.on_insert(player_inserted)
    conn.db.my_player.on_update(player_updated)
    conn.db.expensive_items.on_insert(item_inserted)
    conn.db.expensive_items.on_delete(item_deleted)
    handle = conn.subscription_builder().subscribe(["SELECT * FROM my_player", "SELECT * FROM expensive_items"])
    await asyncio.wait_for(handle.applied(), TIMEOUT)
    check(conn.db.my_player.count() == 0 and conn.db.expensive_items.count() == 0, "both views start empty")

    await asyncio.wait_for(conn.reducers.set_player("ada", 5), TIMEOUT)
    check(events == ["my_player insert ada 5"], f"my_player's row arrived through on_insert: {events}")
    found = conn.db.my_player.identity.find(conn.identity)
    check(found is not None and found.score == 5, f"find by the view's primary key: {found}")
    events.clear()
    await asyncio.wait_for(conn.reducers.set_player("ada", 7), TIMEOUT)
    check(events == ["my_player update 5->7"], f"a changed row of the keyed view is one on_update: {events}")
    events.clear()

    await asyncio.wait_for(conn.reducers.add_item("pebble", 3), TIMEOUT)
    await asyncio.wait_for(conn.reducers.add_item("gold", 500), TIMEOUT)
    check(events == ["expensive_items insert gold"], f"only the expensive item entered expensive_items: {events}")
    check(conn.db.expensive_items.count() == 1, "expensive_items holds one row")
    gold = next(iter(conn.db.expensive_items.iter()))
    events.clear()
    await asyncio.wait_for(conn.reducers.remove_item(gold.id), TIMEOUT)
    check(events == ["expensive_items delete gold"], f"a removed item left the view through on_delete: {events}")

    result = await asyncio.wait_for(conn.query("SELECT * FROM my_player"), TIMEOUT)
    rows: list[Player] = result.rows_of(conn.db.my_player)
    check([(r.name, r.score) for r in rows] == [("ada", 7)], f"a one-off query of a view returned typed rows: {rows}")

    await conn.disconnect()
    print("views: OK", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", required=True)
    parser.add_argument("--db", required=True)
    args = parser.parse_args()
    asyncio.run(asyncio.wait_for(run(args.host, args.db), 120))
    return 0


if __name__ == "__main__":
    sys.exit(main())
