"""The quickstart chat's terminal client in Python: connects to the chat database (reusing
the token saved in a credentials file), subscribes to every user and message, prints
other people's messages and who comes online or goes offline as they happen, and turns
each line of standard input into a message, or ``/name X`` into a name change.

It prints one line per event and exits on end of input once every call it made has been
answered, so a script can drive it through pipes; its output matches the Rust client's.

Usage: ``python main.py [--host URL] [--db NAME] [--credentials-dir DIR]`` (defaults:
``http://localhost:3000``, ``quickstart-chat``, ``~/.spacetimedb_client_credentials``).
Regenerate the bindings with
``spacetime generate --lang python --out-dir module_bindings --module-path ../module``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable
from pathlib import Path

from module_bindings import DbConnection, EventContext, Message, RemoteTables, SubscriptionEventContext, User

from spacetime_sdk import (
    Identity,
    InternalError,
    ReducerError,
    SpacetimeError,
    SubscribeAppliedEvent,
)

CREDENTIALS_KEY = "quickstart-chat"
"""The name of this client's credentials file."""

DRAIN_TIMEOUT = 10.0
"""Seconds to wait at end of input for the server to answer the last calls."""


def say(line: str) -> None:
    """Prints one event line, flushed at once so a reader on a pipe sees it immediately."""
    print(line, flush=True)


class Credentials:
    """The token saved between runs, one file per client key."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / CREDENTIALS_KEY

    def load(self) -> str | None:
        """The saved token, or ``None`` on first use."""
        try:
            return self.path.read_text().strip() or None
        except FileNotFoundError:
            return None

    def save(self, token: str) -> None:
        """Saves ``token`` for the next run."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(token)


def unknown(identity: Identity) -> str:
    return identity.to_abbreviated_hex()


def user_name(user: User) -> str:
    return user.name if user.name is not None else unknown(user.identity)


def print_message(db: RemoteTables, message: Message) -> None:
    sender = db.user.identity.find(message.sender)
    say(f"{user_name(sender) if sender is not None else unknown(message.sender)}: {message.text}")


def register_callbacks(conn: DbConnection) -> None:
    def on_user_insert(ctx: EventContext, user: User) -> None:
        if user.online and not isinstance(ctx.event, SubscribeAppliedEvent):
            say(f"User {user_name(user)} connected.")

    def on_user_update(ctx: EventContext, old: User, new: User) -> None:
        if old.name != new.name:
            say(f"User {user_name(old)} renamed to {user_name(new)}.")
        if old.online and not new.online:
            say(f"User {user_name(new)} disconnected.")
        elif new.online and not old.online:
            say(f"User {user_name(new)} connected.")

    def on_message_insert(ctx: EventContext, message: Message) -> None:
        if not isinstance(ctx.event, SubscribeAppliedEvent) and ctx.identity != message.sender:
            print_message(ctx.db, message)

    conn.db.user.on_insert(on_user_insert)
    conn.db.user.on_update(on_user_update)
    conn.db.message.on_insert(on_message_insert)


def on_subscription_applied(ctx: SubscriptionEventContext) -> None:
    """Prints the history, oldest first, then says the client is ready for input."""
    for message in sorted(ctx.db.message.iter(), key=lambda m: m.sent):
        print_message(ctx.db, message)
    say("Fully connected and all subscriptions applied.")
    say("Use /name to set your name, or type a message!")


async def report(what: str, call: Awaitable[object]) -> None:
    """Awaits a reducer call and prints why it failed; a success prints nothing (its
    effects print as row events)."""
    try:
        await call
    except ReducerError as e:
        say(f"Failed to {what}: {e.message}")
    except InternalError as e:
        say(f"Failed to {what}: {e.message}")
    except SpacetimeError as e:
        say(f"Failed to {what}: {e}")


def send_line(conn: DbConnection, line: str) -> asyncio.Task[None] | None:
    """Sends one line of input: ``/name X`` renames, anything else non-empty is a message."""
    if not line:
        return None
    if line == "/name" or line.startswith("/name "):
        call = report("set the name", conn.reducers.set_name(line[len("/name") :].strip()))
    else:
        call = report("send the message", conn.reducers.send_message(line))
    return asyncio.create_task(call)


async def run(host: str, db: str, credentials: Credentials) -> int:
    def on_connect(conn: DbConnection, identity: Identity, token: str) -> None:
        try:
            credentials.save(token)
        except OSError as e:
            print(f"cannot save the token: {e}", file=sys.stderr)
        say(f"Connected as {identity.to_abbreviated_hex()}.")

    def on_disconnect(ctx: object, error: SpacetimeError | None) -> None:
        say("Disconnected." if error is None else f"Disconnected: {error}")

    try:
        conn = await (
            DbConnection.builder()
            .with_uri(host)
            .with_database_name(db)
            .with_token(credentials.load())
            .on_connect(on_connect)
            .on_disconnect(on_disconnect)
            .build()
        )
    except SpacetimeError as e:
        print(f"Error: cannot connect to {db} at {host}: {e}", file=sys.stderr)
        return 1

    register_callbacks(conn)
    conn.subscription_builder().on_applied(on_subscription_applied).on_error(
        lambda ctx, error: print(f"Subscription failed: {error}", file=sys.stderr)
    ).subscribe(["SELECT * FROM user", "SELECT * FROM message"])

    pending: list[asyncio.Task[None]] = []
    while True:
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line:
            break
        task = send_line(conn, line.strip())
        if task is not None:
            pending.append(task)
    if pending:
        _, late = await asyncio.wait(pending, timeout=DRAIN_TIMEOUT)
        if late:
            print(f"Some calls were not answered within {DRAIN_TIMEOUT} s.", file=sys.stderr)
    await conn.disconnect()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description="The quickstart chat's terminal client.")
    parser.add_argument("--host", default="http://localhost:3000")
    parser.add_argument("--db", default="quickstart-chat")
    parser.add_argument("--credentials-dir", type=Path, default=Path.home() / ".spacetimedb_client_credentials")
    args = parser.parse_args()
    return asyncio.run(run(args.host, args.db, Credentials(args.credentials_dir)))


if __name__ == "__main__":
    sys.exit(main())
