"""Place as data: reading, checking, measuring and converting geometry.

Everything we store is GeoJSON in WGS-84 (CGCS2000, the national frame Tianditu uses, agrees with
WGS-84 to well under a metre, so the two are treated as one). Chinese web maps draw in shifted
systems, GCJ-02 (AMap, Tencent, WeChat) and BD-09 (Baidu): converting from and to them, and
reading a location from a pasted map link, is :mod:`facilities.lib.coordsys`.

Coordinates are always ``(lng, lat)`` in code, as in GeoJSON and WKT; only text written for people
("26.8955, 112.5798") and Baidu/Tencent links put latitude first, and the readers here say so.

Lengths and areas are geodesic (``pyproj.Geod`` on the WGS-84 ellipsoid), never planar degrees:
a degree of longitude in Hengyang is about 99 km, a degree of latitude about 111 km.

Messages are translated in the current locale and raised as ``ValidationFailed({field: message})``
so a form or the API can show them next to the input the person typed.
"""

from __future__ import annotations

import functools
import json
import math
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

import shapely
import shapely.ops
from babel.numbers import format_decimal
from pyproj import Geod, Transformer
from pyproj.enums import TransformDirection
from shapely.geometry import Point, mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from facilities.errors import ValidationFailed
from facilities.i18n import babel_locale
from facilities.i18n import gettext as _

GEOD = Geod(ellps="WGS84")

#: The geometry types a facility, a closure extent or a detour may have.
ALLOWED_TYPES: tuple[str, ...] = (
    "Point",
    "MultiPoint",
    "LineString",
    "Polygon",
    "MultiLineString",
    "MultiPolygon",
)

#: How far (metres) a geometry may stray outside its containing polygon: a hand-drawn line on a
#: web map is rarely better than this, and a stricter rule would only teach people to draw badly.
WITHIN_TOLERANCE_M = 20.0

#: Decimal places kept on output: 7 decimals of a degree is about 1 cm.
PRECISION = 7


# --------------------------------------------------------------------------------------------
# Reading


NUMBER = r"[-+]?\d+(?:\.\d+)?"
_PAIR = re.compile(rf"^\s*({NUMBER})\s*(?:,|\s)\s*({NUMBER})\s*$")


def normalise_text(text: str) -> str:
    """NFKC folds full-width digits, comma and minus (typed with a Chinese IME) to ASCII."""
    return unicodedata.normalize("NFKC", text).strip()


def read_pair(text: str) -> tuple[float, float] | None:
    match = _PAIR.match(text)
    if match is None:
        return None
    return float(match.group(1)), float(match.group(2))


def parse_geometry(
    value: str | dict[str, Any],
    field: str,
    allowed: tuple[str, ...] = ALLOWED_TYPES,
) -> BaseGeometry:
    """A shapely geometry from GeoJSON (a dict or its text), WKT, or "lat,lng" text.

    "lat,lng" (also "lat lng" and a full-width comma) is what people copy from a map's pin and
    puts latitude first; GeoJSON and WKT put longitude first. A GeoJSON Feature is read as its
    geometry. The result is checked with :func:`check_geometry` (type, coordinate ranges, a valid
    shape), so what comes back can be stored; anything else raises ``ValidationFailed``.
    """
    geometry = _read(value, field)
    if geometry.geom_type not in allowed:
        raise ValidationFailed(
            {
                field: _("A {kind} is not accepted here; use one of: {allowed}.").format(
                    kind=geometry.geom_type, allowed=", ".join(allowed)
                )
            }
        )
    check_geometry(geometry, field)
    return geometry


def _read(value: str | dict[str, Any], field: str) -> BaseGeometry:
    unreadable = ValidationFailed(
        {
            field: _(
                "This is not a location we can read. Enter latitude and longitude "
                '(for example "26.8955, 112.5798"), GeoJSON or WKT.'
            )
        }
    )
    if isinstance(value, str):
        text = normalise_text(value)
        if not text:
            raise ValidationFailed({field: _("Enter a location.")})
        pair = read_pair(text)
        if pair is not None:
            lat, lng = pair
            return Point(lng, lat)
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except ValueError:
                raise unreadable from None
        else:
            try:
                return shapely.from_wkt(text)
            except (shapely.errors.ShapelyError, ValueError, TypeError):
                raise unreadable from None
    if not isinstance(value, dict):
        raise unreadable
    if value.get("type") == "Feature":
        value = value.get("geometry") or {}
    try:
        return shape(value)
    except (
        shapely.errors.ShapelyError,
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        IndexError,
    ):
        raise unreadable from None


