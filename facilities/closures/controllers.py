"""Closure pages for staff and the JSON API under /api/v1/closures."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, delete, get, post, put
from litestar.params import Body, Parameter, QueryParameter
from litestar.response import Response, Template

from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, can, require
from facilities.assets import services as assets
from facilities.audit.choices import action_label
from facilities.closures import services as closures
from facilities.closures.choices import (
    IN_FORCE,
    NoticeSource,
    NoticeState,
    Precision,
    Reason,
    SafetyMeasure,
    Scope,
    Status,
)
from facilities.closures.schemas import (
    CancelIn,
    ClosureForm,
    ClosureIn,
    ClosureOut,
    ClosureSummaryOut,
    CriterionOut,
    DraftPublishIn,
    ExtendIn,
    LiftForm,
    LiftIn,
    LinkedTicketOut,
    LinkTicketIn,
    NoticeIn,
    NoticeOut,
    PromiseOut,
    ProposalOut,
    SignOffIn,
)
from facilities.closures.tables import NoticeUpdate
from facilities.errors import Conflict, InvalidTransition, ValidationFailed
from facilities.i18n import N_
from facilities.i18n import gettext as _
from facilities.lib.forms import parse_fields
from facilities.web.auth import require_actor, staff_guard
from facilities.web.errors import api_errors
from facilities.web.forms import form_values, parse_form
from facilities.web.responses import redirect, render, safe_next

IdParam = Annotated[int, Parameter(ge=1, le=2_147_483_647)]

#: The list's status filter: "open" (planned or in force), "all", or one status.
OPEN = (Status.PLANNED, Status.ACTIVE, Status.EXTENDED)
STATUS_FILTERS = ("open", "all", *(s.value for s in Status))

#: Badge tone of each closure status (the CSS tone-* classes).
STATUS_TONES = {
    Status.PLANNED: "info",
    Status.ACTIVE: "bad",
    Status.EXTENDED: "warn",
    Status.LIFTED: "ok",
    Status.CANCELLED: "none",
}

#: Readable names of the closure audit actions (shown in the closure's history).
ACTION_LABELS = {
    "closure.created": N_("created the closure"),
    "closure.updated": N_("edited the closure"),
    "closure.activated": N_("put the closure in force"),
    "closure.extended": N_("extended the closure"),
    "closure.cancelled": N_("cancelled the closure"),
    "closure.ticket_linked": N_("linked a repair ticket"),
    "closure.ticket_unlinked": N_("unlinked a repair ticket"),
    "closure.signed_off": N_("signed off the repair"),
    "closure.lifted": N_("lifted the closure"),
    "closure.lifted_override": N_("lifted the closure by overriding the criteria"),
    "closure.update_written": N_("wrote a notice update"),
    "closure.update_published": N_("published a notice update"),
    "closure.update_discarded": N_("discarded a draft update"),
    "closure.proposal_approved": N_("approved the closure proposed by an inspection"),
}


def closure_action_label(code: str) -> str:
    return _(ACTION_LABELS[code]) if code in ACTION_LABELS else action_label(code)


# --- shapes ---------------------------------------------------------------------------------


def closure_out(view: closures.ClosureView) -> ClosureOut:
    c = view.closure
    return ClosureOut(
        id=c.id,
        asset_id=c.asset,
        scope=Scope(c.scope),
        affected_part_zh=c.affected_part_zh,
        affected_part_en=c.affected_part_en,
        crowd_limit=c.crowd_limit,
        hours_zh=c.hours_zh,
        hours_en=c.hours_en,
        reason=Reason(c.reason),
        reason_zh=c.reason_zh,
        reason_en=c.reason_en,
        safety_measures=[SafetyMeasure(m) for m in view.measures],
        detour_zh=c.detour_zh,
        detour_en=c.detour_en,
        reopening_criteria_zh=c.reopening_criteria_zh,
        reopening_criteria_en=c.reopening_criteria_en,
        effective_from=c.effective_from,
        planned_reopen_on=c.planned_reopen_on,
        reopen_precision=Precision(c.reopen_precision),
        status=Status(c.status),
        is_urgent=c.is_urgent,
        activated_at=c.activated_at,
        lifted_at=c.lifted_at,
        reopens_at=c.reopens_at,
        reopening_announced_at=c.reopening_announced_at,
        signed_off_by=c.signed_off_by,
        signed_off_at=c.signed_off_at,
        override_reason=c.override_reason,
        sequence=c.sequence,
        version=c.version,
        created_at=c.created_at,
        updated_at=c.updated_at,
        ticket_ids=[t["ticket"] for t in view.tickets],
        tickets=[
            LinkedTicketOut(
                ticket_id=t["ticket"],
                title=t["title"],
                status=t["status"],
                public_label_zh=t["public_label_zh"],
                public_label_en=t["public_label_en"],
                public_progress=t["public_progress"],
            )
            for t in view.tickets
        ],
        promises=[
            PromiseOut(
                planned_reopen_on=p.planned_reopen_on,
                precision=Precision(p.precision),
                reason_zh=p.reason_zh,
                reason_en=p.reason_en,
                made_at=p.made_at,
            )
            for p in view.promises
        ],
        gate_open=view.gate.open,
        gate=[
            CriterionOut(code=c.code, met=c.met, label=c.label, detail=c.detail)
            for c in view.gate.criteria
        ],
    )


def summary_out(row: dict[str, Any]) -> ClosureSummaryOut:
    return ClosureSummaryOut(
        id=row["id"],
        asset_id=row["asset"],
        asset_code=row["asset_code"],
        scope=row["scope"],
        reason=row["reason"],
        status=row["status"],
        effective_from=row["effective_from"],
        planned_reopen_on=row["planned_reopen_on"],
        reopen_precision=row["reopen_precision"],
        is_urgent=row["is_urgent"],
        sequence=row["sequence"],
        version=row["version"],
        updated_at=row["updated_at"],
    )


def notice_out(row: NoticeUpdate | dict[str, Any]) -> NoticeOut:
    values = row if isinstance(row, dict) else row.to_dict()
    return NoticeOut(
        id=values["id"],
        closure_id=values["closure"],
        state=NoticeState(values["state"]),
        source=NoticeSource(values["source"]),
        text_zh=values["text_zh"],
        text_en=values["text_en"],
        created_at=values["created_at"],
        published_at=values["published_at"],
    )


def proposal_out(row: dict[str, Any]) -> ProposalOut:
    return ProposalOut(
        id=row["id"],
        asset_id=row["asset"],
        asset_code=row["asset_code"],
        inspection_id=row["inspection"],
        grade=row["grade"],
        scope=row["scope"],
        reason=row["reason"],
        status=row["status"],
        created_at=row["created_at"],
    )


def _statuses(value: str) -> list[str] | None:
    """The statuses a filter value stands for (None: all)."""
    if value not in STATUS_FILTERS:
        raise ValidationFailed({"status": _("Choose one of the listed options.")})
    if value == "all":
        return None
    if value == "open":
        return [s.value for s in OPEN]
    return [value]


# --- HTML forms -----------------------------------------------------------------------------


def _zone(request: Request[Any, Any, Any]) -> ZoneInfo:
    return request.app.state.settings.zone  # type: ignore[no-any-return]


def _local(value: dt.datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%dT%H:%M") if value else ""


def _closure_form(closure: Any, zone: ZoneInfo, measures: list[str]) -> dict[str, Any]:
    form = {
        name: ("" if getattr(closure, name) is None else getattr(closure, name))
        for name in closures.EDITABLE
        if name != "safety_measures"
    }
    form.update(
        asset_id=closure.asset,
        effective_from=_local(closure.effective_from, zone),
        planned_reopen_on=closure.planned_reopen_on.isoformat()
        if closure.planned_reopen_on
        else "",
        reopen_precision=closure.reopen_precision,
        safety_measures=measures,
        version=closure.version,
    )
    return form


async def _read_closure_form(
    request: Request[Any, Any, Any],
) -> tuple[ClosureIn | None, dict[str, str], dict[str, Any]]:
    """(ClosureIn or None, errors, the typed values to refill the form)."""
    form = await request.form()
    measures = [str(m) for m in form.getall("safety_measures", [])]
    data, errors, values = await parse_form(request, ClosureForm)
    form_data: dict[str, Any] = {**values, "safety_measures": measures}
    known = {m.value for m in SafetyMeasure}
    if any(m not in known for m in measures):
        errors["safety_measures"] = _("Choose one of the listed options.")
    if data is None or errors:
        return None, errors, form_data
    try:
        closure_in = data.to_in(_zone(request), [SafetyMeasure(m) for m in dict.fromkeys(measures)])
    except ValueError:
        return None, {"effective_from": _("Enter a date and time.")}, form_data
    return closure_in, {}, form_data


async def _asset_options(actor: Actor) -> list[tuple[int, str]]:
    rows = await assets.all_asset_choices(actor)
    return [(r["id"], f"{r['code']} {r['name_zh']}") for r in rows]


class ClosureController(Controller):
    path = "/closures"
    guards = [staff_guard]
    include_in_schema = False

    @get("/")
    async def index(self, request: Request[Any, Any, Any]) -> Template:
        actor = require_actor(request)
        status = request.query_params.get("status", "open")
        rows = await closures.list_closures(actor, _statuses(status))
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
        )

    # --- create and edit -----------------------------------------------------------------

    @get("/new")
    async def new(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        actor = require(require_actor(request), Perm.CLOSURES_EDIT)
        form: dict[str, Any] = {
            "asset_id": request.query_params.get("asset", ""),
            "effective_from": _local(now, _zone(request)),
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
            asset_options=await _asset_options(actor),
            **extra,
        )

    @post("/")
    async def create(self, request: Request[Any, Any, Any], now: dt.datetime) -> Any:
        actor = require(require_actor(request), Perm.CLOSURES_EDIT)
        data, errors, values = await _read_closure_form(request)
        if data is not None:
            try:
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
        form = _closure_form(view.closure, _zone(request), view.measures)
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
        data, errors, values = await _read_closure_form(request)
        conflict = False
        if data is not None:
            try:
                await closures.update_closure(actor, closure_id, data, now)
            except ValidationFailed as exc:
                errors = exc.errors
            except Conflict:
                conflict = True
                view = await closures.closure_view(actor, closure_id)
                values["version"] = view.closure.version
            else:
                return redirect(f"/closures/{closure_id}", _("Changes saved."))
        return await self._form_page(
            request,
            actor,
            "closures/edit.html",
            values,
            errors,
            status_code=409 if conflict else 400,
            view=view,
            c=view.closure,
            conflict=conflict,
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
                request, closure_id, 400, errors=errors, action_error=_field_error_of(errors)
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
        data, errors, values = await parse_form(request, LinkTicketIn)
        if data is not None:
            try:
                await closures.link_ticket(actor, closure_id, data, now)
            except ValidationFailed as exc:
                errors = exc.errors
            except InvalidTransition as exc:
                return await self._show(request, closure_id, 409, action_error=exc.detail)
            else:
                return redirect(f"/closures/{closure_id}#tickets", _("Ticket linked."))
        return await self._show(request, closure_id, 400, errors=errors, link_form=values)

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
        data, errors, values = await parse_form(request, NoticeIn)
        if data is not None:
            try:
                update = await closures.write_update(actor, closure_id, data, now)
            except ValidationFailed as exc:
                errors = exc.errors
            except InvalidTransition as exc:
                return await self._show(request, closure_id, 409, action_error=exc.detail)
            else:
                message = _("Update published.") if data.publish else _("Draft saved.")
                return redirect(f"/closures/{closure_id}#updates-{update.id}", message)
        form: dict[str, Any] = {**values, "publish": values.get("publish") in {"true", "on", "1"}}
        return await self._show(request, closure_id, 400, errors=errors, update_form=form)

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
            await perform(values)
        except ValidationFailed as exc:
            return await self._step_page(
                request, closure_id, template, values, exc.errors, 400, exc.detail
            )
        except (Conflict, InvalidTransition) as exc:
            view = await closures.closure_view(require_actor(request), closure_id)
            values["version"] = str(view.closure.version)
            return await self._step_page(request, closure_id, template, values, {}, 409, exc.detail)
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

        async def perform(values: dict[str, str]) -> None:
            data, errors = parse_fields(ExtendIn, values)
            if data is None:
                raise ValidationFailed(errors)
            await closures.extend(actor, closure_id, data, now)

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

        async def perform(values: dict[str, str]) -> None:
            data, errors = parse_fields(CancelIn, values)
            if data is None:
                raise ValidationFailed(errors)
            await closures.cancel(actor, closure_id, data, now)

        return await self._step(
            request, closure_id, "closures/cancel.html", perform, _("The closure was cancelled.")
        )

    @get("/{closure_id:int}/lift")
    async def lift_form(
        self, request: Request[Any, Any, Any], closure_id: IdParam, now: dt.datetime
    ) -> Template:
        actor = require(require_actor(request), Perm.CLOSURES_EDIT)
        closure = await closures.get_closure(actor, closure_id)
        form = {"version": closure.version, "reopens_at": _local(now, _zone(request))}
        return await self._step_page(request, closure_id, "closures/lift.html", form)

    @post("/{closure_id:int}/lift")
    async def lift(
        self, request: Request[Any, Any, Any], closure_id: IdParam, now: dt.datetime
    ) -> Any:
        actor = require(require_actor(request), Perm.CLOSURES_EDIT)
        zone = _zone(request)

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

    # --- drafts to publish ---------------------------------------------------------------

    @get("/drafts")
    async def drafts(self, request: Request[Any, Any, Any]) -> Template:
        return await self._drafts(request)

    async def _drafts(
        self,
        request: Request[Any, Any, Any],
        status_code: int = 200,
        errors: dict[int, dict[str, str]] | None = None,
        edited: dict[int, dict[str, str]] | None = None,
        message: str = "",
    ) -> Template:
        actor = require_actor(request)
        return render(
            request,
            "closures/drafts.html",
            status_code=status_code,
            drafts=await closures.list_drafts(actor),
            errors=errors or {},
            edited=edited or {},
            message=message,
            can_publish=can(actor, Perm.NOTICES_PUBLISH),
        )

    @post("/drafts/{update_id:int}/publish")
    async def publish_draft(
        self, request: Request[Any, Any, Any], update_id: IdParam, now: dt.datetime
    ) -> Any:
        actor = require(require_actor(request), Perm.NOTICES_PUBLISH)
        values = await form_values(request)
        edited: NoticeIn | None = None
        if "text_zh" in values:  # published from the drafts page, perhaps edited
            edited, errors = parse_fields(NoticeIn, {**values, "publish": "true"})
            if edited is None:
                return await self._drafts(
                    request, 400, errors={update_id: errors}, edited={update_id: values}
                )
        try:
            await closures.publish_update(actor, update_id, now, edited)
        except ValidationFailed as exc:
            return await self._drafts(
                request, 400, errors={update_id: exc.errors}, edited={update_id: values}
            )
        except InvalidTransition as exc:
            return await self._drafts(request, 409, message=exc.detail)
        return redirect(safe_next(values.get("next"), "/closures/drafts"), _("Update published."))

    @post("/drafts/{update_id:int}/discard")
    async def discard_draft(
        self, request: Request[Any, Any, Any], update_id: IdParam, now: dt.datetime
    ) -> Any:
        actor = require(require_actor(request), Perm.NOTICES_PUBLISH)
        values = await form_values(request)
        try:
            await closures.discard_update(actor, update_id, now)
        except InvalidTransition as exc:
            return await self._drafts(request, 409, message=exc.detail)
        return redirect(safe_next(values.get("next"), "/closures/drafts"), _("Draft discarded."))

    # --- proposals from inspections ------------------------------------------------------

    @post("/proposals/{proposal_id:int}/approve")
    async def approve(
        self, request: Request[Any, Any, Any], proposal_id: IdParam, now: dt.datetime
    ) -> Any:
        actor = require_actor(request)
        closure = await closures.approve_proposal(actor, proposal_id, now)
        return redirect(
            f"/closures/{closure.id}",
            _("Closure #%(id)s is in force. Check its notice and link the repair tickets.")
            % {"id": closure.id},
        )

    @post("/proposals/{proposal_id:int}/dismiss")
    async def dismiss(
        self, request: Request[Any, Any, Any], proposal_id: IdParam, now: dt.datetime
    ) -> Any:
        actor = require_actor(request)
        await closures.dismiss_proposal(actor, proposal_id, now)
        return redirect("/closures", _("Proposal dismissed."))


def _field_error_of(errors: dict[str, str]) -> str:
    return next(iter(errors.values()), _("Some of the values sent are not valid."))


# --- JSON API -------------------------------------------------------------------------------


class ClosureApiController(Controller):
    path = "/api/v1/closures"
    guards = [staff_guard]
    tags = ["closures"]

    async def _out(self, actor: Actor, closure_id: int) -> ClosureOut:
        return closure_out(await closures.closure_view(actor, closure_id))

    @get("/", responses=api_errors())
    async def index(
        self,
        request: Request[Any, Any, Any],
        status: Annotated[
            str,
            QueryParameter(
                name="status",
                pattern=r"^(open|all|planned|active|extended|lifted|cancelled)$",
                description="open (planned or in force, the default), all, or one status",
            ),
        ] = "open",
        asset: Annotated[int | None, QueryParameter(name="asset", ge=1, le=2_147_483_647)] = None,
    ) -> list[ClosureSummaryOut]:
        """Closures, newest start first (at most 500)."""
        rows = await closures.list_closures(
            require_actor(request), _statuses(status), asset_id=asset
        )
        return [summary_out(r) for r in rows]

    @post("/", responses=api_errors(403))
    async def create(
        self, request: Request[Any, Any, Any], data: Annotated[ClosureIn, Body()], now: dt.datetime
    ) -> Response[ClosureOut]:
        """Plan a closure; one whose ``effective_from`` has come is in force at once."""
        actor = require_actor(request)
        closure = await closures.create_closure(actor, data, now)
        return Response(await self._out(actor, closure.id), status_code=201)

    @get("/{closure_id:int}", responses=api_errors(404))
    async def show(self, request: Request[Any, Any, Any], closure_id: IdParam) -> ClosureOut:
        """One closure with its linked tickets, every promise made and the reopening gate."""
        return await self._out(require_actor(request), closure_id)

    @put("/{closure_id:int}", responses=api_errors(403, 404, 409))
    async def update(
        self,
        request: Request[Any, Any, Any],
        closure_id: IdParam,
        data: Annotated[ClosureIn, Body()],
        now: dt.datetime,
    ) -> ClosureOut:
        """Replace the editable facts; send the ``version`` you read (409 when stale). The
        promised reopening of a closure in force moves only by ``extend``."""
        actor = require_actor(request)
        await closures.update_closure(actor, closure_id, data, now)
        return await self._out(actor, closure_id)

    @post("/{closure_id:int}/extend", status_code=200, responses=api_errors(403, 404, 409))
    async def extend(
        self,
        request: Request[Any, Any, Any],
        closure_id: IdParam,
        data: Annotated[ExtendIn, Body()],
        now: dt.datetime,
    ) -> ClosureOut:
        """Promise a later reopening, with the reason (the earlier promise stays visible)."""
        actor = require_actor(request)
        await closures.extend(actor, closure_id, data, now)
        return await self._out(actor, closure_id)

    @post("/{closure_id:int}/cancel", status_code=200, responses=api_errors(403, 404, 409))
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        closure_id: IdParam,
        data: Annotated[CancelIn, Body()],
        now: dt.datetime,
    ) -> ClosureOut:
        actor = require_actor(request)
        await closures.cancel(actor, closure_id, data, now)
        return await self._out(actor, closure_id)

    @post("/{closure_id:int}/sign-off", status_code=200, responses=api_errors(403, 404, 409))
    async def sign_off(
        self,
        request: Request[Any, Any, Any],
        closure_id: IdParam,
        data: Annotated[SignOffIn, Body()],
        now: dt.datetime,
    ) -> ClosureOut:
        """A supervisor's sign-off; 409 until the tickets, the acceptance inspection and the
        grade criteria are met."""
        actor = require_actor(request)
        await closures.sign_off(actor, closure_id, data.version, now)
        return await self._out(actor, closure_id)

    @post("/{closure_id:int}/lift", status_code=200, responses=api_errors(403, 404, 409))
    async def lift(
        self,
        request: Request[Any, Any, Any],
        closure_id: IdParam,
        data: Annotated[LiftIn, Body()],
        now: dt.datetime,
    ) -> ClosureOut:
        """Lift through the open gate (409 otherwise), or as an administrator with a written
        ``override_reason`` (403 for anyone else)."""
        actor = require_actor(request)
        await closures.lift(actor, closure_id, data, now)
        return await self._out(actor, closure_id)

    @post("/{closure_id:int}/tickets", status_code=200, responses=api_errors(403, 404, 409))
    async def link_ticket(
        self,
        request: Request[Any, Any, Any],
        closure_id: IdParam,
        data: Annotated[LinkTicketIn, Body()],
        now: dt.datetime,
    ) -> ClosureOut:
        """Link a ticket of the closed asset (again: change its public label)."""
        actor = require_actor(request)
        await closures.link_ticket(actor, closure_id, data, now)
        return await self._out(actor, closure_id)

    @delete("/{closure_id:int}/tickets/{ticket_id:int}", responses=api_errors(403, 404, 409))
    async def unlink_ticket(
        self,
        request: Request[Any, Any, Any],
        closure_id: IdParam,
        ticket_id: IdParam,
        now: dt.datetime,
    ) -> None:
        await closures.unlink_ticket(require_actor(request), closure_id, ticket_id, now)

    @get("/{closure_id:int}/updates", responses=api_errors(404))
    async def updates(
        self, request: Request[Any, Any, Any], closure_id: IdParam
    ) -> list[NoticeOut]:
        """The notice's timeline, newest first, drafts included (discarded ones left out)."""
        actor = require_actor(request)
        await closures.get_closure(actor, closure_id)
        return [
            notice_out(u) for u in await closures.list_updates(closure_id, published_only=False)
        ]

    @post("/{closure_id:int}/updates", responses=api_errors(403, 404, 409))
    async def write_update(
        self,
        request: Request[Any, Any, Any],
        closure_id: IdParam,
        data: Annotated[NoticeIn, Body()],
        now: dt.datetime,
    ) -> Response[NoticeOut]:
        """Write an update by hand: published at once, or a draft with ``publish: false``."""
        actor = require_actor(request)
        update = await closures.write_update(actor, closure_id, data, now)
        return Response(notice_out(update), status_code=201)

    @get("/drafts", responses=api_errors())
    async def drafts(self, request: Request[Any, Any, Any]) -> list[NoticeOut]:
        """Drafts waiting to be published, oldest first."""
        return [notice_out(r) for r in await closures.list_drafts(require_actor(request))]

    @post("/updates/{update_id:int}/publish", status_code=200, responses=api_errors(403, 404, 409))
    async def publish(
        self,
        request: Request[Any, Any, Any],
        update_id: IdParam,
        data: Annotated[DraftPublishIn, Body()],
        now: dt.datetime,
    ) -> NoticeOut:
        """Publish a draft: ``{}`` as it is, or with ``text_zh``/``text_en`` edited first."""
        actor = require_actor(request)
        await closures.publish_update(actor, update_id, now, data.edited())
        return notice_out(await closures.get_update(actor, update_id))

    @post("/updates/{update_id:int}/discard", status_code=200, responses=api_errors(403, 404, 409))
    async def discard(
        self, request: Request[Any, Any, Any], update_id: IdParam, now: dt.datetime
    ) -> NoticeOut:
        actor = require_actor(request)
        await closures.discard_update(actor, update_id, now)
        return notice_out(await closures.get_update(actor, update_id))

    @get("/proposals", responses=api_errors())
    async def proposals(self, request: Request[Any, Any, Any]) -> list[ProposalOut]:
        """Closures proposed by inspection rules, waiting for a decision."""
        return [proposal_out(r) for r in await closures.list_proposals(require_actor(request))]

    @post("/proposals/{proposal_id:int}/approve", responses=api_errors(403, 404, 409))
    async def approve(
        self, request: Request[Any, Any, Any], proposal_id: IdParam, now: dt.datetime
    ) -> Response[ClosureOut]:
        """Create the proposed closure (in force now) and mark the proposal approved."""
        actor = require_actor(request)
        closure = await closures.approve_proposal(actor, proposal_id, now)
        return Response(await self._out(actor, closure.id), status_code=201)

    @post(
        "/proposals/{proposal_id:int}/dismiss", status_code=204, responses=api_errors(403, 404, 409)
    )
    async def dismiss(
        self, request: Request[Any, Any, Any], proposal_id: IdParam, now: dt.datetime
    ) -> None:
        await closures.dismiss_proposal(require_actor(request), proposal_id, now)
