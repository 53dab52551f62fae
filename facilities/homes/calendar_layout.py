"""Where work sits on the staff calendar: each item's days cut into one bar per week row, and
the bars of a week stacked into lanes so that no two overlap.

A multi-day ticket used to be repeated in every day cell, which read as several jobs. Here it is
one bar per week it touches, placed by its first column and its span; a bar cut by the edge of a
week (or of the weeks shown) is marked as continuing, so the reader knows the work goes on.
Pure functions over dates, with no web or database code, so the rules are tested on their own.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

#: The calendar's range: the weeks shown around a month must stay within what dates can hold.
MIN_YEAR, MAX_YEAR = 1900, 2999
WEEK = 7


@dataclasses.dataclass(frozen=True)
class Item:
    """One piece of work on the calendar: ``start`` to ``end``, both days included."""

    key: str  # unique on the page: "ticket-5", "inspection-…", "closure-3"
    layer: str
    start: dt.date
    end: dt.date
    title: str
    url: str
    extra: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False)


@dataclasses.dataclass(frozen=True)
class Bar:
    """An item's part within one week row: ``column`` 0 (Monday) to 6, ``span`` days wide,
    on ``lane`` (0 at the top); cut at the start and/or the end of the row."""

    item: Item
    column: int
    span: int
    lane: int
    continues_before: bool
    continues_after: bool


@dataclasses.dataclass(frozen=True)
class WeekRow:
    """A week of seven days with its bars, lane by lane (``lanes[0]`` is the top lane)."""

    days: tuple[dt.date, ...]
    lanes: tuple[tuple[Bar, ...], ...]

    @property
    def bars(self) -> list[Bar]:
        return [bar for lane in self.lanes for bar in lane]


def month_weeks(first: dt.date) -> list[list[dt.date]]:
    """The whole weeks (Monday first) that show the month of ``first``."""
    return calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)


def week_of(monday: dt.date) -> list[list[dt.date]]:
    return [[monday + dt.timedelta(days=i) for i in range(WEEK)]]


def _segment(item: Item, days: Sequence[dt.date]) -> tuple[int, int, bool, bool] | None:
    """(column, span, continues_before, continues_after) of ``item`` in the week ``days``,
    or None when it does not touch that week."""
    first, last = days[0], days[-1]
    end = max(item.end, item.start)  # an end before the start is read as a one-day item
    if end < first or item.start > last:
        return None
    shown_start, shown_end = max(item.start, first), min(end, last)
    column = (shown_start - first).days
    span = (shown_end - shown_start).days + 1
    return column, span, item.start < first, end > last


def lay_out(weeks: Sequence[Sequence[dt.date]], items: Iterable[Item]) -> list[WeekRow]:
    """Each week with the bars of the items that touch it. Lanes are filled greedily: the bars
    of a week, longest first among those starting on the same day, each take the top lane
    where the days they cover are still free (so overlapping work never shares a lane)."""
    ordered = sorted(items, key=lambda i: (i.start, -(i.end - i.start).days, i.layer, i.key))
    rows = []
    for week in weeks:
        days = tuple(week)
        placed: list[list[Bar]] = []
        taken: list[list[bool]] = []
        segments = []
        for item in ordered:
            found = _segment(item, days)
            if found is not None:
                segments.append((item, *found))
        segments.sort(key=lambda s: (s[1], -s[2]))  # by column, longer first (stable)
        for item, column, span, before, after in segments:
            cover = range(column, column + span)
            lane = next(
                (n for n, used in enumerate(taken) if not any(used[c] for c in cover)),
                len(taken),
            )
            if lane == len(taken):
                taken.append([False] * WEEK)
                placed.append([])
            for c in cover:
                taken[lane][c] = True
            placed[lane].append(Bar(item, column, span, lane, before, after))
        rows.append(
            WeekRow(days, tuple(tuple(sorted(lane, key=lambda b: b.column)) for lane in placed))
        )
    return rows
