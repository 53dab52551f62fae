"""Inspection photos as JSON under /api/v1/inspections/{id}/photos: list them (all, or one
finding's) and upload one, with the same checks as the inspection page's upload (type, size and
pixels: :func:`facilities.lib.media.store_checked`; the inspector assigned, or a supervisor; not
once the inspection is final). The files download from the page's own routes
(``/inspections/photos/{id}`` and its thumbnail), which a token with ``inspections:read`` may
call. A repeated upload with the same ``Idempotency-Key`` stores one photo.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import QueryParameter
from litestar.response import Response

from facilities.accounts.guards import require_actor
from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _
from facilities.inspections import services as inspections
from facilities.inspections.photo_schemas import InspectionPhotoOut
from facilities.inspections.tables import InspectionPhoto
from facilities.records import MAX_ID
from facilities.web.auth import staff_guard
from facilities.web.errors import api_errors
from facilities.web.params import IdParam


def photo_out(row: InspectionPhoto) -> InspectionPhotoOut:
    return InspectionPhotoOut(
        id=row.id,
        inspection_id=row.inspection,
        finding_id=row.finding,
        content_type=row.content_type,
        size=row.size,
        sha256=row.sha256,
        caption=row.caption,
        uploaded_by=row.uploaded_by,
        url=f"/inspections/photos/{row.id}",
        thumbnail_url=f"/inspections/photos/{row.id}/thumbnail" if row.thumbnail_key else None,
        created_at=row.created_at,
    )


def _finding_id(raw: str) -> int | None:
    """The optional ``finding_id`` form field, checked as the page checks it."""
    text = raw.strip()
    if not text:
        return None
    if not text.isdigit() or not 0 < int(text) <= MAX_ID:
        raise ValidationFailed({"finding_id": _("Choose a finding of this inspection.")})
    return int(text)


class InspectionPhotoApiController(Controller):
    path = "/api/v1/inspections"
    guards = [staff_guard]
    tags = ["inspections"]

    @get("/{inspection_id:int}/photos", responses=api_errors(404))
    async def index(
        self,
        request: Request[Any, Any, Any],
        inspection_id: IdParam,
        finding: Annotated[int | None, QueryParameter(name="finding", ge=1, le=MAX_ID)] = None,
    ) -> list[InspectionPhotoOut]:
        """The inspection's photos in the order they were taken; ``finding`` narrows to the
        photos of one of its findings."""
        inspection = await inspections.get_inspection(require_actor(request), inspection_id)
        rows = sorted(await inspections.photos_of(inspection.id), key=lambda p: p.id)
        return [photo_out(p) for p in rows if finding is None or p.finding == finding]

    @post("/{inspection_id:int}/photos", responses=api_errors(403, 404, 409, 413))
    async def create(
        self, request: Request[Any, Any, Any], inspection_id: IdParam, now: dt.datetime
    ) -> Response[InspectionPhotoOut]:
        """Multipart form: ``file`` (JPEG, PNG, WebP or PDF), optional ``finding_id`` (a
        finding of this inspection) and ``caption``. 400 naming ``file`` for a file of another
        kind, over the size limit or over the pixel budget; 409 once the inspection is final;
        413 when the whole request is over the server's limit."""
        actor = require_actor(request)
        settings = request.app.state.settings
        form = await request.form()
        upload = form.get("file")
        finding_id = _finding_id(str(form.get("finding_id", "") or ""))
        if upload is None or isinstance(upload, str):
            raise ValidationFailed({"file": _("Choose a file to upload.")})
        row = await inspections.add_photo(
            actor,
            inspection_id,
            await upload.read(),
            finding_id,
            str(form.get("caption", "") or ""),
            settings.media_path,
            settings.max_upload_bytes,
            now,
            max_pixels=settings.max_image_pixels,
        )
        return Response(photo_out(row), status_code=201)
