"""The contractor register's pages (issue 19, item 6): the list and each contractor's page (its
on-time rate and cost per year, each number linking to its tickets) for every member of staff;
new and edit forms for supervisors and administrators. The JSON API is in :mod:`.money_api`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, get, post
from litestar.response import Template

from facilities.accounts.choices import Perm
from facilities.accounts.guards import require_actor
from facilities.accounts.permissions import can, require
from facilities.i18n import gettext as _
from facilities.tickets.money_schemas import ContractorIn
from facilities.tickets.services import contractors, rollups
from facilities.web.auth import staff_guard
from facilities.web.forms import submit
from facilities.web.params import IdParam, zone_of
from facilities.web.responses import redirect, render

#: The years a contractor's page shows, ending with this one.
YEARS_SHOWN = 5


def _form_of(row: Any) -> dict[str, Any]:
    form = {k: ("" if v is None else v) for k, v in contractors.snapshot(row).items()}
    form["version"] = row.version
    return form


class ContractorController(Controller):
    path = "/contractors"
    guards = [staff_guard]
    include_in_schema = False

    @get("/")
    async def index(self, request: Request[Any, Any, Any]) -> Template:
        actor = require_actor(request)
        return render(
            request,
            "tickets/contractors.html",
            rows=await contractors.list_contractors(actor),
            can_edit=can(actor, Perm.TICKETS_EDIT),
        )

    @get("/new")
    async def new(self, request: Request[Any, Any, Any]) -> Template:
        require(require_actor(request), Perm.TICKETS_EDIT)
        form = {"language": "zh_CN", "is_active": True}
        return render(
            request, "tickets/contractors_form.html", row=None, form=form, errors={}, conflict=False
        )

    @post("/")
    async def create(self, request: Request[Any, Any, Any], now: dt.datetime) -> Any:
        actor = require(require_actor(request), Perm.TICKETS_EDIT)
        form = await submit(
            request, ContractorIn, lambda data: contractors.create_contractor(actor, data, now)
        )
        if form.ok and form.result is not None:
            return redirect(
                f"/contractors/{form.result.id}",
                _("%(name)s was added to the register.") % {"name": form.result.name},
            )
        return render(
            request,
            "tickets/contractors_form.html",
            status_code=form.status_code,
            row=None,
            form=form.values,
            errors=form.errors,
            conflict=False,
        )

    @get("/{contractor_id:int}")
    async def show(
        self, request: Request[Any, Any, Any], contractor_id: IdParam, now: dt.datetime
    ) -> Template:
        actor = require_actor(request)
        row = await contractors.get_contractor(actor, contractor_id)
        zone = zone_of(request)
        years = rollups.years_up_to(rollups.year_of(now, zone), YEARS_SHOWN)
        return render(
            request,
            "tickets/contractors_show.html",
            row=row,
            by_year=list(reversed(await rollups.on_time_by_year(actor, row.id, years, zone))),
            recent=await contractors.tickets_of(actor, row.id),
            can_edit=can(actor, Perm.TICKETS_EDIT),
        )

    @get("/{contractor_id:int}/edit")
    async def edit(self, request: Request[Any, Any, Any], contractor_id: IdParam) -> Template:
        actor = require(require_actor(request), Perm.TICKETS_EDIT)
        row = await contractors.get_contractor(actor, contractor_id)
        return render(
            request,
            "tickets/contractors_form.html",
            row=row,
            form=_form_of(row),
            errors={},
            conflict=False,
        )

    @post("/{contractor_id:int}")
    async def update(
        self, request: Request[Any, Any, Any], contractor_id: IdParam, now: dt.datetime
    ) -> Any:
        actor = require(require_actor(request), Perm.TICKETS_EDIT)
        row = await contractors.get_contractor(actor, contractor_id)
        form = await submit(
            request,
            ContractorIn,
            lambda data: contractors.update_contractor(actor, contractor_id, data, now),
        )
        if form.ok:
            return redirect(f"/contractors/{contractor_id}", _("Changes saved."))
        if form.conflict:
            fresh = await contractors.get_contractor(actor, contractor_id)
            form.values["version"] = str(fresh.version)
        return render(
            request,
            "tickets/contractors_form.html",
            status_code=form.status_code,
            row=row,
            form=form.values,
            errors=form.errors,
            conflict=form.conflict,
        )
