"""Inspection schedules: an asset, an inspection type and an RFC 5545 rule, anchored fixed (on
the calendar) or floating (from the last completion). Creating and editing them, their next due
date and the preview the editor shows, and the status the lists show (on track, due soon,
overdue, suspended)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from facilities import db
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.assets.tables import Asset
from facilities.audit import services as audit
from facilities.errors import Conflict, ValidationFailed
from facilities.i18n import gettext as _
from facilities.inspections.choices import Anchor, ScheduleStatus
from facilities.inspections.schemas import ScheduleIn
from facilities.inspections.services.common import OPEN_STATES
from facilities.inspections.tables import ChecklistTemplate, Inspection, InspectionSchedule, Team
from facilities.lib import horizons, recurrence
from facilities.records import get_or_404, versioned_update

DUE_SOON = dt.timedelta(days=7)


def effective_rule(schedule: InspectionSchedule) -> str:
    """The rule in force: a rule's shortened interval when one applies, else the schedule's."""
    return schedule.override_rrule or schedule.rrule


def schedule_status(
    schedule: InspectionSchedule, now: dt.datetime, overdue_open: bool = False
) -> ScheduleStatus:
    if schedule.is_suspended:
        return ScheduleStatus.SUSPENDED
    if overdue_open:
        return ScheduleStatus.OVERDUE
    if schedule.next_due_at is not None and schedule.next_due_at <= now + DUE_SOON:
        return ScheduleStatus.DUE_SOON
    return ScheduleStatus.ON_TRACK


def _start_instant(data: ScheduleIn, zone: ZoneInfo) -> dt.datetime:
    hour, minute = (int(part) for part in data.start_time.split(":"))
    return recurrence.localize(dt.datetime.combine(data.starts_on, dt.time(hour, minute)), zone)


def first_due(
    rule: str,
    anchor: str,
    starts_at: dt.datetime,
    last_completed: dt.datetime | None,
    now: dt.datetime,
    zone: ZoneInfo,
) -> dt.datetime | None:
    """The next due date: fixed schedules follow the calendar from ``starts_at`` (never raising
    a backlog for dates before now); floating ones count from the last completion."""
    start_local = starts_at.astimezone(zone).replace(tzinfo=None)
    if anchor == Anchor.FLOATING and last_completed is not None:
        completed_local = last_completed.astimezone(zone).replace(tzinfo=None)
        return recurrence.next_after(rule, completed_local, last_completed, zone)
    after = max(now, starts_at - dt.timedelta(seconds=1))
    return recurrence.next_after(
        rule, start_local, after, zone, inclusive=after == starts_at - dt.timedelta(seconds=1)
    )


def preview(
    data: ScheduleIn,
    zone: ZoneInfo,
    now: dt.datetime,
    last_completed: dt.datetime | None = None,
    count: int = 5,
) -> list[dt.datetime]:
    """The next due dates as the form is edited (raises ValidationFailed on a bad rule)."""
    rule = _valid_rule(data.rrule)
    starts_at = _start_instant(data, zone)
    first = first_due(rule, data.anchor, starts_at, last_completed, now, zone)
    if first is None:
        return []
    start_local = (
        (last_completed if data.anchor == Anchor.FLOATING and last_completed else starts_at)
        .astimezone(zone)
        .replace(tzinfo=None)
    )
    return [first, *recurrence.upcoming(rule, start_local, first, zone, count - 1)]


# Inspections recur at most daily: the schedule's start gives the time of day.


def _valid_rule(text: str) -> str:
    try:
        return recurrence.validate(text)
    except (recurrence.InvalidRule, OverflowError):
        raise ValidationFailed(
            {
                "rrule": _(
                    "Write an RFC 5545 rule such as FREQ=MONTHLY;BYMONTHDAY=1 or "
                    "FREQ=DAILY;INTERVAL=3."
                )
            }
        ) from None


async def _check_schedule(data: ScheduleIn) -> None:
    errors: dict[str, str] = {}
    if not await Asset.exists().where(Asset.id == data.asset_id):
        errors["asset_id"] = _("Choose an existing asset.")
    if data.team_id and not await Team.exists().where(Team.id == data.team_id):
        errors["team_id"] = _("Choose an existing team.")
    if data.checklist_id and not await ChecklistTemplate.exists().where(
        ChecklistTemplate.id == data.checklist_id
    ):
        errors["checklist_id"] = _("Choose an existing checklist.")
    if errors:
        raise ValidationFailed(errors)


async def _check_dates(
    data: ScheduleIn,
    rule: str,
    zone: ZoneInfo,
    now: dt.datetime,
    schedule: InspectionSchedule | None = None,
) -> None:
    """The schedule's start and the rule's end (UNTIL) within the horizon
    (:mod:`facilities.lib.horizons`); an edit answers for the dates it changes."""
    typed: dict[str, tuple[str, dt.date | None]] = {
        "starts_on": (_("Starts on"), data.starts_on),
        "rrule": (_("End of the rule (UNTIL)"), recurrence.until_day(rule)),
    }
    if schedule is not None:
        if schedule.starts_at.astimezone(zone).date() == data.starts_on:
            typed.pop("starts_on")
        if recurrence.until_day(schedule.rrule) == typed["rrule"][1]:
            typed.pop("rrule")
    row = await Asset.select(Asset.built_year).where(Asset.id == data.asset_id).first()
    errors = horizons.check(horizons.bounds(now, row["built_year"] if row else None), typed)
    if errors:
        raise ValidationFailed(errors)


def schedule_snapshot(schedule: InspectionSchedule) -> dict[str, Any]:
    return {
        k: getattr(schedule, k)
        for k in (
            "inspection_type",
            "rrule",
            "anchor",
            "starts_at",
            "lead_days",
            "tolerance_days",
            "checklist",
            "team",
            "is_suspended",
            "override_rrule",
            "override_reason",
            "next_due_at",
        )
    }


async def create_schedule(
    actor: Actor, data: ScheduleIn, zone: ZoneInfo, now: dt.datetime
) -> InspectionSchedule:
    require(actor, Perm.SCHEDULES_EDIT)
    rule = _valid_rule(data.rrule)
    async with db.transaction():
        await _check_schedule(data)
        await _check_dates(data, rule, zone, now)
        starts_at = _start_instant(data, zone)
        schedule = InspectionSchedule(
            asset=data.asset_id,
            inspection_type=data.inspection_type,
            rrule=rule,
            anchor=data.anchor,
            starts_at=starts_at,
            lead_days=data.lead_days,
            tolerance_days=data.tolerance_days,
            checklist=data.checklist_id,
            team=data.team_id,
            is_suspended=data.is_suspended,
            next_due_at=first_due(rule, data.anchor, starts_at, None, now, zone),
            created_at=now,
            updated_at=now,
        )
        await schedule.save()
        await audit.record(
            actor,
            "schedule.created",
            "asset",
            data.asset_id,
            now,
            after=schedule_snapshot(schedule),
        )
    return schedule


async def update_schedule(
    actor: Actor, schedule_id: int, data: ScheduleIn, zone: ZoneInfo, now: dt.datetime
) -> InspectionSchedule:
    require(actor, Perm.SCHEDULES_EDIT)
    rule = _valid_rule(data.rrule)
    if data.version is None:
        raise ValidationFailed({"version": _("The record version is missing; reload and retry.")})
    async with db.transaction():
        schedule = await get_schedule(actor, schedule_id)
        await _check_schedule(data)
        await _check_dates(data, rule, zone, now, schedule)
        before = schedule_snapshot(schedule)
        starts_at = _start_instant(data, zone)
        effective = schedule.override_rrule or rule
        next_due = first_due(
            effective, data.anchor, starts_at, schedule.last_completed_at, now, zone
        )
        await versioned_update(
            InspectionSchedule,
            schedule.id,
            data.version,
            {
                InspectionSchedule.inspection_type: data.inspection_type,
                InspectionSchedule.rrule: rule,
                InspectionSchedule.anchor: data.anchor,
                InspectionSchedule.starts_at: starts_at,
                InspectionSchedule.lead_days: data.lead_days,
                InspectionSchedule.tolerance_days: data.tolerance_days,
                InspectionSchedule.checklist: data.checklist_id,
                InspectionSchedule.team: data.team_id,
                InspectionSchedule.is_suspended: data.is_suspended,
                InspectionSchedule.next_due_at: next_due,
            },
            now,
            Conflict(
                _(
                    "Someone else changed this schedule while you were editing. "
                    "Your changes were not saved."
                )
            ),
        )
        updated = await get_schedule(actor, schedule_id)
        await audit.record(
            actor,
            "schedule.updated",
            "asset",
            schedule.asset,
            now,
            before,
            schedule_snapshot(updated),
        )
    return updated


async def get_schedule(actor: Actor, schedule_id: int) -> InspectionSchedule:
    require(actor, Perm.INSPECTIONS_VIEW)
    return await get_or_404(
        InspectionSchedule.objects(), InspectionSchedule, schedule_id, _("No such schedule.")
    )


async def list_schedules(actor: Actor, asset_id: int | None = None) -> list[InspectionSchedule]:
    require(actor, Perm.INSPECTIONS_VIEW)
    query = InspectionSchedule.objects()
    if asset_id is not None:
        query = query.where(InspectionSchedule.asset == asset_id)
    return await query.order_by(InspectionSchedule.next_due_at).limit(1000)


async def overdue_schedules(schedule_ids: Iterable[int], now: dt.datetime) -> set[int]:
    """Schedules with a raised inspection still open after its tolerance window."""
    ids = list(schedule_ids)
    if not ids:
        return set()
    rows = await Inspection.select(Inspection.schedule).where(
        Inspection.schedule.is_in(ids)
        & Inspection.state.is_in(list(OPEN_STATES))
        & (Inspection.window_ends_at < now)
    )
    return {r["schedule"] for r in rows}
