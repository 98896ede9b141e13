"""End-to-end check run by ``tests/e2e/python_every_type.rs`` against a real server with the
all-features module: every column type survives a reducer call and a subscription.

It builds ``EveryType`` rows with extreme values of every type, sends each through the
reducer ``insert_every_type_row``, reads it back from the subscription cache (and from the
subscription's ``async for`` stream), and compares field by field. It also checks that a
failing reducer raises ``ReducerError`` with the module's message and that a unique-column
``find``, a primary-key ``on_update`` and the ``ReducerEvent`` a reducer call returns
work. Prints one line per check; exits 1 on the
first mismatch.

Usage: ``python every_type_roundtrip.py --host URL --db NAME`` with the generated bindings
(package ``all_features``) on ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import math
import sys

from all_features import (
    Color,
    DbConnection,
    EventContext,
    EveryType,
    LevelUpArgs,
    Player,
    Point,
    ShapeCircle,
    ShapeEmpty,
    ShapePolygon,
)

from spacetime_sdk import (
    Committed,
    ConnectionId,
    Identity,
    Insert,
    ReducerError,
    ReducerEvent,
    TimeDuration,
    Timestamp,
    Uuid,
)

TIMEOUT = 30.0
F32_MAX = 3.4028234663852886e38
"""The largest f32, exactly representable, so it reads back unchanged."""


def extreme_rows() -> list[EveryType]:
    """Rows at the top and bottom of every type's range, plus empties and specials."""
    top = EveryType(
        id=0,
        a_u_8=2**8 - 1,
        a_u_16=2**16 - 1,
        a_u_32=2**32 - 1,
        a_u_64=2**64 - 1,
        a_u_128=2**128 - 1,
        a_u_256=2**256 - 1,
        a_i_8=2**7 - 1,
        a_i_16=2**15 - 1,
        a_i_32=2**31 - 1,
        a_i_64=2**63 - 1,
        a_i_128=2**127 - 1,
        a_i_256=2**255 - 1,
        a_f_32=F32_MAX,
        a_f_64=1.7976931348623157e308,
        a_bool=True,
        a_string="top: h\u00e9llo, \u4e16\u754c \U0001f680 \"quoted\" \\ \n\t\x00",
        a_bytes=bytes(range(256)),
        an_option="some text",
        an_identity=Identity(2**256 - 1),
        a_connection_id=ConnectionId(2**128 - 1),
        a_timestamp=Timestamp(2**63 - 1),
        a_time_duration=TimeDuration(2**63 - 1),
        a_uuid=Uuid(2**128 - 1),
        a_point=Point(x=math.inf, y=5e-324),
        a_color=Color.Blue,
        a_shape=ShapePolygon([Point(1.5, -2.5), Point(1e300, -1e-300)]),
    )
    bottom = EveryType(
        id=0,
        a_u_8=0,
        a_u_16=0,
        a_u_32=0,
        a_u_64=0,
        a_u_128=0,
        a_u_256=0,
        a_i_8=-(2**7),
        a_i_16=-(2**15),
        a_i_32=-(2**31),
        a_i_64=-(2**63),
        a_i_128=-(2**127),
        a_i_256=-(2**255),
        a_f_32=-F32_MAX,
        a_f_64=-1.7976931348623157e308,
        a_bool=False,
        a_string="bottom",
        a_bytes=b"",
        an_option=None,
        an_identity=Identity(0),
        a_connection_id=ConnectionId(0),
        a_timestamp=Timestamp(-(2**63)),
        a_time_duration=TimeDuration(-(2**63)),
        a_uuid=Uuid(0),
        a_point=Point(x=-math.inf, y=-0.0),
        a_color=Color.Red,
        a_shape=ShapeCircle(-F32_MAX),
    )
    middle = dataclasses.replace(
        bottom,
        a_string="",
        an_option="",
        a_color=Color.Green,
        a_shape=ShapeEmpty(),
        a_bytes=b"\x00",
        a_timestamp=Timestamp(1_700_000_000_123_456),
        a_uuid=Uuid.parse("01020304-0506-0708-090a-0b0c0d0e0f10"),
    )
    return [top, bottom, middle]


