"""The inspections dashboard (issue 19, item 4): ``/inspections/dashboard`` shows PM compliance
by month, type, team and site, the overdue list, the assets by current condition grade with each
one's BCI trend; ``/inspections/dashboard/list`` lists the inspections behind any compliance
number (same filters, same conditions: :mod:`facilities.inspections.services.compliance`).

Filters, all optional, in the query string of both pages: ``from`` and ``to`` (months,
YYYY-MM; default the last six months), ``site``, ``type``, ``team`` (``0``: no team) and, on the
list, ``outcome`` (on_time, late, missed, counted). Viewers may see it (inspections.view).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get
from litestar.response import Template

from facilities.accounts.guards import require_actor
from facilities.assets import services as assets
from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _
from facilities.inspections.bci_chart import bci_chart
from facilities.inspections.choices import InspectionType
from facilities.inspections.services import compliance as pm
from facilities.inspections.services import list_teams
from facilities.web.auth import staff_guard
from facilities.web.params import int_query, zone_of
from facilities.web.responses import render


def _month(request: Request[Any, Any, Any], name: str) -> dt.date | None:
    text = request.query_params.get(name, "").strip()
    if not text:
        return None
    try:
        month = dt.date.fromisoformat(text + "-01")
    except ValueError:
        month = None
    if month is None or not 1900 <= month.year <= 9000:  # 9999-12 has no following month
        raise ValidationFailed({name: _("Give the month as YYYY-MM.")})
    return month


def parse_scope(request: Request[Any, Any, Any], now: dt.datetime) -> pm.Scope:
    """The scope the query string asks for; a 400 naming the field on a bad value."""
    default = pm.default_scope(now, zone_of(request))
    first = _month(request, "from")
    last = _month(request, "to")
    if first is None:
        first = last or default.first
    if last is None:  # "from" alone: through the current month (or that month, if later)
        last = max(first, default.last)
    if last < first:
        raise ValidationFailed({"to": _("The last month comes before the first.")})
    if (last.year - first.year) * 12 + last.month - first.month + 1 > pm.MAX_MONTHS:
        raise ValidationFailed({"to": _("Choose at most %(num)d months.") % {"num": pm.MAX_MONTHS}})
    kind = request.query_params.get("type", "").strip() or None
    if kind is not None and kind not in {t.value for t in InspectionType}:
        raise ValidationFailed({"type": _("Choose one of the listed options.")})
    team_text = request.query_params.get("team", "").strip()
    team = pm.NO_TEAM if team_text == str(pm.NO_TEAM) else int_query(request, "team")
    return pm.Scope(first, last, int_query(request, "site"), kind, team)


def scope_query(scope: pm.Scope, **changes: Any) -> str:
    """The query string of a scope (with ``changes``): every number's link is built with it."""
    values: dict[str, Any] = {
        "from": scope.first.strftime("%Y-%m"),
        "to": scope.last.strftime("%Y-%m"),
        "site": scope.site_id,
        "type": scope.inspection_type,
        "team": scope.team_id,
    }
    values.update(changes)
    return urlencode({k: v for k, v in values.items() if v is not None and v != ""})


def list_link(scope: pm.Scope, outcome: str, **changes: Any) -> str:
    """The drill-down list of one number: the scope, narrowed by ``changes``, and the outcome."""
    return "/inspections/dashboard/list?" + scope_query(scope, outcome=outcome, **changes)


def month_changes(month: dt.date) -> dict[str, str]:
    return {"from": month.strftime("%Y-%m"), "to": month.strftime("%Y-%m")}


class InspectionDashboardController(Controller):
    path = "/inspections/dashboard"
    guards = [staff_guard]
    include_in_schema = False

    @get("/")
    async def index(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        actor = require_actor(request)
        zone = zone_of(request)
        scope = parse_scope(request, now)
        result = await pm.compliance(actor, scope, zone, now)
        overdue_total, overdue_rows = await pm.overdue(actor, scope, now)
        graded = await pm.graded_assets(actor, scope.site_id)
        for asset in graded:
            asset["chart"] = bci_chart(asset["history"], zone)
        return render(
            request,
            "inspections/dashboard.html",
            scope=scope,
            result=result,
            overdue_total=overdue_total,
            overdue_rows=overdue_rows,
            grades=await pm.grade_distribution(actor, scope.site_id),
            assets=graded,
            teams=await list_teams(),
            sites=await assets.list_sites(actor),
            types=list(InspectionType),
            list_link=list_link,
            month_changes=month_changes,
            NO_TEAM=pm.NO_TEAM,
            list_limit=pm.LIST_LIMIT,
        )

    @get("/list")
    async def list_view(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        actor = require_actor(request)
        scope = parse_scope(request, now)
        try:
            outcome = pm.Outcome(request.query_params.get("outcome", "counted"))
        except ValueError:
            raise ValidationFailed({"outcome": _("Choose one of the listed options.")}) from None
        rows = await pm.counted_inspections(actor, scope, outcome, zone_of(request), now)
        return render(
            request,
            "inspections/dashboard_list.html",
            scope=scope,
            outcome=outcome.value,
            rows=rows,
            back="/inspections/dashboard?" + scope_query(scope),
            list_limit=pm.LIST_LIMIT,
        )
