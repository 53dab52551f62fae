"""Ticket statuses, transitions (who may do them), priorities, sources, work classes, reasons."""

from __future__ import annotations

import dataclasses

from facilities.accounts.choices import Role
from facilities.i18n import N_, NC_
from facilities.lib.labels import LabelledChoice, set_labels


class Status(LabelledChoice):
    NEW = "new"
    TRIAGED = "triaged"
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    WORK_COMPLETE = "work_complete"
    ACCEPTED = "accepted"
    CLOSED = "closed"
    ON_HOLD = "on_hold"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    CANCELLED = "cancelled"


#: Statuses in which work is still owed (the backlog, SLA clocks running).
OPEN_STATUSES = frozenset(
    {
        Status.NEW,
        Status.TRIAGED,
        Status.SCHEDULED,
        Status.IN_PROGRESS,
        Status.WORK_COMPLETE,
        Status.ON_HOLD,
    }
)
#: Statuses after which nothing more happens.
FINAL_STATUSES = frozenset({Status.CLOSED, Status.REJECTED, Status.DUPLICATE, Status.CANCELLED})
#: The order of the board's columns.
BOARD_COLUMNS = (
    Status.NEW,
    Status.TRIAGED,
    Status.SCHEDULED,
    Status.IN_PROGRESS,
    Status.WORK_COMPLETE,
    Status.ACCEPTED,
    Status.ON_HOLD,
)


class Priority(LabelledChoice):
    P0 = "P0"
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"


#: Default SLA policy (hours to repair by priority); the editable copy lives in SlaPolicy.
DEFAULT_SLA_HOURS = {
    Priority.P0: 24,
    Priority.P1: 7 * 24,
    Priority.P2: 30 * 24,
    Priority.P3: 90 * 24,
}


class Source(LabelledChoice):
    INSPECTION = "inspection"
    PATROL = "patrol"
    CITIZEN_REPORT = "citizen_report"
    EVENT = "event"
    PLANNED = "planned"


class WorkClass(LabelledChoice):
    ROUTINE = "routine"
    MINOR = "minor"
    MEDIUM = "medium"
    MAJOR = "major"
    STRENGTHENING = "strengthening"


class ClosingReason(LabelledChoice):
    REPAIRED = "repaired"
    REPLACED = "replaced"
    NO_ACTION_NEEDED = "no_action_needed"
    NOT_OUR_RESPONSIBILITY = "not_our_responsibility"
    DUPLICATE = "duplicate"


#: Reasons that mean the defect was actually fixed (MTTR counts only these).
FIXED_REASONS = frozenset({ClosingReason.REPAIRED, ClosingReason.REPLACED})


class PhotoTag(LabelledChoice):
    BEFORE = "before"
    DURING = "during"
    AFTER = "after"
    DOCUMENT = "document"


class Action(LabelledChoice):
    TRIAGE = "triage"
    SCHEDULE = "schedule"
    START = "start"
    COMPLETE = "complete"
    ACCEPT = "accept"
    REWORK = "rework"
    CLOSE = "close"
    HOLD = "hold"
    RESUME = "resume"
    REJECT = "reject"
    MARK_DUPLICATE = "mark_duplicate"
    CANCEL = "cancel"


SUPERVISORS = frozenset({Role.ADMIN, Role.SUPERVISOR})
WORKERS = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.CREW})


@dataclasses.dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[Status]
    target: Status | None  # None: back to the status the ticket was held from
    roles: frozenset[Role]
    needs: tuple[str, ...] = ()  # data the action requires, checked in services


TRANSITIONS: tuple[Transition, ...] = (
    Transition(Action.TRIAGE, frozenset({Status.NEW}), Status.TRIAGED, SUPERVISORS),
    Transition(
        Action.SCHEDULE,
        frozenset({Status.TRIAGED}),
        Status.SCHEDULED,
        SUPERVISORS,
        ("planned_start_on",),
    ),
    Transition(
        Action.START, frozenset({Status.TRIAGED, Status.SCHEDULED}), Status.IN_PROGRESS, WORKERS
    ),
    Transition(
        Action.COMPLETE,
        frozenset({Status.IN_PROGRESS}),
        Status.WORK_COMPLETE,
        WORKERS,
        ("after_photo_or_note",),
    ),
    Transition(Action.ACCEPT, frozenset({Status.WORK_COMPLETE}), Status.ACCEPTED, SUPERVISORS),
    Transition(
        Action.REWORK, frozenset({Status.WORK_COMPLETE}), Status.IN_PROGRESS, SUPERVISORS, ("note",)
    ),
    Transition(
        Action.CLOSE,
        frozenset({Status.ACCEPTED, Status.NEW, Status.TRIAGED}),
        Status.CLOSED,
        SUPERVISORS,
        ("closing_reason",),
    ),
    Transition(
        Action.HOLD,
        frozenset({Status.TRIAGED, Status.SCHEDULED, Status.IN_PROGRESS}),
        Status.ON_HOLD,
        WORKERS,
        ("note",),
    ),
    Transition(Action.RESUME, frozenset({Status.ON_HOLD}), None, WORKERS),
    Transition(
        Action.REJECT,
        frozenset({Status.NEW, Status.TRIAGED}),
        Status.REJECTED,
        SUPERVISORS,
        ("note",),
    ),
    Transition(
        Action.MARK_DUPLICATE,
        frozenset({Status.NEW, Status.TRIAGED}),
        Status.DUPLICATE,
        SUPERVISORS,
        ("duplicate_of",),
    ),
    Transition(
        Action.CANCEL,
        frozenset({Status.NEW, Status.TRIAGED, Status.SCHEDULED, Status.ON_HOLD}),
        Status.CANCELLED,
        SUPERVISORS,
        ("note",),
    ),
)

