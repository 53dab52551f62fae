"""Closure scopes, statuses, reasons, safety measures and notice states."""

from __future__ import annotations

from facilities.i18n import N_, NC_
from facilities.lib.labels import LabelledChoice, set_labels


class Scope(LabelledChoice):
    FULL = "full"
    PARTIAL = "partial"
    RESTRICTED = "restricted"


class Status(LabelledChoice):
    PLANNED = "planned"
    ACTIVE = "active"
    EXTENDED = "extended"
    LIFTED = "lifted"
    CANCELLED = "cancelled"


#: In force: the asset is (partly) out of use.
IN_FORCE = frozenset({Status.ACTIVE, Status.EXTENDED})


class Reason(LabelledChoice):
    STRUCTURAL_DEFECT = "structural_defect"
    REPAIR_WORKS = "repair_works"
    INSPECTION = "inspection"
    WEATHER = "weather"
    FLOOD = "flood"
    CROWD = "crowd"
    OTHER = "other"


class SafetyMeasure(LabelledChoice):
    FENCING = "fencing"
    WARNING_SIGNS = "warning_signs"
    GUARD_ON_DUTY = "guard_on_duty"
    DETOUR = "detour"
    NETS_OVER_WATER = "nets_over_water"
    NIGHT_LIGHTING = "night_lighting"
    CROWD_CONTROL = "crowd_control"


class Precision(LabelledChoice):
    EXACT = "exact"
    BEFORE = "before"


class NoticeState(LabelledChoice):
    DRAFT = "draft"
    PUBLISHED = "published"
    DISCARDED = "discarded"


class NoticeSource(LabelledChoice):
    STAFF = "staff"
    TICKET = "ticket"
    SYSTEM = "system"


class PublicProgress(LabelledChoice):
    """What a citizen reads about a linked ticket."""

    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    PAUSED = "paused"
    AWAITING_ACCEPTANCE = "awaiting_acceptance"
    DONE = "done"


#: Ticket status -> public progress (None: not shown to the public).
TICKET_PROGRESS = {
    "new": PublicProgress.PLANNED,
    "triaged": PublicProgress.PLANNED,
    "scheduled": PublicProgress.PLANNED,
    "in_progress": PublicProgress.IN_PROGRESS,
    "on_hold": PublicProgress.PAUSED,
    "work_complete": PublicProgress.AWAITING_ACCEPTANCE,
    "accepted": PublicProgress.DONE,
    "closed": PublicProgress.DONE,
    "rejected": None,
    "duplicate": None,
    "cancelled": None,
}

set_labels(
    Scope,
    {
        Scope.FULL: N_("Fully closed"),
        Scope.PARTIAL: N_("Partly closed"),
        Scope.RESTRICTED: N_("Open with restrictions"),
    },
)
set_labels(
    Status,
    {
        Status.PLANNED: NC_("closure status", "Planned"),
        Status.ACTIVE: NC_("closure status", "In force"),
        Status.EXTENDED: NC_("closure status", "Extended"),
        Status.LIFTED: NC_("closure status", "Lifted"),
        Status.CANCELLED: NC_("closure status", "Cancelled"),
    },
)
set_labels(
    Reason,
    {
        Reason.STRUCTURAL_DEFECT: N_("Structural defect"),
        Reason.REPAIR_WORKS: N_("Repair works"),
        Reason.INSPECTION: N_("Inspection"),
        Reason.WEATHER: N_("Severe weather"),
        Reason.FLOOD: N_("Flooding"),
        Reason.CROWD: N_("Crowd safety"),
        Reason.OTHER: N_("Other"),
    },
)
set_labels(
    SafetyMeasure,
    {
        SafetyMeasure.FENCING: N_("Fencing around the site"),
        SafetyMeasure.WARNING_SIGNS: N_("Warning signs"),
        SafetyMeasure.GUARD_ON_DUTY: N_("A guard on duty"),
        SafetyMeasure.DETOUR: N_("Signed detour"),
        SafetyMeasure.NETS_OVER_WATER: N_("Filter nets on the water"),
        SafetyMeasure.NIGHT_LIGHTING: N_("Warning lights at night"),
        SafetyMeasure.CROWD_CONTROL: N_("Crowd control"),
    },
)
set_labels(
    Precision,
    {
        Precision.EXACT: N_("On this date"),
        Precision.BEFORE: N_("Before this date"),
    },
)
set_labels(
    NoticeState,
    {
        NoticeState.DRAFT: NC_("notice state", "Draft"),
        NoticeState.PUBLISHED: NC_("notice state", "Published"),
        NoticeState.DISCARDED: NC_("notice state", "Discarded"),
    },
)
set_labels(
    NoticeSource,
    {
        NoticeSource.STAFF: N_("Written by staff"),
        NoticeSource.TICKET: N_("Drafted from repair progress"),
        NoticeSource.SYSTEM: N_("Announced by the system"),
    },
)
set_labels(
    PublicProgress,
    {
        PublicProgress.PLANNED: NC_("repair progress", "Planned"),
        PublicProgress.IN_PROGRESS: NC_("repair progress", "In progress"),
        PublicProgress.PAUSED: NC_("repair progress", "Paused"),
        PublicProgress.AWAITING_ACCEPTANCE: NC_(
            "repair progress", "Work complete, awaiting acceptance"
        ),
        PublicProgress.DONE: NC_("repair progress", "Done"),
    },
)
