"""Inspection tables: teams, checklist templates, schedules, inspections, component conditions,
findings, photos, rules and their firings, and the reminders already sent."""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    Boolean,
    DoublePrecision,
    ForeignKey,
    Integer,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from facilities.accounts.tables import StaffUser
from facilities.assets.tables import Asset, Component
from facilities.inspections.choices import (
    Anchor,
    DefectType,
    FindingStatus,
    InspectionType,
    Recommendation,
    Severity,
    State,
    Trigger,
    Urgency,
    Weather,
)
from facilities.tickets.tables import RepairTicket


class Team(Table, tablename="team"):
    """A responsible team: reminders go to its mailbox and lead; escalations to its lead."""

    id = Serial(primary_key=True)
    name = Varchar(length=128, unique=True, required=True)
    email = Varchar(length=254, default="")
    lead = ForeignKey(StaffUser, null=True, on_delete=OnDelete.set_null)


class ChecklistTemplate(Table, tablename="checklist_template"):
    """A checklist: ``items`` is a list of {key, zh, en, group, critical} (policy data)."""

    id = Serial(primary_key=True)
    code = Varchar(length=64, unique=True, required=True)
    name_zh = Varchar(length=128, required=True)
    name_en = Varchar(length=128, default="")
    items = JSON(default="[]")


class InspectionSchedule(Table, tablename="inspection_schedule"):
    """When an asset is inspected. ``next_due_at`` is the next occurrence not yet raised; the
    raise job inserts it (unique per schedule and occurrence) and moves this forward."""

    id = Serial(primary_key=True)
    asset = ForeignKey(Asset, null=False, on_delete=OnDelete.cascade, index=True)
    inspection_type = Varchar(length=24, choices=InspectionType, required=True)
    rrule = Varchar(length=300, required=True)
    anchor = Varchar(length=12, choices=Anchor, default=Anchor.FIXED)
    starts_at = Timestamptz()
    lead_days = Integer(default=0)
    tolerance_days = Integer(default=0)
    checklist = ForeignKey(ChecklistTemplate, null=True, on_delete=OnDelete.set_null)
    team = ForeignKey(Team, null=True, on_delete=OnDelete.set_null)
    next_due_at = Timestamptz(null=True, default=None, index=True)
    last_completed_at = Timestamptz(null=True, default=None)
    is_suspended = Boolean(default=False)
    override_rrule = Varchar(length=300, default="")
    override_reason = Varchar(length=300, default="")
    created_at = Timestamptz()
    updated_at = Timestamptz()
    version = Integer(default=1)


