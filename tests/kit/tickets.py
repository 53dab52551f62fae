"""Repair ticket factories and helpers: ``make_ticket``, walking a ticket to a status through
real transitions (``path_to``, ``transition_data``, ``drive_to``), its audit trail, attachments
and a batch of tickets for the list and pagination tests."""

from __future__ import annotations

import collections
import datetime as dt
import json
from pathlib import Path
from typing import Any

from facilities.accounts.permissions import SYSTEM, Actor
from facilities.audit.tables import AuditEvent
from facilities.tickets import services as tickets
from facilities.tickets.choices import (
    CLOSING_REASONS_FROM,
    TRANSITIONS,
    Action,
    ClosingReason,
    PhotoTag,
    Priority,
    Status,
)
from facilities.tickets.schemas import TicketIn, TransitionIn
from facilities.tickets.tables import RepairTicket, TicketAttachment
from tests.kit.assets import make_asset, make_site
from tests.kit.constants import NOW
from tests.kit.media import png_bytes


async def make_ticket(
    actor: Actor = SYSTEM,
    asset: Any = None,
    now: dt.datetime = NOW,
    **fields: Any,
) -> RepairTicket:
    """Open a ticket through the service (status new), with readable defaults."""
    asset_id = fields.pop("asset_id", None) or (asset or await make_asset()).id
    values: dict[str, Any] = {"title": "桥面木板腐朽 / rotten deck planks"}
    values.update(fields)
    return await tickets.open_ticket(actor, TicketIn(asset_id=asset_id, **values), now)


def path_to(target: Status) -> list[Action] | None:
    """The shortest list of actions leading from "new" to ``target`` (breadth first over
    TRANSITIONS; RESUME is left out because where it leads depends on the ticket)."""
    paths: dict[Status, list[Action]] = {Status.NEW: []}
    queue = collections.deque([Status.NEW])
    while queue:
        status = queue.popleft()
        for rule in TRANSITIONS:
            if rule.target is None or status not in rule.sources or rule.target in paths:
                continue
            paths[rule.target] = [*paths[status], rule.action]
            queue.append(rule.target)
    return paths.get(target)


def transition_data(
    action: Action, ticket: RepairTicket, duplicate_of: int, **overrides: Any
) -> TransitionIn:
    """Everything ``action`` needs on ``ticket`` as it is now (its version, a note, a closing
    reason valid for its status, the original of a duplicate, a planned start)."""
    values: dict[str, Any] = {
        "action": action,
        "version": ticket.version,
        "note": f"{action.value}: 说明 / reason",
    }
    if action == Action.SCHEDULE:
        values["planned_start_on"] = dt.date(2026, 12, 7)
    if action == Action.CLOSE:
        reasons = CLOSING_REASONS_FROM.get(Status(ticket.status))
        values["closing_reason"] = min(reasons) if reasons else ClosingReason.REPAIRED
    if action == Action.MARK_DUPLICATE:
        values["duplicate_of"] = duplicate_of
    values.update(overrides)
    return TransitionIn(**values)


async def drive_to(
    ticket_id: int,
    status: Status,
    actor: Actor,
    now: dt.datetime,
    completer: Actor | None = None,
) -> RepairTicket:
    """Walk the ticket from "new" to ``status`` through real transitions, all by ``actor``
    except "complete": a path that goes on to "accept" has the work completed by someone else
    (``completer``, by default the system), since nobody accepts work they completed."""
    path = path_to(status)
    assert path is not None, status
    ticket = await tickets.find_ticket(ticket_id)
    assert ticket is not None and ticket.status == Status.NEW
    original = 0
    if Action.MARK_DUPLICATE in path:
        original = (await make_ticket(actor, asset_id=ticket.asset, now=now, title="原始")).id
    if completer is None:
        completer = SYSTEM if Action.ACCEPT in path else actor
    for action in path:
        ticket = await tickets.transition(
            completer if action == Action.COMPLETE else actor,
            ticket_id,
            transition_data(action, ticket, original),
            now,
        )
    assert ticket.status == status
    return ticket


async def audit_count(ticket_id: int) -> int:
    return await AuditEvent.count().where(
        (AuditEvent.entity_type == "ticket") & (AuditEvent.entity_id == ticket_id)
    )


def changes_of(event: dict[str, Any]) -> dict[str, Any]:
    changes = event["changes"]
    return json.loads(changes) if isinstance(changes, str) else changes


async def last_event(ticket_id: int, action: str) -> dict[str, Any]:
    event = (
        await AuditEvent.select()
        .where(
            (AuditEvent.entity_type == "ticket")
            & (AuditEvent.entity_id == ticket_id)
            & (AuditEvent.action == action)
        )
        .order_by(AuditEvent.id, ascending=False)
        .first()
    )
    assert event is not None, action
    return event


async def attach(
    actor: Actor, ticket_id: int, root: Path, data: bytes | None = None, **fields: Any
) -> TicketAttachment:
    return await tickets.add_attachment(
        actor,
        ticket_id,
        png_bytes() if data is None else data,
        fields.pop("filename", "photo.png"),
        fields.pop("tag", PhotoTag.DURING),
        fields.pop("caption", ""),
        root,
        fields.pop("max_bytes", 5_000_000),
        fields.pop("now", NOW),
    )


async def seed_tickets(count: int, now: dt.datetime) -> list[dict[str, Any]]:
    """``count`` tickets in one insert, with many equal created/updated/due values (ties)."""
    site = await make_site()
    assets = [await make_asset(site), await make_asset(site)]
    rows = [
        RepairTicket(
            asset=assets[i % 2].id,
            title=f"批量工单 {i}",
            priority=list(Priority)[i % 4],
            status=Status.NEW if i % 7 else Status.IN_PROGRESS,
            created_at=now - dt.timedelta(minutes=i // 3),  # groups of three share an instant
            updated_at=now - dt.timedelta(minutes=(i * 7) % 5),  # only five distinct values
            sla_due_at=now + dt.timedelta(hours=(i * 11) % 6),  # six distinct values
        )
        for i in range(count)
    ]
    await RepairTicket.insert(*rows)
    return await RepairTicket.select(
        RepairTicket.id,
        RepairTicket.created_at,
        RepairTicket.updated_at,
        RepairTicket.sla_due_at,
        RepairTicket.priority,
    )
