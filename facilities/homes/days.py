"""The bureau's local day and week as instants: "due today" means before midnight in Shanghai,
not in UTC (at 07:00 there the UTC date is still yesterday)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def local_today(now: dt.datetime, zone: ZoneInfo) -> dt.date:
    return now.astimezone(zone).date()


def day_ends(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The instant the local ``day`` ends (the next local midnight), in UTC."""
    midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    return midnight.astimezone(dt.UTC)


def week_ends(now: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """The end of the local week (Monday to Sunday, as the bureau plans) holding ``now``."""
    today = local_today(now, zone)
    return day_ends(today + dt.timedelta(days=6 - today.weekday()), zone)
