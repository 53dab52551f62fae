"""Money pages for staff (issue 19, item 5): a ticket's cost lines and work order, the costs page
(budgets per site and year, roll-ups per site, asset, work class and year, each number linking
to its tickets), budget edits and the exports. The contractor register's pages are in
:mod:`.contractor_pages`; the JSON API in :mod:`.money_api`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.response import Template

from facilities.accounts.choices import Perm
from facilities.accounts.guards import require_actor
from facilities.accounts.permissions import can, require
from facilities.assets import services as assets
from facilities.errors import InvalidTransition, NotFound, ValidationFailed
from facilities.i18n import gettext as _
from facilities.lib.forms import parse_fields
from facilities.tickets import money_export
from facilities.tickets.money_schemas import (
    BudgetIn,
    CostFilters,
    CostLineIn,
    Dimension,
    Measure,
)
from facilities.tickets.pages import show_page
from facilities.tickets.services import budget, contractors, costs, rollups
from facilities.web.auth import staff_guard
from facilities.web.forms import submit
from facilities.web.params import IdParam, zone_of
from facilities.web.responses import attachment, redirect, render
from facilities.web.spreadsheets import workbook_response

#: The years the by-year roll-up puts side by side, ending with the chosen year.
YEARS_SHOWN = 5


def cost_filters(request: Request[Any, Any, Any]) -> CostFilters:
    """The costs page's query; a bad value is a 400 naming the field."""
    query = {k: v for k, v in request.query_params.items()}
    filters, errors = parse_fields(CostFilters, query)
    if filters is None:
        raise ValidationFailed(
            errors, _("Some filters are not valid: %(fields)s") % {"fields": ", ".join(errors)}
        )
    return filters


def narrowing_query(filters: CostFilters) -> dict[str, str]:
    """The filters that narrow the tickets (site, asset, work class, contractor), as a query."""
    values = {
        "site": filters.site,
        "asset": filters.asset,
        "work_class": filters.work_class,
        "contractor": filters.contractor,
    }
    return {k: str(v) for k, v in values.items() if v is not None}


def behind_link(filters: CostFilters) -> Callable[..., str]:
    """``behind(measure, year, site=3)``: the URL of the tickets behind a number, keeping the
    page's own narrowing and adding the number's (its row's key)."""

    def url(measure: str, year: int, **narrower: Any) -> str:
        query = {**narrowing_query(filters), **{k: str(v) for k, v in narrower.items()}}
        return "/tickets/costs/tickets?" + urlencode({"year": year, "measure": measure, **query})

    return url


def _year(request: Request[Any, Any, Any], filters: CostFilters, now: dt.datetime) -> int:
    return rollups.check_year(filters.year, now, zone_of(request))


