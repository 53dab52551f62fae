"""The SLA policy: how many hours each priority allows, and a new ticket's due date from it.

Open tickets keep the due date they were given; a changed policy applies to tickets opened (or
re-prioritised) after it.
"""

from __future__ import annotations

import datetime as dt

from facilities import db
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.audit import services as audit
from facilities.errors import Conflict, ValidationFailed
from facilities.i18n import gettext as _
from facilities.tickets.choices import DEFAULT_SLA_HOURS, Priority
from facilities.tickets.tables import SlaPolicy


async def sla_hours() -> dict[Priority, int]:
    """Hours allowed per priority: the policy table, with the defaults for any missing row."""
    rows = await SlaPolicy.select(SlaPolicy.priority, SlaPolicy.hours)
    hours = dict(DEFAULT_SLA_HOURS)
    hours.update({Priority(r["priority"]): int(r["hours"]) for r in rows})
    return hours


async def set_sla_hours(actor: Actor, priority: Priority, hours: int, now: dt.datetime) -> None:
    """Change the policy for future tickets (open tickets keep the due date they were given)."""
    require(actor, Perm.SLA_EDIT)
    if not 1 <= hours <= 24 * 366:
        raise ValidationFailed({priority.value: _("Enter a number from 1 to 8784.")})
    async with db.transaction():
        before = (await sla_hours())[priority]
        updated = (
            await SlaPolicy.update(
                {
                    SlaPolicy.hours: hours,
                    SlaPolicy.updated_at: now,
                    SlaPolicy.version: SlaPolicy.version + 1,
                }
            )
            .where(SlaPolicy.priority == priority)
            .returning(SlaPolicy.id)
        )
        if not updated:
            await SlaPolicy.insert(SlaPolicy(priority=priority, hours=hours, updated_at=now))
        await audit.record(
            actor,
            "sla.updated",
            "sla_policy",
            list(Priority).index(priority) + 1,
            now,
            {"hours": before},
            {"hours": hours},
        )


async def sla_policy_version() -> int:
    """The policy's version as a whole: the sum of its rows' versions. Every change raises it
    (a changed row's version goes up, a first row adds one), so a client that read the policy
    at version ``n`` and writes it back with ``n`` is sure nobody changed it in between."""
    rows = await SlaPolicy.select(SlaPolicy.version)
    return 1 + sum(int(r["version"]) for r in rows)


async def set_sla_policy(
    actor: Actor, hours: dict[Priority, int], version: int, now: dt.datetime
) -> None:
    """Change the hours of the priorities in ``hours`` at once, only when the policy is still at
    ``version`` (:func:`sla_policy_version`; Conflict otherwise, nothing written). Each changed
    priority is audited as on the page (:func:`set_sla_hours`)."""
    require(actor, Perm.SLA_EDIT)
    errors = {
        p.value: _("Enter a number from 1 to 8784.")
        for p, h in hours.items()
        if not 1 <= h <= 24 * 366
    }
    if errors:
        raise ValidationFailed(errors)
    async with db.transaction():
        # Lock the policy's rows first (on PostgreSQL a concurrent writer waits here, then
        # reads the version the first one left), then compare.
        await SlaPolicy.update({SlaPolicy.version: SlaPolicy.version}, force=True)
        if await sla_policy_version() != version:
            raise Conflict(_("Someone else changed the SLA policy first. Reload and try again."))
        current = await sla_hours()
        for priority, value in hours.items():
            if current[priority] != value:
                await set_sla_hours(actor, priority, value, now)


async def due_at(priority: Priority, created_at: dt.datetime) -> dt.datetime:
    return created_at + dt.timedelta(hours=(await sla_hours())[priority])
