"""The repair tickets JSON API under /api/v1/tickets: the same services and errors as the
pages (:mod:`facilities.tickets.pages`), for browser and machine clients.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Request, get, post, put
from litestar.params import JSONBody, QueryParameter
from litestar.response import Response

from facilities.accounts.guards import require_actor
from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _
from facilities.lib.forms import parse_fields
from facilities.tickets import services as tickets
from facilities.tickets.choices import (
    ClosingReason,
    PhotoTag,
    Priority,
    Source,
    Status,
    WorkClass,
)
from facilities.tickets.schemas import (
    AttachmentMeta,
    AttachmentOut,
    CommentIn,
    CommentOut,
    TicketFilters,
    TicketIn,
    TicketListOut,
    TicketOut,
    TransitionIn,
)
from facilities.web.auth import staff_guard
from facilities.web.errors import api_errors
from facilities.web.params import IdParam


def ticket_out(view: tickets.TicketView) -> TicketOut:
    t = view.ticket
    return TicketOut(
        id=t.id,
        asset_id=t.asset,
        asset_code=view.asset_code,
        asset_name_zh=view.asset_name_zh,
        component_id=t.component,
        title=t.title,
        description=t.description,
        source=Source(t.source),
        work_class=WorkClass(t.work_class),
        priority=Priority(t.priority),
        status=Status(t.status),
        sla_due_at=t.sla_due_at,
        is_overdue=view.is_overdue,
        assignee_id=t.assignee,
        assignee_team=t.assignee_team,
        contractor_id=t.contractor_id,
        contractor=t.contractor,
        contractor_contact=t.contractor_contact,
        scope=t.scope,
        planned_start_on=t.planned_start_on,
        planned_end_on=t.planned_end_on,
        actual_start_at=t.actual_start_at,
        actual_end_at=t.actual_end_at,
        cost_estimate=tickets.money(t.cost_estimate),
        cost_actual=tickets.money(t.cost_actual),
        status_note=t.status_note,
        closing_reason=ClosingReason(t.closing_reason) if t.closing_reason else None,
        duplicate_of=t.duplicate_of,
        created_at=t.created_at,
        updated_at=t.updated_at,
        closed_at=t.closed_at,
        version=t.version,
        allowed_actions=list(view.actions),
    )


def attachment_out(row: Any) -> AttachmentOut:
    return AttachmentOut(
        id=row.id,
        tag=row.tag,
        filename=row.filename,
        content_type=row.content_type,
        size=row.size,
        caption=row.caption,
        created_at=row.created_at,
        url=f"/tickets/attachments/{row.id}",
        thumbnail_url=f"/tickets/attachments/{row.id}/thumbnail" if row.thumbnail_key else None,
    )


class TicketApiController(Controller):
    path = "/api/v1/tickets"
    guards = [staff_guard]
    tags = ["tickets"]

    @get("/", responses=api_errors())
    async def index(
        self,
        request: Request[Any, Any, Any],
        q: Annotated[str, QueryParameter(name="q", max_length=100)] = "",
        status: Annotated[str, QueryParameter(name="status", max_length=20)] = "open",
        priority: Annotated[Priority | None, QueryParameter(name="priority")] = None,
        asset: Annotated[int | None, QueryParameter(name="asset", ge=1, le=2_147_483_647)] = None,
        site: Annotated[int | None, QueryParameter(name="site", ge=1, le=2_147_483_647)] = None,
        assignee: Annotated[
            int | None, QueryParameter(name="assignee", ge=1, le=2_147_483_647)
        ] = None,
        source: Annotated[Source | None, QueryParameter(name="source")] = None,
        overdue: Annotated[bool, QueryParameter(name="overdue")] = False,
        sort: Annotated[
            str, QueryParameter(name="sort", pattern=r"^(-created|due|priority|-updated)$")
        ] = "-created",
        after: Annotated[str, QueryParameter(name="after", max_length=200)] = "",
        per_page: Annotated[int, QueryParameter(name="per_page", ge=1, le=200)] = 50,
        *,
        now: dt.datetime,
    ) -> TicketListOut:
        """Tickets, newest first by default; follow ``next_cursor`` with ``after=``."""
        filters = TicketFilters(
            q=q,
            status=status,
            priority=priority,
            asset=asset,
            site=site,
            assignee=assignee,
            source=source,
            overdue=overdue,
            sort=sort,
            after=after,
            per_page=per_page,
        )
        page = await tickets.list_tickets(require_actor(request), filters, now)
        return TicketListOut(
            items=[ticket_out(v) for v in page.items], next_cursor=page.next_cursor
        )

    @post("/", responses=api_errors(403))
    async def create(
        self, request: Request[Any, Any, Any], data: JSONBody[TicketIn], now: dt.datetime
    ) -> Response[TicketOut]:
        actor = require_actor(request)
        ticket = await tickets.open_ticket(actor, data, now)
        view = await tickets.get_ticket(actor, ticket.id, now)
        return Response(ticket_out(view), status_code=201)

    @get("/{ticket_id:int}", responses=api_errors(404))
    async def show(
        self, request: Request[Any, Any, Any], ticket_id: IdParam, now: dt.datetime
    ) -> TicketOut:
        return ticket_out(
            await tickets.get_ticket(
                require_actor(request),
                ticket_id,
                now,
                separate_acceptance=request.app.state.settings.separate_acceptance,
            )
        )

    @put("/{ticket_id:int}", responses=api_errors(403, 404, 409))
    async def update(
        self,
        request: Request[Any, Any, Any],
        ticket_id: IdParam,
        data: JSONBody[TicketIn],
        now: dt.datetime,
    ) -> TicketOut:
        """Replace the editable fields; send the ``version`` you read (409 when stale)."""
        actor = require_actor(request)
        await tickets.update_ticket(actor, ticket_id, data, now)
        return ticket_out(await tickets.get_ticket(actor, ticket_id, now))

    @post("/{ticket_id:int}/transitions", status_code=200, responses=api_errors(403, 404, 409))
    async def transition(
        self,
        request: Request[Any, Any, Any],
        ticket_id: IdParam,
        data: JSONBody[TransitionIn],
        now: dt.datetime,
    ) -> TicketOut:
        """Apply a lifecycle action. 409: not allowed from the current status, or stale
        version; 403: the role may not, the ticket is assigned to someone else (or nobody:
        take it first), or the actor would accept work they completed; 400: data missing."""
        actor = require_actor(request)
        separate = request.app.state.settings.separate_acceptance
        await tickets.transition(actor, ticket_id, data, now, separate_acceptance=separate)
        return ticket_out(
            await tickets.get_ticket(actor, ticket_id, now, separate_acceptance=separate)
        )

    @post("/{ticket_id:int}/take", status_code=200, responses=api_errors(403, 404, 409))
    async def take(
        self, request: Request[Any, Any, Any], ticket_id: IdParam, now: dt.datetime
    ) -> TicketOut:
        """Take an unassigned ticket: it is assigned to you. 409: someone has it already (of
        two taking it at once exactly one gets it); 403: only repair crew take tickets."""
        actor = require_actor(request)
        await tickets.take_ticket(actor, ticket_id, now)
        return ticket_out(await tickets.get_ticket(actor, ticket_id, now))

    @get("/{ticket_id:int}/comments", responses=api_errors(404))
    async def comments(
        self, request: Request[Any, Any, Any], ticket_id: IdParam, now: dt.datetime
    ) -> list[CommentOut]:
        actor = require_actor(request)
        await tickets.get_ticket(actor, ticket_id, now)
        return [
            CommentOut(
                id=c["id"],
                author=c["author"] or "",
                body=c["body"],
                is_public=c["is_public"],
                created_at=c["created_at"],
            )
            for c in await tickets.list_comments(actor, ticket_id)
        ]

    @post("/{ticket_id:int}/comments", responses=api_errors(403, 404))
    async def add_comment(
        self,
        request: Request[Any, Any, Any],
        ticket_id: IdParam,
        data: JSONBody[CommentIn],
        now: dt.datetime,
    ) -> Response[dict[str, int]]:
        comment_id = await tickets.add_comment(require_actor(request), ticket_id, data, now)
        return Response({"id": comment_id}, status_code=201)

    @get("/{ticket_id:int}/attachments", responses=api_errors(404))
    async def attachments(
        self, request: Request[Any, Any, Any], ticket_id: IdParam, now: dt.datetime
    ) -> list[AttachmentOut]:
        actor = require_actor(request)
        await tickets.get_ticket(actor, ticket_id, now)
        return [attachment_out(a) for a in await tickets.list_attachments(actor, ticket_id)]

    @post("/{ticket_id:int}/attachments", responses=api_errors(403, 404, 413))
    async def add_attachment(
        self, request: Request[Any, Any, Any], ticket_id: IdParam, now: dt.datetime
    ) -> Response[AttachmentOut]:
        """Multipart form: ``file`` (JPEG, PNG, WebP or PDF), ``tag`` (before, during, after,
        document), ``caption``."""
        actor = require_actor(request)
        settings = request.app.state.settings
        form = await request.form()
        upload = form.get("file")
        meta, errors = parse_fields(
            AttachmentMeta,
            {"tag": str(form.get("tag", PhotoTag.DURING)), "caption": str(form.get("caption", ""))},
        )
        if meta is None or upload is None or isinstance(upload, str):
            raise ValidationFailed(errors or {"file": _("Choose a file to upload.")})
        row = await tickets.add_attachment(
            actor,
            ticket_id,
            await upload.read(),
            upload.filename or "",
            meta.tag,
            meta.caption,
            settings.media_path,
            settings.max_upload_bytes,
            now,
            max_pixels=settings.max_image_pixels,
        )
        return Response(attachment_out(row), status_code=201)
