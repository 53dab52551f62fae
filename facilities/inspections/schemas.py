"""Inspection input and output shapes (forms, API)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from facilities.inspections.choices import (
    Anchor,
    Answer,
    DefectType,
    InspectionType,
    Recommendation,
    Severity,
    Trigger,
    Urgency,
    Weather,
)

Id = Annotated[int, msgspec.Meta(ge=1, le=2_147_483_647)]
Version = Annotated[int, msgspec.Meta(ge=1, le=2_147_483_647)]
Days = Annotated[int, msgspec.Meta(ge=0, le=365)]
Reason = Annotated[str, msgspec.Meta(max_length=2000)]


class ScheduleIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    asset_id: Id
    inspection_type: InspectionType
    rrule: Annotated[str, msgspec.Meta(min_length=5, max_length=300)]
    anchor: Anchor = Anchor.FIXED
    starts_on: dt.date
    start_time: Annotated[str, msgspec.Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] = "09:00"
    lead_days: Days = 0
    tolerance_days: Days = 0
    checklist_id: Id | None = None
    team_id: Id | None = None
    is_suspended: bool = False
    version: Version | None = None


class InspectionIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An inspection raised by hand (after an event, a report, a repair, before reopening)."""

    asset_id: Id
    inspection_type: InspectionType
    trigger: Trigger = Trigger.EVENT
    due_on: dt.date
    inspector_id: Id | None = None
    team_id: Id | None = None
    checklist_id: Id | None = None


class ConditionIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    component_id: Id
    score: Annotated[float, msgspec.Meta(ge=0, le=100)] | None = None
    is_ok: bool | None = None
    note: Annotated[str, msgspec.Meta(max_length=500)] = ""


class RecordIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What the inspector records; saved as often as they like before submitting."""

    version: Version
    answers: dict[Annotated[str, msgspec.Meta(max_length=64)], Answer] = {}
    answer_notes: dict[
        Annotated[str, msgspec.Meta(max_length=64)], Annotated[str, msgspec.Meta(max_length=500)]
    ] = {}
    conditions: list[ConditionIn] = []
    weather: Weather | None = None
    #: no default: None until the inspector chooses (required to submit for review)
    recommendation: Recommendation | None = None
    #: required to submit when the grade is D or E and the recommendation is "none"
    no_restriction_reason: Reason = ""
    summary: Annotated[str, msgspec.Meta(max_length=8000)] = ""


class FindingIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    component_id: Id | None = None
    defect_type: DefectType = DefectType.OTHER
    severity: Severity = Severity.MINOR
    urgency: Urgency = Urgency.PLANNED
    is_direct_control: bool = False
    description: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]


class StepIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    version: Version


class FinaliseIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Signing an inspection off. ``finalise_anyway`` with an ``unscored_reason`` when not
    every component of the asset was scored; ``no_restriction_reason`` when the grade is D or E,
    the recommendation "none" and the inspector gave no reason."""

    version: Version
    finalise_anyway: bool = False
    unscored_reason: Reason = ""
    no_restriction_reason: Reason = ""


class ScheduleOut(msgspec.Struct, kw_only=True):
    id: int
    asset_id: int
    inspection_type: InspectionType
    rrule: str
    effective_rrule: str
    override_reason: str
    anchor: Anchor
    starts_at: dt.datetime
    lead_days: int
    tolerance_days: int
    team_id: int | None
    checklist_id: int | None
    next_due_at: dt.datetime | None
    last_completed_at: dt.datetime | None
    status: str
    is_suspended: bool
    version: int


class FindingOut(msgspec.Struct, kw_only=True):
    id: int
    component_id: int | None
    defect_type: DefectType
    severity: Severity
    urgency: Urgency
    is_direct_control: bool
    description: str
    status: str
    ticket_id: int | None


class InspectionOut(msgspec.Struct, kw_only=True):
    id: int
    asset_id: int
    schedule_id: int | None
    inspection_type: InspectionType
    trigger: Trigger
    state: str
    due_at: dt.datetime
    window_ends_at: dt.datetime | None
    inspector_id: int | None
    reviewer_id: int | None
    weather: Weather | None
    answers: dict[str, dict[str, str]]
    bci: float | None
    grade: str | None
    passed: bool | None
    recommendation: Recommendation | None
    no_restriction_reason: str
    flagged_grade: str | None
    unscored_reason: str
    summary: str
    started_at: dt.datetime | None
    submitted_at: dt.datetime | None
    completed_at: dt.datetime | None
    findings: list[FindingOut]
    version: int


class InspectionRowOut(msgspec.Struct, kw_only=True):
    """An inspection in a list (no answers or findings)."""

    id: int
    asset_id: int
    asset_code: str
    schedule_id: int | None
    inspection_type: InspectionType
    trigger: Trigger
    state: str
    due_at: dt.datetime
    window_ends_at: dt.datetime | None
    is_overdue: bool
    inspector_id: int | None
    team_id: int | None
    grade: str | None
    flagged_grade: str | None
    version: int


class PreviewOut(msgspec.Struct, kw_only=True):
    """The next due dates a schedule would have (nothing is saved)."""

    due_dates: list[dt.datetime]


class FindingTicketOut(msgspec.Struct, kw_only=True):
    finding_id: int
    ticket_id: int
