"""The staff asset map: ``/assets/map`` (the page: filters, legend, the map) and
``/assets/map.json`` (the assets in the visible box as compact rows; see
:mod:`facilities.assets.services.map_view`). ``static/js/staff_map.js`` draws the rows as
clustered markers coloured by condition grade and asks again when the map moves. The asset list
stays the accessible record; the page links to it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, get
from litestar.response import Response, Template

from facilities.accounts.guards import require_actor
from facilities.assets import services as assets
from facilities.assets.choices import AssetType, ConditionGrade, Lifecycle, OperationalStatus
from facilities.assets.services import map_view
from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _
from facilities.i18n import pgettext
from facilities.lib import geo
from facilities.lib.forms import parse_fields
from facilities.web.auth import staff_guard
from facilities.web.maps import map_config
from facilities.web.responses import render


def _filters(request: Request[Any, Any, Any]) -> map_view.MapFilters:
    filters, errors = parse_fields(map_view.MapFilters, dict(request.query_params))
    if filters is None:
        raise ValidationFailed(
            errors, _("Some filters are not valid: %(fields)s") % {"fields": ", ".join(errors)}
        )
    return filters


def map_labels() -> dict[str, Any]:
    """The words the script shows, in the reader's language, keyed as the rows code them."""
    statuses = {
        OperationalStatus.IN_SERVICE.value: OperationalStatus.IN_SERVICE.label,
        OperationalStatus.RESTRICTED.value: OperationalStatus.RESTRICTED.label,
        OperationalStatus.CLOSED.value: OperationalStatus.CLOSED.label,
        Lifecycle.UNDER_CONSTRUCTION.value: Lifecycle.UNDER_CONSTRUCTION.label,
        Lifecycle.DECOMMISSIONED.value: Lifecycle.DECOMMISSIONED.label,
    }
    return {
        "types": [AssetType(t).label for t in map_view.TYPES],
        "statuses": [statuses[s] for s in map_view.STATUSES],
        "grades": {g.value: g.label for g in ConditionGrade},
        "ungraded": _("Not graded"),
        "urgent": _("Open P0/P1 tickets: %(count)s"),
        "due": _("Inspection due"),
        "overdue": _("Inspection overdue"),
        "open": _("Open the asset"),
        "truncated": _(
            "Showing the first %(count)s assets in view: zoom in or filter to see the rest."
        ),
        "shown": _("%(count)s assets in view."),
        "failed": _("The map data could not be loaded."),
        "grade": pgettext("asset map", "Condition"),
        "status": pgettext("asset map", "Status"),
    }


class AssetMapController(Controller):
    path = "/assets"
    guards = [staff_guard]
    include_in_schema = False

    @get("/map")
    async def index(self, request: Request[Any, Any, Any]) -> Template:
        actor = require_actor(request)
        filters = _filters(request)
        return render(
            request,
            "assets/map.html",
            filters=filters,
            sites=await assets.list_sites(actor),
            grades=[(g.value, g.label) for g in ConditionGrade],
            # ?bbox= opens the map on that box (a shared view); else around the assets
            extent=geo.parse_bbox(filters.bbox, "bbox")
            if filters.bbox.strip()
            else await map_view.asset_extent(actor, filters.site),
            labels=map_labels(),
            default_limit=map_view.DEFAULT_LIMIT,
            map=map_config(request),
        )

    @get("/map.json")
    async def data(self, request: Request[Any, Any, Any], now: dt.datetime) -> Response[Any]:
        """The placed assets in ``bbox`` that pass the filters, at most ``limit`` rows (then
        ``truncated`` is true). A bad ``bbox`` is a 400 naming it."""
        actor = require_actor(request)
        found = await map_view.map_data(actor, _filters(request), now)
        return Response(found.as_json(), headers={"Cache-Control": "private, no-store"})
