"""Where an asset is: its drawing (a point, a line for a bridge or a path, an area for a plaza)
read from GeoJSON, WKT or "lat, lng", checked (a line against the stated length), stored as
GeoJSON in WGS-84 with the bounding box the ``?bbox=`` query reads, and written back as a GeoJSON
object for the API or as WKT for CSV files. The geometry itself is :mod:`facilities.lib.geo`."""

from __future__ import annotations

from typing import Any

from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from facilities.assets.schemas import AssetIn
from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _
from facilities.lib import geo


def geometry_object(text: str) -> dict[str, Any] | None:
    """The stored GeoJSON text as an object (None for "")."""
    return geo.stored_object(text)


def geometry_wkt(text: str) -> str:
    """The stored GeoJSON text as WKT ("" for ""), for CSV files and spreadsheets."""
    if not text:
        return ""
    return geo.to_wkt(geo.parse_geometry(text, "geometry"))


def canonical_geometry(value: str) -> str:
    """Typed geometry (GeoJSON, WKT or "lat, lng") as it would be stored, "" for none; raises
    ``ValidationFailed`` naming ``geometry`` when it cannot be read."""
    if not value.strip():
        return ""
    return geometry_text(geo.parse_geometry(value, "geometry", SHAPES))


def geometry_text(shape: BaseGeometry) -> str:
    return geo.dump(shape)


#: What an asset's drawing may be: a footbridge or a path as a line, a plaza as an area, a
#: lamp or a kiosk as a point.
SHAPES = ("Point", "LineString", "Polygon")


def check_shape(data: AssetIn) -> tuple[BaseGeometry | None, dict[str, str]]:
    """The typed geometry read and checked (a line against the stated length), or its error."""
    if not data.geometry.strip():
        return None, {}
    try:
        shape = geo.parse_geometry(data.geometry, "geometry", SHAPES)
        if shape.geom_type == "LineString" and data.length_m is not None:
            geo.check_length(shape, data.length_m, "geometry")
    except ValidationFailed as exc:
        return None, dict(exc.errors)
    return shape, {}


def place_values(data: AssetIn, shape: BaseGeometry | None) -> dict[str, Any]:
    """Geometry text, bounding box and point: a drawn point fills empty coordinates; a bare
    latitude and longitude keep the geometry empty and make a box of one point."""
    lat, lng = data.lat, data.lng
    if shape is not None and shape.geom_type == "Point" and lat is None and lng is None:
        lng, lat = geo.to_geojson(shape)["coordinates"]
    box: tuple[float, float, float, float] | tuple[None, None, None, None]
    if shape is not None:
        box = geo.bbox(shape)
    elif lat is not None and lng is not None:
        box = (lng, lat, lng, lat)
    else:
        box = (None, None, None, None)
    west, south, east, north = box
    return {
        "lat": lat,
        "lng": lng,
        "geometry": "" if shape is None else geometry_text(shape),
        "bbox_west": west,
        "bbox_south": south,
        "bbox_east": east,
        "bbox_north": north,
    }


#: How far a part (a component, a closure's extent) may stray from a facility known only by
#: its point: the point marks the middle of something of unknown size.
POINT_REACH_M = 150.0


def asset_shape(geometry: str, lat: float | None, lng: float | None) -> BaseGeometry | None:
    """The facility as a shape: its drawing, else its point, else None (nowhere known)."""
    if geometry:
        return geo.parse_geometry(geometry, "geometry")
    if lat is not None and lng is not None:
        return Point(lng, lat)
    return None


def read_part(
    value: str, field: str, allowed: tuple[str, ...], facility: BaseGeometry | None
) -> tuple[str, dict[str, str]]:
    """A drawing of part of a facility (a component, a closure's extent) read and checked to lie
    on it: stored text ("" for none) or the field's error. Within ``WITHIN_TOLERANCE_M`` of a
    drawn facility, within ``POINT_REACH_M`` of one known only by its point."""
    if not value.strip():
        return "", {}
    try:
        shape = geo.parse_geometry(value, field, allowed)
        if facility is not None:
            point_only = facility.geom_type == "Point"
            geo.check_within(
                shape,
                facility,
                field,
                POINT_REACH_M if point_only else geo.WITHIN_TOLERANCE_M,
                _(
                    "The shape reaches {distance} beyond the facility; "
                    "at most {tolerance} is allowed."
                ),
            )
    except ValidationFailed as exc:
        return "", dict(exc.errors)
    return geometry_text(shape), {}