def same(a: object, b: object) -> bool:
    """Equal, with floats compared bit-exactly in spirit (sign of zero included)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if dataclasses.is_dataclass(a) and dataclasses.is_dataclass(b) and type(a) is type(b):
        return all(same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def fail(message: str) -> None:
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


async def run(host: str, db: str) -> None:
    conn = await DbConnection.builder().with_uri(host).with_database_name(db).build()
    print(f"connected as {conn.identity.to_abbreviated_hex()}", flush=True)

    inserted: asyncio.Queue[EveryType] = asyncio.Queue()

    def on_insert(ctx: EventContext, row: EveryType) -> None:
        if isinstance(ctx.event, ReducerEvent):
            inserted.put_nowait(row)

    conn.db.every_type.on_insert(on_insert)
    handle = conn.subscription_builder().subscribe(["SELECT * FROM every_type", "SELECT * FROM player"])
    stream = handle.changes()
    await asyncio.wait_for(handle.applied(), TIMEOUT)

    for sent in extreme_rows():
        await asyncio.wait_for(conn.reducers.insert_every_type_row(sent), TIMEOUT)
        # The row callback ran before the call returned.
        got = inserted.get_nowait()
        cached = conn.db.every_type.id.find(got.id)
        if cached is None or not same(cached, got):
            fail(f"row {got.id} is not in the cache as its insert callback saw it")
        for field in dataclasses.fields(EveryType):
            if field.name == "id":
                continue
            want, have = getattr(sent, field.name), getattr(got, field.name)
            if not same(want, have):
                fail(f"{field.name}: sent {want!r}, read back {have!r}")
        change = await asyncio.wait_for(anext(stream), TIMEOUT)
        if not isinstance(change, Insert) or change.table != "every_type" or not same(change.row, got):
            fail(f"the subscription stream reported {change!r} for row {got.id}")
        print(f"every_type row {got.id}: all {len(dataclasses.fields(EveryType)) - 1} columns round-tripped", flush=True)

    try:
        await conn.reducers.add_player("", 1, 0, Color.Red)
    except ReducerError as e:
        if e.message != "player names must not be empty":
            fail(f"add_player failed with an unexpected message: {e.message!r}")
        print(f"a failing reducer raises: {e}", flush=True)
    else:
        fail("add_player with an empty name did not raise ReducerError")

    updates: list[tuple[Player, Player]] = []
    conn.db.player.on_update(lambda ctx, old, new: updates.append((old, new)))
    await conn.reducers.add_player("ada", 1, -(2**63), Color.Green)
    before = Timestamp.now()
    event = await conn.reducers.level_up("ada")
    ada = conn.db.player.name.find("ada")
    if ada is None or ada.level != 2 or updates != [(dataclasses.replace(ada, level=1), ada)]:
        fail(f"level_up: find gave {ada!r}, on_update saw {updates!r}")
    print("player ada: unique find and on_update", flush=True)
    # The call returns its event, typed by the reducer's arguments class.
    args: LevelUpArgs = event.reducer
    if args != LevelUpArgs("ada") or not isinstance(event.status, Committed):
        fail(f"level_up returned {event!r}")
    # The server's clock and ours may differ a little; a minute is far beyond that.
    if abs(event.timestamp.micros_since_unix_epoch - before.micros_since_unix_epoch) > 60_000_000:
        fail(f"level_up ran at {event.timestamp}, but it was called at {before}")
    print("level_up returned its committed ReducerEvent", flush=True)

    handle.unsubscribe()
    await asyncio.wait_for(handle.ended(), TIMEOUT)
    if conn.db.every_type.count() != 0:
        fail("rows remain after unsubscribing")
    await conn.disconnect()
    print("every_type round trip: OK", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", required=True)
    parser.add_argument("--db", required=True)
    args = parser.parse_args()
    asyncio.run(asyncio.wait_for(run(args.host, args.db), 120))
    return 0


if __name__ == "__main__":
    sys.exit(main())
