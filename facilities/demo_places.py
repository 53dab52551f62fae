"""Where the demo's facilities are: Pinghu Park and Yanmingxi Plaza in 高新区, Hengyang, drawn.

Each place is laid out in metres east (x) and north (y) of a reference point and turned into
WGS-84 with geodesic steps (``pyproj.Geod.fwd``), so the lengths the demo states are the lengths
the drawing measures: the Pinghu suspension bridge is a 76.6 m line straight across the lake's
west arm, the lakeside boardwalk loops round the lake from one end of the bridge to the other,
and the closure's detour follows the boardwalk's east side round to the west gate.
"""

from __future__ import annotations

import math
from typing import TypedDict

import shapely
from shapely.geometry import LineString, MultiLineString, MultiPoint, Point, Polygon, box
from shapely.geometry.base import BaseGeometry

from facilities.lib import geo

Metres = tuple[float, float]

#: The middle of Pinghu lake (the bridge spans its west arm, 240 m west of here).
PINGHU = (112.58362, 26.8949)
#: The middle of Yanmingxi Plaza.
YANMINGXI = (112.5963, 26.8876)

BRIDGE_LENGTH_M = 76.6
_BRIDGE_X = -240.0


def _at(origin: tuple[float, float], x: float, y: float) -> tuple[float, float]:
    """The WGS-84 point ``x`` metres east and ``y`` north of ``origin`` (lng, lat)."""
    if x == 0.0 and y == 0.0:
        return origin
    azimuth = math.degrees(math.atan2(x, y))
    lng, lat, _back = geo.GEOD.fwd(origin[0], origin[1], azimuth, math.hypot(x, y))
    return (round(lng, 7), round(lat, 7))


def _place(origin: tuple[float, float], shape: BaseGeometry) -> BaseGeometry:
    """A shape drawn in metres about ``origin``, in WGS-84."""
    return shapely.transform(
        shape, lambda xy: [_at(origin, x, y) for x, y in xy.tolist()], include_z=False
    )


def _ellipse(rx: float, ry: float, start: float, stop: float, steps: int) -> list[Metres]:
    """Points on an ellipse from angle ``start`` to ``stop`` (degrees, counter-clockwise from
    east; ``stop`` < ``start`` goes clockwise)."""
    return [
        (rx * math.cos(math.radians(a)), ry * math.sin(math.radians(a)))
        for a in (start + (stop - start) * i / steps for i in range(steps + 1))
    ]


def _text(shape: BaseGeometry) -> str:
    return geo.dump(shape)


# -- Pinghu Park ------------------------------------------------------------------------------

_BRIDGE_SOUTH: Metres = (_BRIDGE_X, -BRIDGE_LENGTH_M / 2)
_BRIDGE_NORTH: Metres = (_BRIDGE_X, BRIDGE_LENGTH_M / 2)
#: The loop from the bridge's north end, clockwise by the east shore, to its south end.
_BOARDWALK: list[Metres] = [
    _BRIDGE_NORTH,
    *_ellipse(230.0, 150.0, 150.0, -150.0, 40),
    _BRIDGE_SOUTH,
]
_WEST_GATE: Metres = (-330.0, -90.0)
_TO_WEST_GATE: list[Metres] = [_BRIDGE_SOUTH, (-290.0, -70.0), _WEST_GATE]


def _bridge() -> BaseGeometry:
    """Straight across the west arm, south to north, exactly the stated length (geodesic)."""
    south = _at(PINGHU, *_BRIDGE_SOUTH)
    lng, lat, _back = geo.GEOD.fwd(south[0], south[1], 0.0, BRIDGE_LENGTH_M)
    return LineString([south, (round(lng, 7), round(lat, 7))])


def _lake() -> BaseGeometry:
    body = Polygon(_ellipse(200.0, 120.0, 0.0, 360.0, 48))
    west_arm = box(-300.0, -30.0, -150.0, 30.0)
    return body.union(west_arm)


PARK_BOUNDARY = _text(_place(PINGHU, box(-330.0, -220.0, 290.0, 280.0)))
PARK_WATER = _text(_place(PINGHU, _lake()))
BRIDGE = _text(_bridge())
BOARDWALK = _text(_place(PINGHU, LineString(_BOARDWALK)))
PLAYGROUND = _text(_place(PINGHU, box(168.0, 218.0, 208.0, 248.0)))
PAVILION = _text(_place(PINGHU, Point(18.0, 89.0)))

#: The bridge closure's detour: the boardwalk's east side, then the path to the west gate.
BRIDGE_DETOUR = _text(_place(PINGHU, LineString(_BOARDWALK + _TO_WEST_GATE[1:])))
#: Fences across both approaches to the bridge, 6 m wide, 6 m from each end.
BRIDGE_FENCES = _text(
    _place(
        PINGHU,
        MultiLineString(
            [
                [(_BRIDGE_X - 3.0, y), (_BRIDGE_X + 3.0, y)]
                for y in (-BRIDGE_LENGTH_M / 2 - 6.0, BRIDGE_LENGTH_M / 2 + 6.0)
            ]
        ),
    )
)
#: The gates still open: the west gate (the detour's end), the north and the east gate.
PARK_GATES = _text(_place(PINGHU, MultiPoint([_WEST_GATE, (-60.0, 280.0), (290.0, 0.0)])))


# -- Yanmingxi Plaza ---------------------------------------------------------------------------

_ROAD_BRIDGE_Y = -78.0
PLAZA_BOUNDARY = _text(_place(YANMINGXI, box(-170.0, -110.0, 130.0, 100.0)))
#: 雁鸣溪, the stream the road bridge crosses.
PLAZA_WATER = _text(_place(YANMINGXI, box(-146.0, -110.0, -132.0, 100.0)))
ROAD_BRIDGE = _text(
    _place(YANMINGXI, LineString([(-155.0, _ROAD_BRIDGE_Y), (-123.0, _ROAD_BRIDGE_Y)]))
)
#: The road bridge's north footway (the planned closure's extent), 6 m north of its centre line.
ROAD_BRIDGE_NORTH_FOOTWAY = _text(
    _place(YANMINGXI, LineString([(-155.0, _ROAD_BRIDGE_Y + 6.0), (-123.0, _ROAD_BRIDGE_Y + 6.0)]))
)
FOUNTAIN = _text(_place(YANMINGXI, Point(-30.0, 22.0).buffer(12.0, quad_segs=6)))


class Drawn(TypedDict):
    geometry: str
    lat: float
    lng: float


def drawn(text: str) -> Drawn:
    """An asset's ``geometry`` with its point (``lat``, ``lng``) on the drawing: a line's
    midpoint, an area's inner point."""
    lng, lat = geo.point_on(geo.parse_geometry(text, "geometry"))
    return Drawn(geometry=text, lat=round(lat, 6), lng=round(lng, 6))


def length(text: str, step: float = 10.0) -> float:
    """The drawn line's geodesic length, rounded to ``step`` metres."""
    return round(geo.length_m(geo.parse_geometry(text, "geometry")) / step) * step
