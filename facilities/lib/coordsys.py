"""Coordinate systems of Chinese web maps, and reading a location from a pasted link or text.

Stored geometry is WGS-84 (:mod:`facilities.lib.geo`). AMap, Tencent and WeChat draw in GCJ-02,
Baidu in BD-09: the same numbers land 100-700 m apart, so a coordinate is converted here on the
way in (a pasted AMap or Baidu link, a WeChat location) and on the way out (a tile source that
draws in GCJ-02), and never stored shifted.
"""

from __future__ import annotations

import json
import math
from enum import StrEnum
from typing import NamedTuple
from urllib.parse import parse_qs, urlsplit

from shapely.geometry import Point

from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _
from facilities.lib.geo import check_coordinates, normalise_text, read_pair


class CoordSystem(StrEnum):
    WGS84 = "wgs84"
    CGCS2000 = "cgcs2000"
    GCJ02 = "gcj02"
    BD09 = "bd09"


class Located(NamedTuple):
    """A coordinate read from a link or text: WGS-84 ``lng``/``lat`` and the system it came in."""

    lng: float
    lat: float
    source: CoordSystem


# --------------------------------------------------------------------------------------------
# Coordinate systems
#
# The GCJ-02 offset is the widely published reverse-engineered formula (eviltransform,
# coordTransform): a polynomial plus sines of the position, scaled on the Krasovsky ellipsoid.
# BD-09 is GCJ-02 turned and shifted by a further small published formula.

_KRASOVSKY_A = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323
_BD_X_PI = math.pi * 3000.0 / 180.0


def out_of_china(lng: float, lat: float) -> bool:
    """The rough box the shift is applied in; outside it every system is plain WGS-84."""
    return not (73.66 < lng < 135.05 and 3.86 < lat < 53.55)


