"""Moving a ticket's planned work on the calendar (dragging its bar to another day).

A drag is an edit of the planned dates and nothing else, so it goes through the ticket edit
service (:func:`facilities.tickets.services.update_ticket`) with the ticket's other fields as
they are: the same permission and assignment checks, the same refusal of a finished ticket, the
same date horizon and the same stale-version check (409) as the edit form, and one audit event.
Inspections are not draggable: their services have no guarded way to move a due date.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.errors import InvalidTransition, NotFound
from facilities.i18n import gettext as _
from facilities.tickets import services as tickets
from facilities.tickets.schemas import TicketIn
from facilities.tickets.tables import RepairTicket


class RescheduleIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Where the bar was dropped: the new first day, and the version the page showed."""

    planned_start_on: dt.date
    version: Annotated[int, msgspec.Meta(ge=1)]


def shifted(ticket: RepairTicket, start: dt.date) -> tuple[dt.date, dt.date | None]:
    """The planned dates moved so the work starts on ``start``, its length kept (an open end
    stays open)."""
    if ticket.planned_start_on is None:
        raise InvalidTransition(_("This ticket has no planned dates to move."))
    days = start - ticket.planned_start_on
    end = ticket.planned_end_on + days if ticket.planned_end_on else None
    return start, end


async def reschedule_ticket(
    actor: Actor, ticket_id: int, data: RescheduleIn, now: dt.datetime
) -> RepairTicket:
    """Shift the ticket's planned start and end by the same number of days. Someone who may
    not edit tickets is refused before the ticket is even looked up."""
    require(actor, Perm.TICKETS_EDIT)
    ticket = await tickets.find_ticket(ticket_id)
    if ticket is None:
        raise NotFound(_("No such ticket."))
    start, end = shifted(ticket, data.planned_start_on)
    values = {k: v for k, v in tickets.snapshot(ticket).items() if k != "status"}
    values.update(planned_start_on=start, planned_end_on=end, version=data.version)
    edit = msgspec.convert(values, TicketIn, strict=False)
    return await tickets.update_ticket(actor, ticket.id, edit, now)
