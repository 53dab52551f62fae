"""Money on tickets: labour and material lines and a ticket's actual cost.

**Lines.** A labour line is hours at an hourly rate, a material line a quantity at a unit price;
its amount is their product computed with Decimal and rounded half up to the fen, never a float.
Who may add or remove a line is who may edit the ticket (:func:`.scope.require_editable`). Each
change is audited on the ticket (``ticket.cost_line_added`` / ``ticket.cost_line_removed``).

**The actual cost rule** (here, :func:`actual_cost`, and nowhere else): a ticket with lines costs
the sum of its lines, and that sum is written to ``repair_ticket.cost_actual`` whenever a line is
added or removed (so lists, exports and roll-ups read one column); the amount typed on the ticket
form counts only while the ticket has no lines. Removing the last line leaves the last sum,
which the form can then change again.

The roll-ups (spent, committed, budgets, on-time rates) are in :mod:`.rollups`.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from facilities import db
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.audit import services as audit
from facilities.errors import NotFound, ValidationFailed
from facilities.i18n import gettext as _
from facilities.records import valid_id
from facilities.tickets.choices import CostKind
from facilities.tickets.money_schemas import (
    CostLineIn,
)
from facilities.tickets.services.reading import find_ticket
from facilities.tickets.services.scope import require_editable
from facilities.tickets.tables import RepairTicket, TicketCostLine

CENTS = Decimal("0.01")
MAX_MONEY = Decimal("9999999999.99")
MAX_HOURS = Decimal("9999.99")
MAX_QUANTITY = Decimal("999999999.999")


def fen(expression: str) -> str:
    """An amount as whole fen, summed exactly on both engines."""
    return f"CAST(ROUND({expression} * 100) AS BIGINT)"


def money(value: Decimal | float | str | None) -> Decimal | None:
    """An amount with exactly two decimals (SQLite hands NUMERIC back as a float)."""
    return None if value is None else Decimal(str(value)).quantize(CENTS)


def quantity(value: Decimal | float | str | None) -> Decimal | None:
    """A material quantity with its three decimals."""
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.001"))


def yuan(fen_total: Any) -> Decimal:
    return (Decimal(int(fen_total or 0)) / 100).quantize(CENTS)


# --- lines ---------------------------------------------------------------------------------


def line_amount(data: CostLineIn) -> Decimal:
    """The amount of a line (hours x rate, or quantity x unit price), rounded half up to the
    fen; ValidationFailed names each field that is missing or out of range."""
    errors: dict[str, str] = {}

    def check(name: str, value: Decimal | None, top: Decimal, places: int) -> Decimal:
        if value is None:
            errors[name] = _("Required for this kind of line.")
        elif not (value.is_finite() and 0 <= value <= top and value == round(value, places)):
            errors[name] = _("Enter a number from 0 to %(top)s (at most %(places)s decimals).") % {
                "top": top,
                "places": places,
            }
        return value or Decimal(0)

    if data.kind == CostKind.LABOUR:
        amount = check("hours", data.hours, MAX_HOURS, 2) * check(
            "hourly_rate", data.hourly_rate, MAX_MONEY, 2
        )
        others = {"quantity": data.quantity, "unit_price": data.unit_price}
    else:
        amount = check("quantity", data.quantity, MAX_QUANTITY, 3) * check(
            "unit_price", data.unit_price, MAX_MONEY, 2
        )
        others = {"hours": data.hours, "hourly_rate": data.hourly_rate}
    for name, value in others.items():
        if value is not None:
            errors[name] = _("Leave this empty for this kind of line.")
    if errors:
        raise ValidationFailed(errors)
    amount = amount.quantize(CENTS, rounding=ROUND_HALF_UP)
    if amount > MAX_MONEY:
        raise ValidationFailed({"__all__": _("The amount is too large.")})
    return amount


async def lines_total(ticket_id: int) -> Decimal | None:
    """The sum of a ticket's lines, exact; None when it has none."""
    rows = await TicketCostLine.raw(
        f"SELECT COUNT(*) AS n, SUM({fen('amount')}) AS total FROM ticket_cost_line "  # noqa: S608
        "WHERE ticket = {}",
        ticket_id,
    )
    return yuan(rows[0]["total"]) if rows and rows[0]["n"] else None


