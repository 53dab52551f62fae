"""A closure's map as a small SVG drawn from our own geometry, for printed notices.

A posted notice cannot load map tiles (and a document never touches the network), so the map
is drawn here from the stored GeoJSON (WGS-84): the site's boundary and water, the paths and
areas around, the facility, the closed extent in red, the detour dashed in blue, the fences and
the entrances. Coordinates are projected with a local equirectangular projection about the
middle of the drawing (true to well under a percent across a park), scaled into a fixed
:data:`WIDTH`-unit viewBox so that line widths read the same whatever the map's size, north up,
with a scale bar.

Pure: GeoJSON text in, SVG markup out (every value written is a number or an escaped word).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Iterator
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from facilities.lib import geo

#: The viewBox width; the height follows the drawing's shape (between MIN/MAX_ASPECT of it).
WIDTH = 1000.0
MIN_ASPECT = 0.5
MAX_ASPECT = 0.8
#: Room left round the closure's drawings, as a share of their size (at least MIN_MARGIN_M).
MARGIN = 0.25
MIN_MARGIN_M = 40.0
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LNG = 111_320.0

Point = tuple[float, float]

#: How each layer is painted, as SVG presentation attributes (a document's SVG is painted by
#: WeasyPrint, which reads these more reliably than the page's stylesheet).
STYLES: dict[str, str] = {
    "ground": 'fill="#f4f1e8"',
    "site": 'fill="#e3ecd9" stroke="#9bb58a" stroke-width="3"',
    "water": 'fill="#bcd7ea" stroke="#8fb6d3" stroke-width="2"',
    "area": 'fill="#e9e4d6" stroke="#c9c1a8" stroke-width="2"',
    "path": 'fill="none" stroke="#b9ae93" stroke-width="5" stroke-linecap="round"',
    "facility": 'fill="none" stroke="#555555" stroke-width="10" stroke-linecap="round"',
    "closed": 'fill="none" stroke="#c8102e" stroke-width="16" stroke-linecap="round"',
    "closed-area": 'fill="#c8102e" fill-opacity="0.45" stroke="#c8102e" stroke-width="6"',
    "closed-point": 'fill="#c8102e" stroke="#ffffff" stroke-width="4"',
    "fence": 'fill="none" stroke="#000000" stroke-width="12" stroke-dasharray="6 4"',
    "detour": (
        'fill="none" stroke="#0057b8" stroke-width="9" stroke-dasharray="26 14"'
        ' stroke-linecap="round" stroke-linejoin="round"'
    ),
    "entrance": 'fill="#ffffff" stroke="#1a7f37" stroke-width="6"',
    "scale": 'fill="none" stroke="#222222" stroke-width="4"',
    "label": 'fill="#222222" font-size="24" font-family="sans-serif"',
    "north": 'fill="#222222"',
}


def _shape(kind: str, css: str, geometry: str) -> str:
    return f'<{kind} class="{css}" {STYLES[css]} {geometry}/>'


@dataclasses.dataclass(frozen=True)
class Layers:
    """What a notice's map shows, each a GeoJSON text ("" when not drawn). ``around`` are the
    basemap's other paths and areas (drawn quietly, only where they fall in the frame)."""

    facility: str = ""
    extent: str = ""
    detour: str = ""
    fences: str = ""
    entrances: str = ""
    boundary: str = ""
    water: str = ""
    around: tuple[str, ...] = ()


def _parts(geometry: dict[str, Any] | None) -> Iterator[tuple[str, Any]]:
    """(kind, coordinates) of each simple part: "point", "line" or "polygon" (rings)."""
    if geometry is None:
        return
    kind = geometry.get("type")
    coords: Any = geometry.get("coordinates") or []
    if kind == "Point":
        yield "point", coords
    elif kind == "MultiPoint":
        for c in coords:
            yield "point", c
    elif kind == "LineString":
        yield "line", coords
    elif kind == "MultiLineString":
        for c in coords:
            yield "line", c
    elif kind == "Polygon":
        yield "polygon", coords
    elif kind == "MultiPolygon":
        for c in coords:
            yield "polygon", c
    elif kind == "GeometryCollection":
        for part in geometry.get("geometries", []):
            yield from _parts(part)
    elif kind == "Feature":
        yield from _parts(geometry.get("geometry"))
    elif kind == "FeatureCollection":
        for feature in geometry.get("features", []):
            yield from _parts(feature)


