"""The WZDx v4.2 Work Zone Feed (usdot-jpo-ode/wzdx, ``WorkZoneFeed``) of public closures, for
navigation apps.

One ``work-zone`` RoadEventFeature per closure that is planned or holds at ``now`` (a closure
that was called off, or whose facility has reopened, is not in it), followed by one ``detour``
RoadEventFeature per drawn detour line; closures whose facility is nowhere (no extent, no
drawing, no point) are left out, since WZDx requires a geometry. How a footbridge closure is
expressed:

- ``road_names``: the facility's names (the reader's language first, then the other one);
  ``direction``: ``undefined``, as a footpath has no direction of travel to name;
- ``vehicle_impact``: ``all-lanes-open`` for a facility that carries no vehicles (a footbridge,
  a boardwalk, a plaza): no vehicular lane is affected, and a navigation app must not route
  cars round a road that is not there. The pedestrian closure is one ``lanes`` entry of type
  ``sidewalk``, ``closed`` for a full or partial closure (the event is the closed part) and
  ``open`` when the facility stays open with restrictions (a crowd limit, opening hours). A road
  bridge (``AssetType.BRIDGE``) fully closed is ``all-lanes-closed``; partly closed or
  restricted, ``unknown`` (the notice names the part in words, not lanes);
- ``types_of_work``: ``maintenance`` (no architectural change) when the closure is for repair
  works or a structural defect; none for an inspection, weather, a flood or crowds;
- ``start_date`` is when the closure takes effect; ``end_date`` the announced reopening, else the
  start of the promised day (``common.ends``), else (no promise yet) an estimate a year after the
  closure's last change; ``is_start_date_verified`` is true once the closure has started (a
  planned one is a future ``start_date``, unverified: 4.2 deprecates ``event_status`` in favour
  of these, so it is not written) and ``is_end_date_verified`` only for an announced reopening;
- the geometry (:func:`closure_geometry`): the closed extent (``common.closed_shape``) as a
  LineString when it is a line (the footbridge's span, start to end as drawn; parts of a
  MultiLineString that join end to end are merged), else a MultiPoint: the two ends of a line
  in several separate parts, or a point on a point or an area given as start = end (WZDx road
  events are lines, and outlining an area would close the paths round it);
- the detour: a ``detour`` road event per line of the drawn detour (a LineString), with the
  same dates, the site's names as ``road_names`` (the detour runs on its paths), the detour's
  words as ``description``; ``related_road_events`` link both ways: the work zone lists each
  detour as ``related-detour``, each detour its work zone as ``related-work-zone``.

WZDx has no language field: like the Atom feed, the text follows ``?lang=`` (Chinese by default).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import shapely
from shapely.geometry import LineString, MultiLineString
from shapely.geometry.base import BaseGeometry

from facilities.assets.choices import AssetType
from facilities.closures import public
from facilities.closures.choices import IN_FORCE, Reason, Scope, Status
from facilities.i18n import gettext as _
from facilities.lib import geo
from facilities.public.feeds.common import (
    closed_shape,
    drawing,
    ends,
    notice_url,
    rfc3339,
)
from facilities.public.wording import local_text

MEDIA_TYPE = "application/geo+json"
VERSION = "4.2"
#: The end we state for a closure without a promised reopening (WZDx requires an end date; it is
#: marked unverified): this long after the closure's last change.
OPEN_ENDED = dt.timedelta(days=365)
#: Facilities that carry vehicles: their closure affects vehicular lanes.
VEHICULAR = frozenset({AssetType.BRIDGE})
#: Closure reasons that are work on the facility (WZDx ``types_of_work``).
WORK = frozenset({Reason.REPAIR_WORKS, Reason.STRUCTURAL_DEFECT})


def data_source_id(base: str) -> str:
    """The feed's one data source (the bureau's closure register): a UUID derived from the
    site's address, so it never changes for a deployment."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{base}/"))


