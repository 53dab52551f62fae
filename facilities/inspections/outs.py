"""Inspection rows as the API's Out structs (the pages show schedules through the same shape,
with their status): field names differ from the columns, enums are typed, and a schedule's
status is derived, so these are written out field by field."""

from __future__ import annotations

import datetime as dt
from typing import Any

from facilities.inspections import services as inspections
from facilities.inspections.choices import (
    Anchor,
    DefectType,
    InspectionType,
    Recommendation,
    Severity,
    Trigger,
    Urgency,
    Weather,
)
from facilities.inspections.schemas import FindingOut, InspectionOut, InspectionRowOut, ScheduleOut
from facilities.inspections.tables import Finding, Inspection, InspectionSchedule


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


async def schedule_outs(schedules: list[InspectionSchedule], now: dt.datetime) -> list[ScheduleOut]:
    """Schedules with their status, overdue ones found in one query."""
    overdue = await inspections.overdue_schedules([s.id for s in schedules], now)
    return [schedule_out(s, now, s.id in overdue) for s in schedules]


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
        recommendation=Recommendation(inspection.recommendation)
        if inspection.recommendation
        else None,
        no_restriction_reason=inspection.no_restriction_reason,
        flagged_grade=inspection.flagged_grade,
        unscored_reason=inspection.unscored_reason,
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
        flagged_grade=row["flagged_grade"],
        version=row["version"],
    )