def _positions(geometry: dict[str, Any] | None) -> Iterator[Point]:
    for kind, coords in _parts(geometry):
        if kind == "point":
            yield float(coords[0]), float(coords[1])
        elif kind == "line":
            yield from ((float(c[0]), float(c[1])) for c in coords)
        else:
            for ring in coords:
                yield from ((float(c[0]), float(c[1])) for c in ring)


@dataclasses.dataclass(frozen=True)
class Frame:
    """Longitude/latitude -> viewBox units, north up."""

    lng0: float
    lat0: float
    west_m: float
    north_m: float
    scale: float  # viewBox units per metre
    height: float

    def xy(self, lng: float, lat: float) -> Point:
        x = (lng - self.lng0) * _M_PER_DEG_LNG * math.cos(math.radians(self.lat0))
        y = (lat - self.lat0) * _M_PER_DEG_LAT
        return (x - self.west_m) * self.scale, (self.north_m - y) * self.scale


def frame_for(positions: Iterable[Point]) -> Frame | None:
    """The frame that shows ``positions`` with room round them (None when there are none)."""
    points = list(positions)
    if not points:
        return None
    lngs = [p[0] for p in points]
    lats = [p[1] for p in points]
    lng0 = (min(lngs) + max(lngs)) / 2
    lat0 = (min(lats) + max(lats)) / 2
    cos = math.cos(math.radians(lat0))
    half_w = (max(lngs) - min(lngs)) / 2 * _M_PER_DEG_LNG * cos
    half_h = (max(lats) - min(lats)) / 2 * _M_PER_DEG_LAT
    pad = max(MIN_MARGIN_M, MARGIN * max(half_w, half_h))
    half_w, half_h = half_w + pad, half_h + pad
    # keep the map's shape between a wide strip and a near square
    half_h = max(half_h, half_w * MIN_ASPECT)
    half_w = max(half_w, half_h / MAX_ASPECT)
    scale = WIDTH / (2 * half_w)
    return Frame(lng0, lat0, -half_w, half_h, scale, round(2 * half_h * scale, 1))


def _path(frame: Frame, geometry: dict[str, Any] | None, *, lines: bool, areas: bool) -> str:
    """The ``d`` of every line and/or polygon part of ``geometry``."""
    out = []
    for kind, coords in _parts(geometry):
        rings = [coords] if kind == "line" and lines else coords if kind == "polygon" else []
        if kind == "polygon" and not areas:
            continue
        for ring in rings:
            xy = [frame.xy(float(c[0]), float(c[1])) for c in ring]
            if len(xy) < 2:
                continue
            head = f"M{xy[0][0]:.1f} {xy[0][1]:.1f}"
            tail = "".join(f"L{x:.1f} {y:.1f}" for x, y in xy[1:])
            out.append(head + tail + ("Z" if kind == "polygon" else ""))
    return "".join(out)


def _dots(frame: Frame, geometry: dict[str, Any] | None, r: float, css: str) -> list[str]:
    out = []
    for kind, coords in _parts(geometry):
        if kind == "point":
            x, y = frame.xy(float(coords[0]), float(coords[1]))
            out.append(_shape("circle", css, f'cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}"'))
    return out


def _in_frame(frame: Frame, geometry: dict[str, Any] | None) -> bool:
    """Whether any of ``geometry`` may show in the frame (its bounding box meets it): the
    city's other drawings stay out of the document."""
    points = [frame.xy(lng, lat) for lng, lat in _positions(geometry)]
    if not points:
        return False
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return max(xs) >= 0 and min(xs) <= WIDTH and max(ys) >= 0 and min(ys) <= frame.height


