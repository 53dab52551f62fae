"""What a report pin is near, answered at once while the citizen places it: the facility it
snaps to (measured to the facility's drawing, not its middle), the part of it (a component
drawn within a few metres), a closure holding on that facility (or planned and starting soon),
and the open reports already made around the pin, so a citizen can follow one of those instead
of filing the same problem again.

Only public facts leave here: no contact, no staff name, no report text beyond the category.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from shapely.geometry import Point

from facilities.assets.tables import Component, Site
from facilities.closures import public as closures_public
from facilities.closures.choices import Status as ClosureStatus
from facilities.closures.public import PublicClosure
from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _
from facilities.lib import geo
from facilities.reports.choices import ReportStatus
from facilities.reports.services.facility_search import (
    MATCH_RADIUS_M,
    Facility,
    Located,
    degrees_around,
    facilities_around,
)
from facilities.reports.services.public_state import (
    REPORT_PUBLIC_COLUMNS,
    PublicReport,
    _public,
    public_report,
)
from facilities.reports.tables import ServiceRequest

#: A pin this close to a facility's drawing (or point) snaps to it. A thumb on a phone map
#: misses by tens of metres; a wider reach would pull pins onto the wrong facility.
SNAP_RADIUS_M = 60.0
#: A component drawn this close to the pin is named as the part the report is about.
COMPONENT_RADIUS_M = 15.0
#: Open reports this close to the pin are offered to follow instead of reporting again.
NEAR_REPORTS_M = 50.0
#: At most this many of them, nearest first.
NEAR_REPORTS_LIMIT = 10
#: A planned closure starting within this long is announced to a pin as if it held.
PLANNED_SOON = dt.timedelta(days=14)
#: The facilities offered to choose from around a pin (the snapped one first).
CHOICES_LIMIT = 5
OPEN_STATUSES = (ReportStatus.NEW, ReportStatus.TICKETED, ReportStatus.MERGED, ReportStatus.COVERED)


@dataclasses.dataclass(frozen=True)
class PinComponent:
    """The drawn part of the snapped facility nearest the pin."""

    id: int
    name_zh: str
    name_en: str
    metres: float


@dataclasses.dataclass(frozen=True)
class NearReport:
    report: PublicReport
    metres: float


@dataclasses.dataclass(frozen=True)
class PinAnswer:
    """The answer to a pin at ``lat``/``lng`` (WGS-84). ``snapped`` is the facility within
    SNAP_RADIUS_M (None: nothing that close), ``snap_lat``/``snap_lng`` the point of it
    nearest the pin, ``choices`` the facilities around (snapped first)."""

    lat: float
    lng: float
    snapped: Located | None
    snap_lat: float | None
    snap_lng: float | None
    component: PinComponent | None
    closure: PublicClosure | None
    choices: list[Facility]
    reports: list[NearReport]


def check_pin(lat: float | None, lng: float | None) -> tuple[float, float]:
    """The pin's numbers, or ValidationFailed naming the parameter that is wrong."""
    if lat is None or not -90 <= lat <= 90:
        raise ValidationFailed({"lat": _("Give the latitude as a number from -90 to 90.")})
    if lng is None or not -180 <= lng <= 180:
        raise ValidationFailed({"lng": _("Give the longitude as a number from -180 to 180.")})
    return lat, lng


async def closure_for_pin(asset_id: int, now: dt.datetime) -> PublicClosure | None:
    """The closure holding on the facility now, else one planned to start within
    PLANNED_SOON (the soonest): what a citizen standing there needs to know first."""
    holding = await closures_public.in_force_for_asset(asset_id, now)
    if holding is not None:
        return holding
    _asset, closures = await closures_public.for_asset(asset_id)
    planned = [
        c
        for c in closures
        if c.status == ClosureStatus.PLANNED and c.effective_from <= now + PLANNED_SOON
    ]
    return min(planned, key=lambda c: (c.effective_from, c.id)) if planned else None


