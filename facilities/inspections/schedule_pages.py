"""Inspection schedule pages (staff): the list (per asset, with the rules' proposals and
firings), the policy's default schedules for an asset, and the schedule form, whose "preview"
shows the next five dates by the app's clock without saving."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, get, post
from litestar.response import Template

from facilities.accounts.choices import Perm
from facilities.accounts.guards import require_actor
from facilities.accounts.permissions import can, require
from facilities.assets import services as assets
from facilities.errors import Conflict, ValidationFailed
from facilities.i18n import gettext as _
from facilities.inspections import services as inspections
from facilities.inspections.choices import InspectionType
from facilities.inspections.outs import schedule_outs
from facilities.inspections.page_forms import schedule_form_values, team_options
from facilities.inspections.page_views import schedule_form_page
from facilities.inspections.schemas import ScheduleIn
from facilities.inspections.tables import InspectionSchedule
from facilities.records import MAX_ID
from facilities.web.auth import staff_guard
from facilities.web.clock import now_of
from facilities.web.forms import form_values, parse_form
from facilities.web.params import IdParam, int_query, zone_of
from facilities.web.responses import redirect, render


class InspectionScheduleController(Controller):
    path = "/inspections/schedules"
    guards = [staff_guard]
    include_in_schema = False

    @get("/")
    async def schedules(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        actor = require_actor(request)
        asset_id = int_query(request, "asset")
        asset = await assets.load_asset(actor, asset_id) if asset_id else None
        rows = await inspections.list_schedules(actor, asset_id)
        outs = await schedule_outs(rows, now)
        codes = {r["id"]: r["code"] for r in await assets.all_asset_choices(actor)}
        return render(
            request,
            "inspections/schedules.html",
            asset=asset,
            schedules=outs,
            asset_codes=codes,
            teams=dict(await team_options()),
            proposals=await inspections.list_proposals(actor, asset_id) if asset_id else [],
            firings=await inspections.list_firings(actor, asset_id) if asset_id else [],
            can_edit=can(actor, Perm.SCHEDULES_EDIT),
            now=now,
        )

    @post("/defaults")
    async def apply_defaults(self, request: Request[Any, Any, Any], now: dt.datetime) -> Any:
        actor = require(require_actor(request), Perm.SCHEDULES_EDIT)
        values = await form_values(request)
        raw = values.get("asset_id", "").strip()
        if not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
            raise ValidationFailed({"asset_id": _("Choose an existing asset.")})
        created = await inspections.apply_default_schedules(actor, int(raw), zone_of(request), now)
        message = (
            _("%(n)s default schedule(s) added.") % {"n": created}
            if created
            else _("This asset already has every default schedule.")
        )
        return redirect(f"/inspections/schedules?asset={int(raw)}", message)

    @get("/new")
    async def new_schedule(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        require(require_actor(request), Perm.SCHEDULES_EDIT)
        today = now.astimezone(zone_of(request)).date()
        form = {
            "asset_id": request.query_params.get("asset", ""),
            "inspection_type": InspectionType.ROUTINE_MONTHLY.value,
            "rrule": "FREQ=MONTHLY;BYMONTHDAY=1",
            "anchor": "fixed",
            "starts_on": today.isoformat(),
            "start_time": "09:00",
            "lead_days": 0,
            "tolerance_days": 0,
        }
        return await schedule_form_page(request, form, {})

    async def _save_schedule(
        self, request: Request[Any, Any, Any], schedule: InspectionSchedule | None
    ) -> Any:
        actor = require(require_actor(request), Perm.SCHEDULES_EDIT)
        zone = zone_of(request)
        now = now_of(request)
        data, errors, values = await parse_form(request, ScheduleIn)
        wants_preview = values.get("action") == "preview"
        if data is not None and wants_preview:
            try:
                dates = inspections.preview(
                    data, zone, now, schedule.last_completed_at if schedule else None
                )
            except ValidationFailed as exc:
                errors = exc.errors
            else:
                return await schedule_form_page(request, values, {}, schedule, preview=dates)
        elif data is not None:
            try:
                if schedule is None:
                    saved = await inspections.create_schedule(actor, data, zone, now)
                else:
                    saved = await inspections.update_schedule(actor, schedule.id, data, zone, now)
            except ValidationFailed as exc:
                errors = exc.errors
            except Conflict:
                fresh = await inspections.get_schedule(actor, schedule.id if schedule else 0)
                values["version"] = str(fresh.version)
                return await schedule_form_page(
                    request, values, {}, fresh, status_code=409, conflict=True
                )
            else:
                return redirect(f"/inspections/schedules?asset={saved.asset}", _("Schedule saved."))
        return await schedule_form_page(request, values, errors, schedule, status_code=400)

    @post("/")
    async def create_schedule(self, request: Request[Any, Any, Any]) -> Any:
        return await self._save_schedule(request, None)

    @get("/{schedule_id:int}/edit")
    async def edit_schedule(self, request: Request[Any, Any, Any], schedule_id: IdParam) -> Any:
        actor = require(require_actor(request), Perm.SCHEDULES_EDIT)
        schedule = await inspections.get_schedule(actor, schedule_id)
        return await schedule_form_page(
            request, schedule_form_values(schedule, zone_of(request)), {}, schedule
        )

    @post("/{schedule_id:int}")
    async def update_schedule(self, request: Request[Any, Any, Any], schedule_id: IdParam) -> Any:
        actor = require(require_actor(request), Perm.SCHEDULES_EDIT)
        schedule = await inspections.get_schedule(actor, schedule_id)
        return await self._save_schedule(request, schedule)
