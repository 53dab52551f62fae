"""Repair ticket tables: tickets, their comments, attachments and cost lines, the SLA policy,
the contractor register and the sites' yearly budgets."""

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
from facilities.assets.tables import Asset, Component, Site
from facilities.tickets.choices import (
    ClosingReason,
    CostKind,
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


class Contractor(Table, tablename="contractor"):
    """A firm the bureau contracts repair work to (the register). Tickets point at it; its name
    is the one place that names it (a ticket's ``contractor`` text is a copy the services keep,
    see :mod:`facilities.tickets.services.contractors`). Never deleted: retired with
    ``is_active`` so old tickets keep their contractor."""

    id = Serial(primary_key=True)
    name = Varchar(length=128, unique=True, required=True)
    contact_person = Varchar(length=128, default="")
    phone = Varchar(length=64, default="")
    email = Varchar(length=254, default="")
    language = Varchar(length=8, default="zh_CN")
    contract_number = Varchar(length=64, default="")
    contract_start_on = Date(null=True, default=None)
    contract_end_on = Date(null=True, default=None)
    scope = Text(default="")
    is_active = Boolean(default=True)
    created_at = Timestamptz(null=True, default=None)
    updated_at = Timestamptz(null=True, default=None)
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
    contractor_id = ForeignKey(Contractor, null=True, on_delete=OnDelete.restrict, index=True)
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


class TicketCostLine(Table, tablename="ticket_cost_line"):
    """Labour (hours at an hourly rate) or material (a quantity at a unit price) spent on a
    ticket. ``amount`` is computed by the services, exactly, rounded half up to the fen; a
    ticket with lines has their sum as its actual cost (:mod:`.services.costs`)."""

    id = Serial(primary_key=True)
    ticket = ForeignKey(RepairTicket, null=False, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=12, choices=CostKind, required=True)
    description = Varchar(length=200, default="")
    worker = Varchar(length=128, default="")  # labour: the person or trade
    hours = Numeric(digits=(8, 2), null=True, default=None)
    hourly_rate = Numeric(digits=(12, 2), null=True, default=None)
    quantity = Numeric(digits=(12, 3), null=True, default=None)
    unit = Varchar(length=16, default="")
    unit_price = Numeric(digits=(12, 2), null=True, default=None)
    amount = Numeric(digits=(12, 2), required=True)
    created_by = ForeignKey(StaffUser, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz()


class SiteBudget(Table, tablename="site_budget"):
    """The money a site has for repairs in one calendar year (bureau time zone); one row per
    site and year (a unique index in the migration), edited with a version check."""

    id = Serial(primary_key=True)
    site = ForeignKey(Site, null=False, on_delete=OnDelete.restrict, index=True)
    year = Integer(required=True)
    amount = Numeric(digits=(14, 2), required=True)
    note = Varchar(length=300, default="")
    updated_by = ForeignKey(StaffUser, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    version = Integer(default=1)