async def _component(asset_id: int, lat: float, lng: float) -> PinComponent | None:
    rows = await Component.select(
        Component.id, Component.name_zh, Component.name_en, Component.geometry
    ).where((Component.asset == asset_id) & (Component.geometry != ""))
    shaped = []
    for row in rows:
        try:
            shaped.append((row, geo.parse_geometry(row["geometry"], "geometry")))
        except ValidationFailed:
            continue
    if not shaped:
        return None
    metres = geo.distances_m(lng, lat, [shape for _row, shape in shaped])
    best = min(zip(shaped, metres, strict=True), key=lambda item: (item[1], item[0][0]["id"]))
    (row, _shape), far = best
    if far > COMPONENT_RADIUS_M:
        return None
    return PinComponent(row["id"], row["name_zh"], row["name_en"], far)


async def open_reports_near(
    lat: float, lng: float, now: dt.datetime, radius: float = NEAR_REPORTS_M
) -> list[NearReport]:
    """Open reports within ``radius`` metres of the point, nearest first: each placed where
    its reporter stood, or at its facility's point when it came without a location."""
    dlat, dlng = degrees_around(lat, radius)
    pinned = (
        ServiceRequest.lat.is_not_null()
        & (ServiceRequest.lat >= lat - dlat)
        & (ServiceRequest.lat <= lat + dlat)
        & (ServiceRequest.lng >= lng - dlng)
        & (ServiceRequest.lng <= lng + dlng)
    )
    unpinned = (
        ServiceRequest.lat.is_null()
        & (ServiceRequest.asset.lat >= lat - dlat)
        & (ServiceRequest.asset.lat <= lat + dlat)
        & (ServiceRequest.asset.lng >= lng - dlng)
        & (ServiceRequest.asset.lng <= lng + dlng)
    )
    rows: list[dict[str, Any]] = (
        await ServiceRequest.select(*REPORT_PUBLIC_COLUMNS)
        .where(ServiceRequest.status.is_in(list(OPEN_STATUSES)) & (pinned | unpinned))
        .order_by(ServiceRequest.requested_at, ascending=False)
        .limit(NEAR_REPORTS_LIMIT * 10)
    )
    shown = [r for r in await _public(rows, now) if r.is_open and r.lat is not None]
    metres = geo.distances_m(lng, lat, [Point(r.lng, r.lat) for r in shown])
    near = [NearReport(r, far) for r, far in zip(shown, metres, strict=True) if far <= radius]
    return sorted(near, key=lambda n: (n.metres, -n.report.id))[:NEAR_REPORTS_LIMIT]


async def answer_pin(lat: float | None, lng: float | None, now: dt.datetime) -> PinAnswer:
    """Everything the report page tells a citizen about the spot they pinned."""
    lat, lng = check_pin(lat, lng)
    around = await facilities_around(lat, lng, MATCH_RADIUS_M)
    snapped = around[0] if around and around[0].metres <= SNAP_RADIUS_M else None
    snap_lat = snap_lng = None
    component = closure = None
    if snapped is not None:
        snap_lng, snap_lat = geo.nearest_point(lng, lat, snapped.shape)
        component = await _component(snapped.facility.id, lat, lng)
        closure = await closure_for_pin(snapped.facility.id, now)
    return PinAnswer(
        lat=lat,
        lng=lng,
        snapped=snapped,
        snap_lat=snap_lat,
        snap_lng=snap_lng,
        component=component,
        closure=closure,
        choices=[located.facility for located in around[:CHOICES_LIMIT]],
        reports=await open_reports_near(lat, lng, now),
    )


async def joinable_report(report_id: int, asset_id: int, now: dt.datetime) -> PublicReport | None:
    """The open report on ``asset_id`` a citizen says is their problem too (None when it is
    not open, or about another facility)."""
    found = await public_report(report_id, now)
    if found is None or not found.is_open or found.asset_id != asset_id:
        return None
    return found


async def map_start() -> tuple[float, float] | None:
    """Where the pin's map opens when no pin is placed yet: the first site with a location
    (``(lat, lng)``), or None (the map then fits what the basemap draws)."""
    row = (
        await Site.select(Site.lat, Site.lng)
        .where(Site.lat.is_not_null() & Site.lng.is_not_null())
        .order_by(Site.id)
        .first()
    )
    return (row["lat"], row["lng"]) if row else None
