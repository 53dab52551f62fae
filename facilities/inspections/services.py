"""Inspection services: schedules, raising, records, grading, findings to tickets, rules,
reminders. The only code that writes the inspection tables."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from piccolo.query.functions.aggregate import Max

from facilities import db
from facilities.accounts import services as accounts
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import SYSTEM, Actor, require
from facilities.accounts.tables import StaffUser
from facilities.assets import services as assets
from facilities.assets.tables import Asset, Component
from facilities.audit import services as audit
from facilities.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from facilities.i18n import gettext as _
from facilities.inspections import policy
from facilities.inspections.choices import (
    AUTO_TICKET_URGENCIES,
    URGENCY_PRIORITY,
    Anchor,
    Answer,
    DefectType,
    FindingStatus,
    InspectionType,
    Recommendation,
    ScheduleStatus,
    Severity,
    State,
    Trigger,
    Urgency,
)
from facilities.inspections.schemas import (
    FindingIn,
    InspectionIn,
    RecordIn,
    ScheduleIn,
)
from facilities.inspections.tables import (
    ChecklistTemplate,
    ClosureProposal,
    ComponentCondition,
    Finding,
    Inspection,
    InspectionPhoto,
    InspectionSchedule,
    ReminderSent,
    Rule,
    RuleFiring,
    Team,
)
from facilities.lib import condition, media, recurrence
from facilities.notifications import services as notifications
from facilities.tickets import services as tickets
from facilities.tickets.choices import Priority, Source, WorkClass
from facilities.tickets.schemas import TicketIn

MAX_ID = 2_147_483_647
OPEN_STATES = (State.PLANNED, State.IN_PROGRESS, State.SUBMITTED)
DUE_SOON = dt.timedelta(days=7)
#: Days after the tolerance window before an overdue inspection goes to the supervisors.
ESCALATE_TO_SUPERVISOR_AFTER = dt.timedelta(days=3)


def _valid_id(value: int | None) -> bool:
    return value is not None and 0 < value <= MAX_ID


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


# --- schedules -----------------------------------------------------------------------------


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


#: Inspections recur at most daily: the schedule's start gives the time of day.


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
        before = schedule_snapshot(schedule)
        starts_at = _start_instant(data, zone)
        effective = schedule.override_rrule or rule
        next_due = first_due(
            effective, data.anchor, starts_at, schedule.last_completed_at, now, zone
        )
        changed = (
            await InspectionSchedule.update(
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
                    InspectionSchedule.updated_at: now,
                    InspectionSchedule.version: data.version + 1,
                }
            )
            .where(
                (InspectionSchedule.id == schedule.id)
                & (InspectionSchedule.version == data.version)
            )
            .returning(InspectionSchedule.id)
        )
        if not changed:
            raise Conflict(
                _(
                    "Someone else changed this schedule while you were editing. "
                    "Your changes were not saved."
                )
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
    row = None
    if _valid_id(schedule_id):
        row = await InspectionSchedule.objects().where(InspectionSchedule.id == schedule_id).first()
    if row is None:
        raise NotFound(_("No such schedule."))
    return row


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


# --- raising -------------------------------------------------------------------------------


@dataclasses.dataclass
class RaiseResult:
    raised: int = 0
    coalesced: int = 0  # occurrences missed while the scheduler was down, folded into one

    def __int__(self) -> int:
        return self.raised

    @property
    def detail(self) -> str:
        if not self.coalesced:
            return ""
        return f"{self.coalesced} missed occurrence(s) coalesced into the latest"


def occurrence_key(schedule_id: int, occurrence: dt.datetime) -> str:
    return f"{schedule_id}:{occurrence.astimezone(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}"


async def raise_due(now: dt.datetime, zone: ZoneInfo, batch: int = 100_000) -> RaiseResult:
    """Raise one inspection per due occurrence, exactly once.

    A schedule is due when ``next_due_at - lead_days <= now``. Occurrences that all fell while the
    scheduler was down are coalesced into the latest one (one overdue inspection, not a pile);
    the count is reported. The insert is keyed by (schedule, occurrence) and the move of
    ``next_due_at`` is conditional on its old value, so a rerun, a second scheduler or a crash
    between the two statements never raises an occurrence twice.

    The work is set-based: schedules made from the same policy share their rule, start, due
    date and windows, so each ``batch`` of schedules (by id) is read as its distinct
    :class:`_Due` groups, the recurrence is computed once per group in Python, and the raise and
    the move are one statement each over the whole batch (see :func:`_raise_groups`). A register
    whose schedules share nothing still works; it just has as many groups as schedules. A batch
    is one write transaction: 100,000 schedules hold SQLite's write lock for about 3 s at the
    worst (all due, on a 2-core machine), well inside the 30 s other writers wait; smaller
    batches cost more in total (20,000: 1.4x the time for 1M schedules).

    Seasonal windows (the ``seasonal`` rule, see :mod:`facilities.inspections.policy`) make fixed
    patrols daily while they last, without touching the stored rule, and raise one pre-holiday
    inspection per pre-holiday schedule before each holiday.
    """
    result = RaiseResult()
    seasons = await seasonal_policy()
    occurrences = _Occurrences(zone, seasons)
    horizon = now + dt.timedelta(days=await _longest_lead())
    low = 0
    while True:
        high = await _batch_end(low, batch)
        async with db.transaction():
            groups = await _due_groups(low, high, horizon)
            moves = [
                _plan(group, schedules, now, occurrences)
                for group, schedules in groups
                if group.next_due_at - dt.timedelta(days=group.lead_days) <= now
            ]
            if moves:
                await _raise_groups(moves, low, high, now, result)
        if high is None:
            break
        low = high
    if seasons is not None:
        await _raise_pre_holiday(now, zone, seasons, result)
    return result


# --- seasonal overrides --------------------------------------------------------------------

SEASONAL_RULE = "seasonal"
#: The policy last read from the database (pages describe it; raise_due reads it afresh).
_last_seasonal: policy.SeasonalPolicy | None = policy.DEFAULT_POLICY


async def _seasonal_rule() -> dict[str, Any] | None:
    return await (
        Rule.select(Rule.id, Rule.version, Rule.enabled, Rule.params)
        .where(Rule.code == SEASONAL_RULE)
        .first()
    )


async def seasonal_policy() -> policy.SeasonalPolicy | None:
    """The seasonal policy in force: the ``seasonal`` rule's params over the defaults; None when
    staff disabled the rule. Without the row (not seeded yet) the defaults apply."""
    global _last_seasonal
    row = await _seasonal_rule()
    if row is None:
        found: policy.SeasonalPolicy | None = policy.DEFAULT_POLICY
    elif not row["enabled"]:
        found = None
    else:
        found = policy.SeasonalPolicy.from_params(_json(row["params"]) or {})
    _last_seasonal = found
    return found


def is_seasonal(inspection_type: str, anchor: str) -> bool:
    """Schedules the seasonal windows make daily: fixed patrols (a floating one is counted from
    its last completion)."""
    return inspection_type == InspectionType.PATROL and anchor != Anchor.FLOATING


class _Occurrences:
    """Next occurrences for one raise run. Many schedules share a rule, a start and an
    occurrence, so each distinct question is computed once; inside a seasonal window a patrol's
    next occurrence is the earlier of its own rule's and the daily rule's."""

    def __init__(self, zone: ZoneInfo, seasons: policy.SeasonalPolicy | None) -> None:
        self.zone = zone
        self.seasons = seasons
        self._cache: dict[tuple[str, dt.datetime, dt.datetime, bool], dt.datetime | None] = {}

    def following(
        self, rule: str, start_local: dt.datetime, after: dt.datetime, seasonal: bool
    ) -> dt.datetime | None:
        seasonal = seasonal and self.seasons is not None
        key = (rule, start_local, after, seasonal)
        try:
            return self._cache[key]
        except KeyError:
            pass
        found = recurrence.next_after(rule, start_local, after, self.zone)
        if seasonal:
            daily = self._daily_in_season(start_local, after)
            if daily is not None and (found is None or daily < found):
                found = daily
        self._cache[key] = found
        return found

    def _daily_in_season(self, start_local: dt.datetime, after: dt.datetime) -> dt.datetime | None:
        assert self.seasons is not None
        daily = recurrence.next_after("FREQ=DAILY", start_local, after, self.zone)
        if daily is None:
            return None
        day = daily.astimezone(self.zone).date()
        if policy.season_for(day, self.seasons) is not None:
            return daily
        opens = policy.next_window_start(day, self.seasons)
        if opens is None:
            return None
        midnight = recurrence.localize(dt.datetime.combine(opens, dt.time()), self.zone)
        return recurrence.next_after("FREQ=DAILY", start_local, midnight, self.zone, inclusive=True)


def seasonal_note(inspection_type: str, rule: str, anchor: str = Anchor.FIXED) -> str:
    """What the schedule page says of a patrol the seasonal windows make daily ("" otherwise)."""
    seasons = _last_seasonal
    if seasons is None or not is_seasonal(inspection_type, anchor):
        return ""
    if rule.strip().upper().removeprefix("RRULE:") == "FREQ=DAILY":
        return ""
    return _(
        "Daily during flood season (%(start)s to %(end)s) and the %(days)s days up to "
        "五一, 国庆 and 春节."
    ) % {"start": seasons.flood_from, "end": seasons.flood_to, "days": seasons.lead_days}


async def _raise_pre_holiday(
    now: dt.datetime, zone: ZoneInfo, seasons: policy.SeasonalPolicy, result: RaiseResult
) -> None:
    """Inside a holiday's window, one pre-holiday inspection per (not suspended) pre-holiday
    schedule, due ``pre_holiday_days_before`` days before the holiday at the schedule's time of
    day. Keyed like any scheduled occurrence, so it is raised once. A schedule whose own rule
    raises (or will raise) an occurrence inside the window needs none from the season."""
    today = now.astimezone(zone).date()
    windows = [w for w in policy.seasons_on(today, seasons) if w.is_pre_holiday]
    if not windows:
        return
    rule = await _seasonal_rule()
    schedules = await InspectionSchedule.select(
        InspectionSchedule.id,
        InspectionSchedule.asset,
        InspectionSchedule.starts_at,
        InspectionSchedule.next_due_at,
        InspectionSchedule.tolerance_days,
        InspectionSchedule.team,
        InspectionSchedule.checklist,
    ).where(
        (InspectionSchedule.inspection_type == InspectionType.PRE_HOLIDAY)
        & (InspectionSchedule.is_suspended == False)  # noqa: E712
    )
    for window in windows:
        opens = recurrence.localize(dt.datetime.combine(window.starts, dt.time()), zone)
        closes = recurrence.localize(
            dt.datetime.combine(window.ends + dt.timedelta(days=1), dt.time()), zone
        )
        covered = {
            r["schedule"]
            for r in await Inspection.select(Inspection.schedule).where(
                (Inspection.inspection_type == InspectionType.PRE_HOLIDAY)
                & Inspection.schedule.is_not_null()
                & (Inspection.due_at >= opens)
                & (Inspection.due_at < closes)
            )
        }
        day = window.ends - dt.timedelta(days=seasons.due_days_before)
        inserts = []
        for s in schedules:
            own = s["next_due_at"]
            if s["id"] in covered or (own is not None and opens <= own < closes):
                continue
            local_start = s["starts_at"].astimezone(zone)
            due = recurrence.localize(
                dt.datetime.combine(day, local_start.time().replace(tzinfo=None)), zone
            )
            inserts.append(
                Inspection(
                    asset=s["asset"],
                    schedule=s["id"],
                    occurrence_key=occurrence_key(s["id"], due),
                    inspection_type=InspectionType.PRE_HOLIDAY,
                    trigger=Trigger.SCHEDULED,
                    state=State.PLANNED,
                    due_at=due,
                    window_ends_at=due + dt.timedelta(days=s["tolerance_days"]),
                    team=s["team"],
                    checklist=s["checklist"],
                    answers="{}",
                    created_at=now,
                    updated_at=now,
                )
            )
        for chunk in range(0, len(inserts), 500):
            async with db.transaction():
                created = (
                    await Inspection.insert(*inserts[chunk : chunk + 500])
                    .on_conflict(action="DO NOTHING")
                    .returning(Inspection.id, Inspection.asset)
                )
                result.raised += len(created)
                if rule is not None and created:
                    outcome = json.dumps(
                        {"season": window.code, "holiday": window.holiday},
                        ensure_ascii=False,
                        default=str,
                    )
                    await RuleFiring.insert(
                        *[
                            RuleFiring(
                                rule=rule["id"],
                                rule_version=rule["version"],
                                inspection=r["id"],
                                asset=r["asset"],
                                outcome=outcome,
                                fired_at=now,
                            )
                            for r in created
                        ]
                    )


@dataclasses.dataclass(frozen=True)
class _Due:
    """What decides a schedule's next occurrence: schedules equal in all of it are raised and
    moved alike (the group's columns are matched exactly when raising)."""

    rrule: str
    override_rrule: str
    anchor: str
    inspection_type: str
    starts_at: dt.datetime
    next_due_at: dt.datetime
    lead_days: int
    tolerance_days: int


@dataclasses.dataclass(frozen=True)
class _Move:
    """A group's outcome: the occurrence to raise and where ``next_due_at`` goes next."""

    group: _Due
    occurrence: dt.datetime
    following: dt.datetime | None
    missed: int
    schedules: int  # how many schedules the group had when read

    def params(self) -> tuple[Any, ...]:
        g = self.group
        stamp = self.occurrence.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        window_ends = self.occurrence + dt.timedelta(days=g.tolerance_days)
        return (
            *(getattr(g, column) for column in _GROUP_COLUMNS),  # astuple() deep-copies
            stamp,
            self.occurrence,
            window_ends,
            self.following,
            self.missed,
        )


_GROUP_COLUMNS = tuple(f.name for f in dataclasses.fields(_Due))
_GROUP_DECLARED = ", ".join(
    f"{c} {InspectionSchedule._meta.get_column_by_name(c).column_type}" for c in _GROUP_COLUMNS
)
_MOVE_COLUMNS = (*_GROUP_COLUMNS, "stamp", "due_at", "window_ends_at", "following", "missed")
_MOVE_TYPES: tuple[str, ...] = ("text",) * 4 + ("timestamptz",) * 2 + ("integer",) * 2
_MOVE_TYPES += ("text",) + ("timestamptz",) * 3 + ("integer",)
#: Groups per statement: SQLite and asyncpg both take at most 32,766 parameters (13 a group).
_GROUPS_PER_STATEMENT = 2000
_INSERT_COLUMNS = (
    "asset, schedule, occurrence_key, inspection_type, due_at, window_ends_at, team, checklist, "
    "created_at, updated_at, answers, trigger, state, recommendation, summary, passed, version"
)


async def _longest_lead() -> int:
    """The longest lead time of any running schedule, in days: none is due whose next due date
    is later than that from now. Most runs find next to nothing due, and this bound lets them
    group only the schedules near their due date, not the whole register."""
    row = await (
        InspectionSchedule.select(Max(InspectionSchedule.lead_days).as_alias("days"))
        .where(InspectionSchedule.is_suspended.eq(False))
        .first()
    )
    return int(row["days"] or 0) if row else 0


async def _batch_end(low: int, size: int) -> int | None:
    """The id closing the batch of ``size`` schedules after ``low``; None for the last batch."""
    rows = await (
        InspectionSchedule.select(InspectionSchedule.id)
        .where(InspectionSchedule.id > low)
        .order_by(InspectionSchedule.id)
        .offset(size - 1)
        .limit(1)
    )
    return rows[0]["id"] if rows else None


def _in_batch(low: int, high: int | None, alias: str) -> tuple[str, list[Any]]:
    if high is None:
        return f"{alias}.id > ?", [low]
    return f"{alias}.id > ? AND {alias}.id <= ?", [low, high]


async def _due_groups(low: int, high: int | None, horizon: dt.datetime) -> list[tuple[_Due, int]]:
    """The batch's distinct groups of unsuspended schedules due before ``horizon``, each with
    its number of schedules.

    PostgreSQL hashes the GROUP BY. SQLite would sort every schedule of the batch for it, so
    there each schedule is counted into a temporary table keyed by its group instead: one probe
    of a few hundred keys per row (100,000 schedules: 0.12 s against 0.18 s)."""
    columns = ", ".join(_GROUP_COLUMNS)
    batch, args = _in_batch(low, high, "s")
    due = f"WHERE {batch} AND is_suspended = ? AND next_due_at IS NOT NULL AND next_due_at <= ?"
    args = [*args, False, horizon]
    # only column names and placeholders are interpolated below
    if db.is_sqlite():
        # declared with the schedule's column types, so rows read back convert alike
        await _execute(
            f"CREATE TEMP TABLE IF NOT EXISTS due_group ({_GROUP_DECLARED}, "
            f"schedules INTEGER, UNIQUE ({columns}))",
            [],
        )
        await _execute("DELETE FROM due_group", [])
        await _execute(
            f"INSERT INTO due_group SELECT {columns}, 1 FROM inspection_schedule AS s "  # noqa: S608
            f"{due} ON CONFLICT ({columns}) DO UPDATE SET schedules = schedules + 1",
            args,
        )
        rows = await _execute("SELECT * FROM due_group", [])
    else:
        rows = await _execute(
            f"SELECT {columns}, count(*) AS schedules "  # noqa: S608
            f"FROM inspection_schedule AS s {due} GROUP BY {columns}",
            args,
        )
    return [(_Due(**{c: row[c] for c in _GROUP_COLUMNS}), row["schedules"]) for row in rows]


def _plan(group: _Due, schedules: int, now: dt.datetime, occurrences: _Occurrences) -> _Move:
    """The occurrence to raise for a due group, folding those missed while the scheduler was
    down into the latest, and the next one (floating schedules wait for a completion)."""
    occurrence = group.next_due_at
    following: dt.datetime | None = None
    missed = 0
    if group.anchor != Anchor.FLOATING:
        rule = group.override_rrule or group.rrule
        start_local = group.starts_at.astimezone(occurrences.zone).replace(tzinfo=None)
        seasonal = is_seasonal(group.inspection_type, group.anchor)
        following = occurrences.following(rule, start_local, occurrence, seasonal)
        while following is not None and following <= now:
            missed += 1
            occurrence = following
            following = occurrences.following(rule, start_local, following, seasonal)
    return _Move(group, occurrence, following, missed, schedules)


async def _raise_groups(
    moves: list[_Move], low: int, high: int | None, now: dt.datetime, result: RaiseResult
) -> None:
    """Raise and move every schedule of the batch that matches one of ``moves``' groups.

    On either engine the unique occurrence key drops an occurrence raised before a crash, a schedule
    moves only from the ``next_due_at`` its group was read with, and only the run that raised
    an occurrence reports the missed ones it folded into it.
    """
    raise_some = _raise_sqlite if db.is_sqlite() else _raise_postgres
    raised, coalesced = await raise_some(moves, _in_batch(low, high, "s"), now)
    result.raised += raised
    result.coalesced += coalesced


def _constants() -> str:
    """The inserted columns every raised inspection shares, as SQL literals (checked plain)."""
    values = (Trigger.SCHEDULED.value, State.PLANNED.value, Recommendation.NONE.value)
    assert all(c.isalnum() or c == "_" for value in values for c in value)
    return "'{}', " + ", ".join(f"'{v}'" for v in values) + ", '', NULL, 1"


_CONSTANTS = _constants()


_MATCH = " AND ".join(f"s.{c} = g.{c}" for c in _GROUP_COLUMNS)


async def _raise_sqlite(
    moves: list[_Move], batch: tuple[str, list[Any]], now: dt.datetime
) -> tuple[int, int]:
    """The INSERT then the UPDATE, in the same IMMEDIATE transaction, so nothing can change
    between them. The groups go to a temporary table whose columns have the schedule's types and
    a unique index over the group, so each schedule finds its group by one index lookup (a
    VALUES list makes SQLite index the schedules instead, or scan the groups per schedule)."""
    columns = ", ".join(_GROUP_COLUMNS)
    # only column names, placeholders and the checked constants are interpolated below
    await _execute(
        f"CREATE TEMP TABLE IF NOT EXISTS raise_group AS SELECT {columns}, "  # noqa: S608
        "'' AS stamp, next_due_at AS due_at, next_due_at AS window_ends_at, "
        "next_due_at AS following, lead_days AS missed FROM inspection_schedule WHERE 0",
        [],
    )
    await _execute(
        f"CREATE UNIQUE INDEX IF NOT EXISTS temp.raise_group_key ON raise_group ({columns})", []
    )
    await _execute("DELETE FROM raise_group", [])
    await _connection().executemany(
        f"INSERT INTO raise_group VALUES ({', '.join('?' * len(_MOVE_COLUMNS))})",  # noqa: S608
        [move.params() for move in moves],
    )
    where = f"{_MATCH} AND {batch[0]} AND s.is_suspended = ?"
    args = [*batch[1], False]
    before = (await _execute("SELECT coalesce(max(id), 0) AS id FROM inspection", []))[0]["id"]
    raised = await _execute_count(
        f"INSERT INTO inspection ({_INSERT_COLUMNS}) "  # noqa: S608
        "SELECT s.asset, s.id, CAST(s.id AS TEXT) || ':' || g.stamp, s.inspection_type, "
        f"g.due_at, g.window_ends_at, s.team, s.checklist, ?, ?, {_CONSTANTS} "
        f"FROM inspection_schedule AS s JOIN raise_group AS g ON {where} "
        "ON CONFLICT (occurrence_key) DO NOTHING",
        [now, now, *args],
    )
    coalesced = sum(move.missed * move.schedules for move in moves)
    if coalesced and raised < sum(move.schedules for move in moves):
        # Some occurrences existed already (raised before a crash, or a pre-holiday inspection
        # under the same key): count what was folded into the rows this statement inserted,
        # and only those.
        rows = await _execute(
            "SELECT coalesce(sum(g.missed), 0) AS missed FROM inspection AS i "  # noqa: S608
            "JOIN inspection_schedule AS s ON s.id = i.schedule "
            f"JOIN raise_group AS g ON {where} AND g.missed > 0 WHERE i.id > ?",
            [*args, before],
        )
        coalesced = int(rows[0]["missed"])
    await _execute_count(
        "UPDATE inspection_schedule AS s SET next_due_at = g.following "  # noqa: S608
        f"FROM raise_group AS g WHERE {where}",
        args,
    )
    return raised, coalesced


async def _raise_postgres(
    moves: list[_Move], batch: tuple[str, list[Any]], now: dt.datetime
) -> tuple[int, int]:
    """One statement per number of missed occurrences (and chunk of groups): an UPDATE moving
    ``next_due_at`` from the group's value feeds the INSERT of exactly the rows it moved (a
    concurrent run blocks on the same rows, then finds them moved and raises nothing); what the
    statement raised times the missed count is what it folded. The groups are a VALUES list,
    hashed. (Joining the INSERT's rows back to the UPDATE's to count per row would make
    PostgreSQL loop: it estimates one row for each.)"""
    one = "(" + ", ".join(f"?::{t}" for t in _MOVE_TYPES) + ")"
    by_missed: dict[int, list[_Move]] = {}
    for move in moves:
        by_missed.setdefault(move.missed, []).append(move)
    raised = coalesced = 0
    for missed, same in sorted(by_missed.items()):
        for chunk in range(0, len(same), _GROUPS_PER_STATEMENT):
            part = same[chunk : chunk + _GROUPS_PER_STATEMENT]
            args: list[Any] = [value for move in part for value in move.params()]
            values = ", ".join([one] * len(part))
            # only column names, placeholders and the checked constants are interpolated
            statement = (
                f"WITH g({', '.join(_MOVE_COLUMNS)}) AS (VALUES {values}), "  # noqa: S608
                "moved AS (UPDATE inspection_schedule AS s SET next_due_at = g.following "
                f"FROM g WHERE {_MATCH} AND {batch[0]} AND s.is_suspended = false "
                "RETURNING s.id, s.asset, s.inspection_type, s.team, s.checklist, g.stamp, "
                "g.due_at, g.window_ends_at) "
                f"INSERT INTO inspection ({_INSERT_COLUMNS}) "
                "SELECT m.asset, m.id, CAST(m.id AS TEXT) || ':' || m.stamp, m.inspection_type, "
                "m.due_at, m.window_ends_at, m.team, m.checklist, ?::timestamptz, "
                f"?::timestamptz, {_CONSTANTS} FROM moved AS m "
                "ON CONFLICT (occurrence_key) DO NOTHING"
            )
            count = await _execute_count(statement, [*args, *batch[1], now, now])
            raised += count
            coalesced += count * missed
    return raised, coalesced


def _native(sql: str) -> str:
    """The statement with PostgreSQL's numbered placeholders for SQLite's ``?`` (the statements
    here carry no ``?`` inside literals)."""
    if db.is_sqlite():
        return sql
    parts = sql.split("?")
    return parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))


