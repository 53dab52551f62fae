"""Repair ticket pages for staff: the list, dashboard, SLA policy, and one
ticket's form, actions, comments and files. The JSON API is in :mod:`facilities.tickets.api`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.response import File, Stream, Template

from facilities.accounts import saved_filters
from facilities.accounts import services as accounts
from facilities.accounts.choices import Perm
from facilities.accounts.guards import require_actor
from facilities.accounts.permissions import Actor, can, require
from facilities.assets import services as assets
from facilities.errors import Conflict, InvalidTransition, ValidationFailed
from facilities.i18n import gettext as _
from facilities.lib.forms import parse_fields
from facilities.tickets import bulk_pages
from facilities.tickets import services as tickets
from facilities.tickets.choices import (
    CLOSING_REASONS_FROM,
    PhotoTag,
    Priority,
    Status,
)
from facilities.tickets.export import csv_lines, xlsx_bytes
from facilities.tickets.money_context import contractor_form_context, money_context
from facilities.tickets.schemas import (
    AttachmentMeta,
    CommentIn,
    TicketFilters,
    TicketIn,
    TransitionIn,
)
from facilities.web.auth import staff_guard
from facilities.web.clock import now_of
from facilities.web.forms import form_values, parse_form, submit
from facilities.web.params import IdParam
from facilities.web.responses import attachment, media_file, redirect, render
from facilities.web.spreadsheets import workbook_response


def _filters(request: Request[Any, Any, Any], **overrides: Any) -> TicketFilters:
    query = {k: v for k, v in request.query_params.items()}
    query.update({k: str(v) for k, v in overrides.items()})
    filters, errors = parse_fields(TicketFilters, query, checkboxes_absent_false=True)
    if filters is None:
        raise ValidationFailed(
            errors, _("Some filters are not valid: %(fields)s") % {"fields": ", ".join(errors)}
        )
    if "status" in query and not query["status"].strip():
        # "Any status" is sent as an empty value; an absent one means the default (open).
        filters = msgspec.structs.replace(filters, status="")
    return filters


async def _asset_options(actor: Actor) -> list[tuple[int, str]]:
    rows = await assets.all_asset_choices(actor)
    return [(r["id"], f"{r['code']} {r['name_zh']}") for r in rows]


async def _form_context(actor: Actor, form: dict[str, Any]) -> dict[str, Any]:
    asset_id = form.get("asset_id")
    components = []
    if asset_id and str(asset_id).isdigit():
        try:
            components = await assets.list_components(actor, int(asset_id))
        except Exception:  # an unknown asset: the form error will say so
            components = []
    return {
        "asset_options": await _asset_options(actor),
        "staff_options": await accounts.staff_options(able_to=Perm.TICKETS_WORK),
        "components": components,
        **await contractor_form_context(form),
    }


async def show_page(
    request: Request[Any, Any, Any], ticket_id: int, status_code: int = 200, **extra: Any
) -> Template:
    """One ticket's page; a form on it that is refused re-renders it with ``errors`` (the
    ticket's own forms here, its cost lines and work order in :mod:`.money_pages`)."""
    actor = require_actor(request)
    now = now_of(request)
    view = await tickets.get_ticket(
        actor,
        ticket_id,
        now,
        separate_acceptance=request.app.state.settings.separate_acceptance,
    )
    extra.setdefault("errors", {})
    extra.setdefault("action_error", "")
    extra.setdefault("money_error", "")
    can_edit = can(actor, Perm.TICKETS_EDIT) and view.ticket.status not in {
        Status.CLOSED,
        Status.REJECTED,
        Status.DUPLICATE,
        Status.CANCELLED,
    }
    return render(
        request,
        "tickets/show.html",
        status_code=status_code,
        view=view,
        t=view.ticket,
        timeline=await tickets.timeline(actor, ticket_id),
        attachments=await tickets.list_attachments(actor, ticket_id),
        closing_reasons=sorted(CLOSING_REASONS_FROM.get(Status(view.ticket.status), [])),
        can_edit=can_edit,
        can_work=can(actor, Perm.TICKETS_WORK),
        now=now,
        **await money_context(actor, view.ticket),
        **extra,
    )


def _query_without(request: Request[Any, Any, Any], *names: str) -> str:
    from urllib.parse import urlencode

    kept = [(k, v) for k, v in request.query_params.items() if k not in names]
    return urlencode(kept)


