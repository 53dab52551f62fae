"""The GeoJSON feed (RFC 7946) of closures in force, for maps.

One Feature per closure at its facility's point (no geometry when the facility has none), with
every label and sentence in both languages, so a map needs no second request to show them.
"""

from __future__ import annotations

import datetime as dt
import json

from facilities.closures import public
from facilities.public.feeds.common import notice_url
from facilities.public.wording import (
    expected,
    headline,
    in_both_languages,
    reason_label,
    scope_label,
)

MEDIA_TYPE = "application/geo+json"


def render(closures: list[public.PublicClosure], *, base: str, now: dt.datetime) -> bytes:
    """The FeatureCollection of ``closures`` (the closures in force); ``headline_*`` is the
    one-line state the lists show (as at ``now``)."""
    features = []
    for closure in closures:
        asset = closure.asset
        geometry = (
            {"type": "Point", "coordinates": [asset.lng, asset.lat]}
            if asset.lat is not None and asset.lng is not None
            else None
        )
        expected_words = in_both_languages(expected, closure)
        scope_words = in_both_languages(scope_label, closure)
        reason_words = in_both_languages(reason_label, closure)
        headline_words = in_both_languages(lambda c: headline(c, now), closure)
        features.append(
            {
                "type": "Feature",
                "id": closure.id,
                "geometry": geometry,
                "properties": {
                    "closure_id": closure.id,
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
        )
    document = {"type": "FeatureCollection", "features": features}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