class Inspection(Table, tablename="inspection"):
    """One inspection of an asset. Scheduled ones carry their occurrence: (schedule, occurrence)
    is unique, which is what makes raising exactly-once."""

    id = Serial(primary_key=True)
    asset = ForeignKey(Asset, null=False, on_delete=OnDelete.cascade, index=True)
    schedule = ForeignKey(InspectionSchedule, null=True, on_delete=OnDelete.set_null)
    occurrence_key = Varchar(length=64, unique=True, null=True, default=None)
    inspection_type = Varchar(length=24, choices=InspectionType, required=True)
    trigger = Varchar(length=16, choices=Trigger, default=Trigger.SCHEDULED)
    state = Varchar(length=12, choices=State, default=State.PLANNED, index=True)
    due_at = Timestamptz(index=True)
    window_ends_at = Timestamptz(null=True, default=None)
    started_at = Timestamptz(null=True, default=None)
    submitted_at = Timestamptz(null=True, default=None)
    completed_at = Timestamptz(null=True, default=None)
    inspector = ForeignKey(StaffUser, null=True, on_delete=OnDelete.set_null, index=True)
    reviewer = ForeignKey(StaffUser, null=True, on_delete=OnDelete.set_null)
    team = ForeignKey(Team, null=True, on_delete=OnDelete.set_null)
    checklist = ForeignKey(ChecklistTemplate, null=True, on_delete=OnDelete.set_null)
    answers = JSON(default="{}")
    weather = Varchar(length=12, choices=Weather, null=True, default=None)
    bci = DoublePrecision(null=True, default=None)
    grade = Varchar(length=1, null=True, default=None)
    # "" until the inspector chooses one: there is no default recommendation (issue 16)
    recommendation = Varchar(length=16, choices=Recommendation, default="")
    #: why no restriction is recommended although the grade is D or E (required then)
    no_restriction_reason = Text(default="")
    #: the grade (D or E) at which "no restriction" was flagged to the supervisors, if it was
    flagged_grade = Varchar(length=1, null=True, default=None)
    #: why the inspection was finalised with components left unscored
    unscored_reason = Text(default="")
    passed = Boolean(null=True, default=None)
    summary = Text(default="")
    ticket = ForeignKey(RepairTicket, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    version = Integer(default=1)


class ComponentCondition(Table, tablename="component_condition"):
    id = Serial(primary_key=True)
    inspection = ForeignKey(Inspection, null=False, on_delete=OnDelete.cascade, index=True)
    component = ForeignKey(Component, null=False, on_delete=OnDelete.cascade)
    score = DoublePrecision(null=True, default=None)
    is_ok = Boolean(null=True, default=None)
    note = Varchar(length=500, default="")


class Finding(Table, tablename="finding"):
    """A defect found in an inspection; urgent ones open a repair ticket by themselves."""

    id = Serial(primary_key=True)
    inspection = ForeignKey(Inspection, null=False, on_delete=OnDelete.cascade, index=True)
    asset = ForeignKey(Asset, null=False, on_delete=OnDelete.cascade, index=True)
    component = ForeignKey(Component, null=True, on_delete=OnDelete.set_null)
    defect_type = Varchar(length=16, choices=DefectType, default=DefectType.OTHER)
    severity = Varchar(length=12, choices=Severity, default=Severity.MINOR)
    urgency = Varchar(length=12, choices=Urgency, default=Urgency.PLANNED)
    is_direct_control = Boolean(default=False)
    description = Text(default="")
    status = Varchar(length=12, choices=FindingStatus, default=FindingStatus.OPEN, index=True)
    ticket = ForeignKey(RepairTicket, null=True, on_delete=OnDelete.set_null, index=True)
    created_at = Timestamptz()


class InspectionPhoto(Table, tablename="inspection_photo"):
    id = Serial(primary_key=True)
    inspection = ForeignKey(Inspection, null=False, on_delete=OnDelete.cascade, index=True)
    finding = ForeignKey(Finding, null=True, on_delete=OnDelete.cascade)
    content_type = Varchar(length=64, required=True)
    size = Integer(default=0)
    sha256 = Varchar(length=64, default="")
    storage_key = Varchar(length=128, unique=True, required=True)
    thumbnail_key = Varchar(length=128, default="")
    caption = Varchar(length=300, default="")
    uploaded_by = ForeignKey(StaffUser, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz()


class InspectionReport(Table, tablename="inspection_report"):
    """The filed report of a final inspection: its PDF stored once under the media folder by a
    content-addressed key, with the SHA-256 that proves the file is the one filed. One per
    inspection (the unique key makes archiving exactly-once); never replaced by a re-render."""

    id = Serial(primary_key=True)
    inspection = ForeignKey(Inspection, null=False, on_delete=OnDelete.cascade, unique=True)
    storage_key = Varchar(length=160, required=True)
    sha256 = Varchar(length=64, required=True)
    size = Integer(default=0)
    rendered_at = Timestamptz()
    rendered_by = ForeignKey(StaffUser, null=True, on_delete=OnDelete.set_null)


class Rule(Table, tablename="inspection_rule"):
    """A rule evaluated on finalisation (policy data: enable, disable, version, basis)."""

    id = Serial(primary_key=True)
    code = Varchar(length=64, unique=True, required=True)
    version = Integer(default=1)
    basis = Varchar(length=300, default="")
    description = Varchar(length=300, default="")
    enabled = Boolean(default=True)
    params = JSON(default="{}")


class RuleFiring(Table, tablename="rule_firing"):
    id = Serial(primary_key=True)
    rule = ForeignKey(Rule, null=False, on_delete=OnDelete.cascade)
    rule_version = Integer(default=1)
    inspection = ForeignKey(Inspection, null=False, on_delete=OnDelete.cascade, index=True)
    asset = ForeignKey(Asset, null=False, on_delete=OnDelete.cascade, index=True)
    outcome = JSON(default="{}")
    fired_at = Timestamptz()


class ClosureProposal(Table, tablename="closure_proposal"):
    """A closure a rule proposed, awaiting one-click approval by a supervisor."""

    id = Serial(primary_key=True)
    asset = ForeignKey(Asset, null=False, on_delete=OnDelete.cascade, index=True)
    inspection = ForeignKey(Inspection, null=False, on_delete=OnDelete.cascade)
    scope = Varchar(length=16, default="full")
    reason = Text(default="")
    status = Varchar(length=12, default="proposed", index=True)
    created_at = Timestamptz()
    decided_at = Timestamptz(null=True, default=None)
    decided_by = ForeignKey(StaffUser, null=True, on_delete=OnDelete.set_null)


class ReminderSent(Table, tablename="inspection_reminder"):
    """A reminder or escalation already sent: the unique key makes each one exactly-once."""

    id = Serial(primary_key=True)
    key = Varchar(length=120, unique=True, required=True)
    inspection = ForeignKey(Inspection, null=False, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=24, required=True)
    sent_at = Timestamptz()


class DefaultSchedule(Table, tablename="default_schedule"):
    """Policy: the schedules a new asset of a type gets (editable data, seeded by a migration)."""

    id = Serial(primary_key=True)
    asset_type = Varchar(length=32, required=True, index=True)  # "*": every type
    maintenance_grade = Varchar(length=4, default="*")  # "I".."III", "" ungraded, "*" any
    inspection_type = Varchar(length=24, choices=InspectionType, required=True)
    rrule = Varchar(length=300, required=True)
    anchor = Varchar(length=12, choices=Anchor, default=Anchor.FIXED)
    lead_days = Integer(default=0)
    tolerance_days = Integer(default=0)
    checklist_code = Varchar(length=64, default="")
