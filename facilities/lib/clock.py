"""The one place that reads the wall clock.

Services and jobs take ``now`` as an argument. Entry points get it from a :class:`Clock`: the web
app holds one (``create_app(clock=...)``, handed to handlers as the ``now`` dependency), the
scheduler and the CLI read :func:`utcnow`. That keeps every rule testable at any instant without
sleeping, and a test's pages agree with the ``now`` it gave its services.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Protocol
from zoneinfo import ZoneInfo

UTC = dt.UTC


def utcnow() -> dt.datetime:
    """The current instant, timezone-aware, in UTC."""
    return dt.datetime.now(UTC)


class Clock(Protocol):
    """What the app asks for the current instant."""

    def __call__(self) -> dt.datetime: ...


class SettableClock:
    """A clock that starts at a chosen instant and runs at the wall clock's pace (so two
    requests a moment apart still see time pass), and can be moved or frozen. Tests hand one to
    the app; the bench and demos may too."""

    def __init__(self, start: dt.datetime, *, frozen: bool = False) -> None:
        self.set(start, frozen=frozen)

    def set(self, instant: dt.datetime, *, frozen: bool = False) -> None:
        """From now on the clock reads ``instant`` (plus the time since, unless frozen)."""
        self._base = ensure_aware(instant)
        self._started = time.monotonic()
        self._frozen = frozen

    def advance(self, delta: dt.timedelta) -> None:
        self.set(self() + delta, frozen=self._frozen)

    def __call__(self) -> dt.datetime:
        if self._frozen:
            return self._base
        return self._base + dt.timedelta(seconds=time.monotonic() - self._started)


def ensure_aware(value: dt.datetime) -> dt.datetime:
    """Reject naive datetimes: an instant without a zone is a bug waiting for a DST change."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: every instant must carry a timezone")
    return value.astimezone(UTC)


def parse_instant(text: str, default_zone: ZoneInfo | None = None) -> dt.datetime:
    """Parse an ISO 8601 instant; a value without offset is read in ``default_zone``."""
    value = dt.datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        if default_zone is None:
            raise ValueError("the time has no UTC offset")
        value = value.replace(tzinfo=default_zone)
    return value.astimezone(UTC)
