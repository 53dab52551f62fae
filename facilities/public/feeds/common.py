"""What several feeds write the same way: stable identifiers, addresses, instants, and where
a closure is.

Where: :func:`closed_shape` is the one rule every feed follows for the closed part of a facility
(the closure's drawn extent, else the facility's drawing, else its point), :func:`marker` where
a map pins the closure, and :func:`drawing` reads any stored drawing (GeoJSON text in WGS-84).

Identifiers (Atom ``tag:`` URIs, iCalendar UIDs, CAP identifiers) are built from the host name
of the site's base URL and never change for a closure, so a feed reader or calendar updates an
entry instead of adding a second one.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from facilities.closures import public
from facilities.closures.choices import Status
from facilities.errors import ValidationFailed
from facilities.lib import geo
from facilities.web import templating

TAG_DATE = "2026"  # the date part of every tag: URI (RFC 4151); never change it


def authority(base: str) -> str:
    """The host name in every stable identifier (tag: URIs, UIDs, CAP identifiers)."""
    return urlsplit(base).hostname or "localhost"


def notice_url(base: str, closure_id: int) -> str:
    return f"{base}/notices/{closure_id}"


def rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _local_midnight(day: dt.date) -> dt.datetime:
    zone = templating.display_zone()
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=zone).astimezone(dt.UTC)


def ends(closure: public.PublicClosure) -> dt.datetime | None:
    """When the closure window ends: the announced reopening, else the start of the promised
    day (for "before 1 May" and "on 1 May" alike), else unknown."""
    if closure.status == Status.LIFTED and closure.reopens_at is not None:
        return closure.reopens_at
    if closure.planned_reopen_on is not None:
        return _local_midnight(closure.planned_reopen_on)
    return None


def drawing(text: str) -> BaseGeometry | None:
    """A stored drawing (GeoJSON text, WGS-84) as a shape; ``None`` when not drawn. A drawing
    that no longer reads (it was checked when stored) counts as not drawn: a feed still
    answers, with the next best place."""
    if not text:
        return None
    try:
        return geo.parse_geometry(text, "geometry")
    except ValidationFailed:
        return None


def closed_shape(closure: public.PublicClosure) -> BaseGeometry | None:
    """The closed part of the facility: the closure's drawn extent, else (the whole facility
    is closed) the facility's drawing, else its point; ``None`` when nothing says where."""
    asset = closure.asset
    for text in (closure.extent, asset.geometry):
        shape = drawing(text)
        if shape is not None:
            return shape
    if asset.lat is not None and asset.lng is not None:
        return Point(asset.lng, asset.lat)
    return None


def marker(closure: public.PublicClosure, shape: BaseGeometry | None) -> tuple[float, float] | None:
    """Where a map pins the closure, ``(lng, lat)``: the facility's point when known, else a
    point on the closed part ``shape`` (see :func:`closed_shape`); ``None`` when nowhere."""
    asset = closure.asset
    if asset.lat is not None and asset.lng is not None:
        return (asset.lng, asset.lat)
    return geo.point_on(shape) if shape is not None else None