class MoneyController(Controller):
    path = "/tickets"
    guards = [staff_guard]
    include_in_schema = False

    # --- one ticket: cost lines and the work order -----------------------------------------

    @post("/{ticket_id:int}/cost-lines")
    async def add_line(
        self, request: Request[Any, Any, Any], ticket_id: IdParam, now: dt.datetime
    ) -> Any:
        actor = require_actor(request)
        try:
            form = await submit(
                request, CostLineIn, lambda data: costs.add_line(actor, ticket_id, data, now)
            )
        except InvalidTransition as exc:
            return await show_page(request, ticket_id, 409, money_error=exc.detail)
        if form.ok:
            return redirect(f"/tickets/{ticket_id}#costs", _("Cost line added."))
        return await show_page(
            request,
            ticket_id,
            form.status_code,
            errors=form.errors,
            line_form=form.values,
            money_error=_("The cost line was not added. Please correct the highlighted fields."),
        )

    @post("/{ticket_id:int}/cost-lines/{line_id:int}/delete")
    async def remove_line(
        self,
        request: Request[Any, Any, Any],
        ticket_id: IdParam,
        line_id: IdParam,
        now: dt.datetime,
    ) -> Any:
        actor = require_actor(request)
        try:
            await costs.remove_line(actor, ticket_id, line_id, now)
        except InvalidTransition as exc:
            return await show_page(request, ticket_id, 409, money_error=exc.detail)
        return redirect(f"/tickets/{ticket_id}#costs", _("Cost line removed."))

    @post("/{ticket_id:int}/work-order")
    async def work_order(
        self, request: Request[Any, Any, Any], ticket_id: IdParam, now: dt.datetime
    ) -> Any:
        """Queue the work order mail for the ticket's contractor (one per ticket version)."""
        actor = require_actor(request)
        try:
            queued = await contractors.send_work_order(actor, ticket_id, now)
        except ValidationFailed as exc:
            return await show_page(
                request, ticket_id, 400, money_error=next(iter(exc.errors.values()))
            )
        except InvalidTransition as exc:
            return await show_page(request, ticket_id, 409, money_error=exc.detail)
        if queued:
            return redirect(f"/tickets/{ticket_id}#contractor", _("The work order is on its way."))
        return redirect(
            f"/tickets/{ticket_id}#contractor",
            _("This work order was already sent; change the ticket to send a new one."),
        )

    # --- the costs page ----------------------------------------------------------------------

    @get("/costs")
    async def costs(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        actor = require_actor(request)
        filters = cost_filters(request)
        year = _year(request, filters, now)
        zone = zone_of(request)
        tables = {
            dimension: await rollups.rollup(actor, dimension, [year], filters, zone)
            for dimension in (Dimension.SITE, Dimension.ASSET, Dimension.WORK_CLASS)
        }
        by_year = await rollups.rollup(
            actor, Dimension.YEAR, rollups.years_up_to(year, YEARS_SHOWN), filters, zone
        )
        return render(
            request,
            "tickets/costs.html",
            year=year,
            filters=filters,
            rollups=tables,
            by_year=by_year,
            budgets=await budget.budgets(actor, year, zone, filters.site),
            totals=await rollups.totals(actor, year, filters, zone),
            site_options=[(s.id, s.name_zh) for s in await assets.list_sites(actor)],
            can_edit=can(actor, Perm.TICKETS_EDIT),
            years_options=[(y, str(y)) for y in rollups.years_up_to(year + 1, 10)[::-1]],
            behind=behind_link(filters),
            export_query={"year": year, **narrowing_query(filters)},
            Dimension=Dimension,
        )

    @get("/costs/tickets")
    async def costs_tickets(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        """The tickets behind one number of the costs or a contractor's page."""
        actor = require_actor(request)
        filters = cost_filters(request)
        year = _year(request, filters, now)
        return render(
            request,
            "tickets/costs_tickets.html",
            year=year,
            filters=filters,
            rows=await rollups.tickets_behind(actor, year, filters, zone_of(request)),
            limit=rollups.LIST_LIMIT,
            Measure=Measure,
        )

    @get("/costs.csv")
    async def costs_csv(self, request: Request[Any, Any, Any], now: dt.datetime) -> Response[str]:
        actor = require_actor(request)
        filters = cost_filters(request)
        year = _year(request, filters, now)
        raw = request.query_params.get("by", Dimension.SITE.value)
        if raw not in Dimension.__members__.values():
            raise ValidationFailed({"by": _("Choose one of the listed options.")})
        dimension = Dimension(raw)
        years = rollups.years_up_to(year, YEARS_SHOWN) if dimension == Dimension.YEAR else [year]
        out = await rollups.rollup(actor, dimension, years, filters, zone_of(request))
        return self._csv(
            request,
            money_export.csv_text(money_export.rollup_headers(out), money_export.rollup_rows(out)),
            f"costs-{dimension.value}-{year}",
            now,
        )

    @get("/cost-lines.csv")
    async def lines_csv(self, request: Request[Any, Any, Any], now: dt.datetime) -> Response[str]:
        actor = require_actor(request)
        filters = cost_filters(request)
        year = _year(request, filters, now)
        lines = await rollups.lines_in(actor, year, filters, zone_of(request))
        return self._csv(
            request,
            money_export.csv_text(money_export.line_headers(), money_export.line_rows(lines)),
            f"cost-lines-{year}",
            now,
        )

    @get("/costs.xlsx")
    async def costs_xlsx(
        self, request: Request[Any, Any, Any], now: dt.datetime
    ) -> Response[bytes]:
        actor = require_actor(request)
        filters = cost_filters(request)
        year = _year(request, filters, now)
        zone = zone_of(request)
        tables = [
            await rollups.rollup(actor, dimension, [year], filters, zone)
            for dimension in (Dimension.SITE, Dimension.ASSET, Dimension.WORK_CLASS)
        ]
        tables.append(
            await rollups.rollup(
                actor, Dimension.YEAR, rollups.years_up_to(year, YEARS_SHOWN), filters, zone
            )
        )
        lines = await rollups.lines_in(actor, year, filters, zone)
        data = await money_export.workbook_bytes(tables, lines, zone)
        return workbook_response(request, data, f"costs-{year}", now)

    @staticmethod
    def _csv(
        request: Request[Any, Any, Any], text: str, stem: str, now: dt.datetime
    ) -> Response[str]:
        return Response(
            content=text,
            media_type="text/csv",
            headers={"Content-Disposition": attachment(request, stem, "csv", now)},
        )

    # --- budgets -----------------------------------------------------------------------------

    @get("/budgets/{site_id:int}/{year:int}")
    async def edit_budget(
        self, request: Request[Any, Any, Any], site_id: IdParam, year: int, now: dt.datetime
    ) -> Template:
        actor = require(require_actor(request), Perm.TICKETS_EDIT)
        if not rollups.FIRST_YEAR <= year <= rollups.LAST_YEAR:
            raise ValidationFailed({"year": _("Give a year from 2000 to 2100.")})
        rows = await budget.budgets(actor, year, zone_of(request), site_id)
        if not rows:
            raise NotFound(_("No such site."))
        row = rows[0]
        form = {
            "amount": "" if row.amount is None else f"{row.amount:f}",
            "note": row.note,
            "version": row.version or "",
        }
        return render(
            request, "tickets/costs_budget.html", row=row, form=form, errors={}, conflict=False
        )

    @post("/budgets/{site_id:int}/{year:int}")
    async def update_budget(
        self, request: Request[Any, Any, Any], site_id: IdParam, year: int, now: dt.datetime
    ) -> Any:
        actor = require(require_actor(request), Perm.TICKETS_EDIT)
        form = await submit(
            request, BudgetIn, lambda data: budget.set_budget(actor, site_id, year, data, now)
        )
        if form.ok:
            return redirect(f"/tickets/costs?year={year}", _("The budget was saved."))
        rows = await budget.budgets(actor, year, zone_of(request), site_id)
        if not rows:
            raise NotFound(_("No such site."))
        if form.conflict:
            form.values["version"] = str(rows[0].version or "")
        return render(
            request,
            "tickets/costs_budget.html",
            status_code=form.status_code,
            row=rows[0],
            form=form.values,
            errors=form.errors,
            conflict=form.conflict,
        )
