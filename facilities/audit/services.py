"""Writing and reading audit events."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from enum import Enum
from typing import Any, Protocol

from facilities.audit import display
from facilities.audit.tables import AuditEvent

Snapshot = dict[str, Any]


class Actor(Protocol):
    """Who acted, as the trail records it (``accounts.permissions.Actor`` is one): audit sits
    below accounts, so it names only what it reads."""

    @property
    def id(self) -> int | None: ...

    @property
    def display_name(self) -> str: ...


def _plain(value: Any) -> Any:
    """JSON-safe form of a column value (dates, enums, decimals)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def diff(before: Snapshot | None, after: Snapshot | None) -> dict[str, list[Any]]:
    """Field -> [before, after] for every field whose value differs."""
    before, after = before or {}, after or {}
    changes: dict[str, list[Any]] = {}
    for key in sorted(set(before) | set(after)):
        old, new = _plain(before.get(key)), _plain(after.get(key))
        if old != new:
            changes[key] = [old, new]
    return changes


async def record(
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: int,
    now: dt.datetime,
    before: Snapshot | None = None,
    after: Snapshot | None = None,
) -> None:
    """Append one event; call it inside the transaction that makes the change."""
    await AuditEvent.insert(
        AuditEvent(
            at=now,
            actor=actor.id,
            actor_name=actor.display_name,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            changes=json.dumps(diff(before, after), ensure_ascii=False),
        )
    )


async def list_events(entity_type: str, entity_id: int, limit: int = 200) -> list[dict[str, Any]]:
    """The history of one record, newest first, with the changes decoded."""
    rows = (
        await AuditEvent.select()
        .where((AuditEvent.entity_type == entity_type) & (AuditEvent.entity_id == entity_id))
        .order_by(AuditEvent.at, ascending=False)
        .order_by(AuditEvent.id, ascending=False)
        .limit(limit)
    )
    for row in rows:
        if isinstance(row["changes"], str):
            row["changes"] = json.loads(row["changes"])
    names = await staff_names(display.user_ids(rows))
    for row in rows:
        row["names"] = names
    return rows


async def staff_names(ids: set[int]) -> dict[int, str]:
    """id -> display name of the staff named in a history (the actor's table, read through the
    trail's own foreign key: audit sits below accounts and imports nothing of it)."""
    if not ids:
        return {}
    users: Any = AuditEvent.actor._foreign_key_meta.resolved_references
    rows = await users.select(users.id, users.display_name).where(users.id.is_in(sorted(ids)))
    return {row["id"]: row["display_name"] for row in rows}
