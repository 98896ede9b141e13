"""A terminal chat client: connects to the database, prints the messages other people send
as they arrive, and sends each line you type (``/name X`` sets your name). It exits at the
end of input once the server has answered every line.

Usage: ``python main.py [--host URL] [--db NAME]`` (defaults: http://localhost:3000 and the
project's database). Needs the SDK: ``pip install ~/.local/share/spacetime/sdks/python``.
Regenerate ``module_bindings`` after changing the module with ``spacetime generate`` in the
project directory.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable

from module_bindings import DbConnection, EventContext, Message, SubscriptionEventContext

from spacetime_sdk import Identity, SpacetimeError, SubscribeAppliedEvent


def say(line: str) -> None:
    """Prints a line at once, so a reader on a pipe sees it immediately."""
    print(line, flush=True)


def on_message(ctx: EventContext, message: Message) -> None:
    # Messages of the initial subscription are history; print only new ones of others.
    if isinstance(ctx.event, SubscribeAppliedEvent) or ctx.identity == message.sender:
        return
    sender = ctx.db.user.identity.find(message.sender)
    name = sender.name if sender is not None and sender.name is not None else message.sender.to_abbreviated_hex()
    say(f"{name}: {message.text}")


def on_applied(ctx: SubscriptionEventContext) -> None:
    say("Ready: type a message, or /name <name>.")


async def report(call: Awaitable[object]) -> None:
    try:
        await call
    except SpacetimeError as e:
        say(f"Failed: {e}")


async def run(host: str, db: str) -> int:
    def on_connect(conn: DbConnection, identity: Identity, token: str) -> None:
        say(f"Connected as {identity.to_abbreviated_hex()}.")

    try:
        conn = await DbConnection.builder().with_uri(host).with_database_name(db).on_connect(on_connect).build()
    except SpacetimeError as e:
        print(f"Error: cannot connect to {db} at {host}: {e}", file=sys.stderr)
        return 1
    conn.db.message.on_insert(on_message)
    conn.subscription_builder().on_applied(on_applied).subscribe(["SELECT * FROM user", "SELECT * FROM message"])

    pending: list[asyncio.Task[None]] = []
    while line := (await asyncio.to_thread(sys.stdin.readline)):
        line = line.strip()
        if not line:
            continue
        if line.startswith("/name "):
            call = conn.reducers.set_name(line[len("/name ") :].strip())
        else:
            call = conn.reducers.send_message(line)
        pending.append(asyncio.create_task(report(call)))
    if pending:
        _, late = await asyncio.wait(pending, timeout=10)
        if late:
            print("The server did not answer every line within 10 s.", file=sys.stderr)
    await conn.disconnect()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description="A terminal chat client.")
    parser.add_argument("--host", default="http://localhost:3000")
    parser.add_argument("--db", default="{{database}}")
    args = parser.parse_args()
    return asyncio.run(run(args.host, args.db))


if __name__ == "__main__":
    sys.exit(main())
