"""What the audit timeline API (:mod:`facilities.homes.audit_api`) answers: a record's history
as its page shows it, each field by its form label and each value by its label, in the
reader's language."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

import msgspec


class Entity(StrEnum):
    """The kinds of record whose history may be read through the API."""

    TICKET = "ticket"
    ASSET = "asset"
    SITE = "site"
    INSPECTION = "inspection"
    CLOSURE = "closure"
    REPORT = "report"


class ChangeOut(msgspec.Struct, kw_only=True):
    field: str  # the name the code uses (``assignee_id``)
    label: str  # the form's label, in the reader's language
    before: str  # as a reader reads it ("—" for nothing)
    after: str


class AuditEventOut(msgspec.Struct, kw_only=True):
    id: int
    at: dt.datetime
    actor_id: int | None
    actor_name: str  # empty for the system
    action: str  # the code (``ticket.updated``)
    action_label: str  # in the reader's language
    changes: list[ChangeOut]
    raw_changes: dict[str, Any]  # field -> [before, after], as stored


class AuditPageOut(msgspec.Struct, kw_only=True):
    entity: Entity
    entity_id: int
    items: list[AuditEventOut]  # newest first
    next_cursor: str | None  # send as ``after`` for the next page