def _connection() -> Any:
    """The open transaction's own connection. Piccolo's query compiler costs more than the
    database itself for statements with thousands of parameters, so raising bypasses it (the
    values are still parameters, never text)."""
    transaction = db.engine().current_transaction.get()  # type: ignore[attr-defined]
    assert transaction is not None, "run inside db.transaction()"
    return transaction.connection


async def _execute(sql: str, args: list[Any]) -> list[Any]:
    connection = _connection()
    if db.is_sqlite():
        async with connection.execute(sql, args) as cursor:
            return list(await cursor.fetchall())
    return list(await connection.fetch(_native(sql), *args))


async def _execute_count(sql: str, args: list[Any]) -> int:
    """Run a write; the number of rows it wrote."""
    connection = _connection()
    if db.is_sqlite():
        async with connection.execute(sql, args) as cursor:
            return int(cursor.rowcount)
    status = await connection.execute(_native(sql), *args)
    return int(status.split()[-1])


# --- inspections ---------------------------------------------------------------------------


async def get_inspection(actor: Actor, inspection_id: int) -> Inspection:
    require(actor, Perm.INSPECTIONS_VIEW)
    row = None
    if _valid_id(inspection_id):
        row = await Inspection.objects().where(Inspection.id == inspection_id).first()
    if row is None:
        raise NotFound(_("No such inspection."))
    return row


