"""Report tables: citizens' service requests, their photos, and the Open311 client keys."""

from __future__ import annotations

from piccolo.columns import (
    JSON,
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
from facilities.assets.tables import Asset
from facilities.closures.tables import Closure
from facilities.reports.choices import Category, Channel, ReportStatus
from facilities.tickets.tables import RepairTicket


class Open311Key(Table, tablename="open311_key"):
    """The key of one Open311 client application, issued by an administrator. Only its SHA-256
    is stored; the clear key is shown once. Revoked keys stay for the audit trail."""

    id = Serial(primary_key=True)
    name = Varchar(length=128, required=True)
    contact = Varchar(length=254, default="")
    key_hash = Varchar(length=64, unique=True, required=True)
    prefix = Varchar(length=12, default="")
    created_at = Timestamptz()
    created_by = ForeignKey(StaffUser, null=True, on_delete=OnDelete.set_null)
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class ServiceRequest(Table, tablename="service_request"):
    """A citizen's problem report (an Open311 service request) about one facility.

    The tracking link's secret token is stored as its SHA-256 only. The contact fields are
    never public. Once triaged onto a ticket (``ticket``) or answered by a closure in force
    (``closure``), the public status is derived from that record, never copied here.
    """

    id = Serial(primary_key=True)
    token_hash = Varchar(length=64, unique=True, required=True)
    asset = ForeignKey(Asset, null=False, on_delete=OnDelete.restrict, index=True)
    category = Varchar(length=24, choices=Category, default=Category.OTHER, index=True)
    description = Text(default="")
    attributes = JSON(default="{}")
    lat = DoublePrecision(null=True, default=None)
    lng = DoublePrecision(null=True, default=None)
    address_string = Varchar(length=256, default="")
    channel = Varchar(length=8, choices=Channel, default=Channel.WEB)
    client = ForeignKey(Open311Key, null=True, on_delete=OnDelete.set_null)
    contact_name = Varchar(length=128, default="")
    contact_email = Varchar(length=254, default="")
    contact_phone = Varchar(length=40, default="")
    device_id = Varchar(length=128, default="")
    account_id = Varchar(length=128, default="")
    language = Varchar(length=8, default="zh_CN")
    status = Varchar(length=12, choices=ReportStatus, default=ReportStatus.NEW, index=True)
    public_reason = Text(default="")
    ticket = ForeignKey(RepairTicket, null=True, on_delete=OnDelete.set_null, index=True)
    closure = ForeignKey(Closure, null=True, on_delete=OnDelete.set_null, index=True)
    follow_up_of: ForeignKey[ServiceRequest] = ForeignKey(
        "self", null=True, on_delete=OnDelete.set_null, index=True
    )
    #: An open report the citizen says is their problem too ("this is mine too", from the
    #: report pin's list of reports nearby): triage sees the two together.
    same_as: ForeignKey[ServiceRequest] = ForeignKey(
        "self", null=True, on_delete=OnDelete.set_null, index=True
    )
    requested_at = Timestamptz(index=True)
    updated_at = Timestamptz(index=True)
    triaged_at = Timestamptz(null=True, default=None)
    triaged_by = ForeignKey(StaffUser, null=True, on_delete=OnDelete.set_null)
    version = Integer(default=1)


class ReportPhoto(Table, tablename="report_photo"):
    """A photo sent with a report, cleaned of its metadata; the file lives under the media
    folder, named by a random key. Staff see it; it is copied onto the ticket on conversion."""

    id = Serial(primary_key=True)
    report = ForeignKey(ServiceRequest, null=False, on_delete=OnDelete.cascade, index=True)
    filename = Varchar(length=200, default="")
    content_type = Varchar(length=64, required=True)
    size = Integer(default=0)
    sha256 = Varchar(length=64, default="")
    storage_key = Varchar(length=128, unique=True, required=True)
    thumbnail_key = Varchar(length=128, default="")
    created_at = Timestamptz()
