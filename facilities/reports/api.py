"""The staff side of citizen reports as JSON under /api/v1/reports: the triage queue, one report
as staff read it (photos, ticket, "same as", the reporter's contact) and the triage decisions
(convert to a ticket, merge into an open ticket, reject, not ours). The same services, guards,
version checks (409 when stale) and audit as the triage pages (:mod:`facilities.reports.
triage_pages`); a repeated write with the same ``Idempotency-Key`` is answered once
(:mod:`facilities.accounts.submissions`). Photos download from the triage page's own routes
(``/triage/photos/{id}``), which a token with ``reports:read`` may call. Open311 stays in
:mod:`facilities.reports.open311_api`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import JSONBody
from litestar.response import Response

from facilities.accounts.guards import require_actor
from facilities.accounts.permissions import Actor
from facilities.reports import services as reports
from facilities.reports.choices import TRIAGEABLE, Category, Channel, ReportStatus
from facilities.reports.schemas import AnswerIn, ConvertIn, MergeIn
from facilities.reports.triage_schemas import (
    ConvertedOut,
    QueueOut,
    ReportDetailOut,
    ReportOut,
    ReportPhotoOut,
    SuggestionOut,
    TicketRefOut,
)
from facilities.web.auth import staff_guard
from facilities.web.errors import api_errors
from facilities.web.params import IdParam


def report_out(row: reports.ReportRow) -> ReportOut:
    r = row.report
    return ReportOut(
        id=r.id,
        status=ReportStatus(r.status),
        stage=row.stage,
        status_notes=row.status_notes,
        category=Category(r.category),
        description=r.description,
        attributes={str(k): str(v) for k, v in row.attributes.items()},
        asset_id=r.asset,
        asset_code=row.asset_code,
        asset_name_zh=row.asset_name_zh,
        asset_name_en=row.asset_name_en or "",
        site_name_zh=row.site_name_zh or "",
        site_name_en=row.site_name_en or "",
        lat=r.lat,
        lng=r.lng,
        address_string=r.address_string,
        channel=Channel(r.channel),
        client_name=row.client_name,
        contact_name=r.contact_name,
        contact_email=r.contact_email,
        contact_phone=r.contact_phone,
        public_reason=r.public_reason,
        ticket_id=r.ticket,
        closure_id=r.closure,
        follow_up_of=r.follow_up_of,
        same_as=r.same_as,
        requested_at=r.requested_at,
        updated_at=r.updated_at,
        triaged_at=r.triaged_at,
        version=r.version,
        can_triage=r.status in TRIAGEABLE,
        photos=[
            ReportPhotoOut(
                id=p.id,
                filename=p.filename,
                content_type=p.content_type,
                size=p.size,
                url=f"/triage/photos/{p.id}",
                thumbnail_url=f"/triage/photos/{p.id}/thumbnail" if p.thumbnail_key else None,
                created_at=p.created_at,
            )
            for p in row.photos
        ],
        suggestions=[
            SuggestionOut(
                report_id=s.report_id,
                requested_at=s.requested_at,
                status=ReportStatus(s.status),
                ticket_id=s.ticket_id,
                excerpt=s.excerpt,
            )
            for s in row.suggestions
        ],
    )


def _ticket_ref(row: dict[str, Any]) -> TicketRefOut:
    return TicketRefOut(
        id=row["id"],
        title=row["title"],
        status=row["status"],
        closing_reason=row.get("closing_reason") or None,
        created_at=row.get("created_at"),
    )


def detail_out(detail: reports.ReportDetail) -> ReportDetailOut:
    return ReportDetailOut(
        report=report_out(detail.row),
        ticket=_ticket_ref(detail.ticket) if detail.ticket else None,
        merge_targets=[_ticket_ref(t) for t in detail.merge_targets],
        follow_up_of=report_out(detail.follow_up_of) if detail.follow_up_of else None,
        follow_ups=[report_out(r) for r in detail.follow_ups],
        same_as=report_out(detail.same_as) if detail.same_as else None,
        same_here=[report_out(r) for r in detail.same_here],
    )


async def _decided(actor: Actor, report_id: int, now: dt.datetime) -> ConvertedOut:
    detail = await reports.get_report(actor, report_id, now)
    return ConvertedOut(report=report_out(detail.row), ticket_id=detail.row.report.ticket)


class ReportApiController(Controller):
    """Triage for machine clients: inspectors, supervisors and admins (reports.triage)."""

    path = "/api/v1/reports"
    guards = [staff_guard]
    tags = ["reports"]

    @get("/", responses=api_errors(403))
    async def index(self, request: Request[Any, Any, Any], now: dt.datetime) -> QueueOut:
        """The triage queue as the page shows it: new reports oldest first (with possible
        duplicates), and the reports a closure in force answered in the last 30 days."""
        queue = await reports.triage_queue(require_actor(request), now)
        return QueueOut(
            new=[report_out(r) for r in queue.new], covered=[report_out(r) for r in queue.covered]
        )

    @get("/{report_id:int}", responses=api_errors(403, 404))
    async def show(
        self, request: Request[Any, Any, Any], report_id: IdParam, now: dt.datetime
    ) -> ReportDetailOut:
        return detail_out(await reports.get_report(require_actor(request), report_id, now))

    @post("/{report_id:int}/convert", responses=api_errors(403, 404, 409))
    async def convert(
        self,
        request: Request[Any, Any, Any],
        report_id: IdParam,
        data: JSONBody[ConvertIn],
        now: dt.datetime,
    ) -> Response[ConvertedOut]:
        """Open a repair ticket from the report (its photos attached, the reporter's e-mail
        kept): 201. Send the report's ``version``; 409 when stale or already decided."""
        actor = require_actor(request)
        settings = request.app.state.settings
        await reports.convert_to_ticket(
            actor,
            report_id,
            data,
            now,
            media_root=settings.media_path,
            max_upload_bytes=settings.max_upload_bytes,
            zone=settings.zone,
        )
        return Response(await _decided(actor, report_id, now), status_code=201)

    @post("/{report_id:int}/merge", status_code=200, responses=api_errors(403, 404, 409))
    async def merge(
        self,
        request: Request[Any, Any, Any],
        report_id: IdParam,
        data: JSONBody[MergeIn],
        now: dt.datetime,
    ) -> ConvertedOut:
        """The report joins an open ticket (``ticket_id``): its photos and text go there.
        400 naming ``ticket_id`` when there is no such open ticket."""
        actor = require_actor(request)
        settings = request.app.state.settings
        await reports.merge_into_ticket(
            actor,
            report_id,
            data,
            now,
            media_root=settings.media_path,
            max_upload_bytes=settings.max_upload_bytes,
            zone=settings.zone,
        )
        return await _decided(actor, report_id, now)

    @post("/{report_id:int}/reject", status_code=200, responses=api_errors(403, 404, 409))
    async def reject(
        self,
        request: Request[Any, Any, Any],
        report_id: IdParam,
        data: JSONBody[AnswerIn],
        now: dt.datetime,
    ) -> ConvertedOut:
        """Close the report without work; the ``reason`` (required) is shown to the public."""
        actor = require_actor(request)
        await reports.reject_report(actor, report_id, data, now)
        return await _decided(actor, report_id, now)

    @post("/{report_id:int}/not-ours", status_code=200, responses=api_errors(403, 404, 409))
    async def not_ours(
        self,
        request: Request[Any, Any, Any],
        report_id: IdParam,
        data: JSONBody[AnswerIn],
        now: dt.datetime,
    ) -> ConvertedOut:
        """Close the report as someone else's responsibility (the ``reason`` may say whose)."""
        actor = require_actor(request)
        await reports.mark_not_ours(actor, report_id, data, now)
        return await _decided(actor, report_id, now)
