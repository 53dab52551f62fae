"""Recurrence: RFC 5545 RRULEs evaluated with python-dateutil in the bureau's local time.

Rules are computed on local wall-clock times and each occurrence is then placed in the zone, so
"monthly on the 1st at 09:00" stays 09:00 across daylight-saving changes. A wall time that does
not exist (skipped by a spring-forward change) moves forward by the gap; an ambiguous one (repeated
by an autumn change) takes its first instance, so nothing happens twice. Month-end rules use
BYMONTHDAY=-1 (the last day), never a 31st that skips short months.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

MAX_RULE_LENGTH = 300


ALLOWED_FREQS = frozenset({"DAILY", "WEEKLY", "MONTHLY", "YEARLY"})
ALLOWED_PARTS = frozenset(
    {
        "FREQ",
        "INTERVAL",
        "COUNT",
        "UNTIL",
        "BYDAY",
        "BYMONTHDAY",
        "BYMONTH",
        "BYSETPOS",
        "BYWEEKNO",
        "BYYEARDAY",
        "WKST",
    }
)
MAX_INTERVAL = 100
#: Parts whose values may not be 0 (RFC 5545: ±1..31, ±1..366, ±1..53); python-dateutil would
#: silently read BYMONTHDAY=0 as "every day".
NONZERO_PARTS = frozenset({"BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYSETPOS"})


def shape_ok(text: str) -> bool:
    """The RFC 5545 subset inspections use, checked before python-dateutil sees it: at most
    daily, a sane INTERVAL (0 would loop for ever, a huge one overflows), no zero BY* values,
    no sub-daily parts (the schedule's start time is the time of day)."""
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    parts: dict[str, str] = {}
    for part in body.split(";"):
        key, sep, value = part.partition("=")
        key = key.strip().upper()
        if not sep or key in parts or key not in ALLOWED_PARTS:
            return False
        parts[key] = value.strip()
    if parts.get("FREQ", "").upper() not in ALLOWED_FREQS:
        return False
    for key in ("INTERVAL", "COUNT"):
        if key in parts and not (
            parts[key].isdigit()
            and 1 <= int(parts[key]) <= (MAX_INTERVAL if key == "INTERVAL" else 10_000)
        ):
            return False
    for key in NONZERO_PARTS & parts.keys():
        for item in parts[key].split(","):
            try:
                if int(item) == 0:
                    return False
            except ValueError:
                return False
    return True


class InvalidRule(ValueError):
    """The text is not an RRULE this system accepts."""


class _Parsed:
    """A parsed rule and a few of its occurrences already found (naive local times, ascending).

    python-dateutil finds an occurrence by walking the rule from its start. Its own cache
    (``cache=True``) keeps every occurrence walked, which grows with the schedule's age: a daily
    rule ten years old holds 3,650 of them, over 200 kB, in every cached rule. Instead the walk
    starts at the latest known occurrence at or before the question (see :meth:`after`), so a
    rule costs about a kilobyte and an answer a few periods' walk, whatever the rule's age."""

    __slots__ = ("known", "rebase", "rule")

    def __init__(self, rule: rrule, rebase: bool) -> None:
        self.rule = rule
        self.rebase = rebase
        self.known: tuple[dt.datetime, ...] = ()

    def after(self, cursor: dt.datetime) -> dt.datetime | None:
        """The first occurrence strictly after the naive local ``cursor``.

        Restarting the rule at one of its own occurrences gives exactly the rest of its
        sequence: its periods (day, week by WKST, month, year, times INTERVAL) line up with the
        original ones, the parts dateutil derives from the start (weekday, day of month, month,
        time of day) are the same on every occurrence, and BYSETPOS is applied to whole
        periods before anything earlier than the start is dropped."""
        rule, known = self.rule, self.known
        if self.rebase:
            index = bisect.bisect_right(known, cursor)
            if index:
                rule = rule.replace(dtstart=known[index - 1])
        found = rule.after(cursor, inc=False)
        if found is not None and self.rebase and found not in known:
            # Questions move forward with time: keep the latest. A new tuple, never an edit,
            # so a reader in another thread sees the old one or the new one, both sorted.
            self.known = tuple(sorted((*known, found)))[-KNOWN_KEPT:]
        return found


#: Occurrences remembered per rule (questions a little behind the latest still start near).
KNOWN_KEPT = 8


@functools.lru_cache(maxsize=4096)
def _parse(rule: str, start: dt.datetime) -> _Parsed:
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if not text or len(text) > MAX_RULE_LENGTH or "\n" in text or not shape_ok(text):
        raise InvalidRule(rule)
    if "DTSTART" in text.upper():
        raise InvalidRule("DTSTART is not accepted: the schedule gives the start")
    try:
        parsed = rrulestr(text, dtstart=start, forceset=False, cache=False)
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidRule(str(exc)) from exc
    if not isinstance(parsed, rrule):
        raise InvalidRule("one RRULE only")
    # COUNT counts from the start: such a rule cannot restart anywhere else.
    return _Parsed(parsed, rebase="COUNT" not in text.upper())


def validate(rule: str) -> str:
    """Return the normalised rule text, or raise InvalidRule."""
    parsed = _parse(rule, dt.datetime(2000, 1, 1)).rule
    if parsed.after(dt.datetime(2000, 1, 1), inc=True) is None:
        raise InvalidRule("the rule never occurs")
    text = rule.strip()
    return text[6:] if text.upper().startswith("RRULE:") else text


def until_day(rule: str) -> dt.date | None:
    """The last day of a rule with an UNTIL part (``UNTIL=20301231`` or ``...T000000Z``), else
    None (an unreadable UNTIL is None too: :func:`validate` refuses it)."""
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    for part in text.split(";"):
        key, _sep, value = part.partition("=")
        if key.strip().upper() == "UNTIL":
            try:
                return dt.datetime.strptime(value.strip()[:8], "%Y%m%d").date()
            except ValueError:
                return None
    return None


def localize(local: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """A naive local wall time as an aware UTC instant (DST gaps move forward, folds take the
    first instance)."""
    aware = local.replace(tzinfo=zone, fold=0)
    round_trip = aware.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)
    if round_trip != local:  # the wall time does not exist: it fell in a spring-forward gap
        gap = aware.replace(fold=1).utcoffset() - aware.replace(fold=0).utcoffset()  # type: ignore[operator]
        aware = (local + abs(gap)).replace(tzinfo=zone)
    return aware.astimezone(dt.UTC)


def next_after(
    rule: str, start_local: dt.datetime, after: dt.datetime, zone: ZoneInfo, inclusive: bool = False
) -> dt.datetime | None:
    """The first occurrence strictly after the instant ``after`` (or at it, if ``inclusive``),
    for the rule anchored at the naive local ``start_local``; None when the rule has ended."""
    parsed = _parse(rule, start_local)
    cursor = after.astimezone(zone).replace(tzinfo=None) - dt.timedelta(hours=3)
    while True:
        local = parsed.after(cursor)
        if local is None:
            return None
        instant = localize(local, zone)
        if instant > after or (inclusive and instant == after):
            return instant
        cursor = local


def upcoming(
    rule: str, start_local: dt.datetime, after: dt.datetime, zone: ZoneInfo, count: int = 5
) -> list[dt.datetime]:
    """The next ``count`` occurrences after ``after`` (the schedule form's preview)."""
    found: list[dt.datetime] = []
    cursor = after
    while len(found) < count:
        instant = next_after(rule, start_local, cursor, zone)
        if instant is None:
            break
        found.append(instant)
        cursor = instant
    return found
