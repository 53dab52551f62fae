"""The report pin's answer as the page's script reads it (``GET /report/near``): plain JSON in
the reader's language, public facts only (no contact, no staff name, no report text), every
address same-origin. The script builds its DOM from these values with textContent.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_timedelta

from facilities.closures.choices import Scope
from facilities.closures.choices import Status as ClosureStatus
from facilities.closures.public import PublicClosure
from facilities.i18n import babel_locale
from facilities.i18n import gettext as _
from facilities.lib import geo
from facilities.reports.choices import Category, is_value
from facilities.reports.services import SNAP_RADIUS_M, Facility, NearReport, PinAnswer
from facilities.web.templating import local_name


def _place(value: float) -> str:
    return f"{value:.6f}"  # about 10 cm: finer only makes the links longer


def report_url(asset_id: int, lat: float, lng: float, follow: int | None = None) -> str:
    """The report form for one facility with the pin's location (and the report followed)."""
    query: dict[str, Any] = {"asset": asset_id, "lat": _place(lat), "lng": _place(lng)}
    if follow is not None:
        query["follow"] = follow
    return "/report?" + urlencode(query)


def _facility(facility: Facility) -> dict[str, Any]:
    return {
        "id": facility.id,
        "code": facility.code,
        "name": local_name(facility),
        "site": local_name({"name_zh": facility.site_name_zh, "name_en": facility.site_name_en}),
        "distance_m": facility.distance_m,
    }


def closure_headline(closure: PublicClosure) -> str:
    """One line saying how the facility is closed (or that a closure is coming)."""
    if closure.status == ClosureStatus.PLANNED:
        return _("A closure of this facility is planned.")
    if closure.scope == Scope.FULL:
        return _("This facility is closed")
    return _("This facility is partly closed")


def _closure(closure: PublicClosure) -> dict[str, Any]:
    reason = local_name(closure, "reason") if closure.reason_zh or closure.reason_en else ""
    return {
        "id": closure.id,
        "url": f"/notices/{closure.id}",
        "headline": closure_headline(closure),
        "scope": closure.scope,
        "status": closure.status,
        "planned": closure.status == ClosureStatus.PLANNED,
        "reason": reason,
    }


def _report(near: NearReport, lat: float, lng: float, now: dt.datetime) -> dict[str, Any]:
    report = near.report
    category = (
        str(Category(report.category).label)
        if is_value(Category, report.category)
        else report.category
    )
    return {
        "id": report.id,
        "number": _("Report No. %(id)s") % {"id": report.id},
        "category": category,
        "status": report.status.value,
        "stage": str(report.stage.label),
        "facility": local_name({"name_zh": report.asset_name_zh, "name_en": report.asset_name_en}),
        "requested_at": report.requested_at.isoformat(),
        "age": format_timedelta(
            report.requested_at - now, add_direction=True, locale=babel_locale()
        ),
        "distance_m": round(near.metres),
        "url": f"/open311/v2/requests/{report.id}.json",
        "follow_url": report_url(report.asset_id, lat, lng, follow=report.id),
    }


def pin_json(answer: PinAnswer, now: dt.datetime) -> dict[str, Any]:
    """The answer to a pin: the facility it snaps to (with its drawing, to highlight it), the
    component, the closure, the facilities to choose from and the open reports around."""
    snapped = answer.snapped
    snapped_json = None
    if snapped is not None and answer.snap_lat is not None and answer.snap_lng is not None:
        snapped_json = {
            **_facility(snapped.facility),
            "distance_m": round(snapped.metres),
            "lat": round(answer.snap_lat, 7),
            "lng": round(answer.snap_lng, 7),
            "geometry": geo.to_geojson(snapped.shape),
            "report_url": report_url(snapped.facility.id, answer.snap_lat, answer.snap_lng),
        }
    component = answer.component
    return {
        "lat": answer.lat,
        "lng": answer.lng,
        "snap_radius_m": round(SNAP_RADIUS_M),
        "snapped": snapped_json,
        "component": None
        if component is None
        else {
            "id": component.id,
            "name": local_name({"name_zh": component.name_zh, "name_en": component.name_en}),
            "distance_m": round(component.metres),
        },
        "closure": None if answer.closure is None else _closure(answer.closure),
        "choices": [_facility(f) for f in answer.choices],
        "reports": [_report(n, answer.lat, answer.lng, now) for n in answer.reports],
    }