async def actual_cost(ticket_id: int, typed: Decimal | None) -> Decimal | None:
    """The ticket's actual cost: the sum of its lines when it has any, else ``typed`` (the
    amount on the ticket form). The one place this rule lives (see the module docstring)."""
    total = await lines_total(ticket_id)
    return typed if total is None else total


async def list_lines(actor: Actor, ticket_id: int) -> list[TicketCostLine]:
    require(actor, Perm.TICKETS_VIEW)
    if await find_ticket(ticket_id) is None:
        raise NotFound(_("No such ticket."))
    return list(
        await TicketCostLine.objects()
        .where(TicketCostLine.ticket == ticket_id)
        .order_by(TicketCostLine.id)
    )


def line_snapshot(line: TicketCostLine) -> dict[str, Any]:
    """What the audit keeps of a line (amounts as text, the same on both engines)."""
    return {
        "cost_line": line.id,
        "cost_kind": line.kind,
        "description": line.description,
        "worker": line.worker,
        "hours": None if line.hours is None else str(money(line.hours)),
        "hourly_rate": None if line.hourly_rate is None else str(money(line.hourly_rate)),
        "quantity": None if line.quantity is None else str(Decimal(str(line.quantity))),
        "unit": line.unit,
        "unit_price": None if line.unit_price is None else str(money(line.unit_price)),
        "amount": str(money(line.amount)),
    }


async def _set_actual(ticket: RepairTicket, now: dt.datetime) -> Decimal | None:
    """Write the ticket's actual cost by the rule, as an edit of the ticket (its version
    moves, so a form opened before the line was added is stale)."""
    actual = await actual_cost(ticket.id, money(ticket.cost_actual))
    await RepairTicket.update(
        {
            RepairTicket.cost_actual: actual,
            RepairTicket.updated_at: now,
            RepairTicket.version: RepairTicket.version + 1,
        }
    ).where(RepairTicket.id == ticket.id)
    return actual


async def add_line(
    actor: Actor, ticket_id: int, data: CostLineIn, now: dt.datetime
) -> TicketCostLine:
    """Add a labour or material line; the ticket's actual cost becomes the lines' sum."""
    require(actor, Perm.TICKETS_EDIT)  # a refusal before any word on the values
    amount = line_amount(data)
    async with db.transaction():
        ticket = require_editable(actor, await find_ticket(ticket_id))
        before = money(ticket.cost_actual)
        line = TicketCostLine(
            ticket=ticket.id,
            kind=data.kind,
            description=data.description.strip(),
            worker=data.worker.strip() if data.kind == CostKind.LABOUR else "",
            hours=data.hours,
            hourly_rate=data.hourly_rate,
            quantity=data.quantity,
            unit=data.unit.strip() if data.kind == CostKind.MATERIAL else "",
            unit_price=data.unit_price,
            amount=amount,
            created_by=actor.id,
            created_at=now,
        )
        await line.save()
        total = await lines_total(ticket.id)
        if total is not None and total > MAX_MONEY:
            raise ValidationFailed({"__all__": _("The amount is too large.")})
        after = await _set_actual(ticket, now)
        await audit.record(
            actor,
            "ticket.cost_line_added",
            "ticket",
            ticket.id,
            now,
            {"cost_actual": None if before is None else str(before)},
            {**line_snapshot(line), "cost_actual": None if after is None else str(after)},
        )
    return line


async def remove_line(actor: Actor, ticket_id: int, line_id: int, now: dt.datetime) -> None:
    """Remove a line (404 when it is not this ticket's); the actual cost follows the rule."""
    async with db.transaction():
        ticket = require_editable(actor, await find_ticket(ticket_id))
        line = None
        if valid_id(line_id):
            line = (
                await TicketCostLine.objects()
                .where((TicketCostLine.id == line_id) & (TicketCostLine.ticket == ticket.id))
                .first()
            )
        if line is None:
            raise NotFound(_("No such cost line on this ticket."))
        before = money(ticket.cost_actual)
        await TicketCostLine.delete().where(TicketCostLine.id == line.id)
        after = await _set_actual(ticket, now)
        await audit.record(
            actor,
            "ticket.cost_line_removed",
            "ticket",
            ticket.id,
            now,
            {**line_snapshot(line), "cost_actual": None if before is None else str(before)},
            {"cost_actual": None if after is None else str(after)},
        )
