"""End-to-end check run by ``tests/e2e/procedure_clients.rs`` against a real server with the
procedures module (``tests/modules/procedures``) and bindings generated from it: typed
procedure calls and one-off queries through the Python SDK.

It calls ``add`` and gets the sum back as an ``int``; calls ``fetch_and_store`` on a URL
of a tiny HTTP server this script runs on loopback (the server runs with
``--allow-private-http``) and checks that the row the procedure wrote with ``with_tx``
reached the subscription's ``on_insert`` before the call returned the body; checks that
``panic_in_tx`` raises ``ProcedureError`` with the panic's text; then runs one-off queries:
whole rows of ``bumped`` come back typed, a projection raw, and a bad query raises
``QueryError``. Prints one line per check; exits 1 on the first failure.

With ``--drop`` it instead calls ``fetch_and_store`` on a URL its HTTP server never
answers, prints ``the procedure is fetching`` once the server's request arrives (the test
then kills the server) and checks that the call raises ``ConnectionLostError``.

Usage: ``python procedures_and_queries.py --host URL --db NAME [--drop]`` with the generated
bindings (package ``procedures``) on ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from procedures import Bumped, DbConnection, EventContext, Fetched

from spacetime_sdk import ConnectionLostError, ProcedureError, QueryError

TIMEOUT = 30.0
BODY = "hello from the Python client's HTTP server"


async def serve_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers any request with :data:`BODY`, except ``/held``, which it never answers."""
    request_line = await reader.readline()
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    if b" /held " in request_line:
        print("the procedure is fetching", flush=True)
        await asyncio.Event().wait()
    body = BODY.encode()
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body))
    await writer.drain()
    writer.close()


def check(ok: bool, what: str) -> None:
    if not ok:
        print(f"FAILED: {what}", flush=True)
        sys.exit(1)
    print(what, flush=True)


async def drop(conn: DbConnection, port: int) -> None:
    """A procedure waiting on the server when the connection drops fails with
    ``ConnectionLostError``."""
    try:
        await asyncio.wait_for(conn.procedures.fetch_and_store(f"http://127.0.0.1:{port}/held"), 60)
        check(False, "the call failed when the connection dropped")
    except ConnectionLostError as e:
        check("fetch_and_store" in str(e), f"the waiting call raised ConnectionLostError: {e}")


async def run(host: str, db: str, dropping: bool) -> None:
    http = await asyncio.start_server(serve_http, "127.0.0.1", 0)
    port = http.sockets[0].getsockname()[1]
    conn = await DbConnection.builder().with_uri(host).with_database_name(db).build()
    if dropping:
        await drop(conn, port)
        return

    total: int = await asyncio.wait_for(conn.procedures.add(2, 40), TIMEOUT)
    check(total == 42 and isinstance(total, int), f"add(2, 40) returned {total!r}")

    handle = conn.subscription_builder().subscribe("SELECT * FROM fetched")
    await asyncio.wait_for(handle.applied(), TIMEOUT)
    seen: list[str] = []
    call = asyncio.ensure_future(conn.procedures.fetch_and_store(f"http://127.0.0.1:{port}/hello"))

    def on_insert(ctx: EventContext, row: Fetched) -> None:
        seen.append(f"{row.body} {'after' if call.done() else 'before'} the value")

    conn.db.fetched.on_insert(on_insert)
    body = await asyncio.wait_for(call, TIMEOUT)
    check(body == BODY, f"fetch_and_store returned the body: {body!r}")
    check(seen == [f"{BODY} before the value"], f"its with_tx row reached on_insert first: {seen!r}")
    count = await asyncio.wait_for(conn.procedures.count_fetched(), TIMEOUT)
    check(count == 1, f"count_fetched returned {count}")

    try:
        await asyncio.wait_for(conn.procedures.panic_in_tx(), TIMEOUT)
        check(False, "panic_in_tx raised")
    except ProcedureError as e:
        check("boom inside with_tx" in e.message, f"panic_in_tx raised ProcedureError: {e}")
    check(conn.db.fetched.count() == 1, "the panicking procedure's row was rolled back")

    await asyncio.wait_for(conn.reducers.bump(7), TIMEOUT)
    await asyncio.wait_for(conn.reducers.bump(9), TIMEOUT)
    whole = await asyncio.wait_for(conn.query("SELECT * FROM bumped"), TIMEOUT)
    rows: list[Bumped] = whole.rows_of(conn.db.bumped)
    check(
        sorted(r.by for r in rows) == [7, 9] and all(isinstance(r, Bumped) for r in rows),
        f"a one-off query returned typed rows: {sorted(rows, key=lambda r: r.by)}",
    )
    check(conn.db.bumped.count() == 0, "and did not touch the cache")
    projected = await asyncio.wait_for(conn.query("SELECT id FROM bumped"), TIMEOUT)
    table = projected.table("bumped")
    check(
        table is not None and table.rows is None and [len(r) for r in table.raw_rows] == [8, 8],
        "a projection came back as raw rows (two u64 ids)",
    )
    try:
        await asyncio.wait_for(conn.query("SELECT * FROM no_such_table"), TIMEOUT)
        check(False, "a bad query raised")
    except QueryError as e:
        check("no_such_table" in e.message, f"a bad query raised QueryError: {e.message}")

    await conn.disconnect()
    http.close()
    print("procedures and queries: OK", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--drop", action="store_true")
    args = parser.parse_args()
    asyncio.run(asyncio.wait_for(run(args.host, args.db, args.drop), 120))
    return 0


if __name__ == "__main__":
    sys.exit(main())