async def list_inspections(
    actor: Actor,
    now: dt.datetime,
    *,
    asset_id: int | None = None,
    open_only: bool = True,
    inspector_id: int | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Inspections with their asset, most urgent first (open) or newest first (all)."""
    require(actor, Perm.INSPECTIONS_VIEW)
    query = Inspection.select(
        *Inspection.all_columns(exclude=[Inspection.answers]),
        Inspection.asset.code.as_alias("asset_code"),
        Inspection.asset.name_zh.as_alias("asset_name_zh"),
        Inspection.asset.name_en.as_alias("asset_name_en"),
        Inspection.inspector.display_name.as_alias("inspector_name"),
    )
    if open_only:
        query = query.where(Inspection.state.is_in(list(OPEN_STATES))).order_by(Inspection.due_at)
    else:
        query = query.order_by(Inspection.due_at, ascending=False)
    if asset_id is not None:
        query = query.where(Inspection.asset == asset_id)
    if inspector_id is not None:
        query = query.where(Inspection.inspector == inspector_id)
    rows = await query.limit(limit)
    for row in rows:
        row["is_overdue"] = (
            row["state"] in OPEN_STATES and (row["window_ends_at"] or row["due_at"]) < now
        )
    return rows


async def create_inspection(
    actor: Actor, data: InspectionIn, zone: ZoneInfo, now: dt.datetime
) -> Inspection:
    """An inspection raised by hand (special, acceptance, pre-reopening ...)."""
    require(actor, Perm.INSPECTIONS_PLAN)
    errors: dict[str, str] = {}
    if not await Asset.exists().where(Asset.id == data.asset_id):
        errors["asset_id"] = _("Choose an existing asset.")
    if data.inspector_id is not None and not await StaffUser.exists().where(
        (StaffUser.id == data.inspector_id) & (StaffUser.is_active == True)  # noqa: E712
    ):
        errors["inspector_id"] = _("Choose an active staff member.")
    if data.team_id is not None and not await Team.exists().where(Team.id == data.team_id):
        errors["team_id"] = _("Choose an existing team.")
    if data.checklist_id is not None and not await ChecklistTemplate.exists().where(
        ChecklistTemplate.id == data.checklist_id
    ):
        errors["checklist_id"] = _("Choose an existing checklist.")
    if errors:
        raise ValidationFailed(errors)
    due = recurrence.localize(dt.datetime.combine(data.due_on, dt.time(17, 0)), zone)
    async with db.transaction():
        row = Inspection(
            asset=data.asset_id,
            inspection_type=data.inspection_type,
            trigger=data.trigger,
            state=State.PLANNED,
            due_at=due,
            window_ends_at=due,
            inspector=data.inspector_id,
            team=data.team_id,
            checklist=data.checklist_id,
            answers="{}",
            created_at=now,
            updated_at=now,
        )
        await row.save()
        await audit.record(
            actor,
            "inspection.created",
            "inspection",
            row.id,
            now,
            after={"type": data.inspection_type, "due": due},
        )
    return row


async def _step(
    actor: Actor,
    inspection_id: int,
    version: int,
    sources: tuple[State, ...],
    values: dict[Any, Any],
    action: str,
    now: dt.datetime,
) -> Inspection:
    inspection = await get_inspection(actor, inspection_id)
    if inspection.version != version:
        raise Conflict(_("Someone else changed this inspection first. Reload it and try again."))
    if inspection.state not in sources:
        raise InvalidTransition(
            _("This is not possible while the inspection is “%(state)s”.")
            % {"state": State(inspection.state).label}
        )
    changed = (
        await Inspection.update(
            {**values, Inspection.updated_at: now, Inspection.version: version + 1}
        )
        .where((Inspection.id == inspection.id) & (Inspection.version == version))
        .returning(Inspection.id)
    )
    if not changed:
        raise Conflict(_("Someone else changed this inspection first. Reload it and try again."))
    await audit.record(
        actor,
        f"inspection.{action}",
        "inspection",
        inspection.id,
        now,
        {"state": inspection.state},
        {"state": values.get(Inspection.state, inspection.state)},
    )
    return await get_inspection(actor, inspection_id)


async def start(actor: Actor, inspection_id: int, version: int, now: dt.datetime) -> Inspection:
    """The inspector takes the inspection (planned -> in progress)."""
    require(actor, Perm.INSPECTIONS_RECORD)
    async with db.transaction():
        return await _step(
            actor,
            inspection_id,
            version,
            (State.PLANNED,),
            {
                Inspection.state: State.IN_PROGRESS,
                Inspection.started_at: now,
                Inspection.inspector: actor.id,
            },
            "started",
            now,
        )


async def save_record(
    actor: Actor, inspection_id: int, data: RecordIn, now: dt.datetime
) -> Inspection:
    """Store answers, component conditions, weather and summary (repeatable until submitted)."""
    require(actor, Perm.INSPECTIONS_RECORD)
    async with db.transaction():
        inspection = await get_inspection(actor, inspection_id)
        components = {
            r["id"]
            for r in await Component.select(Component.id).where(Component.asset == inspection.asset)
        }
        errors = {
            f"conditions.{i}": _("Choose a component of this asset.")
            for i, c in enumerate(data.conditions)
            if c.component_id not in components
        }
        keys = {item["key"] for item in await _checklist_items(inspection)}
        errors.update(
            {
                f"answers.{key}": _("This item is not on the inspection's checklist.")
                for key in data.answers
                if key not in keys
            }
        )
        errors.update(
            {
                f"answers.{key}": _("This item is not on the inspection's checklist.")
                for key in data.answer_notes
                if key not in keys
            }
        )
        if errors:
            raise ValidationFailed(errors)
        answers = {
            key: {"answer": value.value, "note": data.answer_notes.get(key, "")}
            for key, value in data.answers.items()
        }
        updated = await _step(
            actor,
            inspection_id,
            data.version,
            (State.PLANNED, State.IN_PROGRESS),
            {
                Inspection.state: State.IN_PROGRESS,
                Inspection.started_at: inspection.started_at or now,
                Inspection.inspector: inspection.inspector or actor.id,
                Inspection.answers: json.dumps(answers, ensure_ascii=False),
                Inspection.weather: data.weather,
                Inspection.recommendation: data.recommendation,
                Inspection.summary: data.summary.strip(),
            },
            "recorded",
            now,
        )
        await ComponentCondition.delete().where(ComponentCondition.inspection == inspection.id)
        if data.conditions:
            await ComponentCondition.insert(
                *[
                    ComponentCondition(
                        inspection=inspection.id,
                        component=c.component_id,
                        score=c.score,
                        is_ok=c.is_ok,
                        note=c.note,
                    )
                    for c in data.conditions
                ]
            )
    return updated


async def add_finding(
    actor: Actor, inspection_id: int, data: FindingIn, now: dt.datetime
) -> Finding:
    require(actor, Perm.INSPECTIONS_RECORD)
    async with db.transaction():
        inspection = await get_inspection(actor, inspection_id)
        if inspection.state == State.FINAL:
            raise InvalidTransition(_("A final inspection cannot be changed."))
        if data.component_id is not None and not await Component.exists().where(
            (Component.id == data.component_id) & (Component.asset == inspection.asset)
        ):
            raise ValidationFailed({"component_id": _("Choose a component of this asset.")})
        finding = Finding(
            inspection=inspection.id,
            asset=inspection.asset,
            component=data.component_id,
            defect_type=data.defect_type,
            severity=data.severity,
            urgency=data.urgency,
            is_direct_control=data.is_direct_control,
            description=data.description.strip(),
            status=FindingStatus.OPEN,
            created_at=now,
        )
        await finding.save()
        await audit.record(
            actor,
            "inspection.finding_added",
            "inspection",
            inspection.id,
            now,
            after={"finding": finding.id, "urgency": data.urgency},
        )
    return finding


async def list_findings(actor: Actor, inspection_id: int) -> list[Finding]:
    require(actor, Perm.INSPECTIONS_VIEW)
    return await Finding.objects().where(Finding.inspection == inspection_id).order_by(Finding.id)


async def add_photo(
    actor: Actor,
    inspection_id: int,
    data: bytes,
    finding_id: int | None,
    caption: str,
    media_root: Path,
    max_bytes: int,
    now: dt.datetime,
) -> InspectionPhoto:
    require(actor, Perm.INSPECTIONS_RECORD)
    inspection = await get_inspection(actor, inspection_id)
    if inspection.state == State.FINAL:
        raise InvalidTransition(_("A final inspection cannot be changed."))
    if finding_id is not None and not await Finding.exists().where(
        (Finding.id == finding_id) & (Finding.inspection == inspection.id)
    ):
        raise ValidationFailed({"finding_id": _("Choose a finding of this inspection.")})
    stored = media.store_checked(data, media_root, f"inspections/{inspection.id}", max_bytes)
    try:
        async with db.transaction():
            row = InspectionPhoto(
                inspection=inspection.id,
                finding=finding_id,
                content_type=stored.content_type,
                size=stored.size,
                sha256=stored.sha256,
                storage_key=stored.storage_key,
                thumbnail_key=stored.thumbnail_key,
                caption=caption.strip()[:300],
                uploaded_by=actor.id,
                created_at=now,
            )
            await row.save()
            await audit.record(
                actor,
                "inspection.photo_added",
                "inspection",
                inspection.id,
                now,
                after={"photo": row.id, "finding": finding_id},
            )
    except BaseException:
        media.remove(media_root, stored.storage_key, stored.thumbnail_key)
        raise
    return row


async def submit(actor: Actor, inspection_id: int, version: int, now: dt.datetime) -> Inspection:
    require(actor, Perm.INSPECTIONS_RECORD)
    async with db.transaction():
        return await _step(
            actor,
            inspection_id,
            version,
            (State.IN_PROGRESS,),
            {Inspection.state: State.SUBMITTED, Inspection.submitted_at: now},
            "submitted",
            now,
        )


# --- finalising: grade, tickets, rules -----------------------------------------------------


async def grade_inspection(inspection_id: int) -> tuple[float | None, str | None, bool]:
    """(BCI, grade, direct-control defect found) from the recorded conditions and findings."""
    rows = await ComponentCondition.select(
        ComponentCondition.score,
        ComponentCondition.is_ok,
        ComponentCondition.component.group.as_alias("group"),
    ).where(ComponentCondition.inspection == inspection_id)
    scores = []
    for r in rows:
        if r["score"] is not None:
            scores.append((r["group"], float(r["score"])))
        elif r["is_ok"] is not None:
            scores.append(
                (r["group"], condition.OK_SCORE if r["is_ok"] else condition.NOT_OK_SCORE)
            )
    direct = await Finding.exists().where(
        (Finding.inspection == inspection_id) & (Finding.is_direct_control == True)  # noqa: E712
    )
    index = condition.bci(scores)
    shown = round(index, 1) if index is not None else None
    return shown, condition.final_grade(index, direct), direct


async def finalise(
    actor: Actor,
    inspection_id: int,
    version: int,
    zone: ZoneInfo,
    media_root: Path,
    now: dt.datetime,
) -> Inspection:
    """A reviewer signs the inspection off: grade it, update the asset's grade, schedule the
    next one, open tickets for urgent findings and failed items, and run the rules."""
    require(actor, Perm.INSPECTIONS_FINALISE)
    async with db.transaction():
        inspection = await get_inspection(actor, inspection_id)
        index, grade, direct = await grade_inspection(inspection.id)
        open_direct = await Finding.exists().where(
            (Finding.asset == inspection.asset)
            & (Finding.is_direct_control == True)  # noqa: E712
            & (Finding.status != FindingStatus.RESOLVED)
            & (Finding.inspection != inspection.id)
        )
        passed = (
            grade is not None
            and condition.grade_rank(grade) <= condition.grade_rank("C")
            and not direct
            and not open_direct
        )
        final = await _step(
            actor,
            inspection_id,
            version,
            (State.SUBMITTED,),
            {
                Inspection.state: State.FINAL,
                Inspection.completed_at: now,
                Inspection.reviewer: actor.id,
                Inspection.bci: index,
                Inspection.grade: grade,
                Inspection.passed: passed,
            },
            "finalised",
            now,
        )
        if grade is not None:
            await assets.set_condition_grade(
                SYSTEM, final.asset, grade, now.astimezone(zone).date(), now
            )
        if final.schedule is not None:
            await _schedule_after_completion(final.schedule, now, zone)
        await _tickets_from_inspection(actor, final, media_root, now)
        await evaluate_rules(final, zone, now)
    return final


async def _schedule_after_completion(schedule_id: int, now: dt.datetime, zone: ZoneInfo) -> None:
    schedule = (
        await InspectionSchedule.objects().where(InspectionSchedule.id == schedule_id).first()
    )
    if schedule is None:
        return
    values: dict[Any, Any] = {InspectionSchedule.last_completed_at: now}
    if schedule.anchor == Anchor.FLOATING:
        values[InspectionSchedule.next_due_at] = first_due(
            effective_rule(schedule), Anchor.FLOATING, schedule.starts_at, now, now, zone
        )
    await InspectionSchedule.update(values).where(InspectionSchedule.id == schedule_id)


async def _tickets_from_inspection(
    actor: Actor, inspection: Inspection, media_root: Path, now: dt.datetime
) -> None:
    findings = await Finding.objects().where(
        (Finding.inspection == inspection.id)
        & (Finding.status == FindingStatus.OPEN)
        & Finding.urgency.is_in(sorted(AUTO_TICKET_URGENCIES))
    )
    for finding in findings:
        await finding_to_ticket(SYSTEM, finding.id, media_root, now)
    items = await _checklist_items(inspection)
    answers = _json(inspection.answers) or {}
    for item in items:
        answer = answers.get(item["key"], {})
        if answer.get("answer") == Answer.NOT_OK:
            await _failed_item_to_ticket(inspection, item, answer.get("note", ""), media_root, now)


async def _failed_item_to_ticket(
    inspection: Inspection,
    item: dict[str, Any],
    note: str,
    media_root: Path,
    now: dt.datetime,
) -> int:
    """A failed checklist item is recorded as a finding of the inspection (a critical item's as
    severe and short-term, P1; others moderate and medium-term, P2) and ticketed through it, so
    its ticket is linked to the inspection like any finding's and shows in its findings."""
    label = f"{item['zh']} {item.get('en', '')}".strip()
    title = _("Failed check: %(item)s") % {"item": label}
    critical = bool(item.get("critical"))
    finding = await Finding.insert(
        Finding(
            inspection=inspection.id,
            asset=inspection.asset,
            defect_type=DefectType.OTHER,
            severity=Severity.SEVERE if critical else Severity.MODERATE,
            urgency=Urgency.SHORT if critical else Urgency.MEDIUM,
            description=f"{title}\n{note}".strip(),
            created_at=now,
        )
    ).returning(Finding.id)
    return await _finding_to_ticket(SYSTEM, finding[0]["id"], media_root, now, title=title)


async def _checklist_items(inspection: Inspection) -> list[dict[str, Any]]:
    if inspection.checklist is None:
        return []
    template = (
        await ChecklistTemplate.objects()
        .where(ChecklistTemplate.id == inspection.checklist)
        .first()
    )
    return _json(template.items) if template else []


class _AlreadyTicketed(Exception):
    """Another request opened the finding's ticket first: roll this one back."""


async def finding_to_ticket(
    actor: Actor, finding_id: int, media_root: Path, now: dt.datetime
) -> int:
    """Open a repair ticket from a finding (priority from urgency, photos carried over).

    Idempotent: a finding opens one ticket, however often the button is pressed, and two
    presses at once (two tabs, two staff) still make one: the link is claimed with a
    conditional update, and the loser's ticket is rolled back."""
    require(actor, Perm.TICKETS_CREATE)
    try:
        return await _finding_to_ticket(actor, finding_id, media_root, now)
    except _AlreadyTicketed:
        finding = await Finding.select(Finding.ticket).where(Finding.id == finding_id).first()
        assert finding is not None and finding["ticket"] is not None
        return int(finding["ticket"])


async def _finding_to_ticket(
    actor: Actor, finding_id: int, media_root: Path, now: dt.datetime, title: str = ""
) -> int:
    stored: list[tuple[str, str]] = []
    try:
        async with db.transaction():
            finding = None
            if _valid_id(finding_id):
                finding = await Finding.objects().where(Finding.id == finding_id).first()
            if finding is None:
                raise NotFound(_("No such finding."))
            if finding.ticket is not None:
                return int(finding.ticket)
            ticket = await tickets.open_ticket(
                actor,
                TicketIn(
                    asset_id=finding.asset,
                    component_id=finding.component,
                    title=title
                    or _("%(defect)s: %(text)s")
                    % {"defect": _finding_defect_label(finding), "text": finding.description[:120]},
                    description=finding.description,
                    source=Source.INSPECTION,
                    work_class=WorkClass.MINOR
                    if finding.urgency != Urgency.IMMEDIATE
                    else WorkClass.MEDIUM,
                    priority=Priority(URGENCY_PRIORITY[Urgency(finding.urgency)]),
                ),
                now,
            )
            claimed = (
                await Finding.update(
                    {
                        Finding.ticket: ticket.id,
                        Finding.status: FindingStatus.TICKETED,
                    }
                )
                .where((Finding.id == finding.id) & Finding.ticket.is_null())
                .returning(Finding.id)
            )
            if not claimed:
                raise _AlreadyTicketed()
            photos = (
                await InspectionPhoto.objects()
                .where(InspectionPhoto.finding == finding.id)
                .order_by(InspectionPhoto.id)
            )
            for photo in photos:
                path = media.resolve(media_root, photo.storage_key)
                extension = Path(photo.storage_key).suffix
                attachment = await tickets.add_attachment(
                    SYSTEM,
                    ticket.id,
                    path.read_bytes(),
                    f"finding-{finding.id}-photo-{photo.id}{extension}",
                    _photo_tag(),
                    photo.caption,
                    media_root,
                    max(photo.size, 1) * 4 + 1_000_000,
                    now,
                )
                stored.append((attachment.storage_key, attachment.thumbnail_key))
            await audit.record(
                actor,
                "inspection.finding_ticketed",
                "inspection",
                finding.inspection,
                now,
                after={"finding": finding.id, "ticket": ticket.id},
            )
    except BaseException:
        for keys in stored:  # the copies made for a ticket that was rolled back
            media.remove(media_root, *keys)
        raise
    return int(ticket.id)


def _finding_defect_label(finding: Finding) -> str:
    from facilities.inspections.choices import DefectType

    return DefectType(finding.defect_type).label


def _photo_tag() -> Any:
    from facilities.tickets.choices import PhotoTag

    return PhotoTag.BEFORE


# --- rules ---------------------------------------------------------------------------------

DEFAULT_RULES = (
    (
        "grade_e_or_immediate_critical",
        "CJJ 99-2017 §4; bureau policy 2026",
        "Grade E, or an immediate defect on a critical component: propose a full closure, open a "
        "P0 make-safe ticket, plan a special inspection within 7 days.",
    ),
    (
        "grade_d",
        "CJJ 99-2017 §4; bureau policy 2026",
        "Grade D: propose a restricted closure, periodic inspections every 6 months, daily "
        "patrols.",
    ),
    ("grade_c", "bureau policy 2026", "Grade C: a repair ticket due within 90 days."),
    (
        "seasonal",
        "bureau policy 2026 (flood season, 五一, 国庆, 春节)",
        "Flood season and the 14 days up to 五一, 国庆 and 春节: patrols daily, a pre-holiday "
        "inspection (dates and 春节 table in params).",
    ),
)


async def ensure_policy() -> None:
    """Seed the default policy (checklists, default schedules, rules) where it is missing, as
    the migration does: safe to run on a database where staff already edited the policy."""
    from facilities.inspections.tables import DefaultSchedule

    for row in policy.checklist_rows():
        await ChecklistTemplate.insert(ChecklistTemplate(**row)).on_conflict(action="DO NOTHING")
    if not await DefaultSchedule.exists():
        await DefaultSchedule.insert(
            *[
                DefaultSchedule(
                    asset_type=kind,
                    maintenance_grade=grade,
                    inspection_type=itype,
                    rrule=rule,
                    anchor=anchor,
                    lead_days=lead,
                    tolerance_days=tol,
                    checklist_code=checklist,
                )
                for kind, grade, itype, rule, anchor, lead, tol, checklist in (
                    policy.DEFAULT_SCHEDULES
                )
            ]
        )
    await ensure_rules()


async def ensure_rules() -> None:
    """Seed the default rules (policy data) once; staff may disable or re-version them."""
    for code, basis, description in DEFAULT_RULES:
        params = policy.SEASONAL if code == SEASONAL_RULE else {}
        await Rule.insert(
            Rule(
                code=code,
                basis=basis,
                description=description,
                enabled=True,
                params=json.dumps(params, ensure_ascii=False),
            )
        ).on_conflict(action="DO NOTHING")


async def _fire(
    rule: dict[str, Any], inspection: Inspection, outcome: dict[str, Any], now: dt.datetime
) -> None:
    await RuleFiring.insert(
        RuleFiring(
            rule=rule["id"],
            rule_version=rule["version"],
            inspection=inspection.id,
            asset=inspection.asset,
            outcome=json.dumps(outcome, ensure_ascii=False, default=str),
            fired_at=now,
        )
    )


async def evaluate_rules(inspection: Inspection, zone: ZoneInfo, now: dt.datetime) -> list[str]:
    """Apply the enabled rules to a final inspection; returns the codes that fired."""
    await ensure_rules()
    rules = {r["code"]: r for r in await Rule.select().where(Rule.enabled == True)}  # noqa: E712
    grade = inspection.grade
    fired: list[str] = []
    immediate_critical = await Finding.exists().where(
        (Finding.inspection == inspection.id)
        & (Finding.urgency == Urgency.IMMEDIATE)
        & (Finding.component.is_critical == True)  # noqa: E712
    )
    rule = rules.get("grade_e_or_immediate_critical")
    if rule and (grade == "E" or immediate_critical):
        proposal = await _propose_closure(inspection, "full", now)
        ticket = await tickets.open_ticket(
            SYSTEM,
            TicketIn(
                asset_id=inspection.asset,
                title=_("Make safe: close and secure the facility"),
                source=Source.INSPECTION,
                work_class=WorkClass.MINOR,
                priority=Priority.P0,
            ),
            now,
        )
        special = await _plan_special(inspection, zone, now, days=7)
        await _fire(
            rule,
            inspection,
            {"closure_proposal": proposal, "ticket": ticket.id, "special_inspection": special},
            now,
        )
        fired.append(rule["code"])
    rule = rules.get("grade_d")
    if rule and grade == "D":
        proposal = await _propose_closure(inspection, "restricted", now)
        shortened = await _shorten_intervals(
            inspection.asset, zone, now, shortening_reason("grade_d", now.astimezone(zone).date())
        )
        await _fire(rule, inspection, {"closure_proposal": proposal, "schedules": shortened}, now)
        fired.append(rule["code"])
    if grade in {"A", "B", "C"} and not immediate_critical:
        await _restore_intervals(inspection.asset, zone, now)
    rule = rules.get("grade_c")
    if rule and grade == "C":
        ticket = await tickets.open_ticket(
            SYSTEM,
            TicketIn(
                asset_id=inspection.asset,
                title=_("Repair the defects found in the grade C inspection"),
                source=Source.INSPECTION,
                work_class=WorkClass.MEDIUM,
                priority=Priority.P3,
            ),
            now,
        )
        await _fire(rule, inspection, {"ticket": ticket.id}, now)
        fired.append(rule["code"])
    return fired


async def _propose_closure(inspection: Inspection, scope: str, now: dt.datetime) -> int:
    existing = (
        await ClosureProposal.select(ClosureProposal.id)
        .where(
            (ClosureProposal.asset == inspection.asset)
            & (ClosureProposal.status == "proposed")
            & (ClosureProposal.scope == scope)
        )
        .first()
    )
    if existing:
        return int(existing["id"])
    reason = _("Inspection #%(id)s graded %(grade)s.") % {
        "id": inspection.id,
        "grade": inspection.grade or "-",
    }
    if inspection.summary:
        reason = f"{reason} {inspection.summary}"
    row = ClosureProposal(
        asset=inspection.asset,
        inspection=inspection.id,
        scope=scope,
        reason=reason,
        status="proposed",
        created_at=now,
    )
    await row.save()
    return int(row.id)


async def _plan_special(inspection: Inspection, zone: ZoneInfo, now: dt.datetime, days: int) -> int:
    due = now + dt.timedelta(days=days)
    row = Inspection(
        asset=inspection.asset,
        inspection_type=InspectionType.SPECIAL,
        trigger=Trigger.EVENT,
        state=State.PLANNED,
        due_at=due,
        window_ends_at=due,
        team=inspection.team,
        answers="{}",
        created_at=now,
        updated_at=now,
    )
    await row.save()
    return int(row.id)


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


async def list_proposals(actor: Actor, asset_id: int | None = None) -> list[dict[str, Any]]:
    require(actor, Perm.INSPECTIONS_VIEW)
    query = ClosureProposal.select(
        *ClosureProposal.all_columns(),
        ClosureProposal.asset.code.as_alias("asset_code"),
    ).where(ClosureProposal.status == "proposed")
    if asset_id is not None:
        query = query.where(ClosureProposal.asset == asset_id)
    return await query.order_by(ClosureProposal.created_at, ascending=False)


async def list_firings(actor: Actor, asset_id: int) -> list[dict[str, Any]]:
    require(actor, Perm.INSPECTIONS_VIEW)
    rows = (
        await RuleFiring.select(
            *RuleFiring.all_columns(),
            RuleFiring.rule.code.as_alias("rule_code"),
        )
        .where(RuleFiring.asset == asset_id)
        .order_by(RuleFiring.fired_at, ascending=False)
    )
    for row in rows:
        row["outcome"] = _json(row["outcome"])
    return rows


async def grade_history(asset_id: int) -> list[dict[str, Any]]:
    """(completed_at, grade, bci) of the asset's final graded inspections, oldest first."""
    return (
        await Inspection.select(
            Inspection.id,
            Inspection.completed_at,
            Inspection.grade,
            Inspection.bci,
            Inspection.inspection_type,
        )
        .where(
            (Inspection.asset == asset_id)
            & (Inspection.state == State.FINAL)
            & Inspection.grade.is_not_null()
        )
        .order_by(Inspection.completed_at)
    )


async def latest_acceptance(asset_id: int, since: dt.datetime | None = None) -> Inspection | None:
    """The newest final acceptance inspection of an asset (the reopening gate reads it)."""
    query = Inspection.objects().where(
        (Inspection.asset == asset_id)
        & (Inspection.state == State.FINAL)
        & (Inspection.inspection_type == InspectionType.ACCEPTANCE)
    )
    if since is not None:
        query = query.where(Inspection.completed_at >= since)
    # The id breaks a tie (two finalised at the same instant): "the newest" is then the one
    # finalised last, on both engines, instead of whichever row the database returns first.
    return await (
        query.order_by(Inspection.completed_at, ascending=False)
        .order_by(Inspection.id, ascending=False)
        .first()
    )


async def open_direct_control_findings(asset_id: int) -> int:
    return await Finding.count().where(
        (Finding.asset == asset_id)
        & (Finding.is_direct_control == True)  # noqa: E712
        & (Finding.status != FindingStatus.RESOLVED)
    )


# --- reminders and escalation --------------------------------------------------------------


async def _claim(key: str, inspection_id: int, kind: str, now: dt.datetime) -> bool:
    rows = (
        await ReminderSent.insert(
            ReminderSent(key=key, inspection=inspection_id, kind=kind, sent_at=now)
        )
        .on_conflict(action="DO NOTHING")
        .returning(ReminderSent.id)
    )
    return bool(rows)


async def _team_recipients(
    team_id: int | None,
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(team mailbox and lead, lead only) as (address, language)."""
    if team_id is None:
        return [], []
    team = (
        await Team.select(
            Team.email,
            Team.lead.email.as_alias("lead_email"),
            Team.lead.language.as_alias("lead_language"),
        )
        .where(Team.id == team_id)
        .first()
    )
    if team is None:
        return [], []
    lead = [(team["lead_email"], team["lead_language"] or "zh_CN")] if team["lead_email"] else []
    mailbox = [(team["email"], "zh_CN")] if team["email"] else []
    return mailbox + lead, lead


async def send_reminders(now: dt.datetime, zone: ZoneInfo, limit: int = 1000) -> int:
    """Before due (lead days ahead, or one day), on the due day, overdue to the team lead, and
    overdue for days to the supervisors: each exactly once per inspection (a unique key per
    kind), and an inspection already overdue skips the earlier, now pointless, reminders."""
    rows = (
        await Inspection.select(
            Inspection.id,
            Inspection.due_at,
            Inspection.window_ends_at,
            Inspection.team,
            Inspection.inspection_type,
            Inspection.asset.code.as_alias("asset_code"),
            Inspection.asset.name_zh.as_alias("asset_name"),
            Inspection.schedule.lead_days.as_alias("lead_days"),
        )
        .where(
            Inspection.state.is_in([State.PLANNED, State.IN_PROGRESS])
            & (Inspection.due_at <= now + dt.timedelta(days=60))
        )
        .order_by(Inspection.due_at)
        .limit(limit)
    )
    sent = 0
    for row in rows:
        window_end = row["window_ends_at"] or row["due_at"]
        lead = dt.timedelta(days=row["lead_days"] or 1)
        today = now.astimezone(zone).date()
        due_day = row["due_at"].astimezone(zone).date()
        kinds: list[str] = []
        if now > window_end + ESCALATE_TO_SUPERVISOR_AFTER:
            kinds = ["overdue_lead", "overdue_supervisor"]
        elif now > window_end:
            kinds = ["overdue_lead"]
        elif today >= due_day:
            kinds = ["due_day"]
        elif now >= row["due_at"] - lead:
            kinds = ["before_due"]
        for kind in kinds:
            sent += await _remind(row, kind, now)
    return sent


async def _remind(row: dict[str, Any], kind: str, now: dt.datetime) -> int:
    everyone, lead = await _team_recipients(row["team"])
    recipients = {
        "before_due": everyone,
        "due_day": everyone,
        "overdue_lead": lead or everyone,
        "overdue_supervisor": await accounts.supervisor_addresses(),
    }[kind]
    async with db.transaction():
        if not await _claim(f"{row['id']}:{kind}", row["id"], kind, now):
            return 0
        for email, language in recipients:
            await notifications.enqueue(
                to=email,
                template=f"inspection_{kind}",
                language=language,
                now=now,
                context={
                    "inspection_id": row["id"],
                    "asset_code": row["asset_code"],
                    "asset_name": row["asset_name"],
                    "due": row["due_at"],
                    "inspection_type": row["inspection_type"],
                },
                dedupe_key=f"inspection:{row['id']}:{kind}:{email}",
            )
    return 1


# --- teams and checklists ------------------------------------------------------------------


async def list_teams() -> list[dict[str, Any]]:
    return await Team.select().order_by(Team.name)


async def list_checklists() -> list[dict[str, Any]]:
    rows = await ChecklistTemplate.select().order_by(ChecklistTemplate.code)
    for row in rows:
        row["items"] = _json(row["items"])
    return rows


async def checklist_items(inspection: Inspection) -> list[dict[str, Any]]:
    return await _checklist_items(inspection)


def answers_of(inspection: Inspection) -> dict[str, dict[str, str]]:
    return _json(inspection.answers) or {}


async def conditions_of(inspection_id: int) -> dict[int, dict[str, Any]]:
    rows = await ComponentCondition.select().where(ComponentCondition.inspection == inspection_id)
    return {r["component"]: r for r in rows}


async def photos_of(inspection_id: int) -> list[InspectionPhoto]:
    return await InspectionPhoto.objects().where(InspectionPhoto.inspection == inspection_id)


async def get_photo(actor: Actor, photo_id: int) -> InspectionPhoto:
    require(actor, Perm.INSPECTIONS_VIEW)
    row = None
    if _valid_id(photo_id):
        row = await InspectionPhoto.objects().where(InspectionPhoto.id == photo_id).first()
    if row is None:
        raise NotFound(_("No such file."))
    return row


async def recommendation_closures(asset_id: int) -> list[dict[str, Any]]:
    """Latest final inspections recommending a closure (shown to staff beside proposals)."""
    return (
        await Inspection.select(Inspection.id, Inspection.recommendation, Inspection.completed_at)
        .where(
            (Inspection.asset == asset_id)
            & (Inspection.state == State.FINAL)
            & (Inspection.recommendation != Recommendation.NONE)
        )
        .order_by(Inspection.completed_at, ascending=False)
        .limit(5)
    )


# --- default schedules ---------------------------------------------------------------------


async def apply_default_schedules(
    actor: Actor, asset_id: int, zone: ZoneInfo, now: dt.datetime
) -> int:
    """Give an asset the policy's schedules for its type and maintenance grade (those of a type
    it does not have yet); returns how many were created."""
    from facilities.inspections.tables import DefaultSchedule

    require(actor, Perm.SCHEDULES_EDIT)
    asset = (
        await Asset.select(Asset.asset_type, Asset.maintenance_grade)
        .where(Asset.id == asset_id)
        .first()
    )
    if asset is None:
        raise NotFound(_("No such asset."))
    grade = asset["maintenance_grade"] or ""
    defaults = await DefaultSchedule.select().where(
        DefaultSchedule.asset_type.is_in([asset["asset_type"], "*"])
        & DefaultSchedule.maintenance_grade.is_in([grade, "*"])
    )
    # The most specific policy row wins: this asset type before "*", this grade before "*".
    defaults.sort(key=lambda r: (r["asset_type"] == "*", r["maintenance_grade"] == "*", r["id"]))
    checklists = {
        r["code"]: r["id"]
        for r in await ChecklistTemplate.select(ChecklistTemplate.id, ChecklistTemplate.code)
    }
    today = now.astimezone(zone).date()
    created = 0
    async with db.transaction():  # all or nothing, and a double click adds nothing twice
        existing = {
            r["inspection_type"]
            for r in await InspectionSchedule.select(InspectionSchedule.inspection_type).where(
                InspectionSchedule.asset == asset_id
            )
        }
        for row in defaults:
            if row["inspection_type"] in existing:
                continue
            existing.add(row["inspection_type"])
            await create_schedule(
                actor,
                ScheduleIn(
                    asset_id=asset_id,
                    inspection_type=InspectionType(row["inspection_type"]),
                    rrule=row["rrule"],
                    anchor=Anchor(row["anchor"]),
                    starts_on=today,
                    lead_days=row["lead_days"],
                    tolerance_days=row["tolerance_days"],
                    checklist_id=checklists.get(row["checklist_code"]),
                ),
                zone,
                now,
            )
            created += 1
    return created


# --- calendar, teams and feeds -------------------------------------------------------------


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
    """Open inspections due in [start, end) and the occurrences their schedules will raise
    there, soonest first (the month calendar and the team's iCalendar feed)."""
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
        & (Inspection.due_at >= start)
        & (Inspection.due_at < end)
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


async def find_team(team_id: int) -> dict[str, Any] | None:
    if not _valid_id(team_id):
        return None
    return await Team.select().where(Team.id == team_id).first()


def team_token(team_id: int, secret_key: str) -> str:
    """The token of a team's calendar feed URL: HMAC-SHA256 of the team id with the secret key
    (rotating the key revokes every feed URL)."""
    return hmac.new(secret_key.encode(), str(team_id).encode(), hashlib.sha256).hexdigest()


def team_token_ok(team_id: int, token: str, secret_key: str) -> bool:
    return hmac.compare_digest(
        team_token(team_id, secret_key).encode(), token.strip().lower().encode()
    )


async def get_finding(actor: Actor, finding_id: int) -> Finding:
    require(actor, Perm.INSPECTIONS_VIEW)
    row = None
    if _valid_id(finding_id):
        row = await Finding.objects().where(Finding.id == finding_id).first()
    if row is None:
        raise NotFound(_("No such finding."))
    return row


async def list_firings_for_inspection(actor: Actor, inspection_id: int) -> list[dict[str, Any]]:
    require(actor, Perm.INSPECTIONS_VIEW)
    rows = (
        await RuleFiring.select(
            *RuleFiring.all_columns(),
            RuleFiring.rule.code.as_alias("rule_code"),
            RuleFiring.rule.basis.as_alias("rule_basis"),
        )
        .where(RuleFiring.inspection == inspection_id)
        .order_by(RuleFiring.id)
    )
    for row in rows:
        row["outcome"] = _json(row["outcome"])
    return rows
