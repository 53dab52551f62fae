"""What the ticket page and the ticket form show of money and contractors (issue 19, items 5
and 6), read through the services; kept apart so :mod:`.pages` only adds it to its context."""

from __future__ import annotations

from typing import Any

from facilities.accounts.permissions import Actor
from facilities.tickets.services import contractors, costs
from facilities.tickets.tables import Contractor, RepairTicket


async def money_context(actor: Actor, ticket: RepairTicket) -> dict[str, Any]:
    """The ticket's cost lines and their total, and its contractor's register entry."""
    lines = await costs.list_lines(actor, ticket.id)
    contractor: Contractor | None = None
    if ticket.contractor_id is not None:
        contractor = await contractors.get_contractor(actor, ticket.contractor_id)
    return {
        "cost_lines": lines,
        "lines_total": await costs.lines_total(ticket.id),
        "contractor_entry": contractor,
    }


async def contractor_form_context(form: dict[str, Any]) -> dict[str, Any]:
    """The register's contractors the ticket form offers (see :func:`contractors.options`)."""
    chosen = str(form.get("contractor_id") or "")
    return {
        "contractor_options": await contractors.options(int(chosen) if chosen.isdecimal() else None)
    }
