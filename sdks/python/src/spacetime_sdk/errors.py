"""The exceptions the SDK raises: one base class, :class:`SpacetimeError`, and a subclass
per kind of failure, each with a message that names what went wrong; and
:func:`run_callback`, which keeps an exception in user code from escaping into the SDK."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("spacetime_sdk")


def run_callback(what: str, callback: Callable[..., None], *args: Any) -> None:
    """Runs a user callback; an exception in it is logged, never allowed to break the
    connection or the dispatch of the other callbacks."""
    try:
        callback(*args)
    except Exception:  # noqa: BLE001 - user code
        log.exception("a %s callback raised", what)


class SpacetimeError(Exception):
    """Base class of every error the SDK raises on purpose."""


class ConfigError(SpacetimeError):
    """The builder was given a bad or missing setting."""


class ConnectError(SpacetimeError):
    """The connection could not be established, or the server refused it."""


class DisconnectedError(SpacetimeError):
    """The connection has ended; nothing more can be sent on it."""


class ReducerError(SpacetimeError):
    """A reducer ran and returned an error: ``message`` is what it returned."""

    def __init__(self, reducer: str, message: str) -> None:
        super().__init__(f"reducer `{reducer}` failed: {message}")
        self.reducer = reducer
        self.message = message


class InternalError(SpacetimeError):
    """A reducer call failed outside the reducer's own logic: it panicked, did not exist,
    got arguments of the wrong types, ran out of energy, or the connection dropped before
    its result came back."""

    def __init__(self, reducer: str, message: str) -> None:
        super().__init__(f"reducer `{reducer}` failed in the host: {message}")
        self.reducer = reducer
        self.message = message


class ConnectionLostError(DisconnectedError):
    """The connection dropped while a request waited for its answer (a procedure's result
    or a one-off query's rows): the request may or may not have run. With a reconnect
    policy the connection itself goes on; only this request is given up."""


class ProcedureError(SpacetimeError):
    """A procedure call failed: it panicked, returned an error, does not exist, got
    arguments of the wrong types, or its return value does not decode as the bindings
    expect. ``message`` is the server's (or the decoder's) text."""

    def __init__(self, procedure: str, message: str) -> None:
        super().__init__(f"procedure `{procedure}` failed: {message}")
        self.procedure = procedure
        self.message = message


class QueryError(SpacetimeError):
    """The server refused or failed a one-off SQL query: ``message`` says why."""

    def __init__(self, sql: str, message: str) -> None:
        super().__init__(f"query `{sql}` failed: {message}")
        self.sql = sql
        self.message = message


class SubscriptionError(SpacetimeError):
    """The server rejected a subscription's queries, or a live subscription failed."""
