"""The field homes: a crew member's tickets for today and an inspector's inspections of the week.

Both read only the reader's own work, with the rules the pages apply before anyone may act:
tickets assigned to the crew member or their team (:func:`tickets.is_assigned_to`), and
inspections whose inspector they are (as "My day" plans them).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from facilities.accounts.permissions import Actor
from facilities.homes.days import day_ends, local_today, week_ends
from facilities.homes.tally import CAP
from facilities.inspections import services as inspections
from facilities.tickets import services as tickets
from facilities.tickets.choices import Action, Status

#: Most ticket cards on the crew's home (a phone's worth; the rest are in "My work").
CARDS = 30
#: The moves a crew member makes from the home: one tap each, as the ticket page allows them.
ONE_TAP = (Action.START, Action.COMPLETE)


def is_todays(view: tickets.TicketView, today: dt.date, today_ends: dt.datetime) -> bool:
    """Work for today: overdue or due before tonight, started, or planned to start by today.
    Completed work waiting for acceptance is the supervisor's, not the crew's."""
    t = view.ticket
    if t.status == Status.WORK_COMPLETE:
        return False
    return (
        view.is_overdue
        or t.sla_due_at < today_ends
        or t.status == Status.IN_PROGRESS
        or (t.planned_start_on is not None and t.planned_start_on <= today)
    )


async def crew_today(actor: Actor, now: dt.datetime, zone: ZoneInfo) -> list[tickets.TicketView]:
    """The crew member's tickets for today (see :func:`is_todays`), overdue first."""
    today = local_today(now, zone)
    ends = day_ends(today, zone)
    todays = [v for v in await tickets.assigned_open(actor, now) if is_todays(v, today, ends)]
    return todays[:CARDS]


def one_tap_actions(view: tickets.TicketView) -> list[Action]:
    """The start / complete moves the ticket allows this reader (none on others' work)."""
    return [a for a in ONE_TAP if a in view.actions]


async def inspector_week(actor: Actor, now: dt.datetime, zone: ZoneInfo) -> list[dict[str, Any]]:
    """The inspector's open inspections overdue or due before the week ends, most urgent first
    (the list is by due date)."""
    if actor.id is None:
        return []
    ends = week_ends(now, zone)
    rows = await inspections.list_inspections(actor, now, inspector_id=actor.id, limit=CAP + 1)
    return [r for r in rows if r["is_overdue"] or r["due_at"] < ends]
