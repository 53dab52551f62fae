"""Inspection pages (staff, phone-friendly).

The due and overdue list, a month calendar (with each team's iCalendar feed), schedules per
asset with an editor that previews the next due dates without JavaScript, the inspection form
(checklist, component condition, findings, photos), and an asset's condition history drawn as an
inline SVG. The team feed ``/inspections/calendar.ics?team=ID&token=...`` is the one route that
needs no login: its token is an HMAC of the team id with the secret key.

The JSON API over the same services is :mod:`facilities.inspections.api`.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.response import File, Response, Template

from facilities.accounts import saved_filters
from facilities.accounts.choices import Perm
from facilities.accounts.guards import require_actor
from facilities.accounts.permissions import SYSTEM, can, require
from facilities.assets import services as assets
from facilities.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from facilities.i18n import gettext as _
from facilities.inspections import export
from facilities.inspections import services as inspections
from facilities.inspections.calendar_feed import FEED_DAYS_AHEAD, FEED_DAYS_BEHIND, team_calendar
from facilities.inspections.choices import InspectionType
from facilities.inspections.grade_chart import grade_chart
from facilities.inspections.page_forms import (
    asset_options,
    parse_record_form,
    record_errors_for_form,
)
from facilities.inspections.page_views import (
    inspection_page,
    new_inspection_page,
)
from facilities.inspections.schemas import FinaliseIn, FindingIn, InspectionIn, StepIn
from facilities.lib import recurrence
from facilities.lib.forms import parse_fields
from facilities.records import MAX_ID
from facilities.web.auth import staff_guard
from facilities.web.clock import now_of
from facilities.web.forms import form_values
from facilities.web.forms import submit as submit_form
from facilities.web.params import IdParam, int_query, zone_of
from facilities.web.responses import media_file, redirect, render
from facilities.web.spreadsheets import workbook_response


async def _listed(
    request: Request[Any, Any, Any], now: dt.datetime
) -> tuple[list[dict[str, Any]], int | None, bool, bool]:
    """The list's rows as its filters (asset, mine, overdue) choose them, and those filters."""
    actor = require_actor(request)
    asset_id = int_query(request, "asset")
    mine = request.query_params.get("mine") == "true"
    overdue_only = request.query_params.get("overdue") == "true"
    rows = await inspections.list_inspections(
        actor, now, asset_id=asset_id, inspector_id=actor.id if mine else None
    )
    if overdue_only:
        rows = [r for r in rows if r["is_overdue"]]
    return rows, asset_id, mine, overdue_only


