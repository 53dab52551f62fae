"""Staff triage pages under /triage: the queue, one report with its decisions (convert to a
ticket, merge, reject, not ours), the report photos, and the Open311 client keys.

Handlers parse, call a service and render; they never query tables.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import File, Redirect, Template

from facilities.accounts.choices import Perm
from facilities.accounts.guards import permission_guard, require_actor
from facilities.accounts.permissions import can
from facilities.errors import Conflict, InvalidTransition, ValidationFailed
from facilities.i18n import gettext as _
from facilities.reports import export
from facilities.reports import services as reports
from facilities.reports.page_context import template_choices
from facilities.reports.schemas import AnswerIn, ConvertIn, KeyCreate, MergeIn
from facilities.tickets.choices import Priority, WorkClass
from facilities.web.auth import staff_guard
from facilities.web.clock import now_of
from facilities.web.forms import parse_form, submit
from facilities.web.params import IdParam, zone_of
from facilities.web.responses import media_file, redirect, render
from facilities.web.spreadsheets import workbook_response

MANAGE_KEYS = [permission_guard(Perm.OPEN311_KEYS)]


class TriageController(Controller):
    """Staff pages: the triage queue and decisions, report photos, Open311 client keys."""

    path = "/triage"
    guards = [staff_guard]
    include_in_schema = False

    @get("/")
    async def index(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        actor = require_actor(request)
        return render(
            request,
            "reports/triage.html",
            queue=await reports.triage_queue(actor, now),
            can_manage_keys=can(actor, Perm.OPEN311_KEYS),
            **template_choices(),
        )

    @get("/export.xlsx")
    async def export_xlsx(
        self, request: Request[Any, Any, Any], now: dt.datetime
    ) -> Response[bytes]:
        """The queue as an Excel workbook."""
        queue = await reports.triage_queue(require_actor(request), now)
        data = await export.xlsx_bytes(queue, zone_of(request))
        return workbook_response(request, data, "reports", now)

    async def _show(
        self,
        request: Request[Any, Any, Any],
        report_id: int,
        status_code: int = 200,
        errors: dict[str, str] | None = None,
        action_error: str = "",
        form: dict[str, Any] | None = None,
    ) -> Template:
        actor = require_actor(request)
        detail = await reports.get_report(actor, report_id, now_of(request))
        return render(
            request,
            "reports/triage_show.html",
            status_code=status_code,
            detail=detail,
            r=detail.row.report,
            errors=errors or {},
            action_error=action_error,
            form=form or {},
            priorities=Priority.options(),
            work_classes=WorkClass.options(),
            **template_choices(),
        )

    @get("/{report_id:int}")
    async def show(self, request: Request[Any, Any, Any], report_id: IdParam) -> Template:
        return await self._show(request, report_id)

    async def _act(
        self, request: Request[Any, Any, Any], report_id: int, struct: type[Any], action: str
    ) -> Any:
        actor = require_actor(request)
        settings = request.app.state.settings
        data, errors, values = await parse_form(request, struct)
        if data is None:
            return await self._show(
                request,
                report_id,
                400,
                errors,
                _("Some of the values sent are not valid."),
                values,
            )
        now = now_of(request)
        files = {"media_root": settings.media_path, "max_upload_bytes": settings.max_upload_bytes}
        try:
            if action == "convert":
                ticket = await reports.convert_to_ticket(
                    actor, report_id, data, now, zone=settings.zone, **files
                )
                return redirect(
                    f"/tickets/{ticket.id}",
                    _("Ticket #%(id)s opened from report No. %(report)s.")
                    % {"id": ticket.id, "report": report_id},
                )
            if action == "merge":
                ticket = await reports.merge_into_ticket(
                    actor, report_id, data, now, zone=settings.zone, **files
                )
                message = _("Report No. %(report)s merged into ticket #%(id)s.") % {
                    "id": ticket.id,
                    "report": report_id,
                }
            elif action == "reject":
                await reports.reject_report(actor, report_id, data, now)
                message = _("Report No. %(report)s rejected.") % {"report": report_id}
            else:
                await reports.mark_not_ours(actor, report_id, data, now)
                message = _("Report No. %(report)s marked not our responsibility.") % {
                    "report": report_id
                }
        except ValidationFailed as exc:
            return await self._show(
                request, report_id, 400, exc.errors, next(iter(exc.errors.values())), values
            )
        except (Conflict, InvalidTransition) as exc:
            return await self._show(request, report_id, 409, {}, exc.detail, values)
        return redirect("/triage", message)

    @post("/{report_id:int}/convert")
    async def convert(self, request: Request[Any, Any, Any], report_id: IdParam) -> Any:
        return await self._act(request, report_id, ConvertIn, "convert")

    @post("/{report_id:int}/merge")
    async def merge(self, request: Request[Any, Any, Any], report_id: IdParam) -> Any:
        return await self._act(request, report_id, MergeIn, "merge")

    @post("/{report_id:int}/reject")
    async def reject(self, request: Request[Any, Any, Any], report_id: IdParam) -> Any:
        return await self._act(request, report_id, AnswerIn, "reject")

    @post("/{report_id:int}/not-ours")
    async def not_ours(self, request: Request[Any, Any, Any], report_id: IdParam) -> Any:
        return await self._act(request, report_id, AnswerIn, "not_ours")

    @get("/photos/{photo_id:int}")
    async def photo(self, request: Request[Any, Any, Any], photo_id: IdParam) -> File:
        return media_file(request, await reports.get_photo(require_actor(request), photo_id), False)

    @get("/photos/{photo_id:int}/thumbnail")
    async def thumbnail(self, request: Request[Any, Any, Any], photo_id: IdParam) -> File:
        return media_file(request, await reports.get_photo(require_actor(request), photo_id), True)

    @get("/api-keys", guards=MANAGE_KEYS)
    async def keys(self, request: Request[Any, Any, Any]) -> Template:
        return await self._keys(request, None, {}, {}, 200)

    async def _keys(
        self,
        request: Request[Any, Any, Any],
        new_key: str | None,
        form: dict[str, Any],
        errors: dict[str, str],
        status_code: int,
    ) -> Template:
        response = render(
            request,
            "reports/api_keys.html",
            status_code=status_code,
            keys=await reports.list_keys(require_actor(request)),
            new_key=new_key,
            form=form,
            errors=errors,
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    @post("/api-keys", guards=MANAGE_KEYS)
    async def create_key(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        actor = require_actor(request)
        form = await submit(request, KeyCreate, lambda data: reports.create_key(actor, data, now))
        if not form.ok:
            return await self._keys(request, None, form.values, form.errors, form.status_code)
        return await self._keys(request, form.result, {}, {}, 201)

    @post("/api-keys/{key_id:int}/revoke", guards=MANAGE_KEYS)
    async def revoke_key(
        self, request: Request[Any, Any, Any], key_id: IdParam, now: dt.datetime
    ) -> Redirect:
        await reports.revoke_key(require_actor(request), key_id, now)
        return redirect("/triage/api-keys", _("Key revoked."))