def _scale_bar(frame: Frame) -> str:
    """A round-numbered scale bar about a fifth of the width, bottom left."""
    target_m = WIDTH / 5 / frame.scale
    step = 10 ** math.floor(math.log10(target_m))
    metres = max(s * step for s in (1, 2, 5) if s * step <= target_m)
    length = metres * frame.scale
    x, y = 24.0, frame.height - 24.0
    label = f"{metres:g} m"
    return _shape(
        "path", "scale", f'd="M{x:.1f} {y - 8:.1f}V{y:.1f}H{x + length:.1f}V{y - 8:.1f}"'
    ) + (f'<text {STYLES["label"]} x="{x:.1f}" y="{y - 14:.1f}">{escape(label)}</text>')


def _north(frame: Frame) -> str:
    x, y = WIDTH - 40.0, 30.0
    arrow = f"M{x:.1f} {y - 18:.1f}L{x + 10:.1f} {y + 12:.1f}L{x:.1f} {y + 5:.1f}"
    arrow += f"L{x - 10:.1f} {y + 12:.1f}Z"
    return _shape("path", "north", f'd="{arrow}"') + (
        f'<text {STYLES["label"]} text-anchor="middle" x="{x:.1f}" y="{y + 36:.1f}">N</text>'
    )


def render(layers: Layers, title: str) -> str:
    """The map as inline SVG markup, or "" when nothing of the closure is drawn. ``title`` is
    the map's accessible name."""
    facility, extent = geo.stored_object(layers.facility), geo.stored_object(layers.extent)
    detour, fences, entrances = (
        geo.stored_object(layers.detour),
        geo.stored_object(layers.fences),
        geo.stored_object(layers.entrances),
    )
    frame = frame_for(
        p for g in (facility, extent, detour, fences, entrances) for p in _positions(g)
    )
    if frame is None:
        return ""
    body: list[str] = []
    boundary, water = geo.stored_object(layers.boundary), geo.stored_object(layers.water)
    if boundary:
        body.append(_shape("path", "site", f'd="{_path(frame, boundary, lines=True, areas=True)}"'))
    if water:
        body.append(_shape("path", "water", f'd="{_path(frame, water, lines=False, areas=True)}"'))
    for text in layers.around:
        shape = geo.stored_object(text)
        if not _in_frame(frame, shape):
            continue
        if d := _path(frame, shape, lines=False, areas=True):
            body.append(_shape("path", "area", f'd="{d}"'))
        if d := _path(frame, shape, lines=True, areas=False):
            body.append(_shape("path", "path", f'd="{d}"'))
    closed = extent or facility
    if d := _path(frame, facility, lines=True, areas=True):
        body.append(_shape("path", "facility", f'd="{d}"'))
    if d := _path(frame, closed, lines=False, areas=True):
        body.append(_shape("path", "closed-area", f'd="{d}"'))
    if d := _path(frame, closed, lines=True, areas=False):
        body.append(_shape("path", "closed", f'd="{d}"'))
    body.extend(_dots(frame, closed, 14.0, "closed-point"))
    if d := _path(frame, detour, lines=True, areas=False):
        body.append(_shape("path", "detour", f'd="{d}"'))
    if d := _path(frame, fences, lines=True, areas=False):
        body.append(_shape("path", "fence", f'd="{d}"'))
    body.extend(_dots(frame, entrances, 11.0, "entrance"))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="notice-map" role="img"'
        f' viewBox="0 0 {WIDTH:.0f} {frame.height:.1f}" aria-label={quoteattr(title)}>'
        f"<title>{escape(title)}</title>"
        + _shape("rect", "ground", f'width="{WIDTH:.0f}" height="{frame.height:.1f}"')
        + "".join(body)
        + _scale_bar(frame)
        + _north(frame)
        + "</svg>"
    )
