"""Closure tables: closures, their promises, links to tickets, notice updates, subscriptions."""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    Boolean,
    Date,
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
from facilities.assets.tables import Asset, Site
from facilities.closures.choices import NoticeSource, NoticeState, Precision, Reason, Scope, Status
from facilities.tickets.tables import RepairTicket


class Closure(Table, tablename="closure"):
    """An asset (or part of it) out of use. The reopening promise in force is the newest row of
    ClosurePromise; ``planned_reopen_on`` mirrors it for queries and feeds."""

    id = Serial(primary_key=True)
    asset = ForeignKey(Asset, null=False, on_delete=OnDelete.restrict, index=True)
    scope = Varchar(length=12, choices=Scope, default=Scope.FULL)
    affected_part_zh = Varchar(length=200, default="")
    affected_part_en = Varchar(length=200, default="")
    crowd_limit = Integer(null=True, default=None)
    hours_zh = Varchar(length=200, default="")
    hours_en = Varchar(length=200, default="")
    reason = Varchar(length=24, choices=Reason, default=Reason.REPAIR_WORKS)
    reason_zh = Text(default="")
    reason_en = Text(default="")
    safety_measures = JSON(default="[]")
    detour_zh = Text(default="")
    detour_en = Text(default="")
    #: Where, as GeoJSON in WGS-84 ("" when not drawn): the closed extent (the whole facility
    #: when empty), the detour as a line, the fences as lines and the entrances still open (or
    #: closed) as points. See ``facilities.closures.services.places``.
    extent = Text(default="")
    detour_line = Text(default="")
    fences = Text(default="")
    entrances = Text(default="")
    #: The bounding box of everything drawn above (null when nothing is), for map-view queries.
    bbox_west = DoublePrecision(null=True, default=None, index=True)
    bbox_south = DoublePrecision(null=True, default=None, index=True)
    bbox_east = DoublePrecision(null=True, default=None)
    bbox_north = DoublePrecision(null=True, default=None)
    reopening_criteria_zh = Text(default="")
    reopening_criteria_en = Text(default="")
    effective_from = Timestamptz(index=True)
    planned_reopen_on = Date(null=True, default=None)
    reopen_precision = Varchar(length=8, choices=Precision, default=Precision.BEFORE)
    status = Varchar(length=12, choices=Status, default=Status.PLANNED, index=True)
    is_urgent = Boolean(default=False)
    activated_at = Timestamptz(null=True, default=None)
    lifted_at = Timestamptz(null=True, default=None)
    reopens_at = Timestamptz(null=True, default=None)
    reopening_announced_at = Timestamptz(null=True, default=None)
    signed_off_by = ForeignKey(StaffUser, null=True, on_delete=OnDelete.set_null)
    signed_off_at = Timestamptz(null=True, default=None)
    override_reason = Text(default="")
    sequence = Integer(default=0)
    created_by = ForeignKey(StaffUser, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz()
    updated_at = Timestamptz(index=True)
    version = Integer(default=1)


class ClosurePromise(Table, tablename="closure_promise"):
    """Every reopening date ever promised, newest last; an extension adds one with its reason."""

    id = Serial(primary_key=True)
    closure = ForeignKey(Closure, null=False, on_delete=OnDelete.cascade, index=True)
    planned_reopen_on = Date(null=True, default=None)
    precision = Varchar(length=8, choices=Precision, default=Precision.BEFORE)
    reason_zh = Text(default="")
    reason_en = Text(default="")
    made_at = Timestamptz()
    made_by = ForeignKey(StaffUser, null=True, on_delete=OnDelete.set_null)


class ClosureTicket(Table, tablename="closure_ticket"):
    """A repair ticket the reopening waits for, with the label citizens read for it."""

    id = Serial(primary_key=True)
    closure = ForeignKey(Closure, null=False, on_delete=OnDelete.cascade, index=True)
    ticket = ForeignKey(RepairTicket, null=False, on_delete=OnDelete.cascade, index=True)
    key = Varchar(length=40, unique=True, required=True)  # "<closure>:<ticket>"
    public_label_zh = Varchar(length=200, required=True)
    public_label_en = Varchar(length=200, default="")


class NoticeUpdate(Table, tablename="notice_update"):
    """A dated public entry on a closure's timeline, in Chinese and English."""

    id = Serial(primary_key=True)
    closure = ForeignKey(Closure, null=False, on_delete=OnDelete.cascade, index=True)
    state = Varchar(length=10, choices=NoticeState, default=NoticeState.DRAFT, index=True)
    source = Varchar(length=8, choices=NoticeSource, default=NoticeSource.STAFF)
    dedupe_key = Varchar(length=120, unique=True, null=True, default=None)
    text_zh = Text(required=True)
    text_en = Text(default="")
    created_at = Timestamptz()
    created_by = ForeignKey(StaffUser, null=True, on_delete=OnDelete.set_null)
    published_at = Timestamptz(null=True, default=None, index=True)
    published_by = ForeignKey(StaffUser, null=True, on_delete=OnDelete.set_null)
    fanned_out_at = Timestamptz(null=True, default=None)


class Subscription(Table, tablename="subscription"):
    """A citizen's e-mail subscription (double opt-in; the address is never shown anywhere)."""

    id = Serial(primary_key=True)
    email = Varchar(length=254, required=True, index=True)
    asset = ForeignKey(Asset, null=True, on_delete=OnDelete.cascade)
    site = ForeignKey(Site, null=True, on_delete=OnDelete.cascade)
    scope_key = Varchar(length=300, unique=True, required=True)  # email + what
    language = Varchar(length=8, default="zh_CN")
    token = Varchar(length=64, unique=True, required=True)
    created_at = Timestamptz()
    confirmed_at = Timestamptz(null=True, default=None)
    unsubscribed_at = Timestamptz(null=True, default=None)


class Cursor(Table, tablename="closure_cursor"):
    """How far a job has read a stream (e.g. the audit events of ticket transitions)."""

    id = Serial(primary_key=True)
    name = Varchar(length=64, unique=True, required=True)
    position = Integer(default=0)
