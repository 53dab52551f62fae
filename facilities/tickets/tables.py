"""Repair ticket tables: tickets, their comments and attachments, and the SLA policy."""

from __future__ import annotations

from piccolo.columns import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from facilities.accounts.tables import StaffUser
from facilities.assets.tables import Asset, Component
from facilities.tickets.choices import (
    ClosingReason,
    PhotoTag,
    Priority,
    Source,
    Status,
    WorkClass,
)


class SlaPolicy(Table, tablename="sla_policy"):
    """Hours allowed to repair, per priority (policy data, editable by admins)."""

    id = Serial(primary_key=True)
    priority = Varchar(length=2, choices=Priority, unique=True, required=True)
    hours = Integer(required=True)
    updated_at = Timestamptz()
    version = Integer(default=1)


class RepairTicket(Table, tablename="repair_ticket"):
    """A work order on an asset. ``status`` changes only through the services' transitions."""

    id = Serial(primary_key=True)
    asset = ForeignKey(Asset, null=False, on_delete=OnDelete.restrict, index=True)
    component = ForeignKey(Component, null=True, on_delete=OnDelete.set_null)
    title = Varchar(length=200, required=True)
    description = Text(default="")
    source = Varchar(length=16, choices=Source, default=Source.PATROL, index=True)
    work_class = Varchar(length=16, choices=WorkClass, default=WorkClass.MINOR)
    priority = Varchar(length=2, choices=Priority, default=Priority.P2, index=True)
    status = Varchar(length=16, choices=Status, default=Status.NEW, index=True)
    held_from = Varchar(length=16, choices=Status, null=True, default=None)
    sla_due_at = Timestamptz(index=True)
    assignee = ForeignKey(StaffUser, null=True, on_delete=OnDelete.set_null, index=True)
    assignee_team = Varchar(length=128, default="")
    contractor = Varchar(length=128, default="")
    contractor_contact = Varchar(length=128, default="")
    scope = Text(default="")
    planned_start_on = Date(null=True, default=None, index=True)
    planned_end_on = Date(null=True, default=None)
    actual_start_at = Timestamptz(null=True, default=None)
    actual_end_at = Timestamptz(null=True, default=None)
    cost_estimate = Numeric(digits=(12, 2), null=True, default=None)
    cost_actual = Numeric(digits=(12, 2), null=True, default=None)
    status_note = Text(default="")
    closing_reason = Varchar(length=24, choices=ClosingReason, null=True, default=None)
    duplicate_of: ForeignKey[RepairTicket] = ForeignKey(
        "self", null=True, on_delete=OnDelete.set_null
    )
    reporter_email = Varchar(length=254, default="")
    created_by = ForeignKey(StaffUser, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(index=True)
    updated_at = Timestamptz()
    closed_at = Timestamptz(null=True, default=None)
    sla_escalated_for = Timestamptz(null=True, default=None)
    version = Integer(default=1)


class TicketComment(Table, tablename="ticket_comment"):
    """A note on a ticket. Internal by default; a public one is shown to the reporter."""

    id = Serial(primary_key=True)
    ticket = ForeignKey(RepairTicket, null=False, on_delete=OnDelete.cascade, index=True)
    author = ForeignKey(StaffUser, null=True, on_delete=OnDelete.set_null)
    body = Text(required=True)
    is_public = Boolean(default=False)
    created_at = Timestamptz()


class TicketAttachment(Table, tablename="ticket_attachment"):
    """A photo or document; the file lives under the media folder, named by a random key."""

    id = Serial(primary_key=True)
    ticket = ForeignKey(RepairTicket, null=False, on_delete=OnDelete.cascade, index=True)
    uploaded_by = ForeignKey(StaffUser, null=True, on_delete=OnDelete.set_null)
    tag = Varchar(length=12, choices=PhotoTag, default=PhotoTag.DURING)
    filename = Varchar(length=200, default="")
    content_type = Varchar(length=64, required=True)
    size = Integer(default=0)
    sha256 = Varchar(length=64, default="")
    storage_key = Varchar(length=128, unique=True, required=True)
    thumbnail_key = Varchar(length=128, default="")
    caption = Varchar(length=300, default="")
    created_at = Timestamptz()
