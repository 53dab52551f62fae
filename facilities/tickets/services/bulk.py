"""Bulk changes from the ticket list: assign, set the priority, schedule, on many tickets at once,
first previewed, then confirmed.

:func:`preview` says, ticket by ticket, what would change (field, old value, new value) or why
the ticket is left alone: not the person's to edit, finished, already so, or dates the edit form
would refuse. The confirm form carries each ticket's version as the preview saw it, and
:func:`apply` makes each change through :func:`.writing.update_ticket`, the edit form's own
service, with that version: the same permission and assignment checks, the SLA due date moved on
a new priority, one audit event per ticket, the new assignee told. A ticket changed by someone
else since the preview is reported as a conflict and left alone, never overwritten.

One transaction per ticket, not all or nothing: every ticket changed is a complete, audited edit
on its own, and one ticket someone touched in the meantime does not undo the other 199; the
outcome lists what was changed and what was skipped, and why, so the rest can be previewed again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import msgspec

from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.assets.tables import Asset
from facilities.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from facilities.i18n import N_
from facilities.i18n import gettext as _
from facilities.lib import horizons
from facilities.lib.labels import LabelledChoice, set_labels
from facilities.records import valid_id
from facilities.tickets.choices import Priority
from facilities.tickets.schemas import Id, ShortText, TicketIn
from facilities.tickets.services.scope import require_editable
from facilities.tickets.services.writing import snapshot, update_ticket
from facilities.tickets.tables import RepairTicket

#: The most tickets one bulk change may touch (a full page of the list at its largest).
MAX_SELECTION = 200


class BulkAction(LabelledChoice):
    ASSIGN = "assign"
    PRIORITY = "priority"
    SCHEDULE = "schedule"


set_labels(
    BulkAction,
    {
        BulkAction.ASSIGN: N_("Assign"),
        BulkAction.PRIORITY: N_("Set priority"),
        BulkAction.SCHEDULE: N_("Schedule"),
    },
)


class BulkChange(msgspec.Struct, kw_only=True):
    """What to do to every selected ticket; a blank value is left as each ticket has it."""

    action: BulkAction
    assignee_id: Id | None = None
    assignee_team: ShortText = ""
    priority: Priority | None = None
    planned_start_on: dt.date | None = None
    planned_end_on: dt.date | None = None


@dataclasses.dataclass(frozen=True)
class Line:
    """One selected ticket: what would change (field, old, new), or why it is left alone."""

    ticket_id: int
    title: str
    version: int
    changes: tuple[tuple[str, Any, Any], ...] = ()
    skipped: str = ""


@dataclasses.dataclass(frozen=True)
class Result:
    """A preview, or the outcome of applying it: the lines that change and those skipped."""

    change: BulkChange
    lines: tuple[Line, ...]

    @property
    def changing(self) -> list[Line]:
        return [line for line in self.lines if not line.skipped]

    @property
    def skipped(self) -> list[Line]:
        return [line for line in self.lines if line.skipped]


def selected_ids(raw: list[str]) -> list[int]:
    """The ticket numbers sent (in order, each once): 400 when none, one is not a ticket
    number, or there are more than :data:`MAX_SELECTION`."""
    ids: list[int] = []
    for text in raw:
        text = text.strip()
        if not text.isdecimal() or not valid_id(int(text)):
            raise _refused("ticket", _("The selection holds something that is not a ticket."))
        if int(text) not in ids:
            ids.append(int(text))
    if not ids:
        raise _refused("ticket", _("Select at least one ticket."))
    if len(ids) > MAX_SELECTION:
        raise _refused(
            "ticket",
            _("Select at most %(max)d tickets at a time (%(count)d were selected).")
            % {"max": MAX_SELECTION, "count": len(ids)},
        )
    return ids


def _refused(field: str, message: str) -> ValidationFailed:
    return ValidationFailed({field: message}, message)


def fields_of(change: BulkChange) -> dict[str, Any]:
    """The edit form's fields the change sets; 400 when the action is missing its value."""
    fields: dict[str, Any] = {}
    if change.action == BulkAction.ASSIGN:
        if change.assignee_id is not None:
            fields["assignee_id"] = change.assignee_id
        if change.assignee_team.strip():
            fields["assignee_team"] = change.assignee_team.strip()
        if not fields:
            raise _refused("assignee_id", _("Choose a person or give a team to assign to."))
    elif change.action == BulkAction.PRIORITY:
        if change.priority is None:
            raise _refused("priority", _("Choose the priority to set."))
        fields["priority"] = change.priority
    else:
        if change.planned_start_on is not None:
            fields["planned_start_on"] = change.planned_start_on
        if change.planned_end_on is not None:
            fields["planned_end_on"] = change.planned_end_on
        if not fields:
            raise _refused("planned_start_on", _("Give a planned start or end date."))
    return fields


