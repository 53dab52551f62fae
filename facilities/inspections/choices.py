"""Inspection types, triggers, states, grades' inputs, findings' scales and recommendations."""

from __future__ import annotations

from facilities.i18n import N_, NC_
from facilities.lib.labels import LabelledChoice, set_labels


class InspectionType(LabelledChoice):
    PATROL = "patrol"
    ROUTINE_MONTHLY = "routine_monthly"
    PERIODIC_ROUTINE = "periodic_routine"
    PERIODIC_STRUCTURAL = "periodic_structural"
    HANDS_ON_CRITICAL = "hands_on_critical"
    SPECIAL = "special"
    ACCEPTANCE = "acceptance"
    PRE_HOLIDAY = "pre_holiday"


class Trigger(LabelledChoice):
    SCHEDULED = "scheduled"
    EVENT = "event"
    PUBLIC_REPORT = "public_report"
    POST_REPAIR = "post_repair"
    PRE_REOPEN = "pre_reopen"


class State(LabelledChoice):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    FINAL = "final"


class Anchor(LabelledChoice):
    FIXED = "fixed"
    FLOATING = "floating"


class ScheduleStatus(LabelledChoice):
    """Derived on reading from the next due date and ``now``; never stored."""

    ON_TRACK = "on_track"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    SUSPENDED = "suspended"


class Recommendation(LabelledChoice):
    NONE = "none"
    RESTRICT = "restrict"
    PARTIAL_CLOSURE = "partial_closure"
    FULL_CLOSURE = "full_closure"


class Severity(LabelledChoice):
    MINOR = "minor"
    MODERATE = "moderate"
    SEVERE = "severe"
    CRITICAL = "critical"


class Urgency(LabelledChoice):
    IMMEDIATE = "immediate"  # within 24 h
    SHORT = "short"  # within 7 days
    MEDIUM = "medium"  # within 90 days
    PLANNED = "planned"
    MONITOR = "monitor"


class DefectType(LabelledChoice):
    ROT = "rot"
    CORROSION = "corrosion"
    CRACK = "crack"
    DEFORMATION = "deformation"
    LOOSE_FASTENER = "loose_fastener"
    MISSING_PART = "missing_part"
    SPALLING = "spalling"
    SETTLEMENT = "settlement"
    DRAINAGE = "drainage"
    WEAR = "wear"
    OTHER = "other"


class FindingStatus(LabelledChoice):
    OPEN = "open"
    TICKETED = "ticketed"
    RESOLVED = "resolved"


class Weather(LabelledChoice):
    SUNNY = "sunny"
    CLOUDY = "cloudy"
    RAIN = "rain"
    HEAVY_RAIN = "heavy_rain"
    WIND = "wind"
    FOG = "fog"
    SNOW = "snow"


class Answer(LabelledChoice):
    OK = "ok"
    NOT_OK = "not_ok"
    NOT_APPLICABLE = "na"


