"""The audit event table.

Its actor is a staff user, named lazily (Piccolo's ``LazyTableReference``): accounts records its
own changes through :mod:`facilities.audit.services`, so audit sits below accounts and imports
nothing of it; the foreign key is a fact of the schema, not of the code.
"""

from __future__ import annotations

from typing import Any

from piccolo.columns import JSON, ForeignKey, Integer, Serial, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.reference import LazyTableReference
from piccolo.table import Table


class AuditEvent(Table, tablename="audit_event"):
    """One change to one record. ``changes`` maps each field to ``[before, after]``."""

    id = Serial(primary_key=True)
    at = Timestamptz(index=True)
    actor: ForeignKey[Any] = ForeignKey(
        LazyTableReference("StaffUser", module_path="facilities.accounts.tables"),
        null=True,
        on_delete=OnDelete.set_null,
    )
    actor_name = Varchar(length=128, default="")
    action = Varchar(length=64, required=True)
    entity_type = Varchar(length=32, required=True, index=True)
    entity_id = Integer(required=True, index=True)
    changes = JSON(default="{}")