class InspectionController(Controller):
    path = "/inspections"
    # Each page has the staff guard itself (not the controller), so that the token-protected
    # calendar feed alone can go without a login.
    include_in_schema = False

    # --- lists ---------------------------------------------------------------------------

    @get("/", guards=[staff_guard])
    async def index(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        actor = require_actor(request)
        rows, asset_id, mine, overdue_only = await _listed(request, now)
        return render(
            request,
            "inspections/index.html",
            rows=rows,
            now=now,
            asset_id=asset_id,
            mine=mine,
            overdue_only=overdue_only,
            overdue_count=sum(1 for r in rows if r["is_overdue"]),
            proposals=await inspections.list_proposals(actor, asset_id),
            asset_options=await asset_options(actor),
            can_plan=can(actor, Perm.INSPECTIONS_PLAN),
            query=request.url.query,
            saved_filters=await saved_filters.on_list(actor, "inspections"),
        )

    @get("/export.xlsx", guards=[staff_guard])
    async def export_xlsx(
        self, request: Request[Any, Any, Any], now: dt.datetime
    ) -> Response[bytes]:
        """The list as the filters show it, as an Excel workbook."""
        rows = (await _listed(request, now))[0]
        data = await export.xlsx_bytes(rows, zone_of(request))
        return workbook_response(request, data, "inspections", now)

    @get("/calendar", guards=[staff_guard])
    async def calendar_view(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        actor = require_actor(request)
        zone = zone_of(request)
        today = now.astimezone(zone).date()
        month_text = request.query_params.get("month", "").strip()
        try:
            first = (
                dt.date.fromisoformat(month_text + "-01") if month_text else today.replace(day=1)
            )
        except ValueError:
            raise ValidationFailed({"month": _("Give the month as YYYY-MM.")}) from None
        weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
        start = recurrence.localize(dt.datetime.combine(weeks[0][0], dt.time(0, 0)), zone)
        end = recurrence.localize(
            dt.datetime.combine(weeks[-1][-1] + dt.timedelta(days=1), dt.time(0, 0)), zone
        )
        by_day: dict[dt.date, list[inspections.CalendarEntry]] = {}
        for entry in await inspections.calendar_entries(actor, start, end, zone, now):
            by_day.setdefault(entry.due_at.astimezone(zone).date(), []).append(entry)
        secret = request.app.state.settings.secret_key
        base_url = request.app.state.settings.base_url
        feeds = [
            {
                "team": team,
                "url": f"{base_url}/inspections/calendar.ics?team={team['id']}"
                f"&token={inspections.team_token(team['id'], secret)}",
            }
            for team in await inspections.list_teams()
        ]
        return render(
            request,
            "inspections/calendar.html",
            weeks=weeks,
            first=first,
            today=today,
            by_day=by_day,
            previous=(first - dt.timedelta(days=1)).replace(day=1),
            following=(first + dt.timedelta(days=32)).replace(day=1),
            feeds=feeds if can(actor, Perm.INSPECTIONS_VIEW) else [],
        )

    @get("/calendar.ics", opt={"public": True})
    async def calendar_feed(
        self, request: Request[Any, Any, Any], now: dt.datetime
    ) -> Response[bytes]:
        """A team's upcoming inspections as iCalendar; the token in the URL is the credential,
        so calendar apps can subscribe without a login."""
        settings = request.app.state.settings
        team_text = request.query_params.get("team", "").strip()
        token = request.query_params.get("token", "")
        if not team_text.isdigit() or not 0 < int(team_text) <= MAX_ID:
            raise PermissionDenied(_("This calendar link is not valid."))
        team_id = int(team_text)
        if not token or not inspections.team_token_ok(team_id, token, settings.secret_key):
            raise PermissionDenied(_("This calendar link is not valid."))
        team = await inspections.find_team(team_id)
        if team is None:
            raise NotFound(_("No such team."))
        entries = await inspections.calendar_entries(
            SYSTEM,
            now - dt.timedelta(days=FEED_DAYS_BEHIND),
            now + dt.timedelta(days=FEED_DAYS_AHEAD),
            settings.zone,
            now,
            team_id=team_id,
        )
        return Response(
            content=team_calendar(team, entries, settings.base_url, now),
            media_type="text/calendar",  # Litestar adds the charset to every text/* type
            headers={
                "Content-Disposition": f'inline; filename="inspections-team-{team_id}.ics"',
                "Cache-Control": "private, max-age=300",
            },
        )

    # --- schedules -----------------------------------------------------------------------

    # --- ad hoc inspections --------------------------------------------------------------

    @get("/new", guards=[staff_guard])
    async def new(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        require(require_actor(request), Perm.INSPECTIONS_PLAN)
        today = now.astimezone(zone_of(request)).date()
        form = {
            "asset_id": request.query_params.get("asset", ""),
            "inspection_type": InspectionType.SPECIAL.value,
            "trigger": "event",
            "due_on": (today + dt.timedelta(days=1)).isoformat(),
        }
        return await new_inspection_page(request, form, {})

    @post("/", guards=[staff_guard])
    async def create(self, request: Request[Any, Any, Any], now: dt.datetime) -> Any:
        actor = require(require_actor(request), Perm.INSPECTIONS_PLAN)
        form = await submit_form(
            request,
            InspectionIn,
            lambda data: inspections.create_inspection(actor, data, zone_of(request), now),
        )
        if form.ok and form.result is not None:
            row = form.result
            return redirect(
                f"/inspections/{row.id}", _("Inspection #%(id)s planned.") % {"id": row.id}
            )
        return await new_inspection_page(
            request, form.values, form.errors, status_code=form.status_code
        )

    # --- one inspection ------------------------------------------------------------------

    @get("/{inspection_id:int}", guards=[staff_guard])
    async def show(self, request: Request[Any, Any, Any], inspection_id: IdParam) -> Template:
        return await inspection_page(request, inspection_id)

    @post("/{inspection_id:int}/record", guards=[staff_guard])
    async def record(
        self, request: Request[Any, Any, Any], inspection_id: IdParam, now: dt.datetime
    ) -> Any:
        actor = require(require_actor(request), Perm.INSPECTIONS_RECORD)
        inspection = await inspections.get_inspection(actor, inspection_id)
        items = await inspections.checklist_items(inspection)
        components = await assets.list_components(actor, inspection.asset)
        values = await form_values(request)
        data, errors = parse_record_form(values, items, [c.id for c in components])
        if data is None:
            return await inspection_page(request, inspection_id, 400, form=values, errors=errors)
        try:
            if values.get("then", "") == "submit":  # both or neither: a refusal saves nothing
                await inspections.save_and_submit(actor, inspection_id, data, now)
                return redirect(
                    f"/inspections/{inspection_id}", _("Inspection submitted for review.")
                )
            await inspections.save_record(actor, inspection_id, data, now)
        except ValidationFailed as exc:
            shown = record_errors_for_form(
                exc.errors, [msgspec.to_builtins(c) for c in data.conditions]
            )
            return await inspection_page(
                request,
                inspection_id,
                400,
                form=values,
                errors=shown,
                action_error=_("Nothing was saved: correct the fields marked below."),
            )
        except (Conflict, InvalidTransition) as exc:
            return await inspection_page(
                request, inspection_id, 409, form=values, action_error=exc.detail
            )
        return redirect(f"/inspections/{inspection_id}", _("Inspection saved."))

    async def _step(self, request: Request[Any, Any, Any], inspection_id: int, action: str) -> Any:
        actor = require_actor(request)
        values = await form_values(request)
        struct: type[StepIn | FinaliseIn] = FinaliseIn if action == "finalise" else StepIn
        step, _errors = parse_fields(struct, values)
        if step is None:
            return await inspection_page(
                request,
                inspection_id,
                400,
                errors=_errors,
                finalise_form=values if action == "finalise" else None,
                action_error=_("Some of the values sent are not valid."),
            )
        settings = request.app.state.settings
        now = now_of(request)
        try:
            if action == "start":
                await inspections.start(actor, inspection_id, step.version, now)
                message = _("Inspection started.")
            elif action == "submit":
                await inspections.submit(actor, inspection_id, step.version, now)
                message = _("Inspection submitted for review.")
            else:
                assert isinstance(step, FinaliseIn)
                final = await inspections.finalise(
                    actor,
                    inspection_id,
                    step.version,
                    settings.zone,
                    settings.media_path,
                    now,
                    finalise_anyway=step.finalise_anyway,
                    unscored_reason=step.unscored_reason,
                    no_restriction_reason=step.no_restriction_reason,
                )
                message = (
                    _("Inspection final: grade %(grade)s.") % {"grade": final.grade}
                    if final.grade
                    else _("Inspection final (no grade: no component was scored).")
                )
        except ValidationFailed as exc:
            refused = _("Not finalised.") if action == "finalise" else _("Not submitted.")
            return await inspection_page(
                request,
                inspection_id,
                400,
                errors=exc.errors,
                finalise_form=values if action == "finalise" else None,
                action_error=f"{refused} " + " ".join(exc.errors.values()),
            )
        except (Conflict, InvalidTransition) as exc:
            return await inspection_page(request, inspection_id, 409, action_error=exc.detail)
        return redirect(f"/inspections/{inspection_id}", message)

    @post("/{inspection_id:int}/start", guards=[staff_guard])
    async def start(self, request: Request[Any, Any, Any], inspection_id: IdParam) -> Any:
        require(require_actor(request), Perm.INSPECTIONS_RECORD)
        return await self._step(request, inspection_id, "start")

    @post("/{inspection_id:int}/submit", guards=[staff_guard])
    async def submit(self, request: Request[Any, Any, Any], inspection_id: IdParam) -> Any:
        require(require_actor(request), Perm.INSPECTIONS_RECORD)
        return await self._step(request, inspection_id, "submit")

    @post("/{inspection_id:int}/finalise", guards=[staff_guard])
    async def finalise(self, request: Request[Any, Any, Any], inspection_id: IdParam) -> Any:
        require(require_actor(request), Perm.INSPECTIONS_FINALISE)
        return await self._step(request, inspection_id, "finalise")

    @post("/{inspection_id:int}/findings", guards=[staff_guard])
    async def add_finding(
        self, request: Request[Any, Any, Any], inspection_id: IdParam, now: dt.datetime
    ) -> Any:
        actor = require(require_actor(request), Perm.INSPECTIONS_RECORD)
        settings = request.app.state.settings
        form = await request.form()
        values = await form_values(request)
        data, errors = parse_fields(FindingIn, values)
        upload = form.get("file")
        has_file = upload is not None and not isinstance(upload, str) and bool(upload.filename)
        if data is None:
            return await inspection_page(
                request, inspection_id, 400, finding_form=values, finding_errors=errors
            )
        try:
            finding = await inspections.add_finding(actor, inspection_id, data, now)
        except ValidationFailed as exc:
            return await inspection_page(
                request, inspection_id, 400, finding_form=values, finding_errors=exc.errors
            )
        except InvalidTransition as exc:
            return await inspection_page(request, inspection_id, 409, action_error=exc.detail)
        if has_file:
            try:
                await inspections.add_photo(
                    actor,
                    inspection_id,
                    await upload.read(),  # type: ignore[union-attr]
                    finding.id,
                    values.get("caption", ""),
                    settings.media_path,
                    settings.max_upload_bytes,
                    now,
                    max_pixels=settings.max_image_pixels,
                )
            except ValidationFailed as exc:
                return await inspection_page(
                    request,
                    inspection_id,
                    400,
                    finding_errors=exc.errors,
                    action_error=_("The finding was saved, but its photo was not."),
                )
        return redirect(f"/inspections/{inspection_id}#findings", _("Finding added."))

    @post("/{inspection_id:int}/photos", guards=[staff_guard])
    async def add_photo(
        self, request: Request[Any, Any, Any], inspection_id: IdParam, now: dt.datetime
    ) -> Any:
        actor = require(require_actor(request), Perm.INSPECTIONS_RECORD)
        settings = request.app.state.settings
        form = await request.form()
        upload = form.get("file")
        raw_finding = str(form.get("finding_id", "") or "").strip()
        if upload is None or isinstance(upload, str) or not upload.filename:
            return await inspection_page(
                request, inspection_id, 400, finding_errors={"file": _("Choose a file to upload.")}
            )
        if raw_finding and (not raw_finding.isdigit() or not 0 < int(raw_finding) <= MAX_ID):
            return await inspection_page(
                request,
                inspection_id,
                400,
                finding_errors={"finding_id": _("Choose a finding of this inspection.")},
            )
        try:
            await inspections.add_photo(
                actor,
                inspection_id,
                await upload.read(),
                int(raw_finding) if raw_finding else None,
                str(form.get("caption", "") or ""),
                settings.media_path,
                settings.max_upload_bytes,
                now,
                max_pixels=settings.max_image_pixels,
            )
        except ValidationFailed as exc:
            return await inspection_page(request, inspection_id, 400, finding_errors=exc.errors)
        except InvalidTransition as exc:
            return await inspection_page(request, inspection_id, 409, action_error=exc.detail)
        return redirect(f"/inspections/{inspection_id}#photos", _("Photo added."))

    @get("/photos/{photo_id:int}", guards=[staff_guard])
    async def photo(self, request: Request[Any, Any, Any], photo_id: IdParam) -> File:
        row = await inspections.get_photo(require_actor(request), photo_id)
        return media_file(request, row, thumbnail=False)

    @get("/photos/{photo_id:int}/thumbnail", guards=[staff_guard])
    async def thumbnail(self, request: Request[Any, Any, Any], photo_id: IdParam) -> File:
        row = await inspections.get_photo(require_actor(request), photo_id)
        return media_file(request, row, thumbnail=True)

    @post("/findings/{finding_id:int}/ticket", guards=[staff_guard])
    async def finding_ticket(
        self, request: Request[Any, Any, Any], finding_id: IdParam, now: dt.datetime
    ) -> Any:
        actor = require(require_actor(request), Perm.TICKETS_CREATE)
        finding = await inspections.get_finding(actor, finding_id)
        settings = request.app.state.settings
        ticket_id = await inspections.finding_to_ticket(actor, finding.id, settings.media_path, now)
        return redirect(
            f"/inspections/{finding.inspection}#finding-{finding.id}",
            _("Ticket #%(id)s opened for the finding.") % {"id": ticket_id},
        )

    # --- asset condition history ---------------------------------------------------------

    @get("/assets/{asset_id:int}/history", guards=[staff_guard])
    async def history(self, request: Request[Any, Any, Any], asset_id: IdParam) -> Template:
        actor = require(require_actor(request), Perm.INSPECTIONS_VIEW)
        asset = await assets.load_asset(actor, asset_id)
        rows = await inspections.grade_history(asset_id)
        return render(
            request,
            "inspections/history.html",
            asset=asset,
            history=rows,
            chart=grade_chart(rows, zone_of(request)),
            firings=await inspections.list_firings(actor, asset_id),
            proposals=await inspections.list_proposals(actor, asset_id),
            recommendations=await inspections.recommendation_closures(asset_id),
        )