# --------------------------------------------------------------------------------------------
# Checking


def check_geometry(geometry: BaseGeometry, field: str) -> None:
    """Raise ``ValidationFailed`` unless the geometry is non-empty, in range and a valid shape."""
    if geometry.is_empty:
        raise ValidationFailed({field: _("The location is empty: draw at least one point.")})
    check_coordinates(geometry, field)
    reason = shapely.is_valid_reason(geometry)
    if reason != "Valid Geometry":
        raise ValidationFailed({field: _explain_invalid(reason)})


def check_coordinates(geometry: BaseGeometry, field: str) -> None:
    """Every coordinate finite, latitude within ±90 and longitude within ±180.

    The usual cause of a failure is latitude and longitude swapped (Hengyang written as
    112.58, 26.90 in GeoJSON), so the message says which order is expected.
    """
    for lng, lat in shapely.get_coordinates(geometry).tolist():
        if not (math.isfinite(lng) and math.isfinite(lat)):
            raise ValidationFailed({field: _("A coordinate is missing or not a number.")})
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lng <= 180.0):
            raise ValidationFailed(
                {
                    field: _(
                        "The point at latitude {lat}, longitude {lng} is out of range: latitude "
                        "must be between -90 and 90 and longitude between -180 and 180. "
                        "Are latitude and longitude swapped?"
                    ).format(lat=_plain(lat), lng=_plain(lng))
                }
            )


_REASON = re.compile(r"^(?P<what>[^\[]*?)\s*(?:\[(?P<x>\S+)\s+(?P<y>\S+)\])?\s*$")


def _explain_invalid(reason: str) -> str:
    """GEOS's validity reason ("Self-intersection[112.58 26.89]") as sentences a person can act
    on: what is wrong, how to fix it, and where, as latitude, longitude to find it on a map."""
    match = _REASON.match(reason)
    what = (match.group("what") if match else reason).strip().lower()
    if "self-intersection" in what:
        text = _("The outline crosses itself. Redraw it so that its edges do not cross.")
    elif "too few" in what:
        text = _("The shape has too few distinct points: a line needs two, an area three.")
    elif "hole" in what:
        text = _("A hole lies outside the area or inside another hole.")
    elif "interior is disconnected" in what:
        text = _("The holes cut the area in two; draw separate areas instead.")
    elif "nested shells" in what or "duplicate rings" in what:
        text = _("Two parts of the area overlap; merge them into one.")
    else:
        return _("The shape is not valid: {reason}.").format(reason=reason)
    if match and match.group("x") is not None:
        try:
            lng, lat = float(match.group("x")), float(match.group("y"))
        except ValueError:
            return text
        where = _("The problem is near latitude {lat}, longitude {lng}.")
        return f"{text} {where.format(lat=_plain(lat), lng=_plain(lng))}"
    return text


def check_within(
    geometry: BaseGeometry,
    container: BaseGeometry,
    field: str,
    tolerance_m: float = WITHIN_TOLERANCE_M,
    message: str | None = None,
) -> None:
    """Raise unless ``geometry`` lies inside ``container`` (a site boundary, or the facility a
    closure or a component belongs to) to ``tolerance_m``.

    Measured in metres in an azimuthal equidistant projection centred on the container, where
    distances within a few kilometres are true to millimetres; the reach reported is the
    farthest vertex of the part outside. ``message`` (translated, with ``{distance}`` and
    ``{tolerance}``) names the container; the default names the site boundary.
    """
    to_metres = _local_projection(container.centroid.x, container.centroid.y)
    inside = shapely.transform(container, to_metres, interleaved=False)
    shape_m = shapely.transform(geometry, to_metres, interleaved=False)
    outside = shape_m.difference(inside)
    if outside.is_empty:
        return
    reach = max(
        (inside.distance(Point(x, y)) for x, y in shapely.get_coordinates(outside).tolist()),
        default=0.0,
    )
    reach = max(reach, inside.distance(outside))
    if reach > tolerance_m:
        text = message or _(
            "The shape reaches {distance} outside the site boundary; "
            "at most {tolerance} is allowed."
        )
        raise ValidationFailed(
            {
                field: text.format(
                    distance=format_length(reach), tolerance=format_length(tolerance_m)
                )
            }
        )