def road_event_id(base: str, closure_id: int) -> str:
    """The closure's road event id: a UUID derived from its notice's address (stable)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, notice_url(base, closure_id)))


def listed(closure: public.PublicClosure, now: dt.datetime) -> bool:
    """Planned, in force, or lifted with the reopening still ahead at ``now``."""
    if closure.status == Status.PLANNED or closure.status in IN_FORCE:
        return True
    return closure.status == Status.LIFTED and not closure.reopened(now)


def detour_event_id(base: str, closure_id: int, part: int) -> str:
    """The id of the ``part``-th line (from 1) of a closure's detour: a UUID derived from its
    notice's address (stable while the detour keeps its lines)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{notice_url(base, closure_id)}#detour-{part}"))


def _lines(shape: BaseGeometry) -> list[LineString]:
    """A line drawing as its lines, the parts that join end to end merged into one."""
    if isinstance(shape, LineString):
        return [shape]
    if isinstance(shape, MultiLineString):
        merged = shapely.line_merge(shape)
        return list(merged.geoms) if isinstance(merged, MultiLineString) else [merged]
    return []


def closure_geometry(closure: public.PublicClosure) -> dict[str, Any] | None:
    """The work zone's geometry, a LineString or MultiPoint (the two RoadEventFeature allows),
    from the closed extent (see the module docstring); ``None`` when the facility is nowhere:
    the closure is then left out of the feed."""
    shape = closed_shape(closure)
    if shape is None:
        return None
    lines = _lines(shape)
    if len(lines) == 1:
        return geo.to_geojson(lines[0])
    if lines:
        start, end = lines[0].coords[0], lines[-1].coords[-1]
        points = [[start[0], start[1]], [end[0], end[1]]]
    else:
        point = list(geo.point_on(shape))
        points = [point, point]
    return geo.to_geojson(shapely.MultiPoint(points))


def detour_geometries(closure: public.PublicClosure) -> list[dict[str, Any]]:
    """The drawn detour's lines (none when not drawn), one ``detour`` road event each."""
    shape = drawing(closure.detour_line)
    return [geo.to_geojson(line) for line in _lines(shape)] if shape is not None else []


def _names(closure: public.PublicClosure) -> list[str]:
    asset = closure.asset
    first = local_text(asset, "name")
    names = [first]
    for name in (asset.name_zh, asset.name_en):
        if name and name not in names:
            names.append(name)
    return names


def _description(closure: public.PublicClosure) -> str:
    reason = local_text(closure, "reason")
    part = local_text(closure, "affected_part")
    if closure.scope != Scope.FULL and part:
        return _("%(part)s: %(reason)s") % {"part": part, "reason": reason}
    return reason


def _end(closure: public.PublicClosure) -> tuple[dt.datetime, bool]:
    """The end date and whether it is confirmed (an announced reopening time)."""
    end = ends(closure)
    if end is not None:
        verified = closure.status == Status.LIFTED and closure.reopens_at is not None
        return end, verified
    return max(closure.effective_from, closure.updated_at) + OPEN_ENDED, False


def _site_names(closure: public.PublicClosure) -> list[str]:
    asset = closure.asset
    names = [local_text(asset, "site_name")]
    for name in (asset.site_name_zh, asset.site_name_en):
        if name and name not in names:
            names.append(name)
    return names


def _impact(closure: public.PublicClosure) -> dict[str, Any]:
    """``vehicle_impact`` and ``lanes`` (see the module docstring)."""
    if closure.asset.asset_type in VEHICULAR:
        impact = "all-lanes-closed" if closure.scope == Scope.FULL else "unknown"
        return {"vehicle_impact": impact}
    lane_status = "open" if closure.scope == Scope.RESTRICTED else "closed"
    return {
        "vehicle_impact": "all-lanes-open",
        "lanes": [{"order": 1, "type": "sidewalk", "status": lane_status}],
    }


def _dates(closure: public.PublicClosure, now: dt.datetime) -> dict[str, Any]:
    end, end_verified = _end(closure)
    started = closure.status != Status.PLANNED and closure.effective_from <= now
    return {
        "start_date": rfc3339(closure.effective_from),
        "end_date": rfc3339(end),
        "is_start_date_verified": started,
        "is_end_date_verified": end_verified,
    }