def _offset(lng: float, lat: float) -> tuple[float, float]:
    x, y = lng - 105.0, lat - 35.0
    common = (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    d_lat += common
    d_lat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    d_lat += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2 / 3
    d_lng = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    d_lng += common
    d_lng += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    d_lng += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2 / 3
    rad_lat = lat / 180.0 * math.pi
    magic = 1.0 - _KRASOVSKY_EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / (
        (_KRASOVSKY_A * (1 - _KRASOVSKY_EE)) / (magic * sqrt_magic) * math.pi
    )
    d_lng = (d_lng * 180.0) / (_KRASOVSKY_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return d_lng, d_lat


def wgs84_to_gcj02(lng: float, lat: float) -> tuple[float, float]:
    """WGS-84 to GCJ-02 (AMap, Tencent, WeChat) with the published forward formula."""
    if out_of_china(lng, lat):
        return lng, lat
    d_lng, d_lat = _offset(lng, lat)
    return lng + d_lng, lat + d_lat


def gcj02_to_wgs84(lng: float, lat: float) -> tuple[float, float]:
    """GCJ-02 back to WGS-84, to well under a centimetre.

    Only the forward formula is published and it has no closed-form inverse. The common shortcut
    (subtract the offset computed at the GCJ point) is off by up to a few metres, because the
    offset changes with position. So iterate: guess WGS-84, shift it forward, correct the guess by
    the miss. The offset varies slowly (its slope is about 1e-5), so each round shrinks the error
    by roughly that factor and three or four rounds reach 1e-9 degrees (0.1 mm).
    """
    if out_of_china(lng, lat):
        return lng, lat
    guess_lng, guess_lat = lng, lat
    for _round in range(10):
        shifted_lng, shifted_lat = wgs84_to_gcj02(guess_lng, guess_lat)
        miss_lng, miss_lat = shifted_lng - lng, shifted_lat - lat
        guess_lng, guess_lat = guess_lng - miss_lng, guess_lat - miss_lat
        if abs(miss_lng) < 1e-10 and abs(miss_lat) < 1e-10:
            break
    return guess_lng, guess_lat


def gcj02_to_bd09(lng: float, lat: float) -> tuple[float, float]:
    """GCJ-02 to BD-09 (Baidu) with the published formula."""
    if out_of_china(lng, lat):
        return lng, lat
    z = math.hypot(lng, lat) + 0.00002 * math.sin(lat * _BD_X_PI)
    theta = math.atan2(lat, lng) + 0.000003 * math.cos(lng * _BD_X_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def bd09_to_gcj02(lng: float, lat: float) -> tuple[float, float]:
    """BD-09 back to GCJ-02: the published inverse, then refined by iteration.

    The published inverse undoes the turn with the angle taken at the wrong point, which leaves
    an error of a few centimetres; two rounds of correcting by the forward formula's miss remove
    it, so a round trip through Baidu returns the point it started from.
    """
    if out_of_china(lng, lat):
        return lng, lat
    x, y = lng - 0.0065, lat - 0.006
    z = math.hypot(x, y) - 0.00002 * math.sin(y * _BD_X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _BD_X_PI)
    guess_lng, guess_lat = z * math.cos(theta), z * math.sin(theta)
    for _round in range(5):
        shifted_lng, shifted_lat = gcj02_to_bd09(guess_lng, guess_lat)
        miss_lng, miss_lat = shifted_lng - lng, shifted_lat - lat
        if abs(miss_lng) < 1e-10 and abs(miss_lat) < 1e-10:
            break
        guess_lng, guess_lat = guess_lng - miss_lng, guess_lat - miss_lat
    return guess_lng, guess_lat


def wgs84_to_bd09(lng: float, lat: float) -> tuple[float, float]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lng, lat))


def bd09_to_wgs84(lng: float, lat: float) -> tuple[float, float]:
    return gcj02_to_wgs84(*bd09_to_gcj02(lng, lat))


def to_wgs84(lng: float, lat: float, system: CoordSystem | str) -> tuple[float, float]:
    """A coordinate in ``system`` as WGS-84 (CGCS2000 passes through: see the module docstring)."""
    system = CoordSystem(system)
    if system is CoordSystem.GCJ02:
        return gcj02_to_wgs84(lng, lat)
    if system is CoordSystem.BD09:
        return bd09_to_wgs84(lng, lat)
    return lng, lat


def from_wgs84(lng: float, lat: float, system: CoordSystem | str) -> tuple[float, float]:
    """A WGS-84 coordinate as ``system`` draws it, to put our pins on a Chinese map."""
    system = CoordSystem(system)
    if system is CoordSystem.GCJ02:
        return wgs84_to_gcj02(lng, lat)
    if system is CoordSystem.BD09:
        return wgs84_to_bd09(lng, lat)
    return lng, lat


_BAIDU_COORD_TYPES = {
    "bd09ll": CoordSystem.BD09,
    "gcj02": CoordSystem.GCJ02,
    "wgs84": CoordSystem.WGS84,
}


def parse_location(text: str, field: str, system: CoordSystem | str | None = None) -> Located:
    """A coordinate pasted from a map link or typed, as WGS-84 with the system it came in.

    - AMap links (``uri.amap.com/marker?position=lng,lat``, also ``location=`` and ``to=``):
      longitude first, GCJ-02.
    - Baidu links (``api.map.baidu.com/marker?location=lat,lng``): latitude first, BD-09 unless
      ``coord_type`` says gcj02 or wgs84 (Baidu's mercator ``bd09mc`` is refused).
    - Tencent links (``apis.map.qq.com/uri/v1/marker?marker=coord:lat,lng;...``, ``coord=``,
      ``tocoord=``) and a WeChat location (JSON with ``latitude`` and ``longitude``, which
      ``wx.getLocation`` gives in GCJ-02): latitude first, GCJ-02.
    - ``geo:lat,lng`` (RFC 5870): WGS-84.
    - Plain "lat,lng" numbers: only with an explicit ``system``, because the same numbers mean
      places hundreds of metres apart in each system and a guess would be silently wrong.
    """
    text = normalise_text(text)
    if not text:
        raise ValidationFailed({field: _("Enter a location.")})
    lng_lat, source = _read_location(text, field, system)
    lng, lat = lng_lat
    check_coordinates(Point(lng, lat), field)
    wgs_lng, wgs_lat = to_wgs84(lng, lat, source)
    return Located(wgs_lng, wgs_lat, source)


def _read_location(
    text: str, field: str, system: CoordSystem | str | None
) -> tuple[tuple[float, float], CoordSystem]:
    unreadable = ValidationFailed(
        {
            field: _(
                "No coordinates found. Paste a full AMap, Baidu or Tencent map link, "
                'or enter latitude and longitude (for example "26.8955, 112.5798").'
            )
        }
    )
    if text.startswith("{"):
        try:
            data = json.loads(text)
            return (float(data["longitude"]), float(data["latitude"])), CoordSystem.GCJ02
        except (ValueError, KeyError, TypeError):
            raise unreadable from None
    if text.lower().startswith("geo:"):
        coords = text[4:].split(";")[0].split("?")[0].split(",")
        pair = read_pair(",".join(coords[:2])) if len(coords) >= 2 else None
        if pair is None:
            raise unreadable
        return (pair[1], pair[0]), CoordSystem.WGS84
    if "://" in text:
        return _read_link(text, unreadable, field)
    pair = read_pair(text)
    if pair is None:
        raise unreadable
    if system is None:
        raise ValidationFailed(
            {
                field: _(
                    "Say which map these numbers come from: the same numbers are hundreds of "
                    "metres apart in WGS-84, AMap (GCJ-02) and Baidu (BD-09)."
                )
            }
        )
    return (pair[1], pair[0]), CoordSystem(system)


def _read_link(
    text: str, unreadable: ValidationFailed, field: str
) -> tuple[tuple[float, float], CoordSystem]:
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    query = {key: values[0] for key, values in parse_qs(parts.query).items() if values}

    def first(*keys: str) -> tuple[float, float]:
        for key in keys:
            if key in query:
                pair = read_pair(",".join(query[key].split(",")[:2]))
                if pair is not None:
                    return pair
        raise unreadable

    if host == "surl.amap.com" or host.endswith(".url.cn") or host == "j.map.baidu.com":
        raise ValidationFailed(
            {
                field: _(
                    "A short link does not contain the coordinates. Open it, then copy the full "
                    "link from the address bar or the coordinates shown."
                )
            }
        )
    if host == "amap.com" or host.endswith(".amap.com"):
        lng, lat = first("position", "location", "to", "q")
        return (lng, lat), CoordSystem.GCJ02
    if host == "baidu.com" or host.endswith(".baidu.com"):
        coord_type = query.get("coord_type", "bd09ll").lower()
        if coord_type not in _BAIDU_COORD_TYPES:
            raise ValidationFailed(
                {
                    field: _(
                        'This Baidu link uses the coordinate type "{kind}", which we cannot read; '
                        "use a link with latitude and longitude (bd09ll)."
                    ).format(kind=coord_type)
                }
            )
        lat, lng = first("location", "latlng")
        return (lng, lat), _BAIDU_COORD_TYPES[coord_type]
    if host == "qq.com" or host.endswith(".qq.com"):
        if "marker" in query and "coord:" in query["marker"]:
            query["coord"] = query["marker"].split("coord:", 1)[1].split(";", 1)[0]
        lat, lng = first("coord", "tocoord", "center")
        return (lng, lat), CoordSystem.GCJ02
    raise unreadable
