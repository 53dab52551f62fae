"""Inspection pages (staff, phone-friendly) and the JSON API under /api/v1.

Pages: the due and overdue list, a month calendar (with each team's iCalendar feed), schedules per
asset with an editor that previews the next due dates without JavaScript, the inspection form
(checklist, component condition, findings, photos), and an asset's condition history drawn as an
inline SVG. The team feed ``/inspections/calendar.ics?team=ID&token=...`` is the one route that
needs no login: its token is an HMAC of the team id with the secret key.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, Parameter, QueryParameter
from litestar.response import File, Response, Template

from facilities.accounts import services as accounts
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, can, require
from facilities.assets import services as assets
from facilities.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from facilities.i18n import gettext as _
from facilities.inspections import services as inspections
from facilities.inspections.choices import (
    Anchor,
    Answer,
    DefectType,
    InspectionType,
    Recommendation,
    Severity,
    State,
    Trigger,
    Urgency,
    Weather,
)
from facilities.inspections.schemas import (
    FindingIn,
    FindingOut,
    FindingTicketOut,
    InspectionIn,
    InspectionOut,
    InspectionRowOut,
    PreviewOut,
    RecordIn,
    ScheduleIn,
    ScheduleOut,
    StepIn,
)
from facilities.inspections.tables import Finding, Inspection, InspectionSchedule
from facilities.lib import recurrence
from facilities.lib.forms import parse_fields
from facilities.web.auth import require_actor, staff_guard
from facilities.web.clock import now_of
from facilities.web.errors import api_errors
from facilities.web.forms import form_values, parse_form
from facilities.web.responses import media_file, redirect, render

IdParam = Annotated[int, Parameter(ge=1, le=2_147_483_647)]
MAX_ID = 2_147_483_647
FEED_DAYS_BEHIND = 7
FEED_DAYS_AHEAD = 180


def _zone(request: Request[Any, Any, Any]) -> ZoneInfo:
    return request.app.state.settings.zone


def _int_query(request: Request[Any, Any, Any], name: str) -> int | None:
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
        raise ValidationFailed({name: _("Choose one of the listed options.")})
    return int(raw)


# --- shapes shared by pages and API --------------------------------------------------------


def schedule_out(
    schedule: InspectionSchedule, now: dt.datetime, overdue: bool = False
) -> ScheduleOut:
    return ScheduleOut(
        id=schedule.id,
        asset_id=schedule.asset,
        inspection_type=InspectionType(schedule.inspection_type),
        rrule=schedule.rrule,
        effective_rrule=inspections.effective_rule(schedule),
        override_reason=schedule.override_reason,
        anchor=Anchor(schedule.anchor),
        starts_at=schedule.starts_at,
        lead_days=schedule.lead_days,
        tolerance_days=schedule.tolerance_days,
        team_id=schedule.team,
        checklist_id=schedule.checklist,
        next_due_at=schedule.next_due_at,
        last_completed_at=schedule.last_completed_at,
        status=inspections.schedule_status(schedule, now, overdue).value,
        is_suspended=schedule.is_suspended,
        version=schedule.version,
    )


def finding_out(finding: Finding) -> FindingOut:
    return FindingOut(
        id=finding.id,
        component_id=finding.component,
        defect_type=DefectType(finding.defect_type),
        severity=Severity(finding.severity),
        urgency=Urgency(finding.urgency),
        is_direct_control=finding.is_direct_control,
        description=finding.description,
        status=finding.status,
        ticket_id=finding.ticket,
    )


def inspection_out(inspection: Inspection, findings: list[Finding]) -> InspectionOut:
    return InspectionOut(
        id=inspection.id,
        asset_id=inspection.asset,
        schedule_id=inspection.schedule,
        inspection_type=InspectionType(inspection.inspection_type),
        trigger=Trigger(inspection.trigger),
        state=inspection.state,
        due_at=inspection.due_at,
        window_ends_at=inspection.window_ends_at,
        inspector_id=inspection.inspector,
        reviewer_id=inspection.reviewer,
        weather=Weather(inspection.weather) if inspection.weather else None,
        answers=inspections.answers_of(inspection),
        bci=inspection.bci,
        grade=inspection.grade,
        passed=inspection.passed,
        recommendation=Recommendation(inspection.recommendation),
        summary=inspection.summary,
        started_at=inspection.started_at,
        submitted_at=inspection.submitted_at,
        completed_at=inspection.completed_at,
        findings=[finding_out(f) for f in findings],
        version=inspection.version,
    )


def row_out(row: dict[str, Any]) -> InspectionRowOut:
    return InspectionRowOut(
        id=row["id"],
        asset_id=row["asset"],
        asset_code=row["asset_code"],
        schedule_id=row["schedule"],
        inspection_type=row["inspection_type"],
        trigger=row["trigger"],
        state=row["state"],
        due_at=row["due_at"],
        window_ends_at=row["window_ends_at"],
        is_overdue=row["is_overdue"],
        inspector_id=row["inspector"],
        team_id=row["team"],
        grade=row["grade"],
        version=row["version"],
    )


async def _schedule_outs(
    schedules: list[InspectionSchedule], now: dt.datetime
) -> list[ScheduleOut]:
    overdue = await inspections.overdue_schedules([s.id for s in schedules], now)
    return [schedule_out(s, now, s.id in overdue) for s in schedules]


# --- form helpers --------------------------------------------------------------------------


async def _asset_options(actor: Actor) -> list[tuple[int, str]]:
    return [(r["id"], f"{r['code']} {r['name_zh']}") for r in await assets.all_asset_choices(actor)]


async def _team_options() -> list[tuple[int, str]]:
    return [(t["id"], t["name"]) for t in await inspections.list_teams()]


async def _checklist_options() -> list[tuple[int, str]]:
    return [
        (c["id"], f"{c['name_zh']} · {c['name_en']}" if c["name_en"] else c["name_zh"])
        for c in await inspections.list_checklists()
    ]


def schedule_form_values(schedule: InspectionSchedule, zone: ZoneInfo) -> dict[str, Any]:
    local = schedule.starts_at.astimezone(zone)
    return {
        "asset_id": schedule.asset,
        "inspection_type": schedule.inspection_type,
        "rrule": schedule.rrule,
        "anchor": schedule.anchor,
        "starts_on": local.date().isoformat(),
        "start_time": local.strftime("%H:%M"),
        "lead_days": schedule.lead_days,
        "tolerance_days": schedule.tolerance_days,
        "checklist_id": schedule.checklist or "",
        "team_id": schedule.team or "",
        "is_suspended": "true" if schedule.is_suspended else "",
        "version": schedule.version,
    }


def record_form_values(
    inspection: Inspection, conditions: dict[int, dict[str, Any]]
) -> dict[str, Any]:
    """The saved record as form fields (``answer__<key>``, ``score__<component id>`` ...)."""
    values: dict[str, Any] = {
        "version": inspection.version,
        "weather": inspection.weather or "",
        "recommendation": inspection.recommendation,
        "summary": inspection.summary,
    }
    for key, answer in inspections.answers_of(inspection).items():
        values[f"answer__{key}"] = answer.get("answer", "")
        values[f"note__{key}"] = answer.get("note", "")
    for component_id, row in conditions.items():
        score = row["score"]
        values[f"score__{component_id}"] = (
            "" if score is None else (int(score) if float(score).is_integer() else score)
        )
        values[f"ok__{component_id}"] = "" if row["is_ok"] is None else str(row["is_ok"]).lower()
        values[f"cnote__{component_id}"] = row["note"]
    return values


def parse_record_form(
    values: dict[str, str], items: list[dict[str, Any]], component_ids: list[int]
) -> tuple[RecordIn | None, dict[str, str]]:
    """The inspection form into a RecordIn, or the message per field (named as in the form)."""
    errors: dict[str, str] = {}
    answers: dict[str, str] = {}
    notes: dict[str, str] = {}
    allowed_answers = {a.value for a in Answer}
    for item in items:
        key = item["key"]
        answer = values.get(f"answer__{key}", "").strip()
        if answer:
            if answer in allowed_answers:
                answers[key] = answer
            else:
                errors[f"answer__{key}"] = _("Choose one of the listed options.")
        note = values.get(f"note__{key}", "").strip()
        if len(note) > 500:
            errors[f"note__{key}"] = _("Enter at most %(n)s characters.") % {"n": 500}
        elif note:
            notes[key] = note
    conditions = []
    for component_id in component_ids:
        raw_score = values.get(f"score__{component_id}", "").strip()
        raw_ok = values.get(f"ok__{component_id}", "").strip()
        note = values.get(f"cnote__{component_id}", "").strip()
        score: float | None = None
        if raw_score:
            try:
                score = float(raw_score)
            except ValueError:
                score = -1.0
            if not 0 <= score <= 100:  # also false for NaN
                errors[f"score__{component_id}"] = _("Enter a number from %(low)s to %(high)s.") % {
                    "low": 0,
                    "high": 100,
                }
                continue
        if raw_ok not in {"", "true", "false"}:
            errors[f"ok__{component_id}"] = _("Choose one of the listed options.")
            continue
        if len(note) > 500:
            errors[f"cnote__{component_id}"] = _("Enter at most %(n)s characters.") % {"n": 500}
            continue
        if score is None and not raw_ok and not note:
            continue
        conditions.append(
            {
                "component_id": component_id,
                "score": score,
                "is_ok": None if not raw_ok else raw_ok == "true",
                "note": note,
            }
        )
    weather = values.get("weather", "").strip()
    if weather and weather not in {w.value for w in Weather}:
        errors["weather"] = _("Choose one of the listed options.")
    recommendation = values.get("recommendation", "").strip() or Recommendation.NONE.value
    if recommendation not in {r.value for r in Recommendation}:
        errors["recommendation"] = _("Choose one of the listed options.")
    summary = values.get("summary", "").strip()
    if len(summary) > 8000:
        errors["summary"] = _("Enter at most %(n)s characters.") % {"n": 8000}
    version = values.get("version", "").strip()
    if not version.isdigit() or not 0 < int(version) <= MAX_ID:
        errors["version"] = _("The record version is missing; reload and retry.")
    if errors:
        return None, errors
    try:
        data = msgspec.convert(
            {
                "version": int(version),
                "answers": answers,
                "answer_notes": notes,
                "conditions": conditions,
                "weather": weather or None,
                "recommendation": recommendation,
                "summary": summary,
            },
            RecordIn,
        )
    except msgspec.ValidationError as exc:
        return None, {"__all__": str(exc)}
    return data, {}


def record_errors_for_form(
    errors: dict[str, str], conditions: list[dict[str, Any]] | None = None
) -> dict[str, str]:
    """Service errors (``answers.<key>``, ``conditions.<n>``) under the form's field names."""
    shown: dict[str, str] = {}
    for key, message in errors.items():
        if key.startswith("answers."):
            shown[f"answer__{key.removeprefix('answers.')}"] = message
        elif key.startswith("conditions.") and conditions is not None:
            index = int(key.removeprefix("conditions."))
            shown[f"score__{conditions[index]['component_id']}"] = message
        else:
            shown[key] = message
    return shown


