"""The special types of SATS as Python values: :class:`Identity`, :class:`ConnectionId`,
:class:`Timestamp`, :class:`TimeDuration`, :class:`Uuid`, ``ScheduleAt``, and
:class:`Ok` / :class:`Err` for ``Result``, and :class:`Some` for the outer levels of a
nested ``Option``.

Each is a small frozen dataclass around an ``int`` so it compares, hashes and sorts as the
server's does; conversions to the standard library's types (``datetime``, ``timedelta``,
``uuid.UUID``) are methods.
"""

from __future__ import annotations

import datetime as _dt
import time
import uuid as _uuid
from dataclasses import dataclass
from typing import Generic, TypeAlias, TypeVar

T = TypeVar("T")
E = TypeVar("E")

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


def _parse_hex(what: str, text: str, size: int) -> int:
    digits = text[2:] if text.startswith(("0x", "0X")) else text
    if len(digits) != size * 2:
        raise ValueError(f"{what} hex must have {size * 2} digits, got {len(digits)}: {text!r}")
    try:
        return int(digits, 16)
    except ValueError:
        raise ValueError(f"{what} hex {text!r} has a character that is not a hex digit") from None


@dataclass(frozen=True, slots=True, order=True)
class Identity:
    """A client's or database's identity: a 256-bit number, shown as 64 hex digits."""

    value: int

    @classmethod
    def from_hex(cls, text: str) -> Identity:
        """Parses the 64-digit hex form (with or without ``0x``).

        Raises:
            ValueError: naming what is wrong with ``text``.
        """
        return cls(_parse_hex("an identity", text, 32))

    @classmethod
    def zero(cls) -> Identity:
        """The all-zero identity."""
        return cls(0)

    def to_hex(self) -> str:
        """The 64 hex digits, most significant first."""
        return f"{self.value:064x}"

    def to_abbreviated_hex(self) -> str:
        """The first 16 hex digits, for short displays."""
        return self.to_hex()[:16]

    def to_bytes(self) -> bytes:
        """The 32 bytes, big-endian."""
        return self.value.to_bytes(32, "big")

    def __str__(self) -> str:
        return self.to_hex()


@dataclass(frozen=True, slots=True, order=True)
class ConnectionId:
    """One connection of a client: a 128-bit number, shown as 32 hex digits."""

    value: int

    @classmethod
    def from_hex(cls, text: str) -> ConnectionId:
        """Parses the 32-digit hex form (with or without ``0x``).

        Raises:
            ValueError: naming what is wrong with ``text``.
        """
        return cls(_parse_hex("a connection id", text, 16))

    @classmethod
    def zero(cls) -> ConnectionId:
        """The all-zero connection id (no connection)."""
        return cls(0)

    def to_hex(self) -> str:
        """The 32 hex digits, most significant first."""
        return f"{self.value:032x}"

    def __str__(self) -> str:
        return self.to_hex()


@dataclass(frozen=True, slots=True, order=True)
class Timestamp:
    """A point in time: microseconds since the Unix epoch (negative before it)."""

    micros_since_unix_epoch: int

    @classmethod
    def now(cls) -> Timestamp:
        """The current time."""
        return cls(time.time_ns() // 1000)

    @classmethod
    def from_datetime(cls, value: _dt.datetime) -> Timestamp:
        """The timestamp of an aware ``datetime``.

        Raises:
            ValueError: if ``value`` has no time zone (its meaning would be a guess).
        """
        if value.tzinfo is None:
            raise ValueError("a naive datetime has no time zone: pass an aware one, e.g. datetime.now(timezone.utc)")
        delta = value - _EPOCH
        return cls((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds)

    def to_datetime(self) -> _dt.datetime:
        """The time as an aware UTC ``datetime``.

        Raises:
            OverflowError: for times outside ``datetime``'s years 1 to 9999.
        """
        return _EPOCH + _dt.timedelta(microseconds=self.micros_since_unix_epoch)

    def __str__(self) -> str:
        try:
            return self.to_datetime().isoformat()
        except OverflowError:
            return f"Timestamp({self.micros_since_unix_epoch} µs since the Unix epoch)"


@dataclass(frozen=True, slots=True, order=True)
class TimeDuration:
    """A signed span of time in microseconds."""

    micros: int

    @classmethod
    def from_timedelta(cls, value: _dt.timedelta) -> TimeDuration:
        """The duration of a ``timedelta``."""
        return cls((value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds)

    def to_timedelta(self) -> _dt.timedelta:
        """The duration as a ``timedelta``."""
        return _dt.timedelta(microseconds=self.micros)

    def __str__(self) -> str:
        sign = "-" if self.micros < 0 else "+"
        whole, frac = divmod(abs(self.micros), 1_000_000)
        return f"{sign}{whole}.{frac:06d}"


@dataclass(frozen=True, slots=True, order=True)
class Uuid:
    """A UUID as its 128-bit number (the standard form reads its bytes big-endian)."""

    value: int

    @classmethod
    def from_uuid(cls, value: _uuid.UUID) -> Uuid:
        """The SATS form of a standard-library UUID."""
        return cls(value.int)

    @classmethod
    def parse(cls, text: str) -> Uuid:
        """Parses the standard hyphenated form.

        Raises:
            ValueError: if ``text`` is not a UUID.
        """
        return cls(_uuid.UUID(text).int)

    def to_uuid(self) -> _uuid.UUID:
        """The standard-library form."""
        return _uuid.UUID(int=self.value)

    def __str__(self) -> str:
        return str(self.to_uuid())


@dataclass(frozen=True, slots=True)
class ScheduleAtInterval:
    """``ScheduleAt::Interval``: repeat every ``value``."""

    value: TimeDuration


@dataclass(frozen=True, slots=True)
class ScheduleAtTime:
    """``ScheduleAt::Time``: run once at ``value``."""

    value: Timestamp


ScheduleAt: TypeAlias = ScheduleAtInterval | ScheduleAtTime
"""When a scheduled reducer runs."""


@dataclass(frozen=True, slots=True)
class Ok(Generic[T]):
    """The ``ok`` variant of a ``Result``."""

    value: T


@dataclass(frozen=True, slots=True)
class Err(Generic[E]):
    """The ``err`` variant of a ``Result``."""

    error: E


@dataclass(frozen=True, slots=True)
class Some(Generic[T]):
    """A present value of an option whose payload is itself an option: with
    ``Option<Option<str>>`` as ``Some[str | None] | None``, ``None`` is the outer ``none``,
    ``Some(None)`` the inner one and ``Some("x")`` a string. A plain ``Option<T>`` is just
    ``T | None``; only a level that wraps another option needs this, since Python has one
    ``None``."""

    value: T
