"""The field app's routes under ``/field``: the app shell, its data, its manifest and service
worker, and the one write the JSON API lacks (a photo on an inspection).

The shell and the data need a login; the manifest and the service worker are the same for
everyone and hold no data, so they are public (a browser fetches a manifest without cookies).
The service worker is served from ``/field/sw.js`` with ``Service-Worker-Allowed: /field`` so
that its scope, ``/field``, covers the shell page itself (``/field`` is not under ``/field/``).
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any

from litestar import Controller, Request, get, post
from litestar.response import Response, Template

from facilities.accounts.choices import Perm
from facilities.accounts.guards import require_actor
from facilities.accounts.permissions import require
from facilities.errors import ValidationFailed
from facilities.field import services as field
from facilities.i18n import gettext as _
from facilities.inspections import services as inspections
from facilities.web.auth import staff_guard
from facilities.web.params import IdParam
from facilities.web.responses import render

STATIC = Path(__file__).resolve().parents[2] / "static"
SCOPE = "/field"
ICON_SIZES = (192, 512)
THEME_COLOUR = "#0b5cad"  # the brand colour of static/css/app.css


@functools.cache
def _worker_source() -> bytes:
    return (STATIC / "field" / "sw.js").read_bytes()


def _texts() -> dict[str, str]:
    """The words the script shows (it builds the offline form from stored data)."""
    return {
        "online": _("Online"),
        "offline": _("Offline: your work is kept on this device and sent later."),
        "read_at": _("Data read at"),
        "nothing_pending": _("Nothing waiting to be sent."),
        "pending": _("Waiting to be sent"),
        "sending": _("Sending…"),
        "conflict": _("Not accepted by the server"),
        "discard": _("Discard"),
        "sync": _("Send now"),
        "login_again": _("Your login has ended: log in again to send your work."),
        "no_inspections": _("No inspections due."),
        "no_tickets": _("No tickets assigned to you or your team."),
        "record": _("Record"),
        "overdue": _("Overdue"),
        "due": _("Due"),
        "last_inspection": _("Last inspection"),
        "never_inspected": _("No final inspection yet."),
        "checklist": _("Checklist"),
        "note": _("Note"),
        "components": _("Component scores (0-100)"),
        "weather": _("Weather"),
        "recommendation": _("Recommendation"),
        "not_chosen": _("Not chosen yet"),
        "summary": _("Summary"),
        "finding": _("Finding (defect seen)"),
        "photo": _("Photo"),
        "submit_for_review": _("Submit for review"),
        "save": _("Save on this device"),
        "cancel": _("Cancel"),
        "complete": _("Mark work complete"),
        "complete_note": _("What was done"),
        "queued": _("Saved on this device; it will be sent when online."),
        "kind_record": _("Inspection record"),
        "kind_finding": _("Finding"),
        "kind_photo": _("Photo"),
        "kind_submit": _("Submit for review"),
        "kind_ticket": _("Work complete"),
        "grade": _("Grade"),
        "built": _("Built"),
        "site": _("Site"),
        "score_invalid": _("A score is a number from 0 to 100."),
    }


class FieldController(Controller):
    path = SCOPE
    include_in_schema = False

    @get("/", guards=[staff_guard])
    async def index(self, request: Request[Any, Any, Any]) -> Template:
        actor = require_actor(request)
        return render(
            request,
            "field/index.html",
            texts=_texts(),
            user_id=actor.id or 0,
            theme_colour=THEME_COLOUR,
        )

    @get("/data.json", guards=[staff_guard])
    async def data(self, request: Request[Any, Any, Any], now: dt.datetime) -> Response[Any]:
        """The signed-in person's bundle (:func:`facilities.field.services.bundle`); never
        stored by a shared cache, and kept by the app only until logout."""
        bundle = await field.bundle(require_actor(request), now)
        return Response(bundle, headers={"Cache-Control": "private, no-store"})

    @get("/sw.js")
    async def worker(self) -> Response[bytes]:
        return Response(
            _worker_source(),
            media_type="text/javascript",
            headers={"Service-Worker-Allowed": SCOPE, "Cache-Control": "no-cache"},
        )

    @get("/manifest.webmanifest")
    async def manifest(self) -> Response[dict[str, Any]]:
        return Response(
            {
                "name": _("Facilities field app"),
                "short_name": _("Field app"),
                "description": _("Inspections and repair tickets, also without a signal."),
                "start_url": SCOPE,
                "scope": SCOPE,
                "display": "standalone",
                "background_color": "#f5f7fa",
                "theme_color": THEME_COLOUR,
                "icons": [
                    {
                        "src": f"/static/field/icon-{size}.png",
                        "sizes": f"{size}x{size}",
                        "type": "image/png",
                        "purpose": "any",
                    }
                    for size in ICON_SIZES
                ],
            },
            media_type="application/manifest+json",
            headers={"Cache-Control": "no-cache"},
        )

    @post("/inspections/{inspection_id:int}/photos", guards=[staff_guard], status_code=201)
    async def add_photo(
        self, request: Request[Any, Any, Any], inspection_id: IdParam, now: dt.datetime
    ) -> dict[str, int]:
        """A photo taken offline (multipart ``file``, optional ``caption``), as JSON: the
        queue needs a plain answer, not the inspection page's redirect."""
        actor = require(require_actor(request), Perm.INSPECTIONS_RECORD)
        settings = request.app.state.settings
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise ValidationFailed({"file": _("Choose a file to upload.")})
        photo = await inspections.add_photo(
            actor,
            inspection_id,
            await upload.read(),
            None,
            str(form.get("caption", "") or ""),
            settings.media_path,
            settings.max_upload_bytes,
            now,
            max_pixels=settings.max_image_pixels,
        )
        return {"id": photo.id, "inspection_id": inspection_id}