TRANSITIONS_BY_ACTION = {t.action: t for t in TRANSITIONS}

#: Closing reasons allowed by where the ticket closes from: work that was done and accepted is
#: repaired or replaced; a ticket closed before any work needed none or was not ours.
CLOSING_REASONS_FROM = {
    Status.ACCEPTED: frozenset({ClosingReason.REPAIRED, ClosingReason.REPLACED}),
    Status.NEW: frozenset({ClosingReason.NO_ACTION_NEEDED, ClosingReason.NOT_OUR_RESPONSIBILITY}),
    Status.TRIAGED: frozenset(
        {ClosingReason.NO_ACTION_NEEDED, ClosingReason.NOT_OUR_RESPONSIBILITY}
    ),
}

STATUS_COLOURS = {
    Status.NEW: "info",
    Status.TRIAGED: "info",
    Status.SCHEDULED: "info",
    Status.IN_PROGRESS: "warn",
    Status.WORK_COMPLETE: "warn",
    Status.ACCEPTED: "ok",
    Status.CLOSED: "ok",
    Status.ON_HOLD: "bad",
    Status.REJECTED: "none",
    Status.DUPLICATE: "none",
    Status.CANCELLED: "none",
}
PRIORITY_COLOURS = {
    Priority.P0: "danger",
    Priority.P1: "bad",
    Priority.P2: "warn",
    Priority.P3: "none",
}

set_labels(
    Status,
    {
        Status.NEW: NC_("ticket status", "New"),
        Status.TRIAGED: NC_("ticket status", "Acknowledged"),
        Status.SCHEDULED: NC_("ticket status", "Scheduled"),
        Status.IN_PROGRESS: NC_("ticket status", "In progress"),
        Status.WORK_COMPLETE: NC_("ticket status", "Work complete"),
        Status.ACCEPTED: NC_("ticket status", "Accepted"),
        Status.CLOSED: NC_("ticket status", "Closed"),
        Status.ON_HOLD: NC_("ticket status", "On hold"),
        Status.REJECTED: NC_("ticket status", "Rejected"),
        Status.DUPLICATE: NC_("ticket status", "Duplicate"),
        Status.CANCELLED: NC_("ticket status", "Cancelled"),
    },
)
set_labels(
    Priority,
    {
        Priority.P0: N_("P0 · make safe now"),
        Priority.P1: N_("P1 · urgent"),
        Priority.P2: N_("P2 · normal"),
        Priority.P3: N_("P3 · planned"),
    },
)
set_labels(
    Source,
    {
        Source.INSPECTION: N_("Inspection"),
        Source.PATROL: N_("Patrol"),
        Source.CITIZEN_REPORT: N_("Citizen report"),
        Source.EVENT: N_("Event"),
        Source.PLANNED: N_("Planned work"),
    },
)
set_labels(
    WorkClass,
    {
        WorkClass.ROUTINE: N_("Routine upkeep"),
        WorkClass.MINOR: N_("Minor repair"),
        WorkClass.MEDIUM: N_("Medium repair"),
        WorkClass.MAJOR: N_("Major repair"),
        WorkClass.STRENGTHENING: N_("Strengthening"),
    },
)
set_labels(
    ClosingReason,
    {
        ClosingReason.REPAIRED: NC_("closing reason", "Repaired"),
        ClosingReason.REPLACED: NC_("closing reason", "Replaced"),
        ClosingReason.NO_ACTION_NEEDED: NC_("closing reason", "No action needed"),
        ClosingReason.NOT_OUR_RESPONSIBILITY: NC_("closing reason", "Not our responsibility"),
        ClosingReason.DUPLICATE: NC_("closing reason", "Duplicate"),
    },
)
set_labels(
    PhotoTag,
    {
        PhotoTag.BEFORE: NC_("photo stage", "Before"),
        PhotoTag.DURING: NC_("photo stage", "During"),
        PhotoTag.AFTER: NC_("photo stage", "After"),
        PhotoTag.DOCUMENT: NC_("photo stage", "Document"),
    },
)
set_labels(
    Action,
    {
        Action.TRIAGE: NC_("ticket action", "Triage"),
        Action.SCHEDULE: NC_("ticket action", "Schedule"),
        Action.START: NC_("ticket action", "Start work"),
        Action.COMPLETE: NC_("ticket action", "Work complete"),
        Action.ACCEPT: NC_("ticket action", "Accept the work"),
        Action.REWORK: NC_("ticket action", "Send back for rework"),
        Action.CLOSE: NC_("ticket action", "Close"),
        Action.HOLD: NC_("ticket action", "Put on hold"),
        Action.RESUME: NC_("ticket action", "Resume"),
        Action.REJECT: NC_("ticket action", "Reject"),
        Action.MARK_DUPLICATE: NC_("ticket action", "Mark as duplicate"),
        Action.CANCEL: NC_("ticket action", "Cancel"),
    },
)


class CostKind(LabelledChoice):
    """A cost line on a ticket: hours of someone's labour, or a quantity of material."""

    LABOUR = "labour"
    MATERIAL = "material"


set_labels(
    CostKind,
    {
        CostKind.LABOUR: NC_("cost kind", "Labour"),
        CostKind.MATERIAL: NC_("cost kind", "Materials"),
    },
)
