"""How inspection histories read: the fields the services audit for an inspection and for a
schedule (filed under its asset), by the forms' labels."""

from __future__ import annotations

from facilities.assets.choices import ConditionGrade
from facilities.audit.display import (
    Field,
    choice,
    describe,
    instant,
    listing,
    number,
    record,
    user,
    yes_no,
)
from facilities.i18n import N_
from facilities.inspections.choices import Anchor, InspectionType, Recommendation, State, Urgency

#: ``inspection.*`` actions.
INSPECTION_AUDIT_FIELDS = {
    "type": Field(N_("Inspection type"), choice(InspectionType)),
    "due": Field(N_("Due"), instant),
    "state": Field(N_("Status"), choice(State)),
    "finding": Field(N_("Finding"), record),
    "urgency": Field(N_("Urgency"), choice(Urgency)),
    "photo": Field(N_("Photo"), record),
    "ticket": Field(N_("Repair ticket"), record),
    "scored": Field(N_("Components scored")),
    "total": Field(N_("Components")),
    "unscored": Field(N_("Not scored"), listing),
    "reason": Field(N_("Why some components were not scored")),
    "grade": Field(N_("Condition grade"), choice(ConditionGrade)),
    "recommendation": Field(N_("Recommendation"), choice(Recommendation)),
    "no_restriction_reason": Field(N_("Why no restriction is needed")),
}
#: ``schedule.*`` actions (the schedule form's fields, and the rule that shortened it).
SCHEDULE_AUDIT_FIELDS = {
    "inspection_type": Field(N_("Inspection type"), choice(InspectionType)),
    "rrule": Field(N_("Recurrence rule (RFC 5545 RRULE)")),
    "anchor": Field(N_("Anchor"), choice(Anchor)),
    "starts_at": Field(N_("Starts on"), instant),
    "lead_days": Field(N_("Raise days ahead")),
    "tolerance_days": Field(N_("Tolerance (days after due)")),
    "checklist": Field(N_("Checklist"), record),
    "team": Field(N_("Responsible team"), record),
    "is_suspended": Field(N_("Suspended (raise nothing)"), yes_no),
    "override_rrule": Field(N_("Shortened rule")),
    "override_reason": Field(N_("Why it is shortened")),
    "next_due_at": Field(N_("Next due"), instant),
}
describe("inspection", INSPECTION_AUDIT_FIELDS)
#: "No restriction" recommended at grade D or E: the reason is why no restriction is needed.
describe("inspection.flagged", {"reason": Field(N_("Why no restriction is needed"))})
describe(
    "inspection.report_archived",
    {
        "sha256": Field(N_("Recorded SHA-256")),
        "size": Field(N_("Size (bytes)"), number),
        "storage_key": Field(N_("Where the file is kept")),
    },
)
describe("inspection.report_failed", {"error": Field(N_("What went wrong"))})
describe("schedule", SCHEDULE_AUDIT_FIELDS)
#: The policy data edited through the API (``services.policy_editing``).
describe(
    "team",
    {
        "name": Field(N_("Name")),
        "email": Field(N_("E-mail")),
        "lead": Field(N_("Team lead"), user),
    },
)
describe(
    "checklist",
    {
        "code": Field(N_("Code")),
        "name_zh": Field(N_("Name (Chinese)")),
        "name_en": Field(N_("Name (English)")),
        "items": Field(N_("Checklist items"), number),
    },
)
describe(
    "rule",
    {
        "enabled": Field(N_("Enabled"), yes_no),
        "basis": Field(N_("Basis")),
        "description": Field(N_("Description")),
        "version": Field(N_("Version"), number),
    },
)
