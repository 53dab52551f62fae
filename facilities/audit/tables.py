"""The audit event table."""

from __future__ import annotations

from piccolo.columns import JSON, ForeignKey, Integer, Serial, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from facilities.accounts.tables import StaffUser


class AuditEvent(Table, tablename="audit_event"):
    """One change to one record. ``changes`` maps each field to ``[before, after]``."""

    id = Serial(primary_key=True)
    at = Timestamptz(index=True)
    actor = ForeignKey(StaffUser, null=True, on_delete=OnDelete.set_null)
    actor_name = Varchar(length=128, default="")
    action = Varchar(length=64, required=True)
    entity_type = Varchar(length=32, required=True, index=True)
    entity_id = Integer(required=True, index=True)
    changes = JSON(default="{}")