# --- the condition history chart -----------------------------------------------------------

GRADES = "ABCDE"
CHART_WIDTH = 640
CHART_HEIGHT = 240
CHART_LEFT = 44
CHART_RIGHT = 16
CHART_TOP = 16
CHART_BOTTOM = 40


def grade_chart(history: list[dict[str, Any]], zone: ZoneInfo) -> dict[str, Any]:
    """Points of the grade-over-time line (A at the top, E at the bottom), laid out in SVG user
    units: the template draws them, so the chart is plain server-rendered markup."""
    inner_w = CHART_WIDTH - CHART_LEFT - CHART_RIGHT
    inner_h = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    rows = [r for r in history if r["grade"] in GRADES and r["completed_at"] is not None]
    times = [r["completed_at"].timestamp() for r in rows]
    first, last = (min(times), max(times)) if times else (0.0, 0.0)
    span = last - first

    def x_of(stamp: float) -> float:
        if span <= 0:
            return CHART_LEFT + inner_w / 2
        return CHART_LEFT + (stamp - first) / span * inner_w

    def y_of(grade: str) -> float:
        return CHART_TOP + GRADES.index(grade) * inner_h / (len(GRADES) - 1)

    points = [
        {
            "x": round(x_of(stamp), 1),
            "y": round(y_of(r["grade"]), 1),
            "grade": r["grade"],
            "bci": r["bci"],
            "day": r["completed_at"].astimezone(zone).date(),
            "inspection_id": r["id"],
        }
        for r, stamp in zip(rows, times, strict=True)
    ]
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": CHART_LEFT,
        "right": CHART_WIDTH - CHART_RIGHT,
        "bottom": CHART_HEIGHT - CHART_BOTTOM,
        "levels": [{"grade": g, "y": round(y_of(g), 1)} for g in GRADES],
        "points": points,
        "polyline": " ".join(f"{p['x']},{p['y']}" for p in points),
    }


