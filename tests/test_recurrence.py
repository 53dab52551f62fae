"""Recurrence in local time: month ends, leap years, daylight saving, anchors, bad rules.

Worked in Asia/Shanghai (the bureau, no DST) and America/New_York (to prove the DST handling that
the code claims: a 02:30 that does not exist in spring, a 01:30 that happens twice in autumn).
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st

from facilities.errors import ValidationFailed
from facilities.inspections import services as inspections
from facilities.inspections.choices import Anchor, InspectionType
from facilities.inspections.schemas import ScheduleIn
from facilities.lib import recurrence

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")


def local_days(instants: list[dt.datetime], zone: ZoneInfo = SHANGHAI) -> list[str]:
    return [i.astimezone(zone).date().isoformat() for i in instants]


def local_times(instants: list[dt.datetime], zone: ZoneInfo) -> list[str]:
    return [i.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") for i in instants]


# --- month ends and leap years ---------------------------------------------------------------


def test_last_day_of_every_month_with_bymonthday_minus_one() -> None:
    start = dt.datetime(2027, 1, 31, 9, 0)
    after = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    dates = recurrence.upcoming("FREQ=MONTHLY;BYMONTHDAY=-1", start, after, SHANGHAI, 14)
    assert local_days(dates) == [
        "2027-01-31",
        "2027-02-28",
        "2027-03-31",
        "2027-04-30",
        "2027-05-31",
        "2027-06-30",
        "2027-07-31",
        "2027-08-31",
        "2027-09-30",
        "2027-10-31",
        "2027-11-30",
        "2027-12-31",
        "2028-01-31",
        "2028-02-29",  # a leap year's February ends on the 29th
    ]
    # every one at 09:00 Shanghai time (01:00 UTC)
    assert {d.astimezone(dt.UTC).hour for d in dates} == {1}


def test_monthly_on_the_31st_skips_short_months_which_is_why_minus_one_exists() -> None:
    start = dt.datetime(2027, 1, 31, 9, 0)
    dates = recurrence.upcoming(
        "FREQ=MONTHLY", start, dt.datetime(2027, 1, 1, tzinfo=dt.UTC), SHANGHAI, 4
    )
    assert local_days(dates) == ["2027-01-31", "2027-03-31", "2027-05-31", "2027-07-31"]


def test_leap_day_rule_occurs_only_in_leap_years() -> None:
    start = dt.datetime(2026, 1, 1, 9, 0)
    dates = recurrence.upcoming(
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
        start,
        dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        SHANGHAI,
        3,
    )
    assert local_days(dates) == ["2028-02-29", "2032-02-29", "2036-02-29"]


def test_end_of_february_every_year_follows_leap_years() -> None:
    start = dt.datetime(2026, 1, 1, 9, 0)
    dates = recurrence.upcoming(
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1",
        start,
        dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        SHANGHAI,
        4,
    )
    assert local_days(dates) == ["2026-02-28", "2027-02-28", "2028-02-29", "2029-02-28"]


# --- daylight saving -------------------------------------------------------------------------


def test_spring_forward_0230_that_does_not_exist_moves_forward_by_the_gap_once() -> None:
    # 2027-03-14 02:00 EST -> 03:00 EDT: 02:30 does not exist that day.
    start = dt.datetime(2027, 3, 12, 2, 30)
    dates = recurrence.upcoming(
        "FREQ=DAILY", start, dt.datetime(2027, 3, 11, tzinfo=dt.UTC), NEW_YORK, 5
    )
    assert local_times(dates, NEW_YORK) == [
        "2027-03-12 02:30 EST",
        "2027-03-13 02:30 EST",
        "2027-03-14 03:30 EDT",  # moved forward by the missing hour, not dropped, not doubled
        "2027-03-15 02:30 EDT",  # and back to the wall time the rule says
        "2027-03-16 02:30 EDT",
    ]
    assert len(set(dates)) == 5


def test_fall_back_0230_daily_stays_at_0230_local_and_happens_once() -> None:
    # 2027-11-07 02:00 EDT -> 01:00 EST: a naive UTC interval would drift to 01:30 or 03:30.
    start = dt.datetime(2027, 11, 5, 2, 30)
    dates = recurrence.upcoming(
        "FREQ=DAILY", start, dt.datetime(2027, 11, 4, tzinfo=dt.UTC), NEW_YORK, 4
    )
    assert local_times(dates, NEW_YORK) == [
        "2027-11-05 02:30 EDT",
        "2027-11-06 02:30 EDT",
        "2027-11-07 02:30 EST",
        "2027-11-08 02:30 EST",
    ]
    gaps = {b - a for a, b in itertools.pairwise(dates)}
    assert gaps == {dt.timedelta(hours=24), dt.timedelta(hours=25)}


def test_fall_back_ambiguous_0130_takes_the_first_instance_only() -> None:
    start = dt.datetime(2027, 11, 6, 1, 30)
    dates = recurrence.upcoming(
        "FREQ=DAILY", start, dt.datetime(2027, 11, 5, tzinfo=dt.UTC), NEW_YORK, 3
    )
    assert local_times(dates, NEW_YORK) == [
        "2027-11-06 01:30 EDT",
        "2027-11-07 01:30 EDT",  # the first of the two 01:30s; the second is not an occurrence
        "2027-11-08 01:30 EST",
    ]
    assert dates[1] == dt.datetime(2027, 11, 7, 5, 30, tzinfo=dt.UTC)


def test_next_after_steps_over_the_doubled_hour_without_repeating() -> None:
    start = dt.datetime(2027, 11, 6, 1, 30)
    first = dt.datetime(2027, 11, 7, 5, 30, tzinfo=dt.UTC)  # 01:30 EDT
    # asked from inside the repeated hour (01:45 EST), the next one is the following day
    inside = dt.datetime(2027, 11, 7, 6, 45, tzinfo=dt.UTC)
    assert recurrence.next_after("FREQ=DAILY", start, first, NEW_YORK) == dt.datetime(
        2027, 11, 8, 6, 30, tzinfo=dt.UTC
    )
    assert recurrence.next_after("FREQ=DAILY", start, inside, NEW_YORK) == dt.datetime(
        2027, 11, 8, 6, 30, tzinfo=dt.UTC
    )


def test_localize_gap_and_fold() -> None:
    assert recurrence.localize(dt.datetime(2027, 3, 14, 2, 30), NEW_YORK) == dt.datetime(
        2027, 3, 14, 7, 30, tzinfo=dt.UTC
    )
    assert recurrence.localize(dt.datetime(2027, 11, 7, 1, 30), NEW_YORK) == dt.datetime(
        2027, 11, 7, 5, 30, tzinfo=dt.UTC
    )
    assert recurrence.localize(dt.datetime(2027, 1, 1, 9, 0), SHANGHAI) == dt.datetime(
        2027, 1, 1, 1, 0, tzinfo=dt.UTC
    )


# --- anchors ---------------------------------------------------------------------------------


def schedule_in(rule: str, anchor: Anchor, starts_on: dt.date, start_time: str = "09:00") -> Any:
    return ScheduleIn(
        asset_id=1,
        inspection_type=InspectionType.PERIODIC_ROUTINE,
        rrule=rule,
        anchor=anchor,
        starts_on=starts_on,
        start_time=start_time,
    )


NOW = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai


def test_fixed_anchor_follows_the_calendar_from_the_start() -> None:
    data = schedule_in("FREQ=MONTHLY;BYMONTHDAY=1", Anchor.FIXED, dt.date(2026, 1, 1))
    late_completion = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
    dates = inspections.preview(data, SHANGHAI, NOW, last_completed=late_completion)
    assert local_days(dates) == [
        "2026-12-01",
        "2027-01-01",
        "2027-02-01",
        "2027-03-01",
        "2027-04-01",
    ]


def test_floating_anchor_counts_from_the_last_completion() -> None:
    data = schedule_in("FREQ=MONTHLY;INTERVAL=6", Anchor.FLOATING, dt.date(2026, 1, 1))
    completed = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)  # 16:00 in Shanghai
    dates = inspections.preview(data, SHANGHAI, NOW, last_completed=completed, count=3)
    assert local_days(dates) == ["2027-05-20", "2027-11-20", "2028-05-20"]
    # never completed: a floating schedule starts from its start like a fixed one
    fresh = inspections.preview(data, SHANGHAI, NOW, count=2)
    assert local_days(fresh) == ["2027-01-01", "2027-07-01"]


def test_a_future_start_is_its_own_first_occurrence() -> None:
    data = schedule_in("FREQ=WEEKLY;BYDAY=MO", Anchor.FIXED, dt.date(2026, 12, 7), "08:30")
    dates = inspections.preview(data, SHANGHAI, NOW, count=2)
    assert local_days(dates) == ["2026-12-07", "2026-12-14"]
    assert dates[0] == dt.datetime(2026, 12, 7, 0, 30, tzinfo=dt.UTC)


# --- invalid rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=FORTNIGHTLY",
        "every day",
        "FREQ=WEEKLY;BYDAY=XX",
        "DTSTART:20260101T000000\nRRULE:FREQ=DAILY",
        "FREQ=DAILY;DTSTART=20260101",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",  # never occurs
        "FREQ=DAILY;COUNT=0",
        "FREQ=DAILY;BYHOUR=25",
    ],
)
def test_invalid_rules_are_rejected_by_the_parser(rule: str) -> None:
    with pytest.raises(recurrence.InvalidRule):
        recurrence.validate(rule)


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=DAILY;INTERVAL=0",  # python-dateutil would loop for ever
        "FREQ=DAILY;INTERVAL=99999999999999",  # overflows the calendar
        "FREQ=MONTHLY;BYMONTHDAY=0",  # python-dateutil reads it as every day
        "FREQ=MINUTELY",  # inspections recur at most daily
        "FREQ=HOURLY;INTERVAL=12",
        "FREQ=DAILY;FREQ=WEEKLY",
        "FREQ=DAILY;BYSECOND=5",
        "",
        "FREQ=DAILY;UNTIL=20270101T000000Z",
        "FREQ=FORTNIGHTLY",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
    ],
)
def test_invalid_rules_are_a_field_error_in_the_schedule_form(rule: str) -> None:
    data = schedule_in(rule, Anchor.FIXED, dt.date(2026, 1, 1))
    with pytest.raises(ValidationFailed) as caught:
        inspections.preview(data, SHANGHAI, NOW)
    assert set(caught.value.errors) == {"rrule"}


@pytest.mark.parametrize(
    ("rule", "normalised"),
    [
        ("RRULE:FREQ=DAILY;INTERVAL=3", "FREQ=DAILY;INTERVAL=3"),
        (" FREQ=MONTHLY;BYMONTHDAY=-1 ", "FREQ=MONTHLY;BYMONTHDAY=-1"),
        ("FREQ=YEARLY;BYMONTH=4,9;BYMONTHDAY=21", "FREQ=YEARLY;BYMONTH=4,9;BYMONTHDAY=21"),
    ],
)
def test_valid_rules_are_accepted_and_normalised(rule: str, normalised: str) -> None:
    assert inspections._valid_rule(rule) == normalised


def test_every_default_policy_rule_is_accepted() -> None:
    from facilities.inspections import policy

    for row in policy.DEFAULT_SCHEDULES:
        assert inspections._valid_rule(row[3]) == row[3]
    for rule in inspections.SHORTENED.values():
        assert inspections._valid_rule(rule) == rule


# --- restarting the walk at a known occurrence -----------------------------------------------

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@st.composite
def rules(draw: st.DrawFn) -> str:
    """Rules of the accepted subset that always occur again (no 30th of February)."""
    freq = draw(st.sampled_from(("DAILY", "WEEKLY", "MONTHLY", "YEARLY")))
    parts = [f"FREQ={freq}", f"INTERVAL={draw(st.integers(1, 4))}"]
    if draw(st.booleans()):
        days = draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=3, unique=True))
        parts.append("BYDAY=" + ",".join(days))
        if freq == "MONTHLY" and draw(st.booleans()):
            parts.append(f"BYSETPOS={draw(st.sampled_from((1, 2, -1)))}")
    elif freq in ("MONTHLY", "YEARLY") and draw(st.booleans()):
        parts.append(f"BYMONTHDAY={draw(st.sampled_from((1, 10, 15, 28, -1)))}")
    if freq == "YEARLY" and draw(st.booleans()):
        parts.append(f"BYMONTH={draw(st.integers(1, 12))}")
    if freq == "WEEKLY" and draw(st.booleans()):
        parts.append(f"WKST={draw(st.sampled_from(WEEKDAYS))}")
    return ";".join(parts)


@given(
    rule=rules(),
    start=st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2030, 12, 31)).map(
        lambda d: d.replace(second=0, microsecond=0)
    ),
    offsets=st.lists(st.integers(-400, 4000), min_size=1, max_size=12),
)
@settings(max_examples=300, deadline=None)
def test_a_walk_restarted_at_a_known_occurrence_finds_what_a_walk_from_the_start_finds(
    rule: str, start: dt.datetime, offsets: list[int]
) -> None:
    """Questions forwards and backwards, so some start at a remembered occurrence and some
    (behind every remembered one) from the rule's start; each answer is compared with
    python-dateutil walking from the start."""
    parsed = recurrence._Parsed(rrulestr(rule, dtstart=start), rebase=True)
    for days in offsets:
        cursor = start + dt.timedelta(days=days, hours=days % 24)
        expected = rrulestr(rule, dtstart=start).after(cursor, inc=False)
        assert parsed.after(cursor) == expected, (rule, start, cursor, parsed.known)
    assert len(parsed.known) <= recurrence.KNOWN_KEPT


def test_a_counted_rule_is_always_walked_from_its_start() -> None:
    """COUNT=3 from a restart would give three more; the rule ends after its third."""
    start = dt.datetime(2026, 1, 1, 9, 0)
    after = dt.datetime(2025, 12, 31, tzinfo=dt.UTC)
    dates = recurrence.upcoming("FREQ=DAILY;COUNT=3", start, after, SHANGHAI, 5)
    assert local_days(dates) == ["2026-01-01", "2026-01-02", "2026-01-03"]
    assert recurrence.next_after("FREQ=DAILY;COUNT=3", start, dates[-1], SHANGHAI) is None
