"""What the inspection photos API (:mod:`facilities.inspections.photos_api`) answers."""

from __future__ import annotations

import datetime as dt

import msgspec


class InspectionPhotoOut(msgspec.Struct, kw_only=True):
    """A photo of an inspection (of one of its findings when ``finding_id`` is set); the file
    downloads at ``url``, the inspection page's own download."""

    id: int
    inspection_id: int
    finding_id: int | None
    content_type: str
    size: int
    sha256: str
    caption: str
    uploaded_by: int | None
    url: str
    thumbnail_url: str | None
    created_at: dt.datetime
