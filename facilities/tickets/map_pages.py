"""The ticket list on a map: ``/tickets/map`` (the page) and ``/tickets/map.json`` (the tickets
the list's filters select, each at its facility's point, coloured by priority and linking to the
ticket). The same service and permission as the list (:func:`tickets.iter_tickets`, tickets.view);
at most :data:`LIMIT` tickets, then ``truncated`` says so.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from litestar import Controller, Request, get
from litestar.response import Response, Template

from facilities.accounts.choices import Perm
from facilities.accounts.guards import require_actor
from facilities.accounts.permissions import require
from facilities.assets.services import map_view
from facilities.i18n import gettext as _
from facilities.tickets import services as tickets
from facilities.tickets.choices import Priority, Status
from facilities.tickets.pages import _filters, _query_without
from facilities.web.auth import staff_guard
from facilities.web.maps import map_config
from facilities.web.responses import render

LIMIT = 1000


def point_labels() -> dict[str, str]:
    """The words the map script shows (the staff point maps share them)."""
    return {
        "open": _("Open the record"),
        "truncated": _("Showing the first %(count)s: filter to see the rest."),
        "failed": _("The map data could not be loaded."),
    }


async def ticket_points(
    actor: Any, request: Request[Any, Any, Any], now: dt.datetime
) -> dict[str, Any]:
    filters = msgspec.structs.replace(_filters(request), after="")
    tickets.check_filters(filters, now)  # a 400 naming the filter, before anything is read
    views = []
    async for view in tickets.iter_tickets(actor, filters, now):
        views.append(view)
        if len(views) > LIMIT:
            break
    truncated = len(views) > LIMIT
    views = views[:LIMIT]
    points = await map_view.asset_points(actor, (v.ticket.asset for v in views))
    rows = []
    for view in views:
        t = view.ticket
        at = points.get(t.asset)
        if at is None:
            continue
        rows.append(
            [
                round(at[0], 6),
                round(at[1], 6),
                f"staff-priority-{t.priority}",
                f"#{t.id} {t.title}",
                f"{Priority(t.priority).label} · {view.asset_code} · " + Status(t.status).label,
                f"/tickets/{t.id}",
            ]
        )
    return {
        "points": rows,
        "count": len(rows),
        "unplaced": len(views) - len(rows),
        "truncated": truncated,
    }


class TicketMapController(Controller):
    path = "/tickets"
    guards = [staff_guard]
    include_in_schema = False

    @get("/map")
    async def index(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        require(require_actor(request), Perm.TICKETS_VIEW)
        tickets.check_filters(_filters(request), now)
        return render(
            request,
            "tickets/map.html",
            labels=point_labels(),
            map=map_config(request),
            query=_query_without(request, "after"),
            legend=[(f"staff-priority-{p.value}", p.label) for p in Priority],
        )

    @get("/map.json")
    async def data(self, request: Request[Any, Any, Any], now: dt.datetime) -> Response[Any]:
        actor = require_actor(request)
        return Response(
            await ticket_points(actor, request, now),
            headers={"Cache-Control": "private, no-store"},
        )