# --- iCalendar -----------------------------------------------------------------------------


def team_calendar(
    team: dict[str, Any], entries: list[inspections.CalendarEntry], base_url: str, now: dt.datetime
) -> bytes:
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//facilities//inspections//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", _("Inspections: %(team)s") % {"team": team["name"]})
    host = base_url.split("://", 1)[-1].split("/", 1)[0] or "facilities"
    for entry in entries:
        event = Event()
        event.add("uid", f"{entry.uid}@{host}")
        event.add("dtstamp", now.astimezone(dt.UTC))
        event.add("dtstart", entry.due_at.astimezone(dt.UTC))
        event.add("dtend", entry.due_at.astimezone(dt.UTC) + dt.timedelta(hours=1))
        summary = f"{entry.asset_code} {entry.asset_name_zh} · "
        summary += InspectionType(entry.inspection_type).label
        event.add("summary", summary)
        if entry.inspection_id is not None:
            event.add("url", f"{base_url}/inspections/{entry.inspection_id}")
            event.add("status", "CONFIRMED")
        else:
            event.add("status", "TENTATIVE")
        event.add("categories", [entry.inspection_type])
        cal.add_component(event)
    return cal.to_ical()


# --- pages ---------------------------------------------------------------------------------


class InspectionController(Controller):
    path = "/inspections"
    # Each page has the staff guard itself (not the controller), so that the token-protected
    # calendar feed alone can go without a login.
    include_in_schema = False

    # --- lists ---------------------------------------------------------------------------

    @get("/", guards=[staff_guard])
    async def index(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        actor = require_actor(request)
        asset_id = _int_query(request, "asset")
        mine = request.query_params.get("mine") == "true"
        overdue_only = request.query_params.get("overdue") == "true"
        rows = await inspections.list_inspections(
            actor, now, asset_id=asset_id, inspector_id=actor.id if mine else None
        )
        if overdue_only:
            rows = [r for r in rows if r["is_overdue"]]
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
            asset_options=await _asset_options(actor),
            can_plan=can(actor, Perm.INSPECTIONS_PLAN),
        )

    @get("/calendar", guards=[staff_guard])
    async def calendar_view(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        actor = require_actor(request)
        zone = _zone(request)
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
        from facilities.accounts.permissions import SYSTEM

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
            media_type="text/calendar; charset=utf-8",
            headers={
                "Content-Disposition": f'inline; filename="inspections-team-{team_id}.ics"',
                "Cache-Control": "private, max-age=300",
            },
        )

    # --- schedules -----------------------------------------------------------------------

    @get("/schedules", guards=[staff_guard])
    async def schedules(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        actor = require_actor(request)
        asset_id = _int_query(request, "asset")
        asset = await assets.load_asset(actor, asset_id) if asset_id else None
        rows = await inspections.list_schedules(actor, asset_id)
        outs = await _schedule_outs(rows, now)
        codes = {r["id"]: r["code"] for r in await assets.all_asset_choices(actor)}
        return render(
            request,
            "inspections/schedules.html",
            asset=asset,
            schedules=outs,
            asset_codes=codes,
            teams=dict(await _team_options()),
            proposals=await inspections.list_proposals(actor, asset_id) if asset_id else [],
            firings=await inspections.list_firings(actor, asset_id) if asset_id else [],
            can_edit=can(actor, Perm.SCHEDULES_EDIT),
            now=now,
        )

    @post("/schedules/defaults", guards=[staff_guard])
    async def apply_defaults(self, request: Request[Any, Any, Any], now: dt.datetime) -> Any:
        actor = require(require_actor(request), Perm.SCHEDULES_EDIT)
        values = await form_values(request)
        raw = values.get("asset_id", "").strip()
        if not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
            raise ValidationFailed({"asset_id": _("Choose an existing asset.")})
        created = await inspections.apply_default_schedules(actor, int(raw), _zone(request), now)
        message = (
            _("%(n)s default schedule(s) added.") % {"n": created}
            if created
            else _("This asset already has every default schedule.")
        )
        return redirect(f"/inspections/schedules?asset={int(raw)}", message)

    async def _schedule_form(
        self,
        request: Request[Any, Any, Any],
        form: dict[str, Any],
        errors: dict[str, str],
        schedule: InspectionSchedule | None = None,
        status_code: int = 200,
        preview: list[dt.datetime] | None = None,
        conflict: bool = False,
    ) -> Template:
        actor = require_actor(request)
        return render(
            request,
            "inspections/schedule_form.html",
            status_code=status_code,
            form=form,
            errors=errors,
            schedule=schedule,
            preview=preview,
            conflict=conflict,
            asset_options=await _asset_options(actor),
            team_options=await _team_options(),
            checklist_options=await _checklist_options(),
        )

    @get("/schedules/new", guards=[staff_guard])
    async def new_schedule(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        require(require_actor(request), Perm.SCHEDULES_EDIT)
        today = now.astimezone(_zone(request)).date()
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
        return await self._schedule_form(request, form, {})

    async def _save_schedule(
        self, request: Request[Any, Any, Any], schedule: InspectionSchedule | None
    ) -> Any:
        actor = require(require_actor(request), Perm.SCHEDULES_EDIT)
        zone = _zone(request)
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
                return await self._schedule_form(request, values, {}, schedule, preview=dates)
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
                return await self._schedule_form(
                    request, values, {}, fresh, status_code=409, conflict=True
                )
            else:
                return redirect(f"/inspections/schedules?asset={saved.asset}", _("Schedule saved."))
        return await self._schedule_form(request, values, errors, schedule, status_code=400)

    @post("/schedules", guards=[staff_guard])
    async def create_schedule(self, request: Request[Any, Any, Any]) -> Any:
        return await self._save_schedule(request, None)

    @get("/schedules/{schedule_id:int}/edit", guards=[staff_guard])
    async def edit_schedule(self, request: Request[Any, Any, Any], schedule_id: IdParam) -> Any:
        actor = require(require_actor(request), Perm.SCHEDULES_EDIT)
        schedule = await inspections.get_schedule(actor, schedule_id)
        return await self._schedule_form(
            request, schedule_form_values(schedule, _zone(request)), {}, schedule
        )

    @post("/schedules/{schedule_id:int}", guards=[staff_guard])
    async def update_schedule(self, request: Request[Any, Any, Any], schedule_id: IdParam) -> Any:
        actor = require(require_actor(request), Perm.SCHEDULES_EDIT)
        schedule = await inspections.get_schedule(actor, schedule_id)
        return await self._save_schedule(request, schedule)

    # --- ad hoc inspections --------------------------------------------------------------

    async def _new_form(
        self,
        request: Request[Any, Any, Any],
        form: dict[str, Any],
        errors: dict[str, str],
        status_code: int = 200,
    ) -> Template:
        actor = require_actor(request)
        return render(
            request,
            "inspections/new.html",
            status_code=status_code,
            form=form,
            errors=errors,
            asset_options=await _asset_options(actor),
            staff_options=await accounts.staff_options(),
            team_options=await _team_options(),
            checklist_options=await _checklist_options(),
        )

    @get("/new", guards=[staff_guard])
    async def new(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        require(require_actor(request), Perm.INSPECTIONS_PLAN)
        today = now.astimezone(_zone(request)).date()
        form = {
            "asset_id": request.query_params.get("asset", ""),
            "inspection_type": InspectionType.SPECIAL.value,
            "trigger": "event",
            "due_on": (today + dt.timedelta(days=1)).isoformat(),
        }
        return await self._new_form(request, form, {})

    @post("/", guards=[staff_guard])
    async def create(self, request: Request[Any, Any, Any], now: dt.datetime) -> Any:
        actor = require(require_actor(request), Perm.INSPECTIONS_PLAN)
        data, errors, values = await parse_form(request, InspectionIn)
        if data is not None:
            try:
                row = await inspections.create_inspection(actor, data, _zone(request), now)
            except ValidationFailed as exc:
                errors = exc.errors
            else:
                return redirect(
                    f"/inspections/{row.id}", _("Inspection #%(id)s planned.") % {"id": row.id}
                )
        return await self._new_form(request, values, errors, status_code=400)

    # --- one inspection ------------------------------------------------------------------

    async def _show(
        self,
        request: Request[Any, Any, Any],
        inspection_id: int,
        status_code: int = 200,
        form: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        finding_form: dict[str, Any] | None = None,
        finding_errors: dict[str, str] | None = None,
        action_error: str = "",
    ) -> Template:
        actor = require_actor(request)
        now = now_of(request)
        inspection = await inspections.get_inspection(actor, inspection_id)
        asset = await assets.load_asset(actor, inspection.asset)
        components = await assets.list_components(actor, inspection.asset)
        conditions = await inspections.conditions_of(inspection.id)
        findings = await inspections.list_findings(actor, inspection.id)
        photos = await inspections.photos_of(inspection.id)
        schedule = (
            await inspections.get_schedule(actor, inspection.schedule)
            if inspection.schedule
            else None
        )
        names = dict(await accounts.staff_options())
        editable = inspection.state in (State.PLANNED, State.IN_PROGRESS)
        return render(
            request,
            "inspections/show.html",
            status_code=status_code,
            i=inspection,
            asset=asset,
            items=await inspections.checklist_items(inspection),
            components=components,
            component_names={c.id: c for c in components},
            form=form if form is not None else record_form_values(inspection, conditions),
            errors=errors or {},
            finding_form=finding_form or {"urgency": "planned", "severity": "minor"},
            finding_errors=finding_errors or {},
            action_error=action_error,
            findings=findings,
            photos=photos,
            photos_by_finding={f.id: [p for p in photos if p.finding == f.id] for f in findings},
            general_photos=[p for p in photos if p.finding is None],
            firings=await inspections.list_firings_for_inspection(actor, inspection.id),
            schedule=schedule,
            inspector_name=names.get(inspection.inspector, "") if inspection.inspector else "",
            reviewer_name=names.get(inspection.reviewer, "") if inspection.reviewer else "",
            is_overdue=inspection.state != State.FINAL
            and (inspection.window_ends_at or inspection.due_at) < now,
            can_record=editable and can(actor, Perm.INSPECTIONS_RECORD),
            can_add=inspection.state != State.FINAL and can(actor, Perm.INSPECTIONS_RECORD),
            can_finalise=inspection.state == State.SUBMITTED
            and can(actor, Perm.INSPECTIONS_FINALISE),
            can_ticket=can(actor, Perm.TICKETS_CREATE),
            now=now,
        )

    @get("/{inspection_id:int}", guards=[staff_guard])
    async def show(self, request: Request[Any, Any, Any], inspection_id: IdParam) -> Template:
        return await self._show(request, inspection_id)

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
            return await self._show(request, inspection_id, 400, form=values, errors=errors)
        try:
            await inspections.save_record(actor, inspection_id, data, now)
        except ValidationFailed as exc:
            shown = record_errors_for_form(
                exc.errors, [msgspec.to_builtins(c) for c in data.conditions]
            )
            return await self._show(request, inspection_id, 400, form=values, errors=shown)
        except (Conflict, InvalidTransition) as exc:
            return await self._show(
                request, inspection_id, 409, form=values, action_error=exc.detail
            )
        then = values.get("then", "")
        if then == "submit":
            try:
                fresh = await inspections.get_inspection(actor, inspection_id)
                await inspections.submit(actor, inspection_id, fresh.version, now)
            except (Conflict, InvalidTransition) as exc:
                return await self._show(request, inspection_id, 409, action_error=exc.detail)
            return redirect(f"/inspections/{inspection_id}", _("Inspection submitted for review."))
        return redirect(f"/inspections/{inspection_id}", _("Inspection saved."))

    async def _step(self, request: Request[Any, Any, Any], inspection_id: int, action: str) -> Any:
        actor = require_actor(request)
        values = await form_values(request)
        step, _errors = parse_fields(StepIn, values)
        if step is None:
            return await self._show(
                request,
                inspection_id,
                400,
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
                final = await inspections.finalise(
                    actor, inspection_id, step.version, settings.zone, settings.media_path, now
                )
                message = (
                    _("Inspection final: grade %(grade)s.") % {"grade": final.grade}
                    if final.grade
                    else _("Inspection final (no grade: no component was scored).")
                )
        except (Conflict, InvalidTransition) as exc:
            return await self._show(request, inspection_id, 409, action_error=exc.detail)
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
            return await self._show(
                request, inspection_id, 400, finding_form=values, finding_errors=errors
            )
        try:
            finding = await inspections.add_finding(actor, inspection_id, data, now)
        except ValidationFailed as exc:
            return await self._show(
                request, inspection_id, 400, finding_form=values, finding_errors=exc.errors
            )
        except InvalidTransition as exc:
            return await self._show(request, inspection_id, 409, action_error=exc.detail)
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
                )
            except ValidationFailed as exc:
                return await self._show(
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
            return await self._show(
                request, inspection_id, 400, finding_errors={"file": _("Choose a file to upload.")}
            )
        if raw_finding and (not raw_finding.isdigit() or not 0 < int(raw_finding) <= MAX_ID):
            return await self._show(
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
            )
        except ValidationFailed as exc:
            return await self._show(request, inspection_id, 400, finding_errors=exc.errors)
        except InvalidTransition as exc:
            return await self._show(request, inspection_id, 409, action_error=exc.detail)
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
            chart=grade_chart(rows, _zone(request)),
            firings=await inspections.list_firings(actor, asset_id),
            proposals=await inspections.list_proposals(actor, asset_id),
            recommendations=await inspections.recommendation_closures(asset_id),
        )


# --- JSON API ------------------------------------------------------------------------------


class InspectionApiController(Controller):
    path = "/api/v1"
    guards = [staff_guard]
    tags = ["inspections"]

    @get("/schedules", responses=api_errors())
    async def list_schedules(
        self,
        request: Request[Any, Any, Any],
        asset: Annotated[int | None, QueryParameter(name="asset", ge=1, le=MAX_ID)] = None,
        *,
        now: dt.datetime,
    ) -> list[ScheduleOut]:
        """Inspection schedules, soonest due first; ``asset`` narrows to one asset."""
        rows = await inspections.list_schedules(require_actor(request), asset)
        return await _schedule_outs(rows, now)

    @post("/schedules", responses=api_errors(403))
    async def create_schedule(
        self, request: Request[Any, Any, Any], data: JSONBody[ScheduleIn], now: dt.datetime
    ) -> Response[ScheduleOut]:
        """Create a schedule. 400 with ``extra`` naming ``rrule`` when the rule is not an
        accepted RFC 5545 RRULE (at most daily)."""
        actor = require_actor(request)
        row = await inspections.create_schedule(actor, data, _zone(request), now)
        return Response(schedule_out(row, now), status_code=201)

    @post("/schedules/preview", status_code=200, responses=api_errors(403))
    async def preview_schedule(
        self, request: Request[Any, Any, Any], data: JSONBody[ScheduleIn], now: dt.datetime
    ) -> PreviewOut:
        """The next five due dates the schedule would have; nothing is saved."""
        require_actor(request)
        return PreviewOut(due_dates=inspections.preview(data, _zone(request), now))

    @get("/schedules/{schedule_id:int}", responses=api_errors(404))
    async def get_schedule(
        self, request: Request[Any, Any, Any], schedule_id: IdParam, now: dt.datetime
    ) -> ScheduleOut:
        row = await inspections.get_schedule(require_actor(request), schedule_id)
        return (await _schedule_outs([row], now))[0]

    @put("/schedules/{schedule_id:int}", responses=api_errors(403, 404, 409))
    async def update_schedule(
        self,
        request: Request[Any, Any, Any],
        schedule_id: IdParam,
        data: JSONBody[ScheduleIn],
        now: dt.datetime,
    ) -> ScheduleOut:
        """Replace the schedule; send the ``version`` you read (409 when someone saved first)."""
        actor = require_actor(request)
        row = await inspections.update_schedule(actor, schedule_id, data, _zone(request), now)
        return (await _schedule_outs([row], now))[0]

    @get("/inspections", responses=api_errors())
    async def list_inspections(
        self,
        request: Request[Any, Any, Any],
        asset: Annotated[int | None, QueryParameter(name="asset", ge=1, le=MAX_ID)] = None,
        open_only: Annotated[bool, QueryParameter(name="open")] = True,
        limit: Annotated[int, QueryParameter(name="limit", ge=1, le=500)] = 200,
        *,
        now: dt.datetime,
    ) -> list[InspectionRowOut]:
        """Open inspections, soonest due first (``open=false``: all, newest first)."""
        rows = await inspections.list_inspections(
            require_actor(request), now, asset_id=asset, open_only=open_only, limit=limit
        )
        return [row_out(r) for r in rows]

    @post("/inspections", responses=api_errors(403))
    async def create_inspection(
        self, request: Request[Any, Any, Any], data: JSONBody[InspectionIn], now: dt.datetime
    ) -> Response[InspectionOut]:
        """Plan an inspection by hand (after an event, a public report, a repair ...)."""
        actor = require_actor(request)
        row = await inspections.create_inspection(actor, data, _zone(request), now)
        return Response(inspection_out(row, []), status_code=201)

    async def _out(self, actor: Actor, inspection_id: int) -> InspectionOut:
        row = await inspections.get_inspection(actor, inspection_id)
        return inspection_out(row, await inspections.list_findings(actor, inspection_id))

    @get("/inspections/{inspection_id:int}", responses=api_errors(404))
    async def get_inspection(
        self, request: Request[Any, Any, Any], inspection_id: IdParam
    ) -> InspectionOut:
        return await self._out(require_actor(request), inspection_id)

    @put("/inspections/{inspection_id:int}/record", responses=api_errors(403, 404, 409))
    async def record(
        self,
        request: Request[Any, Any, Any],
        inspection_id: IdParam,
        data: JSONBody[RecordIn],
        now: dt.datetime,
    ) -> InspectionOut:
        """Save answers, component conditions, weather and summary (planned or in progress);
        send the ``version`` you read."""
        actor = require_actor(request)
        await inspections.save_record(actor, inspection_id, data, now)
        return await self._out(actor, inspection_id)

    @post(
        "/inspections/{inspection_id:int}/start",
        status_code=200,
        responses=api_errors(403, 404, 409),
    )
    async def start(
        self,
        request: Request[Any, Any, Any],
        inspection_id: IdParam,
        data: JSONBody[StepIn],
        now: dt.datetime,
    ) -> InspectionOut:
        actor = require_actor(request)
        await inspections.start(actor, inspection_id, data.version, now)
        return await self._out(actor, inspection_id)

    @post(
        "/inspections/{inspection_id:int}/submit",
        status_code=200,
        responses=api_errors(403, 404, 409),
    )
    async def submit(
        self,
        request: Request[Any, Any, Any],
        inspection_id: IdParam,
        data: JSONBody[StepIn],
        now: dt.datetime,
    ) -> InspectionOut:
        actor = require_actor(request)
        await inspections.submit(actor, inspection_id, data.version, now)
        return await self._out(actor, inspection_id)

    @post(
        "/inspections/{inspection_id:int}/finalise",
        status_code=200,
        responses=api_errors(403, 404, 409),
    )
    async def finalise(
        self,
        request: Request[Any, Any, Any],
        inspection_id: IdParam,
        data: JSONBody[StepIn],
        now: dt.datetime,
    ) -> InspectionOut:
        """Grade the inspection, update the asset's grade and next due date, open tickets for
        urgent findings and failed items, run the rules. Supervisors only."""
        actor = require_actor(request)
        settings = request.app.state.settings
        await inspections.finalise(
            actor, inspection_id, data.version, settings.zone, settings.media_path, now
        )
        return await self._out(actor, inspection_id)

    @get("/inspections/{inspection_id:int}/findings", responses=api_errors(404))
    async def findings(
        self, request: Request[Any, Any, Any], inspection_id: IdParam
    ) -> list[FindingOut]:
        actor = require_actor(request)
        await inspections.get_inspection(actor, inspection_id)
        return [finding_out(f) for f in await inspections.list_findings(actor, inspection_id)]

    @post("/inspections/{inspection_id:int}/findings", responses=api_errors(403, 404, 409))
    async def add_finding(
        self,
        request: Request[Any, Any, Any],
        inspection_id: IdParam,
        data: JSONBody[FindingIn],
        now: dt.datetime,
    ) -> Response[FindingOut]:
        finding = await inspections.add_finding(require_actor(request), inspection_id, data, now)
        return Response(finding_out(finding), status_code=201)

    @post(
        "/findings/{finding_id:int}/ticket",
        responses={
            **api_errors(403, 404),
            200: ResponseSpec(
                FindingTicketOut,
                description="The finding already had a ticket: that one.",
                generate_examples=False,
            ),
        },
    )
    async def finding_ticket(
        self, request: Request[Any, Any, Any], finding_id: IdParam, now: dt.datetime
    ) -> Response[FindingTicketOut]:
        """Open a repair ticket from a finding, its photos attached. 201 with the new ticket;
        200 with the existing one when the finding already has a ticket."""
        actor = require_actor(request)
        finding = await inspections.get_finding(actor, finding_id)
        existing = finding.ticket
        settings = request.app.state.settings
        ticket_id = await inspections.finding_to_ticket(actor, finding.id, settings.media_path, now)
        return Response(
            FindingTicketOut(finding_id=finding.id, ticket_id=ticket_id),
            status_code=200 if existing else 201,
        )
