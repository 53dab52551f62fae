"""The inspection calendar: open inspections and the occurrences their schedules will raise, in
a date range (the month calendar page and each team's iCalendar feed), and the token that lets a
calendar app read a team's feed without a login."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
from zoneinfo import ZoneInfo

from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.inspections.choices import Anchor, State
from facilities.inspections.services.common import OPEN_STATES, occurrence_key
from facilities.inspections.tables import Inspection, InspectionSchedule
from facilities.lib import recurrence


@dataclasses.dataclass(frozen=True)
class CalendarEntry:
    """One inspection on a calendar: raised (``inspection_id``) or still to be raised by its
    schedule (projected). ``uid`` stays the same when a projected occurrence is raised."""

    uid: str
    due_at: dt.datetime
    asset_id: int
    asset_code: str
    asset_name_zh: str
    inspection_type: str
    team_id: int | None
    inspection_id: int | None = None
    schedule_id: int | None = None
    state: str = State.PLANNED
    is_overdue: bool = False
    #: The end of a raised inspection's tolerance window (the staff calendar draws due..end).
    window_ends_at: dt.datetime | None = None


def _entry_uid(
    schedule_id: int | None, occurrence: dt.datetime | None, inspection_id: int | None
) -> str:
    if schedule_id is not None and occurrence is not None:
        return f"inspection-{occurrence_key(schedule_id, occurrence).replace(':', '-')}"
    return f"inspection-{inspection_id}"


async def calendar_entries(
    actor: Actor,
    start: dt.datetime,
    end: dt.datetime,
    zone: ZoneInfo,
    now: dt.datetime,
    team_id: int | None = None,
    per_schedule: int = 62,
) -> list[CalendarEntry]:
    """Open inspections whose days (from the due day to the end of the window) meet
    [start, end), and the occurrences their schedules will raise there, soonest first (the
    month calendar and the team's iCalendar feed). An inspection due before ``start`` whose
    window reaches into it is work for those days too."""
    require(actor, Perm.INSPECTIONS_VIEW)
    query = Inspection.select(
        Inspection.id,
        Inspection.due_at,
        Inspection.window_ends_at,
        Inspection.asset,
        Inspection.schedule,
        Inspection.occurrence_key,
        Inspection.inspection_type,
        Inspection.team,
        Inspection.state,
        Inspection.asset.code.as_alias("asset_code"),
        Inspection.asset.name_zh.as_alias("asset_name_zh"),
    ).where(
        Inspection.state.is_in(list(OPEN_STATES))
        & (Inspection.due_at < end)
        & ((Inspection.due_at >= start) | (Inspection.window_ends_at >= start))
    )
    if team_id is not None:
        query = query.where(Inspection.team == team_id)
    entries = []
    raised_keys = set()
    for r in await query.order_by(Inspection.due_at).limit(2000):
        raised_keys.add(r["occurrence_key"])
        entries.append(
            CalendarEntry(
                uid=_entry_uid(
                    r["schedule"] if r["occurrence_key"] else None, r["due_at"], r["id"]
                ),
                due_at=r["due_at"],
                asset_id=r["asset"],
                asset_code=r["asset_code"],
                asset_name_zh=r["asset_name_zh"],
                inspection_type=r["inspection_type"],
                team_id=r["team"],
                inspection_id=r["id"],
                schedule_id=r["schedule"],
                state=r["state"],
                is_overdue=(r["window_ends_at"] or r["due_at"]) < now,
                window_ends_at=r["window_ends_at"],
            )
        )
    schedules = InspectionSchedule.select(
        InspectionSchedule.id,
        InspectionSchedule.asset,
        InspectionSchedule.inspection_type,
        InspectionSchedule.rrule,
        InspectionSchedule.override_rrule,
        InspectionSchedule.anchor,
        InspectionSchedule.starts_at,
        InspectionSchedule.next_due_at,
        InspectionSchedule.team,
        InspectionSchedule.asset.code.as_alias("asset_code"),
        InspectionSchedule.asset.name_zh.as_alias("asset_name_zh"),
    ).where(
        (InspectionSchedule.is_suspended == False)  # noqa: E712
        & InspectionSchedule.next_due_at.is_not_null()
        & (InspectionSchedule.next_due_at < end)
    )
    if team_id is not None:
        schedules = schedules.where(InspectionSchedule.team == team_id)
    for s in await schedules.limit(2000):
        rule = s["override_rrule"] or s["rrule"]
        start_local = s["starts_at"].astimezone(zone).replace(tzinfo=None)
        occurrence: dt.datetime | None = s["next_due_at"]
        count = 0
        while occurrence is not None and occurrence < end and count < per_schedule:
            key = occurrence_key(s["id"], occurrence)
            if occurrence >= start and key not in raised_keys:
                entries.append(
                    CalendarEntry(
                        uid=_entry_uid(s["id"], occurrence, None),
                        due_at=occurrence,
                        asset_id=s["asset"],
                        asset_code=s["asset_code"],
                        asset_name_zh=s["asset_name_zh"],
                        inspection_type=s["inspection_type"],
                        team_id=s["team"],
                        schedule_id=s["id"],
                    )
                )
            count += 1
            if s["anchor"] == Anchor.FLOATING:
                break  # later dates depend on when this one is completed
            occurrence = recurrence.next_after(rule, start_local, occurrence, zone)
    entries.sort(key=lambda e: (e.due_at, e.asset_code, e.uid))
    return entries


def team_token(team_id: int, secret_key: str) -> str:
    """The token of a team's calendar feed URL: HMAC-SHA256 of the team id with the secret key
    (rotating the key revokes every feed URL)."""
    return hmac.new(secret_key.encode(), str(team_id).encode(), hashlib.sha256).hexdigest()


def team_token_ok(team_id: int, token: str, secret_key: str) -> bool:
    return hmac.compare_digest(
        team_token(team_id, secret_key).encode(), token.strip().lower().encode()
    )
