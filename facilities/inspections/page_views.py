"""The inspection pages that more than one handler renders: the schedule form, the form to plan
an inspection by hand, and one inspection (shown again, with the message, after any refused
action on it). Each gathers its own options and context, so a handler re-rendering one after an
error passes only what was typed and what went wrong."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request
from litestar.response import Template

from facilities.accounts import services as accounts
from facilities.accounts.choices import Perm
from facilities.accounts.guards import require_actor
from facilities.accounts.permissions import can
from facilities.assets import services as assets
from facilities.inspections import services as inspections
from facilities.inspections.choices import Recommendation, State
from facilities.inspections.page_forms import (
    asset_options,
    checklist_options,
    record_form_values,
    team_options,
)
from facilities.inspections.tables import InspectionSchedule
from facilities.web.clock import now_of
from facilities.web.responses import render


async def schedule_form_page(
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
        asset_options=await asset_options(actor),
        team_options=await team_options(),
        checklist_options=await checklist_options(),
    )


async def new_inspection_page(
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
        asset_options=await asset_options(actor),
        staff_options=await accounts.staff_options(able_to=Perm.INSPECTIONS_RECORD),
        team_options=await team_options(),
        checklist_options=await checklist_options(),
    )


async def inspection_page(
    request: Request[Any, Any, Any],
    inspection_id: int,
    status_code: int = 200,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    finding_form: dict[str, Any] | None = None,
    finding_errors: dict[str, str] | None = None,
    action_error: str = "",
    finalise_form: dict[str, Any] | None = None,
) -> Template:
    actor = require_actor(request)
    now = now_of(request)
    inspection = await inspections.get_inspection(actor, inspection_id)
    # the grade the record gives now (final: the one it got), for the checks before sign-off
    grade = (
        inspection.grade
        if inspection.state == State.FINAL
        else (await inspections.grade_inspection(inspection.id))[1]
    )
    asset = await assets.load_asset(actor, inspection.asset)
    components = await assets.list_components(actor, inspection.asset)
    conditions = await inspections.conditions_of(inspection.id)
    findings = await inspections.list_findings(actor, inspection.id)
    photos = await inspections.photos_of(inspection.id)
    schedule = (
        await inspections.get_schedule(actor, inspection.schedule) if inspection.schedule else None
    )
    names = dict(await accounts.staff_options())
    editable = inspection.state in (State.PLANNED, State.IN_PROGRESS)
    mine = await inspections.may_work_on(actor, inspection)  # assigned to them or their team
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
        history=await inspections.audit_trail(actor, inspection.id),
        schedule=schedule,
        inspector_name=names.get(inspection.inspector, "") if inspection.inspector else "",
        reviewer_name=names.get(inspection.reviewer, "") if inspection.reviewer else "",
        is_overdue=inspection.state != State.FINAL
        and (inspection.window_ends_at or inspection.due_at) < now,
        can_record=editable and mine and can(actor, Perm.INSPECTIONS_RECORD),
        can_add=inspection.state != State.FINAL and mine and can(actor, Perm.INSPECTIONS_RECORD),
        can_finalise=inspection.state == State.SUBMITTED and can(actor, Perm.INSPECTIONS_FINALISE),
        can_ticket=can(actor, Perm.TICKETS_CREATE),
        now=now,
        current_grade=grade,
        coverage=await inspections.coverage(inspection),
        needs_reason=inspection.recommendation == Recommendation.NONE
        and grade in inspections.FLAGGED_GRADES,
        finalise_form=finalise_form or {},
        closures=await inspections.closures_of_asset(actor, inspection.asset),
    )
