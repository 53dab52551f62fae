"""Facilities as a citizen may see them to pick one: search by name or code, "near me", and the
matching of an Open311 location or address to one facility.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from shapely.geometry.base import BaseGeometry

from facilities.assets.services import asset_shape, contains
from facilities.assets.tables import Asset
from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _
from facilities.lib import geo
from facilities.records import valid_id
from facilities.reports.choices import Category, categories_for

#: A location sent with an Open311 request names the nearest facility within this many metres
#: (there is deliberately no setting for it: change it here, with a test).
MATCH_RADIUS_M = 150
#: "Facilities near me" on the web form: how far to look and how many to list.
NEARBY_RADIUS_M = 3000
NEARBY_LIMIT = 8


@dataclasses.dataclass(frozen=True)
class Facility:
    """What a citizen may see of a facility to pick it (public columns only)."""

    id: int
    code: str
    name_zh: str
    name_en: str
    asset_type: str
    site_id: int
    site_name_zh: str
    site_name_en: str
    lat: float | None
    lng: float | None
    distance_m: float | None = None

    @property
    def categories(self) -> tuple[Category, ...]:
        return categories_for(self.asset_type)


FACILITY_COLUMNS = (
    Asset.id,
    Asset.code,
    Asset.name_zh,
    Asset.name_en,
    Asset.asset_type,
    Asset.site,
    Asset.lat,
    Asset.lng,
    Asset.site.name_zh.as_alias("site_name_zh"),
    Asset.site.name_en.as_alias("site_name_en"),
)
IN_CARE = Asset.lifecycle != "decommissioned"


def _facility(row: dict[str, Any], distance: float | None = None) -> Facility:
    return Facility(
        id=row["id"],
        code=row["code"],
        name_zh=row["name_zh"],
        name_en=row["name_en"],
        asset_type=row["asset_type"],
        site_id=row["site"],
        site_name_zh=row["site_name_zh"],
        site_name_en=row["site_name_en"],
        lat=row["lat"],
        lng=row["lng"],
        distance_m=None if distance is None else round(distance),
    )


async def find_facility(asset_id: int) -> Facility | None:
    if not valid_id(asset_id):
        return None
    row = await Asset.select(*FACILITY_COLUMNS).where((Asset.id == asset_id) & IN_CARE).first()
    return _facility(row) if row else None


async def search_facilities(
    q: str = "", site_id: int | None = None, limit: int = 50
) -> list[Facility]:
    """Facilities whose name or code contains ``q``, or all of one site's."""
    conditions: list[Any] = [IN_CARE]
    term = q.strip()[:100]
    if term:
        conditions.append(
            contains(Asset.code, term)
            | contains(Asset.name_zh, term)
            | contains(Asset.name_en, term)
        )
    if site_id is not None:
        conditions.append(Asset.site == (site_id if valid_id(site_id) else 0))
    if not term and site_id is None:
        return []
    rows = (
        await Asset.select(*FACILITY_COLUMNS)
        .where(*conditions)
        .order_by(Asset.name_zh)
        .limit(limit)
    )
    return [_facility(r) for r in rows]


def degrees_around(lat: float, radius: float) -> tuple[float, float]:
    """Degrees of latitude and of longitude that surely cover ``radius`` metres at ``lat`` (a
    box for the indexed query; the exact distance is measured afterwards)."""
    dlat = radius / 110_000
    dlng = radius / max(1.0, 110_000 * math.cos(math.radians(min(abs(lat), 89.0))))
    return dlat, dlng


def in_box(lat: float, lng: float, radius: float) -> Any:
    """Facilities whose drawing's bounding box (``Asset.bbox_*``, indexed; the box of the point
    for one known only by its point) comes within ``radius`` metres' worth of degrees of the
    point: the same query on SQLite and PostgreSQL. A facility whose box was never computed is
    found by its point."""
    dlat, dlng = degrees_around(lat, radius)
    by_box = (
        (Asset.bbox_west <= lng + dlng)
        & (Asset.bbox_east >= lng - dlng)
        & (Asset.bbox_south <= lat + dlat)
        & (Asset.bbox_north >= lat - dlat)
    )
    by_point = (
        Asset.bbox_west.is_null()
        & (Asset.lat >= lat - dlat)
        & (Asset.lat <= lat + dlat)
        & (Asset.lng >= lng - dlng)
        & (Asset.lng <= lng + dlng)
    )
    return IN_CARE & (by_box | by_point)


@dataclasses.dataclass(frozen=True)
class Located:
    """A facility near a point, with its shape (its drawing, else its point) and the metres
    from the point to the nearest part of it."""

    facility: Facility
    shape: BaseGeometry
    metres: float


async def facilities_around(lat: float, lng: float, radius: float) -> list[Located]:
    """Facilities within ``radius`` metres of the point, nearest first, measured to the
    nearest part of each one's drawing (a bridge drawn as a line is near anywhere along it, not
    only at its middle) with :func:`facilities.lib.geo.distances_m`."""
    rows = await Asset.select(*FACILITY_COLUMNS, Asset.geometry).where(in_box(lat, lng, radius))
    shaped = []
    for row in rows:
        try:
            shape = asset_shape(row["geometry"], row["lat"], row["lng"])
        except ValidationFailed:  # a stored drawing that no longer reads: use its point
            shape = asset_shape("", row["lat"], row["lng"])
        if shape is not None:
            shaped.append((row, shape))
    metres = geo.distances_m(lng, lat, [shape for _row, shape in shaped])
    found = [
        Located(_facility(row, far), shape, far)
        for (row, shape), far in zip(shaped, metres, strict=True)
        if far <= radius
    ]
    return sorted(found, key=lambda f: (f.metres, f.facility.code))


async def _within(lat: float, lng: float, radius: float) -> list[Facility]:
    """Facilities within ``radius`` metres, nearest first."""
    return [located.facility for located in await facilities_around(lat, lng, radius)]


async def nearby_facilities(lat: float, lng: float, limit: int = NEARBY_LIMIT) -> list[Facility]:
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise ValidationFailed({"lat": _("The location is not valid.")})
    return (await _within(lat, lng, NEARBY_RADIUS_M))[:limit]


async def match_location(lat: float, lng: float) -> Facility | None:
    """The nearest facility within MATCH_RADIUS_M of a reported location, if any."""
    found = await _within(lat, lng, MATCH_RADIUS_M)
    return found[0] if found else None


async def match_address(address_string: str = "", address_id: str = "") -> Facility | None:
    """``address_id`` is a facility code; ``address_string`` names a facility (its code or
    name within the text). Only an unambiguous match counts."""
    if address_id.strip():
        row = (
            await Asset.select(*FACILITY_COLUMNS)
            .where((Asset.code == address_id.strip().upper()) & IN_CARE)
            .first()
        )
        return _facility(row) if row else None
    text = address_string.strip().lower()
    if len(text) < 2:
        return None
    rows = await Asset.select(*FACILITY_COLUMNS).where(IN_CARE)
    scored: list[tuple[int, dict[str, Any]]] = []
    for row in rows:
        names = [n.lower() for n in (row["code"], row["name_zh"], row["name_en"]) if n]
        best = max((len(n) for n in names if n in text or text == n), default=0)
        if best:
            scored.append((best, row))
    if not scored:
        return None
    scored.sort(key=lambda item: -item[0])
    if len(scored) > 1 and scored[0][0] == scored[1][0]:
        return None
    return _facility(scored[0][1])