def check_length(geometry: BaseGeometry, stated_m: float, field: str) -> None:
    """Raise when a drawn line's geodesic length disagrees with the facility's stated length.

    The tolerance is max(10 m, 25 %): drawing on a web map is coarse, but a line ten times too
    long is a line drawn on the wrong road.
    """
    measured = length_m(geometry)
    if abs(measured - stated_m) > max(10.0, 0.25 * stated_m):
        raise ValidationFailed(
            {
                field: _("The line is {measured} long, but the facility is {stated} long.").format(
                    measured=format_length(measured), stated=format_length(stated_m)
                )
            }
        )


# --------------------------------------------------------------------------------------------
# Measures


def length_m(geometry: BaseGeometry) -> float:
    """Geodesic length in metres on the WGS-84 ellipsoid (the perimeter, for an area)."""
    return float(GEOD.geometry_length(geometry))


def area_m2(geometry: BaseGeometry) -> float:
    """Geodesic area in square metres; holes are subtracted (rings oriented first, because
    pyproj signs each ring's area by its direction)."""
    if geometry.geom_type == "Polygon":
        geometry = orient(geometry, 1.0)
    elif geometry.geom_type == "MultiPolygon":
        geometry = shapely.MultiPolygon([orient(part, 1.0) for part in geometry.geoms])
    else:
        return 0.0
    area, _perimeter = GEOD.geometry_area_perimeter(geometry)
    return abs(float(area))


def bbox(geometry: BaseGeometry) -> tuple[float, float, float, float]:
    """``(min_lng, min_lat, max_lng, max_lat)``, the order GeoJSON's ``bbox`` member uses."""
    min_x, min_y, max_x, max_y = geometry.bounds
    return (float(min_x), float(min_y), float(max_x), float(max_y))


def parse_bbox(text: str, field: str) -> tuple[float, float, float, float]:
    """``"west,south,east,north"`` (WGS-84 degrees, the order GeoJSON and OGC APIs use) as four
    floats; anything else raises ``ValidationFailed``. A box across the antimeridian (west
    greater than east) is refused: nothing the bureau keeps lies there."""
    parts = normalise_text(text).split(",")
    numbers: list[float] = []
    for part in parts:
        try:
            numbers.append(float(part))
        except ValueError:
            break
    if len(parts) != 4 or len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        raise ValidationFailed(
            {field: _("Give the box as four numbers: west,south,east,north (degrees).")}
        )
    west, south, east, north = numbers
    if not (-180.0 <= west <= 180.0 and -180.0 <= east <= 180.0):
        raise ValidationFailed({field: _("West and east must be between -180 and 180.")})
    if not (-90.0 <= south <= 90.0 and -90.0 <= north <= 90.0):
        raise ValidationFailed({field: _("South and north must be between -90 and 90.")})
    if west > east or south > north:
        raise ValidationFailed(
            {field: _("West must not be greater than east, nor south greater than north.")}
        )
    return west, south, east, north


def distance_m(lng: float, lat: float, geometry: BaseGeometry) -> float:
    """Metres from the point to the nearest part of ``geometry`` (0 inside an area).

    Computed in an azimuthal equidistant projection centred on the point, which keeps every
    distance from the centre true, so a report pin can be snapped to the nearest facility.
    """
    return distances_m(lng, lat, [geometry])[0]


def distances_m(lng: float, lat: float, geometries: Sequence[BaseGeometry]) -> list[float]:
    """:func:`distance_m` from one point to each of ``geometries`` (the projection, the costly
    part, is built once: a pin measured against every facility around it)."""
    project = _local_projection(lng, lat)
    centre = Point(0.0, 0.0)
    return [
        float(shapely.transform(g, project, interleaved=False).distance(centre)) for g in geometries
    ]


def nearest_point(lng: float, lat: float, geometry: BaseGeometry) -> tuple[float, float]:
    """The ``(lng, lat)`` of the point of ``geometry`` nearest to the given point (the point
    itself inside an area): where a report pin lands when it snaps to a facility."""
    transformer = _transformer(lng, lat)
    local = shapely.transform(geometry, transformer.transform, interleaved=False)
    nearest = shapely.ops.nearest_points(local, Point(0.0, 0.0))[0]
    x, y = transformer.transform(nearest.x, nearest.y, direction="INVERSE")
    return float(x), float(y)


