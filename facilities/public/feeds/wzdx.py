"""The WZDx v4.2 Work Zone Feed (usdot-jpo-ode/wzdx, ``WorkZoneFeed``) of public closures, for
navigation apps.

One ``work-zone`` RoadEventFeature per closure that is planned or holds at ``now`` (a closure
that was called off, or whose facility has reopened, is not in it); closures whose facility has
no location are left out, since WZDx requires a geometry. How a footbridge closure is expressed:

- ``road_names``: the facility's names (the reader's language first, then the other one);
  ``direction``: ``undefined``, as a footpath has no direction of travel to name;
- ``vehicle_impact``: ``all-lanes-open``: a footbridge carries no vehicles, so no vehicular lane
  is affected; the pedestrian closure is one ``lanes`` entry of type ``sidewalk``, ``closed``
  for a full or partial closure (the event is the closed part) and ``open`` when the facility
  stays open with restrictions (a crowd limit, opening hours);
- ``start_date`` is when the closure takes effect; ``end_date`` the announced reopening, else the
  start of the promised day (``common.ends``), else (no promise yet) an estimate a year after the
  closure's last change; ``is_*_date_verified`` say which of them the bureau has confirmed;
- the geometry comes from :func:`closure_geometry`.

WZDx has no language field: like the Atom feed, the text follows ``?lang=`` (Chinese by default).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from facilities.closures import public
from facilities.closures.choices import IN_FORCE, Scope, Status
from facilities.i18n import gettext as _
from facilities.public.feeds.common import ends, notice_url, rfc3339
from facilities.public.wording import local_text

MEDIA_TYPE = "application/geo+json"
VERSION = "4.2"
#: The end we state for a closure without a promised reopening (WZDx requires an end date; it is
#: marked unverified): this long after the closure's last change.
OPEN_ENDED = dt.timedelta(days=365)


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


def closure_geometry(closure: public.PublicClosure) -> dict[str, Any] | None:
    """The road event's geometry: a LineString or MultiPoint (the two RoadEventFeature allows).

    Today a facility has only a point, so this is a MultiPoint whose start and end (WZDx reads
    the first and the last position so) are both that point. The closure's extent (the asset's
    line, or the closed part of it) comes with issue 17's geometry work and then replaces it
    here as a LineString, the form WZDx prefers. ``None`` when the facility has no location: the
    closure is then left out of the feed."""
    asset = closure.asset
    if asset.lat is None or asset.lng is None:
        return None
    point = [asset.lng, asset.lat]
    return {"type": "MultiPoint", "coordinates": [point, point]}


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


def _feature(
    closure: public.PublicClosure, geometry: dict[str, Any], *, base: str, now: dt.datetime
) -> dict[str, Any]:
    end, end_verified = _end(closure)
    started = closure.status != Status.PLANNED and closure.effective_from <= now
    lane_status = "open" if closure.scope == Scope.RESTRICTED else "closed"
    return {
        "id": road_event_id(base, closure.id),
        "type": "Feature",
        "properties": {
            "core_details": {
                "event_type": "work-zone",
                "data_source_id": data_source_id(base),
                "road_names": _names(closure),
                "direction": "undefined",
                "description": _description(closure),
                "creation_date": rfc3339(closure.created_at),
                "update_date": rfc3339(closure.updated_at),
            },
            "start_date": rfc3339(closure.effective_from),
            "end_date": rfc3339(end),
            "is_start_date_verified": started,
            "is_end_date_verified": end_verified,
            "is_start_position_verified": False,
            "is_end_position_verified": False,
            "location_method": "other",
            "work_zone_type": "static",
            "vehicle_impact": "all-lanes-open",
            "lanes": [{"order": 1, "type": "sidewalk", "status": lane_status}],
        },
        "geometry": geometry,
    }


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
        geometry = closure_geometry(closure)
        if geometry is None or not listed(closure, now):
            continue
        features.append(_feature(closure, geometry, base=base, now=now))
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
