"""The triage queue on a map: ``/triage/map`` (the page) and ``/triage/map.json`` (the reports
awaiting triage and those a closure recently answered, each at the citizen's pin, or at its
facility when the report has none, linking to the report). The same service and permission as
the queue (:func:`reports.triage_queue`, reports.triage).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, get
from litestar.response import Response, Template

from facilities.accounts.choices import Perm
from facilities.accounts.guards import require_actor
from facilities.accounts.permissions import Actor, require
from facilities.assets.services import map_view
from facilities.i18n import gettext as _
from facilities.reports import services as reports
from facilities.reports.choices import Category, ReportStatus
from facilities.tickets.map_pages import point_labels
from facilities.web.auth import staff_guard
from facilities.web.maps import map_config
from facilities.web.responses import render


async def report_points(actor: Actor, now: dt.datetime) -> dict[str, Any]:
    queue = await reports.triage_queue(actor, now)
    rows = [*queue.new, *queue.covered]
    facilities = await map_view.asset_points(actor, (r.report.asset for r in rows))
    points = []
    for row in rows:
        report = row.report
        if report.lat is not None and report.lng is not None:
            at: tuple[float, float] | None = (float(report.lng), float(report.lat))
        else:
            at = facilities.get(report.asset)
        if at is None:
            continue
        points.append(
            [
                round(at[0], 6),
                round(at[1], 6),
                f"staff-report-{report.status}",
                f"#{report.id} {Category(report.category).label}",
                f"{ReportStatus(report.status).label} · {row.asset_code}",
                f"/triage/{report.id}",
            ]
        )
    return {
        "points": points,
        "count": len(points),
        "unplaced": len(rows) - len(points),
        "truncated": False,
    }


class TriageMapController(Controller):
    path = "/triage"
    guards = [staff_guard]
    include_in_schema = False

    @get("/map")
    async def index(self, request: Request[Any, Any, Any]) -> Template:
        require(require_actor(request), Perm.REPORTS_TRIAGE)
        return render(
            request,
            "reports/triage_map.html",
            labels=point_labels(),
            map=map_config(request),
            legend=[
                ("staff-report-new", _("New: awaiting triage")),
                ("staff-report-covered", _("Answered by a closure in force")),
            ],
        )

    @get("/map.json")
    async def data(self, request: Request[Any, Any, Any], now: dt.datetime) -> Response[Any]:
        actor = require_actor(request)
        return Response(
            await report_points(actor, now), headers={"Cache-Control": "private, no-store"}
        )