set_labels(
    InspectionType,
    {
        InspectionType.PATROL: N_("Patrol"),
        InspectionType.ROUTINE_MONTHLY: N_("Routine monthly inspection"),
        InspectionType.PERIODIC_ROUTINE: N_("Periodic routine inspection"),
        InspectionType.PERIODIC_STRUCTURAL: N_("Periodic structural inspection"),
        InspectionType.HANDS_ON_CRITICAL: N_("Hands-on check of cables and hangers"),
        InspectionType.SPECIAL: N_("Special inspection"),
        InspectionType.ACCEPTANCE: N_("Acceptance inspection"),
        InspectionType.PRE_HOLIDAY: N_("Pre-holiday safety check"),
    },
)
set_labels(
    Trigger,
    {
        Trigger.SCHEDULED: NC_("inspection trigger", "Scheduled"),
        Trigger.EVENT: NC_("inspection trigger", "After an event"),
        Trigger.PUBLIC_REPORT: NC_("inspection trigger", "Public report"),
        Trigger.POST_REPAIR: NC_("inspection trigger", "After repair"),
        Trigger.PRE_REOPEN: NC_("inspection trigger", "Before reopening"),
    },
)
set_labels(
    State,
    {
        State.PLANNED: NC_("inspection state", "Planned"),
        State.IN_PROGRESS: NC_("inspection state", "In progress"),
        State.SUBMITTED: NC_("inspection state", "Submitted"),
        State.FINAL: NC_("inspection state", "Final"),
    },
)
set_labels(
    Anchor,
    {
        Anchor.FIXED: N_("Fixed calendar"),
        Anchor.FLOATING: N_("From the last completion"),
    },
)
set_labels(
    ScheduleStatus,
    {
        ScheduleStatus.ON_TRACK: NC_("schedule status", "On track"),
        ScheduleStatus.DUE_SOON: NC_("schedule status", "Due soon"),
        ScheduleStatus.OVERDUE: NC_("schedule status", "Overdue"),
        ScheduleStatus.SUSPENDED: NC_("schedule status", "Suspended"),
    },
)
set_labels(
    Recommendation,
    {
        Recommendation.NONE: N_("No restriction"),
        Recommendation.RESTRICT: N_("Restrict use"),
        Recommendation.PARTIAL_CLOSURE: N_("Partial closure"),
        Recommendation.FULL_CLOSURE: N_("Full closure"),
    },
)
set_labels(
    Severity,
    {
        Severity.MINOR: NC_("severity", "Minor"),
        Severity.MODERATE: NC_("severity", "Moderate"),
        Severity.SEVERE: NC_("severity", "Severe"),
        Severity.CRITICAL: NC_("severity", "Critical"),
    },
)
set_labels(
    Urgency,
    {
        Urgency.IMMEDIATE: NC_("urgency", "Immediate (within 24 h)"),
        Urgency.SHORT: NC_("urgency", "Short (within 7 days)"),
        Urgency.MEDIUM: NC_("urgency", "Medium (within 90 days)"),
        Urgency.PLANNED: NC_("urgency", "Planned"),
        Urgency.MONITOR: NC_("urgency", "Monitor"),
    },
)
set_labels(
    DefectType,
    {
        DefectType.ROT: N_("Rot"),
        DefectType.CORROSION: N_("Corrosion"),
        DefectType.CRACK: N_("Crack"),
        DefectType.DEFORMATION: N_("Deformation"),
        DefectType.LOOSE_FASTENER: N_("Loose fastener"),
        DefectType.MISSING_PART: N_("Missing part"),
        DefectType.SPALLING: N_("Spalling"),
        DefectType.SETTLEMENT: N_("Settlement"),
        DefectType.DRAINAGE: N_("Blocked drainage"),
        DefectType.WEAR: N_("Wear"),
        DefectType.OTHER: N_("Other"),
    },
)
set_labels(
    FindingStatus,
    {
        FindingStatus.OPEN: NC_("finding status", "Open"),
        FindingStatus.TICKETED: NC_("finding status", "Ticket opened"),
        FindingStatus.RESOLVED: NC_("finding status", "Resolved"),
    },
)
set_labels(
    Weather,
    {
        Weather.SUNNY: N_("Sunny"),
        Weather.CLOUDY: N_("Cloudy"),
        Weather.RAIN: N_("Rain"),
        Weather.HEAVY_RAIN: N_("Heavy rain"),
        Weather.WIND: N_("Strong wind"),
        Weather.FOG: N_("Fog"),
        Weather.SNOW: N_("Snow"),
    },
)
set_labels(
    Answer,
    {
        Answer.OK: NC_("checklist result", "Pass"),
        Answer.NOT_OK: NC_("checklist result", "Fail"),
        Answer.NOT_APPLICABLE: NC_("checklist result", "N/A"),
    },
)

#: Ticket priority for a finding, by urgency (immediate and short open tickets automatically).
URGENCY_PRIORITY = {
    Urgency.IMMEDIATE: "P0",
    Urgency.SHORT: "P1",
    Urgency.MEDIUM: "P2",
    Urgency.PLANNED: "P3",
    Urgency.MONITOR: "P3",
}
AUTO_TICKET_URGENCIES = frozenset({Urgency.IMMEDIATE, Urgency.SHORT})
