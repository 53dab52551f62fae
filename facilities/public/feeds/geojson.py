"""The GeoJSON feed (RFC 7946) of closures for maps: those holding now and the planned ones.

One request holds everything a map draws, every label and sentence in both languages. The
contract (what ``static/js/map.js`` and any other reader may rely on), WGS-84 throughout:

- One Feature per closure, in the order of ``public.holding_or_planned`` (urgent first, then the
  newest start first), ``"id"``: the closure's id (a number). Its ``geometry`` is the **closed
  extent**: the drawn extent of a partial closure, else the facility's drawing (the whole
  facility is closed), else the facility's point, else ``null``. Its ``properties``:
  ``"role": "closure"``; ``"marker": [lng, lat]``, where a map pins the closure (the facility's
  point when known, else a point on the extent: a line's midpoint, a point inside an area), or
  ``null``; ``"whole_facility"``: true when no extent is drawn; ``"status"``: ``"planned"``
  for a closure not started yet (``"active"``, ``"extended"`` or ``"lifted"`` with the reopening
  ahead for one holding now); and the notice's labels and sentences (``name_zh``/``name_en``,
  ``scope``, ``headline_zh``/``headline_en``, ``url`` ...: see :func:`_closure`).
- Then, for that closure, one Feature per drawing it has, in this order:
  ``"role": "detour"`` (a LineString or MultiLineString, with the detour's words ``detour_zh``
  and ``detour_en``), ``"role": "fences"`` (lines) and ``"role": "entrances"`` (a Point or
  MultiPoint), each with ``"id": "<closure id>-<role>"`` and properties ``role``,
  ``closure_id``, ``status`` and ``scope`` (to style it like its closure).

A reader that wants one marker per closure takes the features whose ``role`` is ``closure``
and reads ``properties.marker``; their geometry is the shape to outline.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from facilities.closures import public
from facilities.lib import geo
from facilities.public.feeds.common import closed_shape, drawing, marker, notice_url
from facilities.public.wording import (
    expected,
    headline,
    in_both_languages,
    reason_label,
    scope_label,
)

MEDIA_TYPE = "application/geo+json"
#: The drawings a closure may add after its own Feature, in this order: role -> column.
DRAWINGS = (("detour", "detour_line"), ("fences", "fences"), ("entrances", "entrances"))


def render(closures: list[public.PublicClosure], *, base: str, now: dt.datetime) -> bytes:
    """The FeatureCollection of ``closures`` (holding now or planned), each followed by its
    drawings; ``headline_*`` is the one-line state the lists show (as at ``now``)."""
    features: list[dict[str, Any]] = []
    for closure in closures:
        features.append(_closure(closure, base=base, now=now))
        features.extend(_drawings(closure))
    document = {"type": "FeatureCollection", "features": features}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def _closure(closure: public.PublicClosure, *, base: str, now: dt.datetime) -> dict[str, Any]:
    asset = closure.asset
    shape = closed_shape(closure)
    pin = marker(closure, shape)
    expected_words = in_both_languages(expected, closure)
    scope_words = in_both_languages(scope_label, closure)
    reason_words = in_both_languages(reason_label, closure)
    headline_words = in_both_languages(lambda c: headline(c, now), closure)
    return {
        "type": "Feature",
        "id": closure.id,
        "geometry": geo.to_geojson(shape) if shape is not None else None,
        "properties": {
            "role": "closure",
            "closure_id": closure.id,
            "marker": list(pin) if pin is not None else None,
            "whole_facility": not closure.extent,
            "asset_id": asset.id,
            "asset_code": asset.code,
            "name_zh": asset.name_zh,
            "name_en": asset.name_en,
            "site_name_zh": asset.site_name_zh,
            "site_name_en": asset.site_name_en,
            "asset_type": asset.asset_type,
            "status": closure.status,
            "scope": closure.scope,
            "scope_label_zh": scope_words["zh"],
            "scope_label_en": scope_words["en"],
            "headline_zh": headline_words["zh"],
            "headline_en": headline_words["en"],
            "reason": closure.reason,
            "reason_label_zh": reason_words["zh"],
            "reason_label_en": reason_words["en"],
            "reason_zh": closure.reason_zh,
            "reason_en": closure.reason_en,
            "is_urgent": closure.is_urgent,
            "effective_from": closure.effective_from.isoformat(),
            "expected_reopening": closure.planned_reopen_on.isoformat()
            if closure.planned_reopen_on
            else None,
            "reopen_precision": closure.reopen_precision,
            "expected_reopening_zh": expected_words["zh"],
            "expected_reopening_en": expected_words["en"],
            "reopens_at": closure.reopens_at.isoformat() if closure.reopens_at else None,
            "url": notice_url(base, closure.id),
            "updated_at": closure.updated_at.isoformat(),
        },
    }


def _drawings(closure: public.PublicClosure) -> list[dict[str, Any]]:
    """The closure's detour, fences and entrances, each a Feature of its own (none when not
    drawn)."""
    features = []
    for role, column in DRAWINGS:
        shape = drawing(getattr(closure, column))
        if shape is None:
            continue
        properties: dict[str, Any] = {
            "role": role,
            "closure_id": closure.id,
            "status": closure.status,
            "scope": closure.scope,
        }
        if role == "detour":
            properties.update(detour_zh=closure.detour_zh, detour_en=closure.detour_en)
        features.append(
            {
                "type": "Feature",
                "id": f"{closure.id}-{role}",
                "geometry": geo.to_geojson(shape),
                "properties": properties,
            }
        )
    return features
