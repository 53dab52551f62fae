"""Closure factories and helpers: the Pinghu Park bridge closure (``closure_in``,
``make_closure``), tickets walked to a status and linked, an inspection driven to its final
grade (``inspect``), the notices and audit events of a closure, and ``repaired``: the story up
to the reopening gate."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

from facilities.accounts.permissions import SYSTEM, Actor
from facilities.assets.choices import ComponentGroup
from facilities.audit.tables import AuditEvent
from facilities.closures import services as closures
from facilities.closures.choices import Precision, Reason, SafetyMeasure, Scope
from facilities.closures.schemas import ClosureIn, LinkTicketIn
from facilities.closures.tables import Closure, NoticeUpdate
from facilities.inspections import services as inspections
from facilities.inspections.choices import InspectionType, Recommendation, Trigger
from facilities.inspections.schemas import ConditionIn, FindingIn, InspectionIn, RecordIn
from facilities.inspections.tables import Inspection
from facilities.tickets import services as tickets
from facilities.tickets.choices import Action, ClosingReason
from facilities.tickets.choices import Status as TicketStatus
from facilities.tickets.schemas import TransitionIn
from facilities.tickets.tables import RepairTicket
from tests.kit.assets import make_asset, make_component
from tests.kit.constants import NOW, ZONE
from tests.kit.tickets import drive_to, make_ticket

MAY_DAY = dt.date(2027, 5, 1)
DAY = dt.timedelta(days=1)


def closure_in(asset_id: int, now: dt.datetime = NOW, **fields: Any) -> ClosureIn:
    """The Pinghu Park bridge closure: fully closed for repair, nets on the lake, reopening
    promised before May Day."""
    values: dict[str, Any] = {
        "asset_id": asset_id,
        "scope": Scope.FULL,
        "reason": Reason.REPAIR_WORKS,
        "reason_zh": "桥面木板腐朽，主缆局部锈蚀，全封闭维修",
        "reason_en": "Rotten deck planks and rusted main cables: closed for repair",
        "safety_measures": [
            SafetyMeasure.FENCING,
            SafetyMeasure.WARNING_SIGNS,
            SafetyMeasure.NETS_OVER_WATER,
        ],
        "effective_from": now,
        "planned_reopen_on": MAY_DAY,
        "reopen_precision": Precision.BEFORE,
    }
    values.update(fields)
    return ClosureIn(**values)


async def make_closure(
    actor: Actor = SYSTEM, asset: Any = None, now: dt.datetime = NOW, **fields: Any
) -> Closure:
    asset_id = fields.pop("asset_id", None) or (asset or await make_asset()).id
    return await closures.create_closure(actor, closure_in(asset_id, now, **fields), now)


async def drive_ticket(
    actor: Actor, asset: Any, status: TicketStatus, now: dt.datetime = NOW, **fields: Any
) -> RepairTicket:
    """A ticket of ``asset`` walked to ``status`` through the real ticket transitions."""
    ticket = await make_ticket(actor, asset, now=now, **fields)
    if status == TicketStatus.NEW:
        return ticket
    return await drive_to(ticket.id, status, actor, now)


async def link(
    actor: Actor, closure: Closure, ticket: RepairTicket, label: str = "桥面更换"
) -> None:
    await closures.link_ticket(
        actor,
        closure.id,
        LinkTicketIn(ticket_id=ticket.id, public_label_zh=label, public_label_en="Deck renewal"),
        NOW,
    )


async def inspect(
    inspector: Actor,
    reviewer: Actor,
    asset: Any,
    now: dt.datetime,
    score: float,
    inspection_type: InspectionType = InspectionType.ACCEPTANCE,
    direct_control: bool = False,
    media_root: Any = None,
) -> Inspection:
    """An inspection driven through create -> start -> record -> submit -> finalise, every
    component of the asset scored ``score`` (85: grade B, 70: C, 55: D, 30: E)."""
    deck = await make_component(asset, "桥面木板", group=ComponentGroup.DECK_SYSTEM)
    cable = await make_component(asset, "主缆", group=ComponentGroup.SUPERSTRUCTURE)
    raised = await inspections.create_inspection(
        inspector,
        InspectionIn(
            asset_id=asset.id,
            inspection_type=inspection_type,
            trigger=Trigger.POST_REPAIR,
            due_on=now.date(),
        ),
        ZONE,
        now,
    )
    started = await inspections.start(inspector, raised.id, raised.version, now)
    recorded = await inspections.save_record(
        inspector,
        started.id,
        RecordIn(
            version=started.version,
            conditions=[
                ConditionIn(component_id=deck.id, score=score),
                ConditionIn(component_id=cable.id, score=score),
            ],
            summary="验收检查 / acceptance inspection",
            # issue 16: no default recommendation; "none" needs a reason at grade D/E
            recommendation=Recommendation.NONE,
            no_restriction_reason="测试 / kit: the gate is under test",
        ),
        now,
    )
    if direct_control:
        await inspections.add_finding(
            inspector,
            recorded.id,
            FindingIn(
                component_id=cable.id,
                is_direct_control=True,
                description="主缆断丝 / broken cable wires",
            ),
            now,
        )
        recorded = await inspections.get_inspection(inspector, recorded.id)
    submitted = await inspections.submit(inspector, recorded.id, recorded.version, now)
    return await inspections.finalise(
        reviewer,
        submitted.id,
        submitted.version,
        ZONE,
        media_root or "/tmp",
        now,
        # each call adds its own deck and cable: an earlier call's stay unscored (issue 16)
        finalise_anyway=True,
        unscored_reason="测试 / kit: earlier inspections' components",
    )


async def notices(closure_id: int, state: str | None = None) -> list[NoticeUpdate]:
    query = NoticeUpdate.objects().where(NoticeUpdate.closure == closure_id)
    if state:
        query = query.where(NoticeUpdate.state == state)
    return await query.order_by(NoticeUpdate.id)


async def events(closure_id: int, action: str | None = None) -> list[dict[str, Any]]:
    query = AuditEvent.select().where(
        (AuditEvent.entity_type == "closure") & (AuditEvent.entity_id == closure_id)
    )
    if action:
        query = query.where(AuditEvent.action == action)
    rows = await query.order_by(AuditEvent.id)
    for row in rows:
        if isinstance(row["changes"], str):
            row["changes"] = json.loads(row["changes"])
    return rows


@dataclasses.dataclass
class Case:
    asset: Any
    closure: Closure
    now: dt.datetime  # after the acceptance inspection
    media: Path


async def fresh(closure: Closure) -> Closure:
    found = await closures.find_closure(closure.id)
    assert found is not None
    return found


async def repaired(
    personas: dict[str, Actor], now: dt.datetime, media: Path, *, sign: bool = True
) -> Case:
    """The Pinghu bridge story up to the reopening: closed at ``now``; the deck renewal accepted
    and closed, the cable greasing accepted; an acceptance inspection a month later grades it
    B and passes; the supervisor signs off (unless ``sign`` is false)."""
    alice, bob = personas["alice"], personas["bob"]
    asset = await make_asset()
    closure = await make_closure(alice, asset, now)
    deck = await drive_ticket(alice, asset, TicketStatus.ACCEPTED, now, title="更换桥面木板")
    deck = await tickets.transition(
        alice,
        deck.id,
        TransitionIn(
            action=Action.CLOSE, version=deck.version, closing_reason=ClosingReason.REPLACED
        ),
        now,
    )
    cable = await drive_ticket(alice, asset, TicketStatus.ACCEPTED, now, title="主缆除锈涂油")
    await link(alice, closure, deck, "桥面木板更换")
    await link(alice, closure, cable, "主缆除锈涂油")
    accepted_at = now + 30 * DAY
    acceptance = await inspect(bob, alice, asset, accepted_at, score=85, media_root=media)
    assert (acceptance.grade, acceptance.passed) == ("B", True)
    closure = await fresh(closure)
    if sign:
        closure = await closures.sign_off(alice, closure.id, closure.version, accepted_at)
    return Case(asset, closure, accepted_at, media)
