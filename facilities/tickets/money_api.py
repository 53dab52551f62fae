"""The money and contractor JSON API under /api/v1 (issue 19, items 5, 6 and 8): the contractor
register, a ticket's cost lines and work order, site budgets and cost roll-ups. The same
services and errors as the pages (:mod:`.money_pages`, :mod:`.contractor_pages`); every path
maps to the tickets scope (:mod:`facilities.accounts.scopes`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post, put
from litestar.params import JSONBody, Parameter, QueryParameter
from litestar.response import Response

from facilities.accounts.guards import require_actor
from facilities.records import to_out, to_outs
from facilities.tickets.choices import CostKind, WorkClass
from facilities.tickets.money_schemas import (
    BudgetIn,
    BudgetOut,
    ContractorIn,
    ContractorOut,
    CostFilters,
    CostLineIn,
    CostLineOut,
    CostLinesOut,
    Dimension,
    RollupOut,
)
from facilities.tickets.services import budget, contractors, costs, rollups
from facilities.tickets.services.reading import find_ticket
from facilities.tickets.tables import TicketCostLine
from facilities.web.auth import staff_guard
from facilities.web.errors import api_errors
from facilities.web.params import IdParam, zone_of

YearQuery = Annotated[int | None, QueryParameter(name="year", ge=2000, le=2100)]
IdQuery = Annotated[int | None, QueryParameter(ge=1, le=2_147_483_647)]


def line_out(line: TicketCostLine) -> CostLineOut:
    return CostLineOut(
        id=line.id,
        ticket_id=line.ticket,
        kind=CostKind(line.kind),
        description=line.description,
        worker=line.worker,
        hours=costs.money(line.hours),
        hourly_rate=costs.money(line.hourly_rate),
        quantity=costs.quantity(line.quantity),
        unit=line.unit,
        unit_price=costs.money(line.unit_price),
        amount=costs.money(line.amount) or Decimal("0.00"),
        created_by=line.created_by,
        created_at=line.created_at,
    )


class ContractorApiController(Controller):
    path = "/api/v1/contractors"
    guards = [staff_guard]
    tags = ["contractors"]

    @get("/", responses=api_errors())
    async def index(
        self,
        request: Request[Any, Any, Any],
        active: Annotated[bool, QueryParameter(name="active")] = False,
    ) -> list[ContractorOut]:
        """The register by name; ``active=true``: only those offered on tickets."""
        rows = await contractors.list_contractors(require_actor(request), active_only=active)
        return to_outs(ContractorOut, rows)

    @post("/", responses=api_errors(403))
    async def create(
        self, request: Request[Any, Any, Any], data: JSONBody[ContractorIn], now: dt.datetime
    ) -> Response[ContractorOut]:
        """Add a contractor (supervisors and administrators); 400 when the name is taken."""
        row = await contractors.create_contractor(require_actor(request), data, now)
        return Response(to_out(ContractorOut, row), status_code=201)

    @get("/{contractor_id:int}", responses=api_errors(404))
    async def show(self, request: Request[Any, Any, Any], contractor_id: IdParam) -> ContractorOut:
        return to_out(
            ContractorOut, await contractors.get_contractor(require_actor(request), contractor_id)
        )

    @put("/{contractor_id:int}", responses=api_errors(403, 404, 409))
    async def update(
        self,
        request: Request[Any, Any, Any],
        contractor_id: IdParam,
        data: JSONBody[ContractorIn],
        now: dt.datetime,
    ) -> ContractorOut:
        """Replace the entry; send the ``version`` you read (409 when stale)."""
        row = await contractors.update_contractor(require_actor(request), contractor_id, data, now)
        return to_out(ContractorOut, row)


class TicketMoneyApiController(Controller):
    path = "/api/v1/tickets"
    guards = [staff_guard]
    tags = ["tickets"]

    async def _lines(self, request: Request[Any, Any, Any], ticket_id: int) -> CostLinesOut:
        actor = require_actor(request)
        lines = await costs.list_lines(actor, ticket_id)
        ticket = await find_ticket(ticket_id)
        assert ticket is not None  # list_lines answered 404 otherwise
        return CostLinesOut(
            items=[line_out(line) for line in lines],
            total=await costs.lines_total(ticket_id) or Decimal("0.00"),
            cost_estimate=costs.money(ticket.cost_estimate),
            cost_actual=costs.money(ticket.cost_actual),
        )

    @get("/{ticket_id:int}/cost-lines", responses=api_errors(404))
    async def lines(self, request: Request[Any, Any, Any], ticket_id: IdParam) -> CostLinesOut:
        """The ticket's labour and material lines, their total and the ticket's costs."""
        return await self._lines(request, ticket_id)

    @post("/{ticket_id:int}/cost-lines", responses=api_errors(403, 404, 409))
    async def add_line(
        self,
        request: Request[Any, Any, Any],
        ticket_id: IdParam,
        data: JSONBody[CostLineIn],
        now: dt.datetime,
    ) -> Response[CostLineOut]:
        """Add a line (who may edit the ticket may); the actual cost becomes the lines' sum.
        409: the ticket is finished."""
        line = await costs.add_line(require_actor(request), ticket_id, data, now)
        return Response(line_out(line), status_code=201)

    @delete("/{ticket_id:int}/cost-lines/{line_id:int}", responses=api_errors(403, 404, 409))
    async def remove_line(
        self,
        request: Request[Any, Any, Any],
        ticket_id: IdParam,
        line_id: IdParam,
        now: dt.datetime,
    ) -> None:
        await costs.remove_line(require_actor(request), ticket_id, line_id, now)

    @post("/{ticket_id:int}/work-order", status_code=200, responses=api_errors(403, 404, 409))
    async def work_order(
        self, request: Request[Any, Any, Any], ticket_id: IdParam, now: dt.datetime
    ) -> dict[str, bool]:
        """Queue the work order e-mail to the ticket's contractor. ``queued`` is false when
        this version of the order was already queued. 400: no contractor, or no e-mail."""
        queued = await contractors.send_work_order(require_actor(request), ticket_id, now)
        return {"queued": queued}


class MoneyApiController(Controller):
    path = "/api/v1"
    guards = [staff_guard]
    tags = ["costs"]

    @get("/budgets", responses=api_errors())
    async def budgets(
        self,
        request: Request[Any, Any, Any],
        year: YearQuery = None,
        site: IdQuery = None,
        *,
        now: dt.datetime,
    ) -> list[BudgetOut]:
        """Every site's budget for the year (this year by default) with spent, committed and
        remaining, as the costs page counts them."""
        zone = zone_of(request)
        return await budget.budgets(
            require_actor(request), rollups.check_year(year, now, zone), zone, site
        )

    @put("/budgets/{site_id:int}/{year:int}", responses=api_errors(403, 404, 409))
    async def set_budget(
        self,
        request: Request[Any, Any, Any],
        site_id: IdParam,
        year: Annotated[int, Parameter(ge=2000, le=2100)],
        data: JSONBody[BudgetIn],
        now: dt.datetime,
    ) -> BudgetOut:
        """Set a site's budget for a year: without ``version`` the first one, with the version
        you read a change (409 when stale)."""
        actor = require_actor(request)
        await budget.set_budget(actor, site_id, year, data, now)
        (row,) = await budget.budgets(actor, year, zone_of(request), site_id)
        return row

    @get("/costs/rollups", responses=api_errors())
    async def rollups(
        self,
        request: Request[Any, Any, Any],
        by: Annotated[Dimension, QueryParameter(name="by")] = Dimension.SITE,
        year: YearQuery = None,
        years: Annotated[int, QueryParameter(name="years", ge=1, le=rollups.MAX_YEARS)] = 1,
        site: IdQuery = None,
        asset: IdQuery = None,
        work_class: Annotated[WorkClass | None, QueryParameter(name="work_class")] = None,
        contractor: IdQuery = None,
        *,
        now: dt.datetime,
    ) -> RollupOut:
        """Spent and committed per ``by`` for ``years`` years ending with ``year`` (this year
        by default), in the bureau's time zone."""
        zone = zone_of(request)
        last = rollups.check_year(year, now, zone)
        filters = CostFilters(site=site, asset=asset, work_class=work_class, contractor=contractor)
        return await rollups.rollup(
            require_actor(request), by, rollups.years_up_to(last, years), filters, zone
        )
