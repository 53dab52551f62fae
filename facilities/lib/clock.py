"""The one place that reads the wall clock.

Services and jobs take ``now`` as an argument; only entry points (HTTP handlers, the scheduler,
the CLI) call :func:`utcnow`. That keeps every rule testable at any instant without sleeping.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

UTC = dt.UTC


def utcnow() -> dt.datetime:
    """The current instant, timezone-aware, in UTC."""
    return dt.datetime.now(UTC)


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
