"""The supervisor's home: what waits for a supervisor's decision, each a count linking to its
list with the first few items.

Reports to triage, completed work to accept, tickets past their SLA, overdue inspections,
closures whose repair is verified and only wait for the sign-off, notice drafts to publish and
closures proposed by the inspection rules. Each is one read of the domain's list service,
limited (see :mod:`facilities.homes.tally`); the reopening gate is evaluated only for closures in
force that nobody signed off yet.
"""

from __future__ import annotations

import datetime as dt

from facilities.accounts.permissions import Actor
from facilities.closures import services as closures
from facilities.closures.choices import IN_FORCE
from facilities.homes.tally import CAP, SHOWN, Tally, counted, tally
from facilities.i18n import gettext as _
from facilities.inspections import services as inspections
from facilities.reports import services as reports
from facilities.tickets import services as tickets
from facilities.tickets.choices import Status
from facilities.tickets.schemas import TicketFilters

#: Closures in force whose gate is looked at (a bureau has a handful in force at a time).
GATES_CHECKED = 50


async def _ticket_tally(
    actor: Actor, now: dt.datetime, title: str, link: str, status: str, overdue: bool = False
) -> Tally:
    query = TicketFilters(status=status, overdue=overdue, sort="due", per_page=SHOWN)
    found = await tickets.count_up_to(actor, query, now, CAP + 1)
    return counted(
        "ticket", title, link, found, (await tickets.list_tickets(actor, query, now)).items
    )


async def _ready_to_sign(actor: Actor) -> list[dict[str, object]]:
    """Closures in force, not signed off, whose repair is verified (reopening criteria 1-3)."""
    unsigned = [
        row
        for row in await closures.list_closures(actor, sorted(IN_FORCE))
        if row["signed_off_at"] is None
    ][:GATES_CHECKED]
    ready = []
    for row in unsigned:
        closure = await closures.find_closure(int(row["id"]))
        if closure is not None and (await closures.gate(closure)).repair_verified:
            ready.append(row)
    return ready


async def oversight(actor: Actor, now: dt.datetime) -> list[Tally]:
    """The supervisor's tallies, in the order of a working day: what came in, what was done,
    what is late, what may reopen, what the public should read."""
    queue = await reports.triage_queue(actor, now, limit=CAP + 1)
    open_inspections = await inspections.list_inspections(actor, now, limit=CAP + 1)
    return [
        tally("report", _("Reports to triage"), "/triage", queue.new),
        await _ticket_tally(
            actor,
            now,
            _("Work awaiting acceptance"),
            "/tickets?status=work_complete&sort=due",
            status=Status.WORK_COMPLETE.value,
        ),
        await _ticket_tally(
            actor,
            now,
            _("Tickets past their SLA"),
            "/tickets?overdue=true&sort=due",
            status="open",
            overdue=True,
        ),
        tally(
            "inspection",
            _("Overdue inspections"),
            "/inspections?overdue=true",
            [r for r in open_inspections if r["is_overdue"]],
        ),
        tally(
            "closure",
            _("Reopening gates ready to sign"),
            "/closures?status=open",
            await _ready_to_sign(actor),
        ),
        tally(
            "draft",
            _("Notice drafts to publish"),
            "/closures/drafts",
            await closures.list_drafts(actor),
        ),
        tally(
            "proposal",
            _("Closure proposals to approve"),
            "/closures#proposals",
            await closures.list_proposals(actor),
        ),
    ]
