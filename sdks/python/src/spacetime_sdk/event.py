"""What caused a callback: the :data:`Event` a row callback's context carries, and the
:data:`Status` of a reducer call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar

from .special import Timestamp


@dataclass(frozen=True, slots=True)
class Committed:
    """The reducer committed."""


@dataclass(frozen=True, slots=True)
class Failed:
    """The reducer returned an error (``message``); nothing it did was kept."""

    message: str


@dataclass(frozen=True, slots=True)
class Panic:
    """The reducer failed in the host (panic, bad arguments, no such reducer, …)."""

    message: str


Status: TypeAlias = Committed | Failed | Panic
"""How a reducer call ended."""


ArgsT = TypeVar("ArgsT")


@dataclass(frozen=True, slots=True)
class ReducerEvent(Generic[ArgsT]):
    """This client's own reducer call finished: ``reducer`` is its arguments object (a
    generated ``…Args`` dataclass), ``status`` how it ended. A generated reducer method
    returns it, typed by its arguments class, once the call committed."""

    #: When the reducer ran (the time the call was given up, if its result was lost).
    timestamp: Timestamp
    status: Status
    reducer: ArgsT


@dataclass(frozen=True, slots=True)
class TransactionEvent:
    """Another client's (or a scheduled) transaction changed subscribed rows."""


@dataclass(frozen=True, slots=True)
class SubscribeAppliedEvent:
    """A subscription's initial rows arrived (also: the rows resynchronised after a
    reconnect)."""


@dataclass(frozen=True, slots=True)
class UnsubscribeAppliedEvent:
    """A subscription ended and its rows left the cache."""


@dataclass(frozen=True, slots=True)
class SubscribeErrorEvent:
    """A live subscription failed and its rows left the cache."""

    error: str


Event: TypeAlias = ReducerEvent[Any] | TransactionEvent | SubscribeAppliedEvent | UnsubscribeAppliedEvent | SubscribeErrorEvent
"""Why rows changed."""