async def _built_years(tickets: list[RepairTicket]) -> dict[int, int | None]:
    rows = await Asset.select(Asset.id, Asset.built_year).where(
        Asset.id.is_in(sorted({t.asset for t in tickets}) or [0])
    )
    return {r["id"]: r["built_year"] for r in rows}


def _line(
    actor: Actor,
    ticket_id: int,
    ticket: RepairTicket | None,
    fields: dict[str, Any],
    built_year: int | None,
    now: dt.datetime,
) -> Line:
    """What the change would do to one ticket, with the edit form's own guards."""
    try:
        ticket = require_editable(actor, ticket)
    except (NotFound, PermissionDenied, InvalidTransition) as exc:
        title = ticket.title if ticket is not None else ""
        return Line(ticket_id, title, ticket.version if ticket else 0, skipped=exc.detail)
    before = snapshot(ticket)
    changes = tuple((k, before[k], v) for k, v in fields.items() if before[k] != v)
    line = Line(ticket.id, ticket.title, ticket.version, changes)
    if not changes:
        return dataclasses.replace(line, skipped=_("Already so: nothing to change."))
    after = {**before, **fields}
    start, end = after["planned_start_on"], after["planned_end_on"]
    if start and end and end < start:
        return dataclasses.replace(
            line, skipped=_("The planned end cannot be before the planned start.")
        )
    typed = {
        name: (_("Planned start") if name == "planned_start_on" else _("Planned end"), new)
        for name, _old, new in changes
        if name in ("planned_start_on", "planned_end_on")
    }
    errors = horizons.check(horizons.bounds(now, built_year), typed)
    if errors:
        return dataclasses.replace(line, skipped="; ".join(errors.values()))
    return line


async def _tickets(ids: list[int]) -> dict[int, RepairTicket]:
    rows = await RepairTicket.objects().where(RepairTicket.id.is_in(ids))
    return {t.id: t for t in rows}


async def preview(
    actor: Actor, ticket_ids: list[int], change: BulkChange, now: dt.datetime
) -> Result:
    """What :func:`apply` would do now to each of ``ticket_ids`` (nothing is written)."""
    require(actor, Perm.TICKETS_EDIT)
    fields = fields_of(change)
    found = await _tickets(ticket_ids)
    years = await _built_years(list(found.values()))
    lines = []
    for ticket_id in ticket_ids:
        ticket = found.get(ticket_id)
        year = years.get(ticket.asset) if ticket else None
        lines.append(_line(actor, ticket_id, ticket, fields, year, now))
    return Result(change, tuple(lines))


def _ticket_in(ticket: RepairTicket, fields: dict[str, Any], version: int) -> TicketIn:
    """The edit form as the person would have sent it: the ticket as it is, with the change."""
    values = {k: v for k, v in snapshot(ticket).items() if k != "status"}
    values.update(fields, version=version)
    return msgspec.convert(values, TicketIn, strict=False)


async def apply(
    actor: Actor, versions: dict[int, int], change: BulkChange, now: dt.datetime
) -> Result:
    """Make the change on each ticket of ``versions`` (ticket id: the version the preview
    showed), each in its own transaction through :func:`update_ticket`; a ticket changed since
    the preview is skipped as a conflict."""
    require(actor, Perm.TICKETS_EDIT)
    fields = fields_of(change)
    if len(versions) > MAX_SELECTION:
        selected_ids([str(i) for i in versions])  # the same refusal as the preview's
    found = await _tickets(list(versions))
    years = await _built_years(list(found.values()))
    conflict = _("Changed by someone else since the preview, so left alone: preview it again.")
    lines = []
    for ticket_id, version in versions.items():
        ticket = found.get(ticket_id)
        year = years.get(ticket.asset) if ticket else None
        line = _line(actor, ticket_id, ticket, fields, year, now)
        if ticket is not None and ticket.version != version:
            line = dataclasses.replace(line, skipped=conflict)
        if line.skipped or ticket is None:
            lines.append(line)
            continue
        try:
            await update_ticket(actor, ticket_id, _ticket_in(ticket, fields, version), now)
        except Conflict:
            line = dataclasses.replace(line, skipped=conflict)
        except ValidationFailed as exc:
            line = dataclasses.replace(line, skipped="; ".join(exc.errors.values()))
        except (NotFound, PermissionDenied, InvalidTransition) as exc:
            line = dataclasses.replace(line, skipped=exc.detail)
        lines.append(line)
    return Result(change, tuple(lines))
