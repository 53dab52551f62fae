"""The inspection report for staff (issue 18): the PDF, and the page that shows the filing and
verifies it.

- ``GET /inspections/{id}/report.pdf``: a final inspection's **filed** PDF, byte for byte as
  archived (never a fresh render), with its SHA-256 as the ETag; a draft's (not yet final) is a
  preview rendered now and marked DRAFT, never filed and never cached.
- ``GET /inspections/{id}/report``: whether the report is filed (SHA-256, size, when, by whom)
  and a verification: the stored file against its recorded hash (tampering) and a re-render
  against the filed one (templates or record changed). Supervisors file a report here when the
  filing at finalisation failed.
- ``POST /inspections/{id}/report``: file it (once; a second press finds the first filing).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Response, Template

from facilities.accounts.choices import Perm
from facilities.accounts.guards import require_actor
from facilities.accounts.permissions import can
from facilities.i18n import gettext as _
from facilities.inspections import services as inspections
from facilities.inspections.choices import State
from facilities.web.auth import staff_guard
from facilities.web.params import IdParam
from facilities.web.responses import redirect, render


def _etag_matches(header: str, etag: str) -> bool:
    return any(part.strip().removeprefix("W/") == etag for part in header.split(","))


class InspectionReportController(Controller):
    path = "/inspections"
    guards = [staff_guard]
    include_in_schema = False

    @get("/{inspection_id:int}/report.pdf")
    async def pdf(self, request: Request[Any, Any, Any], inspection_id: IdParam) -> Response[bytes]:
        actor = require_actor(request)
        media_root = request.app.state.settings.media_path
        inspection = await inspections.get_inspection(actor, inspection_id)
        if inspection.state != State.FINAL:
            data = await inspections.preview_report(actor, inspection_id, media_root)
            return Response(
                content=data,
                media_type="application/pdf",
                headers={
                    "Content-Disposition": (
                        f'inline; filename="inspection-{inspection_id}-draft.pdf"'
                    ),
                    "Cache-Control": "no-store",
                },
            )
        data, sha256 = await inspections.filed_bytes(actor, inspection_id, media_root)
        etag = f'"{sha256}"'
        headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
        if _etag_matches(request.headers.get("if-none-match", ""), etag):
            return Response(content=b"", status_code=304, headers=headers)
        return Response(
            content=data,
            media_type="application/pdf",
            headers={
                **headers,
                "Content-Disposition": f'inline; filename="inspection-{inspection_id}.pdf"',
            },
        )

    @get("/{inspection_id:int}/report")
    async def show(self, request: Request[Any, Any, Any], inspection_id: IdParam) -> Template:
        actor = require_actor(request)
        media_root = request.app.state.settings.media_path
        inspection = await inspections.get_inspection(actor, inspection_id)
        filed = await inspections.filed_report(actor, inspection_id)
        verification = (
            await inspections.verify_report(actor, inspection_id, media_root)
            if filed is not None
            else None
        )
        return render(
            request,
            "inspections/report.html",
            i=inspection,
            filed=filed,
            verification=verification,
            filed_by=await inspections.report_filer(filed),
            can_file=inspection.state == State.FINAL
            and filed is None
            and can(actor, Perm.INSPECTIONS_FINALISE),
        )

    @post("/{inspection_id:int}/report")
    async def file(
        self, request: Request[Any, Any, Any], inspection_id: IdParam, now: dt.datetime
    ) -> Redirect:
        actor = require_actor(request)
        await inspections.archive_report(
            actor, inspection_id, request.app.state.settings.media_path, now
        )
        return redirect(f"/inspections/{inspection_id}/report", _("Inspection report filed."))
