"""CAP 1.2 alerts (OASIS Common Alerting Protocol) for urgent closures, in both languages.

One alert per urgent closure: its identifier changes with every revision (``msgType`` Update,
referencing the first Alert). Its ``<area>`` is the part of the map to avoid: the closed extent
(``common.closed_shape``: the drawn extent, else the facility's drawing, else its point) grown
by :data:`MARGIN_M` (computed in metres, ``geo.buffer_m``), written as CAP 1.2 ``<polygon>``
elements, one per separate part: "lat,lon" pairs in WGS-84, the first and the last equal, at
most :data:`MAX_PAIRS` pairs (simplified beyond that; CAP readers such as cell broadcast take
about a hundred). A facility that is nowhere gets its ``<areaDesc>`` alone.
"""

from __future__ import annotations

import datetime as dt

from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from facilities.closures import public
from facilities.closures.choices import SafetyMeasure, Scope, Status
from facilities.i18n import gettext as _
from facilities.i18n import use_locale
from facilities.lib import geo
from facilities.public.feeds.common import authority, closed_shape, ends, notice_url
from facilities.public.wording import expected, headline, label, local_text, revision_text
from facilities.web import templating

MEDIA_TYPE = "application/cap+xml; charset=utf-8"
#: How far beyond the closed part the area to avoid reaches, by the part's kind (metres): a
#: point is a facility whose drawing we lack (its size unknown), a line is walked along (keep
#: off it and its railings), an area is already the area.
MARGIN_M = {"Point": 30.0, "MultiPoint": 30.0, "LineString": 10.0, "MultiLineString": 10.0}
MAX_PAIRS = 100
#: A first simplification step: about 0.5 m in degrees of latitude.
_SIMPLIFY_START = 0.5 / 111_000.0


def cap_time(moment: dt.datetime) -> str:
    """CAP 1.2 date-time: seconds, an explicit offset, never "Z"."""
    text = moment.astimezone(templating.display_zone()).replace(microsecond=0).isoformat()
    return text.removesuffix("+00:00") + "-00:00" if text.endswith("+00:00") else text


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")


def render(closure: public.PublicClosure, *, base: str, now: dt.datetime) -> bytes:
    """The alert for ``closure`` (an urgent one) as it stands at ``now``."""
    sender = authority(base)
    identifier = f"{sender}:closure:{closure.id}:{_stamp(closure.updated_at)}"
    first = f"{sender}:closure:{closure.id}:{_stamp(closure.created_at)}"
    is_first = closure.updated_at == closure.created_at
    reopened = closure.reopened(now) or (
        closure.status == Status.LIFTED and closure.reopens_at is None
    )
    if reopened:
        urgency, severity, response = "Past", "Minor", "AllClear"
    elif closure.status == Status.PLANNED:
        urgency, response = "Expected", "Prepare"
        severity = "Moderate" if closure.scope == Scope.FULL else "Minor"
    else:
        urgency, response = "Immediate", "Avoid"
        severity = "Moderate" if closure.scope == Scope.FULL else "Minor"
    asset = closure.asset
    polygons = area_polygons(closed_shape(closure))
    end = ends(closure)
    infos = []
    for language, cap_language in (("zh_CN", "zh-CN"), ("en", "en")):
        with use_locale(language):
            measures = [label(SafetyMeasure, m) for m in closure.safety_measures]
            description = [
                local_text(closure, "reason"),
                expected(closure, now),
                *(revision_text(closure, r) for r in closure.revisions),
            ]
            if measures:
                description.append(_("Safety measures: %(list)s") % {"list": ", ".join(measures)})
            detour = local_text(closure, "detour")
            infos.append(
                {
                    "language": cap_language,
                    "event": _("Facility closure"),
                    "sender_name": _("High-tech Zone Construction Bureau"),
                    "headline": f"{local_text(asset, 'name')}: {headline(closure, now)}",
                    "description": "\n".join(d for d in description if d),
                    "instruction": _("Detour: %(text)s") % {"text": detour} if detour else "",
                    "area": f"{local_text(asset, 'site_name')} · {local_text(asset, 'name')}",
                }
            )
    context = {
        "identifier": identifier,
        "sender": sender,
        "sent": cap_time(closure.updated_at),
        "msg_type": "Alert" if is_first else "Update",
        "references": "" if is_first else f"{sender},{first},{cap_time(closure.created_at)}",
        "response_type": response,
        "urgency": urgency,
        "severity": severity,
        "certainty": "Observed",
        "effective": cap_time(closure.effective_from),
        "expires": cap_time(end) if end is not None and not reopened else "",
        "web": notice_url(base, closure.id),
        "polygons": polygons,
        "infos": infos,
    }
    return templating.environment().get_template("feeds/cap.xml").render(context).encode()


def area_polygons(shape: BaseGeometry | None) -> list[str]:
    """The CAP ``<polygon>`` texts of the area to avoid round ``shape`` (see the module
    docstring); none when ``shape`` is ``None``."""
    if shape is None:
        return []
    area = geo.buffer_m(shape, MARGIN_M.get(shape.geom_type, 0.0))
    parts = area.geoms if isinstance(area, MultiPolygon) else [area]
    return [cap_polygon(part) for part in parts if isinstance(part, Polygon) and not part.is_empty]


def cap_polygon(polygon: Polygon) -> str:
    """One CAP polygon: the outer ring as "lat,lon lat,lon ...", closed (first pair = last),
    simplified until it has at most :data:`MAX_PAIRS` pairs. CAP has no holes: a hole in the
    closed area is part of the area to avoid."""
    ring = Polygon(polygon.exterior)
    tolerance = _SIMPLIFY_START
    while len(ring.exterior.coords) > MAX_PAIRS:
        ring = Polygon(polygon.exterior).simplify(tolerance, preserve_topology=True)
        tolerance *= 2
    pairs = [f"{lat:.6f},{lng:.6f}" for lng, lat in ring.exterior.coords]
    if pairs[0] != pairs[-1]:  # shapely closes rings; rounding keeps them closed
        pairs.append(pairs[0])
    return " ".join(pairs)
