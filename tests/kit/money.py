"""Money and contractor records for the permission matrix (issue 19, items 5 and 6): a register
entry in the world, a fresh cost line or a fresh ticket with a contractor for the routes that
act on one, and the bodies of the money routes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from facilities.accounts.permissions import Actor
from facilities.tickets.choices import CostKind
from facilities.tickets.money_schemas import ContractorIn, CostLineIn
from facilities.tickets.services import budget, contractors, costs
from facilities.tickets.tables import Contractor
from tests.kit.permission_world import World, current_version
from tests.kit.tickets import make_ticket

#: The year the matrix sets budgets for.
BUDGET_YEAR = 2026


async def money_world(personas: dict[str, Actor], now: dt.datetime) -> dict[str, Any]:
    """A contractor in the register (with an e-mail address, so work orders go)."""
    firm = await contractors.create_contractor(
        personas["alice"],
        ContractorIn(name="矩阵承包商", email="matrix@contractor.example", language="en"),
        now,
    )
    return {"contractor": firm.id}


async def fresh_line(world: World) -> int:
    """A labour line on the world's ticket."""
    line = await costs.add_line(
        world.actors["alice"],
        world.ticket,
        CostLineIn(kind=CostKind.LABOUR, hours=Decimal("1"), hourly_rate=Decimal("80")),
        world.now,
    )
    return int(line.id)


async def contracted_ticket(world: World) -> int:
    """A ticket of its own, assigned to the world's contractor (a work order goes once)."""
    ticket = await make_ticket(
        world.actors["alice"], asset_id=world.asset, now=world.now, contractor_id=world.contractor
    )
    return int(ticket.id)


async def line_body(world: World, who: str) -> dict[str, Any]:
    return {"kind": "labour", "worker": f"矩阵-{who}", "hours": "2", "hourly_rate": "80"}


async def contractor_new(world: World, who: str) -> dict[str, Any]:
    return {"name": f"矩阵承包商-{who}", "email": "new@contractor.example"}


async def contractor_api_new(world: World, who: str) -> dict[str, Any]:
    return {"name": f"矩阵接口承包商-{who}"}


async def contractor_edit(world: World, who: str) -> dict[str, Any]:
    return {
        "name": "矩阵承包商",
        "email": "matrix@contractor.example",
        "phone": f"0734-{who}",
        "language": "en",
        "is_active": True,
        "version": await current_version(Contractor, world.contractor),
    }


async def budget_body(world: World, who: str) -> dict[str, Any]:
    row = await budget.find_budget(world.site, BUDGET_YEAR)
    return {"amount": "1000.00", "note": who, "version": row.version if row else None}
