"""Shortened intervals: a grade D puts a shorter rule in force on the asset's periodic and
patrol schedules (rule ``grade_d``), keeping their own rule, start and time of day; a grade of C
or better lifts it again. Each change is audited, and the reason is stored as the rule and the
day so each reader sees it in their own language."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from facilities.accounts.permissions import SYSTEM
from facilities.audit import services as audit
from facilities.i18n import gettext as _
from facilities.inspections.choices import Anchor, InspectionType
from facilities.inspections.services.schedules import first_due, schedule_snapshot
from facilities.inspections.tables import InspectionSchedule

SHORTENED = {
    InspectionType.PERIODIC_ROUTINE: "FREQ=MONTHLY;INTERVAL=6",
    InspectionType.PERIODIC_STRUCTURAL: "FREQ=MONTHLY;INTERVAL=6",
    InspectionType.PATROL: "FREQ=DAILY",
}


def shortening_reason(rule_code: str, day: dt.date) -> str:
    """What a shortened schedule stores as its reason: the rule and the day, not words, so each
    reader sees it in their own language (:func:`describe_shortening`)."""
    return f"{rule_code}:{day.isoformat()}"


def describe_shortening(reason: str) -> str:
    """A stored shortening reason in the reader's language; a reason written by hand (or by an
    older version, in words) is shown as it is."""
    code, _sep, day = reason.partition(":")
    if code == "grade_d" and day:
        return _("Grade D on %(date)s: shortened by rule grade_d") % {"date": day}
    return reason


def _shortened_rule(inspection_type: InspectionType, starts_at: dt.datetime, zone: ZoneInfo) -> str:
    """The shortened rule, anchored on the schedule's own start. A monthly rule from the 29th,
    30th or 31st would skip the months that lack that day (a "6-monthly" check from 31 August
    falls on 31 August a year later), so it takes the day or the month's last day before it."""
    rule = SHORTENED[inspection_type]
    day = starts_at.astimezone(zone).day
    if rule.startswith("FREQ=MONTHLY") and day > 28:
        days = ",".join(str(d) for d in range(28, day + 1))
        rule = f"{rule};BYMONTHDAY={days};BYSETPOS=-1"
    return rule


async def _shorten_intervals(
    asset_id: int, zone: ZoneInfo, now: dt.datetime, reason: str
) -> list[int]:
    """Put the shortened rule in force on the asset's periodic and patrol schedules, keeping
    their own rule, start and time of day (the override is lifted again by a better grade).
    The next due date moves earlier when the shorter interval says so, never later."""
    schedules = await InspectionSchedule.objects().where(
        (InspectionSchedule.asset == asset_id)
        & InspectionSchedule.inspection_type.is_in(list(SHORTENED))
    )
    changed = []
    for schedule in schedules:
        rule = _shortened_rule(InspectionType(schedule.inspection_type), schedule.starts_at, zone)
        if schedule.override_rrule == rule:
            continue
        next_due = first_due(rule, Anchor.FIXED, schedule.starts_at, None, now, zone)
        if schedule.next_due_at is not None and (
            next_due is None or schedule.next_due_at < next_due
        ):
            next_due = schedule.next_due_at
        before = schedule_snapshot(schedule)
        await InspectionSchedule.update(
            {
                InspectionSchedule.override_rrule: rule,
                InspectionSchedule.override_reason: reason[:300],
                InspectionSchedule.next_due_at: next_due,
                InspectionSchedule.updated_at: now,
                InspectionSchedule.version: InspectionSchedule.version + 1,
            }
        ).where(InspectionSchedule.id == schedule.id)
        after = {
            **before,
            "override_rrule": rule,
            "override_reason": reason[:300],
            "next_due_at": next_due,
        }
        await audit.record(SYSTEM, "schedule.shortened", "asset", asset_id, now, before, after)
        changed.append(int(schedule.id))
    return changed


async def _restore_intervals(asset_id: int, zone: ZoneInfo, now: dt.datetime) -> list[int]:
    """A grade of C or better ends a rule's shortened intervals: the schedule's own rule is in
    force again from its next occurrence."""
    schedules = await InspectionSchedule.objects().where(
        (InspectionSchedule.asset == asset_id) & (InspectionSchedule.override_rrule != "")
    )
    restored = []
    for schedule in schedules:
        before = schedule_snapshot(schedule)
        next_due = first_due(
            schedule.rrule,
            schedule.anchor,
            schedule.starts_at,
            schedule.last_completed_at,
            now,
            zone,
        )
        await InspectionSchedule.update(
            {
                InspectionSchedule.override_rrule: "",
                InspectionSchedule.override_reason: "",
                InspectionSchedule.next_due_at: next_due,
                InspectionSchedule.updated_at: now,
                InspectionSchedule.version: InspectionSchedule.version + 1,
            }
        ).where(InspectionSchedule.id == schedule.id)
        after = {**before, "override_rrule": "", "override_reason": "", "next_due_at": next_due}
        await audit.record(SYSTEM, "schedule.restored", "asset", asset_id, now, before, after)
        restored.append(int(schedule.id))
    return restored