def _transformer(lng: float, lat: float) -> Transformer:
    return Transformer.from_crs(
        "EPSG:4326",
        f"+proj=aeqd +lat_0={lat} +lon_0={lng} +datum=WGS84 +units=m",
        always_xy=True,
    )


def _local_projection(lng: float, lat: float) -> Any:
    return _transformer(lng, lat).transform


def buffer_m(geometry: BaseGeometry, metres: float) -> BaseGeometry:
    """``geometry`` grown by ``metres`` on every side, in WGS-84 (an area round a line or a
    point: the part of a map to avoid, as a CAP alert states it).

    Buffered in an azimuthal equidistant projection centred on the geometry, where metres are
    true within a few kilometres (a buffer in degrees would be 11 % narrower east-west than
    north-south in Hengyang), with 8 segments per quarter circle: round enough, few vertices.
    ``metres <= 0`` returns the geometry unchanged.
    """
    if metres <= 0.0:
        return geometry
    centre = geometry.centroid
    to_metres = _local_projection(centre.x, centre.y)
    to_degrees = functools.partial(to_metres, direction=TransformDirection.INVERSE)
    local = shapely.transform(geometry, to_metres, interleaved=False)
    grown = local.buffer(metres, quad_segs=8)
    return shapely.transform(grown, to_degrees, interleaved=False)


# --------------------------------------------------------------------------------------------
# Output


def point_on(shape: BaseGeometry) -> tuple[float, float]:
    """A point on ``shape`` as ``(lng, lat)``, where a map pins it: a line's midpoint (along
    it), else a point inside the area or on the shape (``representative_point``), rounded like
    stored drawings."""
    if shape.geom_type == "LineString":
        point = shape.interpolate(0.5, normalized=True)
    else:
        point = shape.representative_point()
    return (round(point.x, PRECISION), round(point.y, PRECISION))


def to_geojson(geometry: BaseGeometry) -> dict[str, Any]:
    """A GeoJSON geometry dict, coordinates as lists rounded to 7 decimals (about 1 cm): more
    digits are noise from conversions and only make files and ETags churn."""
    return _rounded(mapping(geometry))


def stored_object(text: str) -> dict[str, Any] | None:
    """Stored GeoJSON text as a dict for a page, a feed or a document; None when nothing is
    drawn (or, defensively, when the text does not read as a GeoJSON object: it was checked
    when stored, and a reader still answers without the drawing)."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) and "type" in value else None


def dump(geometry: BaseGeometry) -> str:
    """The compact GeoJSON text we store (see :func:`to_geojson`)."""
    return json.dumps(to_geojson(geometry), separators=(",", ":"))


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, PRECISION)
    if isinstance(value, (list, tuple)):
        return [_rounded(item) for item in value]
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    return value


def to_wkt(geometry: BaseGeometry) -> str:
    """WKT with coordinates to 7 decimals, trailing zeros trimmed."""
    return str(shapely.to_wkt(geometry, rounding_precision=PRECISION, trim=True))


def format_length(metres: float) -> str:
    """A length for a message in the current locale: "76.6 m" below a kilometre, else "2.0 km"."""
    if metres < 1000.0:
        number = format_decimal(round(metres, 1), format="#,##0.0", locale=babel_locale())
        return _("{number} m").format(number=number)
    number = format_decimal(round(metres / 1000.0, 1), format="#,##0.0", locale=babel_locale())
    return _("{number} km").format(number=number)


def format_area(square_metres: float) -> str:
    """An area for a message: "850 m²" below a hectare, else "2.4 ha" (what parks are sized in)."""
    if square_metres < 10_000.0:
        number = format_decimal(round(square_metres), format="#,##0", locale=babel_locale())
        return _("{number} m²").format(number=number)
    number = format_decimal(
        round(square_metres / 10_000.0, 1), format="#,##0.0", locale=babel_locale()
    )
    return _("{number} ha").format(number=number)


def _plain(value: float) -> str:
    """A coordinate in a message: 6 decimals (about 10 cm), no grouping, trailing zeros kept off."""
    return f"{value:.6f}".rstrip("0").rstrip(".")
