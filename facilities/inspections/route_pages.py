"""The inspector's day: ``/inspections/route``, the signed-in inspector's open inspections due
today or overdue, in a suggested visiting order (nearest neighbour improved by 2-opt, from the
most overdue stop; :mod:`facilities.lib.route`), as an ordered list (the accessible record) and a
map of numbered stops joined by the path (``static/js/staff_map.js``). Only the reader's own
inspections (inspections.view, the "My inspections" of the list): nobody is shown another's day.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from litestar import Controller, Request, get
from litestar.response import Template

from facilities.accounts.guards import require_actor
from facilities.accounts.permissions import Actor
from facilities.assets.services import map_view
from facilities.inspections import services as inspections
from facilities.lib import geo, route
from facilities.web.auth import staff_guard
from facilities.web.maps import map_config
from facilities.web.params import zone_of
from facilities.web.responses import render


@dataclasses.dataclass(frozen=True)
class Stop:
    step: int
    row: dict[str, Any]
    point: tuple[float, float]  # lng, lat
    leg_m: float  # metres from the previous stop (0 for the first)


@dataclasses.dataclass(frozen=True)
class Day:
    stops: list[Stop]
    unplaced: list[dict[str, Any]]  # due, but their asset has no place on the map
    total_m: float


async def plan_day(actor: Actor, now: dt.datetime, today_ends: dt.datetime) -> Day:
    """The actor's open inspections due before ``today_ends`` (overdue ones included), the
    placed ones in the suggested order."""
    rows = [
        r
        for r in await inspections.list_inspections(actor, now, inspector_id=actor.id, limit=200)
        if r["due_at"] < today_ends or r["is_overdue"]
    ]  # most overdue first (the list is by due date): the first is where the day starts
    points = await map_view.asset_points(actor, (r["asset"] for r in rows))
    placed = [r for r in rows if r["asset"] in points]
    order = route.visiting_order(None, [points[r["asset"]] for r in placed])
    stops: list[Stop] = []
    for step, index in enumerate(order, start=1):
        point = points[placed[index]["asset"]]
        leg = route.distance_m(stops[-1].point, point) if stops else 0.0
        stops.append(Stop(step=step, row=placed[index], point=point, leg_m=leg))
    return Day(
        stops=stops,
        unplaced=[r for r in rows if r["asset"] not in points],
        total_m=sum(s.leg_m for s in stops),
    )


class InspectionRouteController(Controller):
    path = "/inspections"
    guards = [staff_guard]
    include_in_schema = False

    @get("/route")
    async def index(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        actor = require_actor(request)
        zone = zone_of(request)
        local = now.astimezone(zone)
        today_ends = dt.datetime.combine(
            local.date() + dt.timedelta(days=1), dt.time(), tzinfo=zone
        )
        day = await plan_day(actor, now, today_ends)
        return render(
            request,
            "inspections/route.html",
            day=day,
            today=local.date(),
            total=geo.format_length(day.total_m),
            leg=geo.format_length,
            map=map_config(request),
        )
