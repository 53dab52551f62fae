"""How far the dates a person types may reach: the one statement of the bounds.

A promised reopening, a planned repair, a closure's start or end, an inspection schedule's start
and end are refused outside a window:

- not later than ``years`` years after today (``FACILITIES_DATE_HORIZON_YEARS``, 5 by default):
  nothing the bureau plans is credibly further off, and a typo such as 9999-12-31 would
  otherwise be promised to citizens at once;
- not earlier than 1 January of the year the facility was built (``Asset.built_year``). When the
  year is unknown the floor is 1 January 1900: the date the asset was *entered* into this system
  is no floor, because records of older works are entered after the fact.

"Today" is the date in the bureau's time zone, and a moment is compared by its date there. The
services call :func:`check` and raise its errors; the app sets the horizon and the zone from the
settings once per process (:func:`configure`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from facilities import i18n
from facilities.i18n import gettext as _

DEFAULT_YEARS = 5
#: The floor when the facility's built year is unknown.
FLOOR = dt.date(1900, 1, 1)


@dataclasses.dataclass
class _Config:
    years: int = DEFAULT_YEARS
    zone: ZoneInfo = dataclasses.field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))


_config = _Config()


def configure(years: int, zone: ZoneInfo) -> None:
    """Set the horizon (in years) and the bureau's zone for this process (from the settings)."""
    _config.years, _config.zone = years, zone


def add_years(day: dt.date, years: int) -> dt.date:
    """``day`` moved by whole years (29 February becomes 28 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


@dataclasses.dataclass(frozen=True)
class Bounds:
    """The first and last day a typed date may be on (both allowed)."""

    earliest: dt.date
    latest: dt.date
    built_year: int | None


def bounds(now: dt.datetime, built_year: int | None = None, years: int | None = None) -> Bounds:
    """The window for an asset built in ``built_year`` (None: unknown), seen at ``now``."""
    today = now.astimezone(_config.zone).date()
    ahead = _config.years if years is None else years
    earliest = dt.date(built_year, 1, 1) if built_year and built_year >= FLOOR.year else FLOOR
    return Bounds(earliest=earliest, latest=add_years(today, ahead), built_year=built_year)


def day_text(day: dt.date) -> str:
    """「2031年12月7日」 / "7 Dec 2031" in the current language."""
    return i18n.day_text(day, months="abbreviated")


def _day_of(value: dt.date | dt.datetime) -> dt.date:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:  # the caller refuses a naive moment on its own
            return value.date()
        return value.astimezone(_config.zone).date()
    return value


def problem(label: str, value: dt.date | dt.datetime | None, window: Bounds) -> str | None:
    """The message for ``value`` (the field called ``label``) outside ``window``, else None."""
    if value is None:
        return None
    day = _day_of(value)
    if day > window.latest:
        return _("%(field)s must be on or before %(date)s") % {
            "field": label,
            "date": day_text(window.latest),
        }
    if day < window.earliest:
        if window.built_year and window.earliest.year == window.built_year:
            return _(
                "%(field)s must be on or after %(date)s (the facility was built in %(year)s)"
            ) % {
                "field": label,
                "date": day_text(window.earliest),
                "year": window.built_year,
            }
        return _("%(field)s must be on or after %(date)s") % {
            "field": label,
            "date": day_text(window.earliest),
        }
    return None


def check(
    window: Bounds, fields: Mapping[str, tuple[str, dt.date | dt.datetime | None]]
) -> dict[str, str]:
    """``{field: message}`` for each ``field: (label, value)`` outside ``window``."""
    errors = {}
    for name, (label, value) in fields.items():
        message = problem(label, value, window)
        if message is not None:
            errors[name] = message
    return errors
