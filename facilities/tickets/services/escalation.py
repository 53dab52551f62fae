"""Who is told about a ticket, through the outbox: the supervisors of a P0, the assignee of a
ticket given to them, and the supervisors once per SLA breach (the scheduler's escalation job).
"""

from __future__ import annotations

import datetime as dt

from facilities import db
from facilities.accounts import services as accounts
from facilities.accounts.tables import StaffUser
from facilities.notifications.choices import StaffEvent
from facilities.notifications.preferences import StaffRecipient, deliver_to_staff
from facilities.records import claim
from facilities.tickets.choices import OPEN_STATUSES
from facilities.tickets.tables import RepairTicket


async def _notify_supervisors_of_p0(ticket: RepairTicket, now: dt.datetime) -> None:
    for recipient in await accounts.supervisor_recipients():
        await deliver_to_staff(
            recipient,
            StaffEvent.TICKET_P0,
            template="ticket_p0",
            now=now,
            context={"ticket_id": ticket.id, "title": ticket.title, "due": ticket.sla_due_at},
            dedupe_key=f"ticket_p0:{ticket.id}:{recipient.email}",
        )


async def _notify_assignee(ticket: RepairTicket, now: dt.datetime) -> None:
    user = (
        await StaffUser.select(StaffUser.id, StaffUser.email, StaffUser.language)
        .where(StaffUser.id == ticket.assignee)
        .first()
    )
    if user and user["email"]:
        await deliver_to_staff(
            StaffRecipient(user["email"], user["language"], user["id"]),
            StaffEvent.TICKET_ASSIGNED,
            template="ticket_assigned",
            now=now,
            context={
                "ticket_id": ticket.id,
                "title": ticket.title,
                "due": ticket.sla_due_at,
                "priority": ticket.priority,
            },
            dedupe_key=f"ticket_assigned:{ticket.id}:{ticket.assignee}:{ticket.version}",
        )


async def escalate_sla_breaches(now: dt.datetime, limit: int = 200) -> int:
    """Tell the supervisors once per breach: a ticket past its due date and still open.

    The claim is a conditional update of ``sla_escalated_for`` to the due date it breached, so a
    second run (or a second scheduler) finds nothing to claim; a new due date (priority changed)
    is a new breach. Claim and messages commit together.
    """
    candidates = await (
        RepairTicket.select(RepairTicket.id, RepairTicket.sla_due_at)
        .where(
            RepairTicket.status.is_in(sorted(OPEN_STATUSES))
            & (RepairTicket.sla_due_at < now)
            & (
                RepairTicket.sla_escalated_for.is_null()
                | (RepairTicket.sla_escalated_for != RepairTicket.sla_due_at)
            )
        )
        .order_by(RepairTicket.sla_due_at)
        .limit(limit)
    )
    escalated = 0
    recipients = await accounts.supervisor_recipients()
    for row in candidates:
        async with db.transaction():
            claimed = await claim(
                RepairTicket,
                (RepairTicket.id == row["id"])
                & (
                    RepairTicket.sla_escalated_for.is_null()
                    | (RepairTicket.sla_escalated_for != row["sla_due_at"])
                ),
                {RepairTicket.sla_escalated_for: row["sla_due_at"]},
                RepairTicket.title,
                RepairTicket.priority,
            )
            if not claimed:
                continue
            for recipient in recipients:
                await deliver_to_staff(
                    recipient,
                    StaffEvent.TICKET_SLA_BREACH,
                    template="ticket_sla_breach",
                    now=now,
                    context={
                        "ticket_id": row["id"],
                        "title": claimed[0]["title"],
                        "due": row["sla_due_at"],
                        "priority": claimed[0]["priority"],
                    },
                    dedupe_key=(
                        f"sla_breach:{row['id']}:{row['sla_due_at'].isoformat()}:{recipient.email}"
                    ),
                )
            escalated += 1
    return escalated
