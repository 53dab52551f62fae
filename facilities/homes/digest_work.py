"""The person's own work, as the daily digest e-mail sums it up: the same reading as the field
homes (:mod:`facilities.homes.work`), through the domains' services and their permission checks,
counted at most :data:`~facilities.homes.tally.CAP` deep."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from facilities.accounts import services as accounts
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import can
from facilities.homes.days import day_ends, local_today
from facilities.homes.tally import CAP
from facilities.inspections import services as inspections
from facilities.tickets import services as tickets


async def work_summary(user_id: int, now: dt.datetime, zone: ZoneInfo) -> dict[str, Any]:
    """My overdue tickets (assigned to me or my team) and my open inspections due by tonight
    (overdue ones included); empty for someone no longer active."""
    user = await accounts.find_user(user_id)
    if user is None or not user.is_active:
        return {}
    actor = accounts.actor_of(user)
    overdue = 0
    if can(actor, Perm.TICKETS_VIEW):
        overdue = sum(1 for view in await tickets.assigned_open(actor, now) if view.is_overdue)
    due = 0
    if can(actor, Perm.INSPECTIONS_VIEW):
        tonight = day_ends(local_today(now, zone), zone)
        rows = await inspections.list_inspections(actor, now, inspector_id=user_id, limit=CAP)
        due = sum(1 for row in rows if row["due_at"] < tonight)
    return {"overdue_tickets": overdue, "inspections_due_today": due}