class TicketController(Controller):
    path = "/tickets"
    guards = [staff_guard]
    include_in_schema = False

    @get("/")
    async def index(self, request: Request[Any, Any, Any]) -> Template:
        return await self._list(request, "tickets/index.html", _filters(request))

    @get("/mine")
    async def mine(self, request: Request[Any, Any, Any]) -> Template:
        actor = require_actor(request)
        return await self._list(
            request,
            "tickets/index.html",
            _filters(request, assignee=actor.id or 0, sort="due"),
            mine=True,
        )

    async def _list(
        self,
        request: Request[Any, Any, Any],
        template: str,
        filters: TicketFilters,
        mine: bool = False,
    ) -> Template:
        actor = require_actor(request)
        now = now_of(request)
        page = await tickets.list_tickets(actor, filters, now)
        return render(
            request,
            template,
            page=page,
            filters=filters,
            mine=mine,
            now=now,
            sites=await assets.list_sites(actor),
            staff_options=await accounts.staff_options(),
            query=_query_without(request, "after"),
            can_create=can(actor, Perm.TICKETS_CREATE),
            saved_filters=await saved_filters.on_list(actor, "mine" if mine else "tickets"),
            **await bulk_pages.list_choices(actor),
        )

    @get("/export.csv")
    async def export(self, request: Request[Any, Any, Any], now: dt.datetime) -> Stream:
        actor = require(require_actor(request), Perm.TICKETS_VIEW)
        filters = msgspec.structs.replace(_filters(request), after="")
        tickets.check_filters(filters, now)  # a 400 now, not a broken download later
        return Stream(
            csv_lines(tickets.iter_tickets(actor, filters, now)),
            media_type="text/csv",  # Litestar adds the charset to every text/* type
            headers={"Content-Disposition": attachment(request, "tickets", "csv", now)},
        )

    @get("/export.xlsx")
    async def export_xlsx(
        self, request: Request[Any, Any, Any], now: dt.datetime
    ) -> Response[bytes]:
        actor = require(require_actor(request), Perm.TICKETS_VIEW)
        filters = msgspec.structs.replace(_filters(request), after="")
        tickets.check_filters(filters, now)
        zone = request.app.state.settings.zone
        data = await xlsx_bytes(tickets.iter_tickets(actor, filters, now), zone)
        return workbook_response(request, data, "tickets", now)

    @get("/dashboard")
    async def dashboard(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        actor = require_actor(request)
        return render(request, "tickets/dashboard.html", stats=await tickets.dashboard(actor, now))

    @get("/sla")
    async def sla(self, request: Request[Any, Any, Any]) -> Template:
        actor = require_actor(request)
        return render(
            request,
            "tickets/sla.html",
            hours=await tickets.sla_hours(),
            errors={},
            can_edit=can(actor, Perm.SLA_EDIT),
        )

    @post("/sla")
    async def update_sla(self, request: Request[Any, Any, Any], now: dt.datetime) -> Any:
        actor = require(require_actor(request), Perm.SLA_EDIT)
        values = await form_values(request)
        errors: dict[str, str] = {}
        parsed: dict[Priority, int] = {}
        for priority in Priority:
            raw = values.get(priority.value, "").strip()
            # isdecimal, not isdigit: "²" is a digit that int() refuses
            if not raw.isdecimal() or not 1 <= int(raw) <= 24 * 366:
                errors[priority.value] = _("Enter a number from 1 to 8784.")
            else:
                parsed[priority] = int(raw)
        if errors:
            return render(
                request,
                "tickets/sla.html",
                status_code=400,
                hours=values,
                errors=errors,
                can_edit=True,
            )
        current = await tickets.sla_hours()
        for priority, hours in parsed.items():
            if current[priority] != hours:
                await tickets.set_sla_hours(actor, priority, hours, now)
        return redirect("/tickets/sla", _("The SLA policy was saved."))

    @get("/new")
    async def new(self, request: Request[Any, Any, Any]) -> Template:
        actor = require(require_actor(request), Perm.TICKETS_CREATE)
        form = {"asset_id": request.query_params.get("asset", ""), "priority": Priority.P2}
        return render(
            request, "tickets/new.html", form=form, errors={}, **await _form_context(actor, form)
        )

    @post("/")
    async def create(self, request: Request[Any, Any, Any], now: dt.datetime) -> Any:
        actor = require(require_actor(request), Perm.TICKETS_CREATE)
        form = await submit(request, TicketIn, lambda data: tickets.open_ticket(actor, data, now))
        if form.ok and form.result is not None:
            ticket = form.result
            return redirect(
                f"/tickets/{ticket.id}", _("Ticket #%(id)s opened.") % {"id": ticket.id}
            )
        return render(
            request,
            "tickets/new.html",
            status_code=form.status_code,
            form=form.values,
            errors=form.errors,
            **await _form_context(actor, form.values),
        )

    @get("/{ticket_id:int}")
    async def show(self, request: Request[Any, Any, Any], ticket_id: IdParam) -> Template:
        return await self._show(request, ticket_id)

    async def _show(
        self, request: Request[Any, Any, Any], ticket_id: int, status_code: int = 200, **extra: Any
    ) -> Template:
        return await show_page(request, ticket_id, status_code, **extra)

    @get("/{ticket_id:int}/edit")
    async def edit(
        self, request: Request[Any, Any, Any], ticket_id: IdParam, now: dt.datetime
    ) -> Template:
        actor = require(require_actor(request), Perm.TICKETS_EDIT)
        view = await tickets.get_ticket(actor, ticket_id, now)
        form = {k: ("" if v is None else v) for k, v in tickets.snapshot(view.ticket).items()}
        form["version"] = view.ticket.version
        return render(
            request,
            "tickets/edit.html",
            t=view.ticket,
            form=form,
            errors={},
            conflict=False,
            **await _form_context(actor, form),
        )

    @post("/{ticket_id:int}")
    async def update(
        self, request: Request[Any, Any, Any], ticket_id: IdParam, now: dt.datetime
    ) -> Any:
        actor = require(require_actor(request), Perm.TICKETS_EDIT)
        view = await tickets.get_ticket(actor, ticket_id, now)
        form = await submit(
            request, TicketIn, lambda data: tickets.update_ticket(actor, ticket_id, data, now)
        )
        if form.ok:
            return redirect(f"/tickets/{ticket_id}", _("Changes saved."))
        if form.conflict:
            fresh = await tickets.get_ticket(actor, ticket_id, now)
            form.values["version"] = str(fresh.ticket.version)
        return render(
            request,
            "tickets/edit.html",
            status_code=form.status_code,
            t=view.ticket,
            form=form.values,
            errors=form.errors,
            conflict=form.conflict,
            **await _form_context(actor, form.values),
        )

    @post("/{ticket_id:int}/transitions")
    async def transition(
        self, request: Request[Any, Any, Any], ticket_id: IdParam, now: dt.datetime
    ) -> Any:
        actor = require_actor(request)
        data, errors, _values = await parse_form(request, TransitionIn)
        if data is None:
            return await self._show(
                request,
                ticket_id,
                400,
                errors=errors,
                action_error=_("Some of the values sent are not valid."),
            )
        try:
            await tickets.transition(
                actor,
                ticket_id,
                data,
                now,
                separate_acceptance=request.app.state.settings.separate_acceptance,
            )
        except ValidationFailed as exc:
            return await self._show(
                request,
                ticket_id,
                400,
                errors=exc.errors,
                action_error=next(iter(exc.errors.values())),
            )
        except (Conflict, InvalidTransition) as exc:
            return await self._show(request, ticket_id, 409, action_error=exc.detail)
        return redirect(
            f"/tickets/{ticket_id}", _("Done: %(action)s.") % {"action": data.action.label}
        )

    @post("/{ticket_id:int}/take")
    async def take(
        self, request: Request[Any, Any, Any], ticket_id: IdParam, now: dt.datetime
    ) -> Any:
        """Take it: assign an unassigned ticket to oneself (409 when someone was quicker)."""
        actor = require_actor(request)
        try:
            await tickets.take_ticket(actor, ticket_id, now)
        except (Conflict, InvalidTransition) as exc:
            return await self._show(request, ticket_id, 409, action_error=exc.detail)
        return redirect(f"/tickets/{ticket_id}", _("The ticket is yours now."))

    @post("/{ticket_id:int}/comments")
    async def comment(
        self, request: Request[Any, Any, Any], ticket_id: IdParam, now: dt.datetime
    ) -> Any:
        actor = require_actor(request)
        data, errors, _values = await parse_form(request, CommentIn)
        if data is None:
            return await self._show(request, ticket_id, 400, errors=errors)
        await tickets.add_comment(actor, ticket_id, data, now)
        return redirect(f"/tickets/{ticket_id}#timeline", _("Comment added."))

    @post("/{ticket_id:int}/attachments")
    async def attach(
        self, request: Request[Any, Any, Any], ticket_id: IdParam, now: dt.datetime
    ) -> Any:
        actor = require_actor(request)
        settings = request.app.state.settings
        form = await request.form()
        upload = form.get("file")
        meta, errors = parse_fields(
            AttachmentMeta,
            {"tag": str(form.get("tag", PhotoTag.DURING)), "caption": str(form.get("caption", ""))},
        )
        if meta is None or upload is None or isinstance(upload, str):
            errors = errors or {"file": _("Choose a file to upload.")}
            return await self._show(request, ticket_id, 400, errors=errors)
        try:
            await tickets.add_attachment(
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
        except ValidationFailed as exc:
            return await self._show(request, ticket_id, 400, errors=exc.errors)
        return redirect(f"/tickets/{ticket_id}#photos", _("File added."))

    @get("/attachments/{attachment_id:int}")
    async def attachment(self, request: Request[Any, Any, Any], attachment_id: IdParam) -> File:
        return media_file(
            request,
            await tickets.get_attachment(require_actor(request), attachment_id),
            thumbnail=False,
        )

    @get("/attachments/{attachment_id:int}/thumbnail")
    async def thumbnail(self, request: Request[Any, Any, Any], attachment_id: IdParam) -> File:
        return media_file(
            request,
            await tickets.get_attachment(require_actor(request), attachment_id),
            thumbnail=True,
        )
