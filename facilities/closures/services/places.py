"""Where a closure is: the closed extent (part of the facility, or all of it when not drawn), the
detour (a line), the fences (lines) and the entrances (points), read from what staff drew or
pasted, checked and stored as GeoJSON in WGS-84 with the bounding box of them all.

The extent must lie on the facility (:func:`facilities.assets.services.places.read_part`); the
detour, fences and entrances within the site's boundary, or, for a site not outlined, within
:data:`NEAR_M` of the facility: a detour drawn in another district is a slip of the mouse.
"""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from facilities.assets.services import asset_shape, read_part, site_boundary
from facilities.assets.tables import Asset, Site
from facilities.closures.schemas import ClosureIn
from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _
from facilities.lib import geo

#: Field -> the shapes it may hold.
SHAPES: dict[str, tuple[str, ...]] = {
    "extent": ("Point", "LineString", "MultiLineString", "Polygon", "MultiPolygon"),
    "detour_line": ("LineString", "MultiLineString"),
    "fences": ("LineString", "MultiLineString"),
    "entrances": ("Point", "MultiPoint"),
}
#: How far from a facility on a site without a boundary a detour, fence or entrance may be.
NEAR_M = 2000.0


async def read_places(data: ClosureIn) -> tuple[dict[str, Any], dict[str, str]]:
    """The closure's drawings as stored texts with their bounding box, or each field's error."""
    asset = await Asset.objects(Asset.site).where(Asset.id == data.asset_id).first()
    values: dict[str, Any] = {name: "" for name in SHAPES}
    errors: dict[str, str] = {}
    facility = None if asset is None else _facility(asset)
    around = None if asset is None else _around(asset.site, facility)
    for name, allowed in SHAPES.items():
        typed = getattr(data, name)
        if name == "extent":
            values[name], error = read_part(typed, name, allowed, facility)
        else:
            values[name], error = _read_near(typed, name, allowed, around)
        errors.update(error)
    values.update(_box([values[name] for name in SHAPES]))
    return values, errors


def _facility(asset: Asset) -> BaseGeometry | None:
    try:
        return asset_shape(asset.geometry, asset.lat, asset.lng)
    except ValidationFailed:  # a stored drawing that no longer reads: nothing to check against
        return None


def _around(
    site: Site, facility: BaseGeometry | None
) -> tuple[BaseGeometry, float, str | None] | None:
    """What a detour must lie within: the site's boundary (the default message names it),
    else the facility's surroundings."""
    boundary = site_boundary(site) if site.boundary else None
    if boundary is not None:
        return boundary, geo.WITHIN_TOLERANCE_M, None
    if facility is not None:
        return (
            facility,
            NEAR_M,
            _("The shape is {distance} from the facility; at most {tolerance} is allowed."),
        )
    return None


def _read_near(
    typed: str,
    field: str,
    allowed: tuple[str, ...],
    around: tuple[BaseGeometry, float, str | None] | None,
) -> tuple[str, dict[str, str]]:
    if not typed.strip():
        return "", {}
    try:
        shape = geo.parse_geometry(typed, field, allowed)
        if around is not None:
            container, tolerance, message = around
            geo.check_within(shape, container, field, tolerance, message)
    except ValidationFailed as exc:
        return "", dict(exc.errors)
    return geo.dump(shape), {}


def _box(texts: list[str]) -> dict[str, float | None]:
    shapes = [geo.parse_geometry(text, "geometry") for text in texts if text]
    names = ("bbox_west", "bbox_south", "bbox_east", "bbox_north")
    if not shapes:
        return dict.fromkeys(names)
    return dict(zip(names, (float(v) for v in shapely.total_bounds(shapes)), strict=True))
