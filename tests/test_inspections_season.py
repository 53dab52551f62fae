"""Seasonal overrides: the windows (flood season, the 14 days up to 五一, 国庆 and 春节), patrols
made daily inside them without touching the stored rule, exactly once, and the pre-holiday
inspection each window raises."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from facilities.inspections import policy
from facilities.inspections import services as inspections
from facilities.inspections.choices import InspectionType, Trigger
from facilities.inspections.tables import Inspection, Rule, RuleFiring
from tests.kit.assets import make_asset
from tests.kit.constants import ZONE
from tests.kit.inspections import make_schedule

pytestmark = pytest.mark.usefixtures("seeded_policy")  # the inspection policy, for every test

D = dt.date


def codes(day: dt.date) -> list[str]:
    return [w.code for w in policy.seasons_on(day)]


# --- the windows (pure) --------------------------------------------------------------------


def test_flood_season_boundaries():
    assert policy.season_for(D(2026, 5, 31)) is None
    flood = policy.season_for(D(2026, 6, 1))
    assert flood is not None and flood.code == policy.FLOOD and flood.holiday is None
    assert (flood.starts, flood.ends) == (D(2026, 6, 1), D(2026, 9, 30))
    assert policy.FLOOD in codes(D(2026, 9, 30))
    assert policy.FLOOD not in codes(D(2026, 10, 1))


def test_labour_day_window_is_the_14_days_up_to_1_may():
    assert policy.season_for(D(2026, 4, 17)) is None
    window = policy.season_for(D(2026, 4, 18))
    assert window is not None and window.code == policy.LABOUR_DAY
    assert (window.starts, window.ends, window.holiday) == (
        D(2026, 4, 18),
        D(2026, 5, 1),
        D(2026, 5, 1),
    )
    assert (window.ends - window.starts).days + 1 == 14
    assert policy.season_for(D(2026, 5, 2)) is None


def test_national_day_window_overlaps_the_flood_season_and_wins():
    assert codes(D(2026, 9, 17)) == [policy.FLOOD]
    assert codes(D(2026, 9, 18)) == [policy.NATIONAL_DAY, policy.FLOOD]
    assert codes(D(2026, 10, 1)) == [policy.NATIONAL_DAY]
    assert codes(D(2026, 10, 2)) == []


@pytest.mark.parametrize("year", sorted(policy.SPRING_FESTIVAL))
def test_spring_festival_follows_the_table(year):
    day = D.fromisoformat(policy.SPRING_FESTIVAL[year])
    assert policy.season_for(day - dt.timedelta(days=14)) is None
    first = policy.season_for(day - dt.timedelta(days=13))
    assert first is not None and (first.code, first.holiday) == (policy.SPRING, day)
    assert policy.season_for(day) == first
    assert policy.season_for(day + dt.timedelta(days=1)) is None


def test_spring_festival_window_that_starts_in_the_previous_year():
    # 2031-01-23: the window opens on 2031-01-10; a table entry early in January would start in
    # December, which the year's windows include.
    custom = policy.SeasonalPolicy.from_params({"spring_festival": {"2031": "2031-01-05"}})
    window = policy.season_for(D(2030, 12, 25), custom)
    assert window is not None and window.holiday == D(2031, 1, 5)
    assert policy.next_window_start(D(2030, 12, 1), custom) == D(2030, 12, 23)


def test_the_policy_is_data():
    custom = policy.SeasonalPolicy.from_params(
        {"flood_season": {"from": "05-15", "to": "10-15"}, "holiday_lead_days": 7}
    )
    assert policy.season_for(D(2026, 5, 15), custom).code == policy.FLOOD  # type: ignore[union-attr]
    assert policy.season_for(D(2026, 4, 18), custom) is None
    assert policy.season_for(D(2026, 4, 25), custom).code == policy.LABOUR_DAY  # type: ignore[union-attr]
    assert policy.next_window_start(D(2026, 10, 16)) == D(2027, 1, 24)  # 春节 2027-02-06


# --- patrols raised daily inside a window ---------------------------------------------------


async def weekly_patrol(personas, now, starts_on=D(2027, 5, 3)):
    asset = await make_asset()
    return await make_schedule(
        personas["alice"],
        asset,
        now,
        rule="FREQ=WEEKLY;BYDAY=MO",
        starts_on=starts_on,
        inspection_type=InspectionType.PATROL,
    )


async def due_days(schedule_id: int) -> list[dt.date]:
    rows = await Inspection.select(Inspection.due_at).where(Inspection.schedule == schedule_id)
    return sorted(r["due_at"].astimezone(ZONE).date() for r in rows)


def mornings(first: dt.date, last: dt.date):
    """10:00 Shanghai on each day (the patrol is due at 09:00)."""
    day = first
    while day <= last:
        yield dt.datetime.combine(day, dt.time(2, 0), tzinfo=dt.UTC)
        day += dt.timedelta(days=1)


async def test_weekly_patrol_is_daily_in_flood_season_and_weekly_after(personas, now):
    schedule = await weekly_patrol(personas, now)
    for at in mornings(D(2027, 5, 3), D(2027, 10, 19)):
        await inspections.raise_due(at, ZONE)
    days = await due_days(schedule.id)
    before = [d for d in days if d < D(2027, 6, 1)]
    assert before == [D(2027, 5, 3), D(2027, 5, 10), D(2027, 5, 17), D(2027, 5, 24), D(2027, 5, 31)]
    inside = [d for d in days if D(2027, 6, 1) <= d <= D(2027, 10, 1)]
    assert len(inside) == (D(2027, 10, 1) - D(2027, 6, 1)).days + 1  # every day, 国庆 included
    assert [d for d in days if d > D(2027, 10, 1)] == [
        D(2027, 10, 4),
        D(2027, 10, 11),
        D(2027, 10, 18),
    ]
    # the stored rule never changed; the next due date is the weekly one again
    stored = await inspections.get_schedule(personas["alice"], schedule.id)
    assert (stored.rrule, stored.override_rrule) == ("FREQ=WEEKLY;BYDAY=MO", "")
    assert stored.next_due_at == dt.datetime(2027, 10, 25, 1, 0, tzinfo=dt.UTC)


async def test_raising_twice_inside_the_window_gives_one_inspection_per_day(personas, now):
    schedule = await weekly_patrol(personas, now, starts_on=D(2027, 5, 31))
    for at in mornings(D(2027, 5, 31), D(2027, 6, 10)):
        first = await inspections.raise_due(at, ZONE)
        again = await inspections.raise_due(at + dt.timedelta(minutes=5), ZONE)
        assert (int(first), int(again)) == (1, 0)
    days = await due_days(schedule.id)
    assert days == [D(2027, 5, 31) + dt.timedelta(days=n) for n in range(11)]
    keys = [r.occurrence_key for r in await Inspection.objects()]
    assert len(keys) == len(set(keys)) == 11
    assert all(k.startswith(f"{schedule.id}:2027") and k.endswith("010000Z") for k in keys)


async def test_days_missed_inside_the_window_coalesce_into_one(personas, now):
    schedule = await weekly_patrol(personas, now, starts_on=D(2027, 6, 7))
    await inspections.raise_due(dt.datetime(2027, 6, 7, 2, 0, tzinfo=dt.UTC), ZONE)
    result = await inspections.raise_due(dt.datetime(2027, 6, 11, 2, 0, tzinfo=dt.UTC), ZONE)
    assert (int(result), result.coalesced) == (1, 3)  # 8, 9 and 10 June folded into the 11th
    assert await due_days(schedule.id) == [D(2027, 6, 7), D(2027, 6, 11)]


async def test_a_disabled_seasonal_rule_leaves_patrols_on_their_own_rule(personas, now):
    await Rule.update({Rule.enabled: False}).where(Rule.code == inspections.SEASONAL_RULE)
    schedule = await weekly_patrol(personas, now, starts_on=D(2027, 6, 7))
    for at in mornings(D(2027, 6, 7), D(2027, 6, 21)):
        await inspections.raise_due(at, ZONE)
    assert await due_days(schedule.id) == [D(2027, 6, 7), D(2027, 6, 14), D(2027, 6, 21)]


async def test_edited_params_move_the_window(personas, now):
    params = {**policy.SEASONAL, "flood_season": {"from": "06-10", "to": "09-30"}}
    await Rule.update({Rule.params: json.dumps(params)}).where(
        Rule.code == inspections.SEASONAL_RULE
    )
    schedule = await weekly_patrol(personas, now, starts_on=D(2027, 6, 7))
    for at in mornings(D(2027, 6, 7), D(2027, 6, 12)):
        await inspections.raise_due(at, ZONE)
    assert await due_days(schedule.id) == [
        D(2027, 6, 7),
        D(2027, 6, 10),
        D(2027, 6, 11),
        D(2027, 6, 12),
    ]


# --- the pre-holiday inspection -------------------------------------------------------------


async def pre_holiday_schedule(personas, now):
    asset = await make_asset()
    return await make_schedule(
        personas["alice"],
        asset,
        now,
        rule="FREQ=YEARLY;BYMONTH=4,9;BYMONTHDAY=21",  # the policy default: 五一 and 国庆 only
        starts_on=D(2027, 1, 1),
        inspection_type=InspectionType.PRE_HOLIDAY,
        lead_days=7,
        tolerance_days=3,
    )


async def test_spring_festival_raises_one_pre_holiday_inspection_per_schedule(personas, now):
    schedule = await pre_holiday_schedule(personas, now)
    assert await due_days(schedule.id) == []
    await inspections.raise_due(dt.datetime(2027, 1, 23, 2, 0, tzinfo=dt.UTC), ZONE)
    assert await due_days(schedule.id) == []  # the window opens on 24 January
    for at in mornings(D(2027, 1, 24), D(2027, 2, 8)):
        await inspections.raise_due(at, ZONE)
        await inspections.raise_due(at, ZONE)
    rows = await Inspection.objects().where(Inspection.schedule == schedule.id)
    assert len(rows) == 1
    row = rows[0]
    assert (row.inspection_type, row.trigger) == (InspectionType.PRE_HOLIDAY, Trigger.SCHEDULED)
    assert row.due_at == dt.datetime(2027, 1, 30, 1, 0, tzinfo=dt.UTC)  # 7 days before, 09:00
    assert row.window_ends_at == row.due_at + dt.timedelta(days=3)
    firing = await RuleFiring.objects().where(RuleFiring.inspection == row.id).first()
    assert firing is not None
    assert json.loads(firing.outcome)["season"] == policy.SPRING


async def test_a_window_the_schedules_own_rule_covers_gets_no_second_inspection(personas, now):
    schedule = await pre_holiday_schedule(personas, now)
    for at in mornings(D(2027, 4, 10), D(2027, 5, 2)):
        await inspections.raise_due(at, ZONE)
    assert await due_days(schedule.id) == [D(2027, 4, 21)]


def test_the_schedule_page_note():
    note = inspections.seasonal_note(InspectionType.PATROL, "FREQ=WEEKLY;BYDAY=MO")
    assert "06-01" in note and "09-30" in note and "14" in note
    assert inspections.seasonal_note(InspectionType.PATROL, "FREQ=DAILY") == ""
    assert inspections.seasonal_note(InspectionType.ROUTINE_MONTHLY, "FREQ=MONTHLY") == ""
    assert inspections.seasonal_note(InspectionType.PATROL, "FREQ=WEEKLY", "floating") == ""
