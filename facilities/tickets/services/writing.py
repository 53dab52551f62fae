"""Writing tickets: open one, edit it, and move it along its lifecycle.

Every write checks the actor's permission, runs in one transaction with its audit event, and
compares the version the person saw, so a stale save changes nothing and says so (409).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import msgspec

from facilities import db
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.accounts.tables import StaffUser
from facilities.assets.tables import Asset, Component
from facilities.audit import services as audit
from facilities.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from facilities.i18n import gettext as _
from facilities.lib import horizons
from facilities.records import versioned_update
from facilities.tickets.choices import (
    CLOSING_REASONS_FROM,
    FINAL_STATUSES,
    TRANSITIONS_BY_ACTION,
    Action,
    ClosingReason,
    PhotoTag,
    Priority,
    Status,
)
from facilities.tickets.schemas import TicketIn, TransitionIn
from facilities.tickets.services import contractors, costs, reporters
from facilities.tickets.services.escalation import _notify_assignee, _notify_supervisors_of_p0
from facilities.tickets.services.reading import find_ticket
from facilities.tickets.services.scope import (
    acceptance_refusal,
    require_assigned,
    require_editable,
)
from facilities.tickets.services.sla import due_at
from facilities.tickets.tables import RepairTicket, TicketAttachment

MAX_MONEY = Decimal("9999999999.99")
EDITABLE = tuple(n for n in TicketIn.__struct_fields__ if n != "version")
FOREIGN_KEYS = {"asset_id": "asset", "component_id": "component", "assignee_id": "assignee"}


CENTS = Decimal("0.01")


def money(value: Decimal | float | None) -> Decimal | None:
    """An amount with exactly two decimals. SQLite keeps NUMERIC as a float, so 8800.50 reads
    back as 8800.5 there and as 8800.50 on PostgreSQL: every output goes through this."""
    return None if value is None else Decimal(str(value)).quantize(CENTS)


def snapshot(ticket: RepairTicket) -> dict[str, Any]:
    values = {}
    for name in EDITABLE:
        column = FOREIGN_KEYS.get(name, name)
        value = getattr(ticket, column)
        if name in ("cost_estimate", "cost_actual"):
            value = None if value is None else str(money(value))
        values[name] = value
    values["status"] = ticket.status
    return values


async def _check(data: TicketIn, ticket_id: int | None = None) -> None:
    errors: dict[str, str] = {}
    asset = await Asset.select(Asset.id).where(Asset.id == data.asset_id).first()
    if asset is None:
        errors["asset_id"] = _("Choose an existing asset.")
    if data.component_id is not None:
        component = (
            await Component.select(Component.asset).where(Component.id == data.component_id).first()
        )
        if component is None or component["asset"] != data.asset_id:
            errors["component_id"] = _("Choose a component of this asset.")
    if data.assignee_id is not None:
        user = (
            await StaffUser.select(StaffUser.is_active)
            .where(StaffUser.id == data.assignee_id)
            .first()
        )
        if user is None or not user["is_active"]:
            errors["assignee_id"] = _("Choose an active staff member.")
    for field in ("cost_estimate", "cost_actual"):
        value = getattr(data, field)
        if value is not None and not (
            value.is_finite() and 0 <= value <= MAX_MONEY and value == round(value, 2)
        ):
            errors[field] = _("Enter an amount from 0 to 9999999999.99 (at most two decimals).")
    if (
        data.planned_start_on
        and data.planned_end_on
        and data.planned_end_on < data.planned_start_on
    ):
        errors["planned_end_on"] = _("The planned end cannot be before the planned start.")
    if errors:
        raise ValidationFailed(errors)


async def _check_dates(
    data: TicketIn, now: dt.datetime, ticket: RepairTicket | None = None
) -> None:
    """Planned dates within the horizon (:mod:`facilities.lib.horizons`); an edit answers for
    the dates it changes."""
    typed = {
        "planned_start_on": (_("Planned start"), data.planned_start_on),
        "planned_end_on": (_("Planned end"), data.planned_end_on),
    }
    if ticket is not None:
        typed = {k: v for k, v in typed.items() if getattr(ticket, k) != v[1]}
    await _within_horizon(data.asset_id, now, typed)


async def _within_horizon(
    asset_id: int, now: dt.datetime, typed: dict[str, tuple[str, dt.date | None]]
) -> None:
    row = await Asset.select(Asset.built_year).where(Asset.id == asset_id).first()
    errors = horizons.check(horizons.bounds(now, row["built_year"] if row else None), typed)
    if errors:
        raise ValidationFailed(errors)


async def _register(values: dict[str, Any], ticket: RepairTicket | None = None) -> dict[str, Any]:
    """A ticket given a contractor from the register carries the register's name in its
    ``contractor`` text (see :mod:`.contractors`); a retired one is refused unless the ticket
    already had it."""
    chosen = values.get("contractor_id")
    if chosen is not None:
        keep = ticket is not None and ticket.contractor_id == chosen
        values["contractor"] = await contractors.register_name(chosen, allow_retired=keep)
    return values


def _values(data: TicketIn) -> dict[str, Any]:
    values = {k: v for k, v in msgspec.structs.asdict(data).items() if k != "version"}
    for field, column in FOREIGN_KEYS.items():
        values[column] = values.pop(field)
    values["title"] = values["title"].strip()
    return values


async def open_ticket(actor: Actor, data: TicketIn, now: dt.datetime) -> RepairTicket:
    """Create a ticket (status new) with its SLA due date from the policy."""
    require(actor, Perm.TICKETS_CREATE)
    async with db.transaction():
        await _check(data)
        await _check_dates(data, now)
        ticket = RepairTicket(
            **await _register(_values(data)),
            status=Status.NEW,
            sla_due_at=await due_at(data.priority, now),
            created_by=actor.id,
            created_at=now,
            updated_at=now,
        )
        await ticket.save()
        await audit.record(
            actor, "ticket.created", "ticket", ticket.id, now, after=snapshot(ticket)
        )
        if ticket.priority == Priority.P0:
            await _notify_supervisors_of_p0(ticket, now)
        if ticket.assignee:
            await _notify_assignee(ticket, now)
    return ticket


async def update_ticket(
    actor: Actor, ticket_id: int, data: TicketIn, now: dt.datetime
) -> RepairTicket:
    """Save edited fields; a changed priority moves the SLA due date (from the creation time)."""
    require(actor, Perm.TICKETS_EDIT)
    if data.version is None:
        raise ValidationFailed({"version": _("The record version is missing; reload and retry.")})
    async with db.transaction():
        ticket = require_editable(actor, await find_ticket(ticket_id))
        await _check(data, ticket.id)
        await _check_dates(data, now, ticket)
        before = snapshot(ticket)
        values = await _register(_values(data), ticket)
        values["cost_actual"] = await costs.actual_cost(ticket.id, values["cost_actual"])
        if data.priority != ticket.priority:
            values["sla_due_at"] = await due_at(data.priority, ticket.created_at)
        await versioned_update(
            RepairTicket,
            ticket.id,
            data.version,
            {getattr(RepairTicket, k): v for k, v in values.items()},
            now,
            Conflict(
                _(
                    "Someone else changed this ticket while you were editing. "
                    "Your changes were not saved."
                )
            ),
        )
        updated = await find_ticket(ticket.id)
        assert updated is not None
        await audit.record(
            actor, "ticket.updated", "ticket", ticket.id, now, before, snapshot(updated)
        )
        if updated.assignee and updated.assignee != ticket.assignee:
            await _notify_assignee(updated, now)
        if updated.priority == Priority.P0 and ticket.priority != Priority.P0:
            await _notify_supervisors_of_p0(updated, now)
    return updated


async def _has_after_photo(ticket_id: int) -> bool:
    return await TicketAttachment.exists().where(
        (TicketAttachment.ticket == ticket_id) & (TicketAttachment.tag == PhotoTag.AFTER)
    )


async def transition(
    actor: Actor,
    ticket_id: int,
    data: TransitionIn,
    now: dt.datetime,
    *,
    separate_acceptance: bool = True,
) -> RepairTicket:
    """Move a ticket along its lifecycle: 409 when the move does not exist from its status or
    the version is stale, 403 when the actor's role may not make it, the ticket is not theirs
    to work on (see :mod:`.scope`) or they would accept work they completed themselves
    (``separate_acceptance``), 400 when data is missing."""
    require(actor, Perm.TICKETS_VIEW)
    rule = TRANSITIONS_BY_ACTION[data.action]
    async with db.transaction():
        ticket = await find_ticket(ticket_id)
        if ticket is None:
            raise NotFound(_("No such ticket."))
        if ticket.version != data.version:
            raise Conflict(_("Someone else changed this ticket first. Reload it and try again."))
        if ticket.status not in rule.sources:
            raise InvalidTransition(
                _("“%(action)s” is not possible while the ticket is “%(status)s”.")
                % {"action": data.action.label, "status": Status(ticket.status).label}
            )
        if actor.role not in rule.roles:
            raise PermissionDenied(_("Your role may not do this."))
        require_assigned(actor, ticket)
        if data.action == Action.ACCEPT and (
            refusal := await acceptance_refusal(actor, ticket, separate_acceptance)
        ):
            raise PermissionDenied(refusal)
        values = await _transition_values(ticket, rule.target, data, now)
        before = {
            "status": ticket.status,
            "closing_reason": ticket.closing_reason,
            "duplicate_of": ticket.duplicate_of,
        }
        await versioned_update(
            RepairTicket,
            ticket.id,
            ticket.version,
            {getattr(RepairTicket, k): v for k, v in values.items()},
            now,
            Conflict(_("Someone else changed this ticket first. Reload it and try again.")),
        )
        updated = await find_ticket(ticket.id)
        assert updated is not None
        after = {
            "status": updated.status,
            "closing_reason": updated.closing_reason,
            "duplicate_of": updated.duplicate_of,
        }
        if data.note.strip():
            after["note"] = data.note.strip()
        await audit.record(
            actor, f"ticket.{data.action.value}", "ticket", ticket.id, now, before, after
        )
        await reporters.ticket_moved(updated, ticket.status, now)  # the citizens who reported it
    return updated


async def _transition_values(
    ticket: RepairTicket, target: Status | None, data: TransitionIn, now: dt.datetime
) -> dict[str, Any]:
    note = data.note.strip()
    action = data.action
    values: dict[str, Any] = {"status": target or ticket.held_from}
    if action in {Action.REWORK, Action.HOLD, Action.REJECT, Action.CANCEL} and not note:
        raise ValidationFailed({"note": _("Say why.")})
    if action == Action.SCHEDULE:
        start = data.planned_start_on or ticket.planned_start_on
        if start is None:
            raise ValidationFailed({"planned_start_on": _("Give the planned start date.")})
        if start != ticket.planned_start_on:
            await _within_horizon(
                ticket.asset, now, {"planned_start_on": (_("Planned start"), start)}
            )
        values["planned_start_on"] = start
    elif action == Action.START:
        values["actual_start_at"] = ticket.actual_start_at or now
    elif action == Action.COMPLETE:
        if not note and not await _has_after_photo(ticket.id):
            raise ValidationFailed(
                {"note": _("Add an “after” photo, or say in a note why there is none.")}
            )
        values["actual_end_at"] = now
    elif action == Action.REWORK:
        values["actual_end_at"] = None  # the work is not finished after all
    elif action == Action.HOLD:
        values["held_from"] = ticket.status
    if ticket.status == Status.ON_HOLD:
        values["held_from"] = None  # resumed or cancelled: no longer held from anywhere
    elif action == Action.CLOSE:
        allowed = CLOSING_REASONS_FROM[Status(ticket.status)]
        if data.closing_reason not in allowed:
            raise ValidationFailed({"closing_reason": _("Choose why the ticket is closed.")})
        values["closing_reason"] = data.closing_reason
    elif action == Action.MARK_DUPLICATE:
        original = await find_ticket(data.duplicate_of or 0)
        if original is None or original.id == ticket.id or original.status == Status.DUPLICATE:
            raise ValidationFailed(
                {
                    "duplicate_of": _(
                        "Give the number of the original ticket "
                        "(not this one, not another duplicate)."
                    )
                }
            )
        values["duplicate_of"] = original.id
        values["closing_reason"] = ClosingReason.DUPLICATE
    if note:
        values["status_note"] = note
    if values["status"] in FINAL_STATUSES:
        values["closed_at"] = now
    return values