def _work_zone(
    closure: public.PublicClosure,
    geometry: dict[str, Any],
    detours: list[str],
    *,
    base: str,
    now: dt.datetime,
) -> dict[str, Any]:
    core: dict[str, Any] = {
        "event_type": "work-zone",
        "data_source_id": data_source_id(base),
        "road_names": _names(closure),
        "direction": "undefined",
        "description": _description(closure),
        "creation_date": rfc3339(closure.created_at),
        "update_date": rfc3339(closure.updated_at),
    }
    if detours:
        core["related_road_events"] = [{"type": "related-detour", "id": d} for d in detours]
    properties: dict[str, Any] = {
        "core_details": core,
        **_dates(closure, now),
        "is_start_position_verified": False,
        "is_end_position_verified": False,
        "location_method": "other",
        "work_zone_type": "static",
        **_impact(closure),
    }
    if closure.reason in WORK:
        properties["types_of_work"] = [
            {"type_name": "maintenance", "is_architectural_change": False}
        ]
    return {
        "id": road_event_id(base, closure.id),
        "type": "Feature",
        "properties": properties,
        "geometry": geometry,
    }


def _detour(
    closure: public.PublicClosure,
    event_id: str,
    geometry: dict[str, Any],
    *,
    base: str,
    now: dt.datetime,
) -> dict[str, Any]:
    core: dict[str, Any] = {
        "event_type": "detour",
        "data_source_id": data_source_id(base),
        "road_names": _site_names(closure),
        "direction": "undefined",
        "related_road_events": [
            {"type": "related-work-zone", "id": road_event_id(base, closure.id)}
        ],
        "creation_date": rfc3339(closure.created_at),
        "update_date": rfc3339(closure.updated_at),
    }
    words = local_text(closure, "detour")
    if words:
        core["description"] = words
    return {
        "id": event_id,
        "type": "Feature",
        "properties": {"core_details": core, **_dates(closure, now)},
        "geometry": geometry,
    }


def _events(closure: public.PublicClosure, *, base: str, now: dt.datetime) -> list[dict[str, Any]]:
    """The closure's work zone and its detours (nothing when it is nowhere)."""
    geometry = closure_geometry(closure)
    if geometry is None:
        return []
    lines = detour_geometries(closure)
    ids = [detour_event_id(base, closure.id, n) for n in range(1, len(lines) + 1)]
    events = [_work_zone(closure, geometry, ids, base=base, now=now)]
    for event_id, line in zip(ids, lines, strict=True):
        events.append(_detour(closure, event_id, line, base=base, now=now))
    return events


def render(
    closures: list[public.PublicClosure],
    *,
    base: str,
    now: dt.datetime,
    contact_email: str | None = None,
) -> bytes:
    """The WorkZoneFeed of ``closures`` (as ``public.calendar`` lists them) at ``now``, in the
    reader's language; ``contact_email`` (optional) is where to write about the data."""
    publisher = _("High-tech Zone Construction Bureau")
    features = []
    for closure in closures:
        if listed(closure, now):
            features.extend(_events(closure, base=base, now=now))
    source: dict[str, Any] = {
        "data_source_id": data_source_id(base),
        "organization_name": publisher,
    }
    feed_info: dict[str, Any] = {
        "publisher": publisher,
        "version": VERSION,
        "update_date": rfc3339(now),
    }
    if contact_email:
        feed_info.update(contact_name=publisher, contact_email=contact_email)
        source.update(contact_name=publisher, contact_email=contact_email)
    feed_info["data_sources"] = [source]
    document = {"feed_info": feed_info, "type": "FeatureCollection", "features": features}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def contact(address: str) -> str | None:
    """A contact address worth publishing: the bureau's mail sender, unless it is a local
    placeholder (``facilities@localhost``, the default)."""
    domain = address.rpartition("@")[2]
    return address if "." in domain else None
