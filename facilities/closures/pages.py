"""The staff's closure pages (HTML under /closures): the list, the closure page with its linked
tickets, timeline and history, and the forms to plan, edit, extend, cancel and lift (each text
that goes public previewed first). Each handler parses, calls a service and renders or
redirects; drafts and proposals are :mod:`facilities.closures.decision_pages`, the JSON API over
the same services :mod:`facilities.closures.api`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Template

from facilities.accounts.choices import Perm
from facilities.accounts.guards import require_actor
from facilities.accounts.permissions import Actor, can, require
from facilities.closures import export
from facilities.closures import services as closures
from facilities.closures.choices import IN_FORCE, SafetyMeasure
from facilities.closures.forms import (
    asset_options,
    closure_form,
    digest,
    field_error_of,
    local_input,
    previewing,
    read_closure_form,
)
from facilities.closures.labels import STATUS_TONES, closure_action_label
from facilities.closures.params import OPEN, statuses
from facilities.closures.public import previews
from facilities.closures.schemas import (
    CancelIn,
    ExtendIn,
    LiftForm,
    LinkTicketIn,
    NoticeIn,
    SignOffIn,
)
from facilities.errors import Conflict, InvalidTransition, ValidationFailed
from facilities.i18n import gettext as _
from facilities.lib.forms import parse_fields
from facilities.web.auth import staff_guard
from facilities.web.forms import form_values, parse_form, submit
from facilities.web.params import IdParam, zone_of
from facilities.web.responses import redirect, render
from facilities.web.spreadsheets import workbook_response


class ClosureController(Controller):
    path = "/closures"
    guards = [staff_guard]
    include_in_schema = False

    @get("/")
    async def index(self, request: Request[Any, Any, Any]) -> Template:
        actor = require_actor(request)
        status = request.query_params.get("status", "open")
        rows = await closures.list_closures(actor, statuses(status))
        return render(
            request,
            "closures/index.html",
            rows=rows,
            status=status,
            tones=STATUS_TONES,
            proposals=await closures.list_proposals(actor),
            drafts=len(await closures.list_drafts(actor)),
            can_edit=can(actor, Perm.CLOSURES_EDIT),
            can_publish=can(actor, Perm.NOTICES_PUBLISH),
            query=request.url.query,
        )

    @get("/export.xlsx")
    async def export_xlsx(
        self, request: Request[Any, Any, Any], now: dt.datetime
    ) -> Response[bytes]:
        """The list as its status filter shows it, as an Excel workbook."""
        actor = require_actor(request)
        rows = await closures.list_closures(
            actor, statuses(request.query_params.get("status", "open"))
        )
        data = await export.xlsx_bytes(rows, zone_of(request))
        return workbook_response(request, data, "closures", now)

    # --- create and edit -----------------------------------------------------------------

    @get("/new")
    async def new(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        actor = require(require_actor(request), Perm.CLOSURES_EDIT)
        form: dict[str, Any] = {
            "asset_id": request.query_params.get("asset", ""),
            "effective_from": local_input(now, zone_of(request)),
            "safety_measures": [SafetyMeasure.FENCING.value, SafetyMeasure.WARNING_SIGNS.value],
        }
        return await self._form_page(request, actor, "closures/new.html", form, {})

    async def _form_page(
        self,
        request: Request[Any, Any, Any],
        actor: Actor,
        template: str,
        form: dict[str, Any],
        errors: dict[str, str],
        status_code: int = 200,
        **extra: Any,
    ) -> Template:
        return render(
            request,
            template,
            status_code=status_code,
            form=form,
            errors=errors,
            asset_options=await asset_options(actor),
            **extra,
        )

    @post("/")
    async def create(self, request: Request[Any, Any, Any], now: dt.datetime) -> Any:
        actor = require(require_actor(request), Perm.CLOSURES_EDIT)
        data, errors, values = await read_closure_form(request)
        if data is not None:
            try:
                if previewing(values):
                    await closures.check_closure(actor, data, now)
                    return await self._form_page(
                        request,
                        actor,
                        "closures/new.html",
                        values,
                        {},
                        preview=await previews.of_new(data, now),
                        previewed=digest(values),
                        now=now,
                    )
                closure = await closures.create_closure(actor, data, now)
            except ValidationFailed as exc:
                errors = exc.errors
            else:
                return redirect(
                    f"/closures/{closure.id}", _("Closure #%(id)s saved.") % {"id": closure.id}
                )
        return await self._form_page(
            request, actor, "closures/new.html", values, errors, status_code=400
        )

    @get("/{closure_id:int}/edit")
    async def edit(self, request: Request[Any, Any, Any], closure_id: IdParam) -> Template:
        actor = require(require_actor(request), Perm.CLOSURES_EDIT)
        view = await closures.closure_view(actor, closure_id)
        if view.closure.status not in OPEN:
            raise InvalidTransition(_("A lifted or cancelled closure cannot be edited."))
        form = closure_form(view.closure, zone_of(request), view.measures)
        return await self._form_page(
            request,
            actor,
            "closures/edit.html",
            form,
            {},
            view=view,
            c=view.closure,
            conflict=False,
        )

    @post("/{closure_id:int}")
    async def update(
        self, request: Request[Any, Any, Any], closure_id: IdParam, now: dt.datetime
    ) -> Any:
        actor = require(require_actor(request), Perm.CLOSURES_EDIT)
        view = await closures.closure_view(actor, closure_id)
        data, errors, values = await read_closure_form(request)
        conflict = False
        preview = None
        if data is not None:
            try:
                if previewing(values):
                    await closures.check_closure(actor, data, now, closure_id)
                    preview = await previews.of_edit(closure_id, data, now)
                else:
                    await closures.update_closure(actor, closure_id, data, now)
            except ValidationFailed as exc:
                errors = exc.errors
            except Conflict:
                conflict = True
                view = await closures.closure_view(actor, closure_id)
                values["version"] = view.closure.version
            else:
                if preview is None:
                    return redirect(f"/closures/{closure_id}", _("Changes saved."))
        return await self._form_page(
            request,
            actor,
            "closures/edit.html",
            values,
            errors,
            status_code=200 if preview else 409 if conflict else 400,
            view=view,
            c=view.closure,
            conflict=conflict,
            preview=preview,
            previewed=digest(values),
            now=now,
        )

    # --- the closure page ----------------------------------------------------------------

    @get("/{closure_id:int}")
    async def show(self, request: Request[Any, Any, Any], closure_id: IdParam) -> Template:
        return await self._show(request, closure_id)

    async def _show(
        self,
        request: Request[Any, Any, Any],
        closure_id: int,
        status_code: int = 200,
        **extra: Any,
    ) -> Template:
        actor = require_actor(request)
        view = await closures.closure_view(actor, closure_id)
        extra.setdefault("errors", {})
        extra.setdefault("action_error", "")
        extra.setdefault("link_form", {})
        extra.setdefault("update_form", {"publish": True})
        in_force = view.closure.status in IN_FORCE
        return render(
            request,
            "closures/show.html",
            status_code=status_code,
            view=view,
            c=view.closure,
            tones=STATUS_TONES,
            updates=await closures.list_updates(closure_id, published_only=False),
            linkable=await closures.linkable_tickets(actor, view.closure),
            history=await closures.history(actor, closure_id),
            action_label=closure_action_label,
            can_edit=can(actor, Perm.CLOSURES_EDIT) and view.closure.status in OPEN,
            can_extend=can(actor, Perm.CLOSURES_EDIT) and in_force,
            can_lift=can(actor, Perm.CLOSURES_EDIT) and in_force,
            can_sign_off=can(actor, Perm.CLOSURES_SIGN_OFF)
            and in_force
            and view.closure.signed_off_at is None,
            can_publish=can(actor, Perm.NOTICES_PUBLISH),
            **extra,
        )

    @post("/{closure_id:int}/sign-off")
    async def sign_off(
        self, request: Request[Any, Any, Any], closure_id: IdParam, now: dt.datetime
    ) -> Any:
        actor = require_actor(request)
        data, errors, _values = await parse_form(request, SignOffIn)
        if data is None:
            return await self._show(
                request, closure_id, 400, errors=errors, action_error=field_error_of(errors)
            )
        try:
            await closures.sign_off(actor, closure_id, data.version, now)
        except (Conflict, InvalidTransition) as exc:
            return await self._show(request, closure_id, 409, action_error=exc.detail)
        return redirect(f"/closures/{closure_id}", _("Signed off."))

    @post("/{closure_id:int}/tickets")
    async def link_ticket(
        self, request: Request[Any, Any, Any], closure_id: IdParam, now: dt.datetime
    ) -> Any:
        actor = require_actor(request)
        try:
            form = await submit(
                request,
                LinkTicketIn,
                lambda data: closures.link_ticket(actor, closure_id, data, now),
            )
        except InvalidTransition as exc:
            return await self._show(request, closure_id, 409, action_error=exc.detail)
        if form.ok:
            return redirect(f"/closures/{closure_id}#tickets", _("Ticket linked."))
        return await self._show(
            request, closure_id, form.status_code, errors=form.errors, link_form=form.values
        )

    @post("/{closure_id:int}/tickets/{ticket_id:int}/unlink")
    async def unlink_ticket(
        self,
        request: Request[Any, Any, Any],
        closure_id: IdParam,
        ticket_id: IdParam,
        now: dt.datetime,
    ) -> Any:
        actor = require_actor(request)
        try:
            await closures.unlink_ticket(actor, closure_id, ticket_id, now)
        except InvalidTransition as exc:
            return await self._show(request, closure_id, 409, action_error=exc.detail)
        return redirect(f"/closures/{closure_id}#tickets", _("Ticket unlinked."))

    @post("/{closure_id:int}/updates")
    async def write_update(
        self, request: Request[Any, Any, Any], closure_id: IdParam, now: dt.datetime
    ) -> Any:
        actor = require_actor(request)
        values = await form_values(request)
        if previewing(values, values.get("publish") in {"true", "on", "1"}):
            # Published at once: show staff the entry as citizens will read it first.
            require(actor, Perm.NOTICES_PUBLISH)
            data, errors = parse_fields(NoticeIn, values)
            if data is not None:
                await closures.get_closure(actor, closure_id)
            typed_form: dict[str, Any] = {**values, "publish": True}
            return await self._show(
                request,
                closure_id,
                400 if data is None else 200,
                errors=errors,
                update_form=typed_form,
                update_preview=data is not None,
                previewed=digest(values),
            )
        try:
            form = await submit(
                request,
                NoticeIn,
                lambda data: closures.write_update(actor, closure_id, data, now),
            )
        except InvalidTransition as exc:
            return await self._show(request, closure_id, 409, action_error=exc.detail)
        if form.ok:
            assert form.data is not None and form.result is not None
            message = _("Update published.") if form.data.publish else _("Draft saved.")
            return redirect(f"/closures/{closure_id}#updates-{form.result.id}", message)
        values = form.values
        typed: dict[str, Any] = {**values, "publish": values.get("publish") in {"true", "on", "1"}}
        return await self._show(
            request, closure_id, form.status_code, errors=form.errors, update_form=typed
        )

    # --- extend, cancel, lift ------------------------------------------------------------

    async def _step_page(
        self,
        request: Request[Any, Any, Any],
        closure_id: int,
        template: str,
        form: dict[str, Any],
        errors: dict[str, str] | None = None,
        status_code: int = 200,
        message: str = "",
        **extra: Any,
    ) -> Template:
        actor = require_actor(request)
        view = await closures.closure_view(actor, closure_id)
        return render(
            request,
            template,
            status_code=status_code,
            view=view,
            c=view.closure,
            tones=STATUS_TONES,
            form=form,
            errors=errors or {},
            message=message,
            can_override=can(actor, Perm.CLOSURES_OVERRIDE) and not view.gate.open,
            **extra,
        )

    async def _step(
        self,
        request: Request[Any, Any, Any],
        closure_id: int,
        template: str,
        perform: Any,
        done: str,
    ) -> Any:
        """Run ``perform()`` and redirect, or re-render ``template`` keeping what was typed:
        400 for invalid input, 409 for a stale version or a refused transition."""
        values = await form_values(request)
        try:
            shown = await perform(values)
        except ValidationFailed as exc:
            return await self._step_page(
                request, closure_id, template, values, exc.errors, 400, exc.detail
            )
        except (Conflict, InvalidTransition) as exc:
            view = await closures.closure_view(require_actor(request), closure_id)
            values["version"] = str(view.closure.version)
            return await self._step_page(request, closure_id, template, values, {}, 409, exc.detail)
        if shown is not None:  # a preview, nothing saved
            return shown
        return redirect(f"/closures/{closure_id}", done)

    @get("/{closure_id:int}/extend")
    async def extend_form(self, request: Request[Any, Any, Any], closure_id: IdParam) -> Template:
        actor = require(require_actor(request), Perm.CLOSURES_EDIT)
        closure = await closures.get_closure(actor, closure_id)
        form = {"version": closure.version, "reopen_precision": closure.reopen_precision}
        return await self._step_page(request, closure_id, "closures/extend.html", form)

    @post("/{closure_id:int}/extend")
    async def extend(
        self, request: Request[Any, Any, Any], closure_id: IdParam, now: dt.datetime
    ) -> Any:
        actor = require(require_actor(request), Perm.CLOSURES_EDIT)

        async def perform(values: dict[str, str]) -> Template | None:
            data, errors = parse_fields(ExtendIn, values)
            if data is None:
                raise ValidationFailed(errors)
            if previewing(values):
                await closures.check_extension(actor, closure_id, data, now)
                zh, en = closures.extension_texts(data)
                return await self._step_page(
                    request,
                    closure_id,
                    "closures/extend.html",
                    values,
                    preview=await previews.of_extension(closure_id, data, now),
                    entry={"zh": zh, "en": en},
                    previewed=digest(values),
                    now=now,
                )
            await closures.extend(actor, closure_id, data, now)
            return None

        return await self._step(
            request, closure_id, "closures/extend.html", perform, _("The closure was extended.")
        )

    @get("/{closure_id:int}/cancel")
    async def cancel_form(self, request: Request[Any, Any, Any], closure_id: IdParam) -> Template:
        actor = require(require_actor(request), Perm.CLOSURES_EDIT)
        closure = await closures.get_closure(actor, closure_id)
        return await self._step_page(
            request, closure_id, "closures/cancel.html", {"version": closure.version}
        )

    @post("/{closure_id:int}/cancel")
    async def cancel(
        self, request: Request[Any, Any, Any], closure_id: IdParam, now: dt.datetime
    ) -> Any:
        actor = require(require_actor(request), Perm.CLOSURES_EDIT)

        async def perform(values: dict[str, str]) -> Template | None:
            data, errors = parse_fields(CancelIn, values)
            if data is None:
                raise ValidationFailed(errors)
            closure = await closures.get_closure(actor, closure_id)
            if closure.status in IN_FORCE and previewing(values):
                # A closure in force says why on its public timeline: show the entry first.
                zh, en = closures.cancel_texts(data)
                return await self._step_page(
                    request,
                    closure_id,
                    "closures/cancel.html",
                    values,
                    entry={"zh": zh, "en": en},
                    previewed=digest(values),
                    now=now,
                )
            await closures.cancel(actor, closure_id, data, now)
            return None

        return await self._step(
            request, closure_id, "closures/cancel.html", perform, _("The closure was cancelled.")
        )

    @get("/{closure_id:int}/lift")
    async def lift_form(
        self, request: Request[Any, Any, Any], closure_id: IdParam, now: dt.datetime
    ) -> Template:
        actor = require(require_actor(request), Perm.CLOSURES_EDIT)
        closure = await closures.get_closure(actor, closure_id)
        form = {"version": closure.version, "reopens_at": local_input(now, zone_of(request))}
        return await self._step_page(request, closure_id, "closures/lift.html", form)

    @post("/{closure_id:int}/lift")
    async def lift(
        self, request: Request[Any, Any, Any], closure_id: IdParam, now: dt.datetime
    ) -> Any:
        actor = require(require_actor(request), Perm.CLOSURES_EDIT)
        zone = zone_of(request)

        async def perform(values: dict[str, str]) -> None:
            data, errors = parse_fields(LiftForm, values)
            if data is None:
                raise ValidationFailed(errors)
            try:
                lift_in = data.to_in(zone)
            except ValueError:
                raise ValidationFailed({"reopens_at": _("Enter a date and time.")}) from None
            await closures.lift(actor, closure_id, lift_in, now)

        return await self._step(
            request, closure_id, "closures/lift.html", perform, _("The closure was lifted.")
        )
