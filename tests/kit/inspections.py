"""Inspection factories and helpers: teams, seeded checklists, a footbridge with one component
per weighted group, schedules, and an inspection planned, recorded, submitted and finalised
through the services (``graded`` does it all).

Since issue 16 a recommendation has no default and finalising asks about unscored components:
``record`` records ``KIT_RECOMMENDATION`` (no restriction, with ``KIT_NO_RESTRICTION_REASON``
for grade D/E) unless given (``recommendation=None``: a draft without one) and ``finalise``
finalises anyway with ``KIT_UNSCORED_REASON`` (the footbridge's lamp is never scored), so the
tests about grades, tickets and schedules keep to their subject. The tests of those rules
(tests/test_inspections_safety.py) call the services without these."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from facilities.accounts.permissions import SYSTEM, Actor
from facilities.assets.choices import AssetType, ComponentGroup
from facilities.assets.tables import Asset
from facilities.inspections import services as inspections
from facilities.inspections.choices import Anchor, InspectionType, Recommendation, Trigger
from facilities.inspections.schemas import (
    ConditionIn,
    FindingIn,
    InspectionIn,
    RecordIn,
    ScheduleIn,
)
from facilities.inspections.tables import ChecklistTemplate, Inspection, InspectionSchedule, Team
from tests.kit.assets import make_asset, make_component
from tests.kit.constants import ZONE

KIT_RECOMMENDATION = Recommendation.NONE
KIT_NO_RESTRICTION_REASON = "测试：本例只检验评级 / kit: the test is about the grade"
KIT_UNSCORED_REASON = "测试：照明不在本次检查范围 / kit: the lamp is not part of this check"


async def make_team(
    name: str = "桥梁巡检一队", lead: Actor | None = None, email: str = "bridges@bureau.example"
) -> int:
    rows = await Team.insert(
        Team(name=name, email=email, lead=lead.id if lead else None)
    ).returning(Team.id)
    return int(rows[0]["id"])


async def checklist_id(code: str) -> int:
    row = (
        await ChecklistTemplate.select(ChecklistTemplate.id)
        .where(ChecklistTemplate.code == code)
        .first()
    )
    assert row is not None, f"checklist {code} was not seeded"
    return int(row["id"])


async def footbridge() -> tuple[Asset, dict[str, Any]]:
    """A footbridge with one component per weighted group; the main cable is critical."""
    asset = await make_asset(asset_type=AssetType.FOOTBRIDGE)
    parts = {
        "deck": await make_component(asset, "木桥面板", group=ComponentGroup.DECK_SYSTEM),
        "cable": await make_component(
            asset, "主缆", group=ComponentGroup.SUPERSTRUCTURE, is_critical=True
        ),
        "abutment": await make_component(asset, "桥台", group=ComponentGroup.SUBSTRUCTURE),
        "lamp": await make_component(asset, "照明", group=ComponentGroup.ANCILLARY),
    }
    return asset, parts


async def make_schedule(
    actor: Actor,
    asset: Asset,
    now: dt.datetime,
    rule: str = "FREQ=MONTHLY;BYMONTHDAY=1",
    anchor: Anchor = Anchor.FIXED,
    starts_on: dt.date = dt.date(2026, 1, 1),
    start_time: str = "09:00",
    inspection_type: InspectionType = InspectionType.ROUTINE_MONTHLY,
    **fields: Any,
) -> InspectionSchedule:
    return await inspections.create_schedule(
        actor,
        ScheduleIn(
            asset_id=asset.id,
            inspection_type=inspection_type,
            rrule=rule,
            anchor=anchor,
            starts_on=starts_on,
            start_time=start_time,
            **fields,
        ),
        ZONE,
        now,
    )


async def plan(actor: Actor, asset: Asset, now: dt.datetime, **fields: Any) -> Inspection:
    values: dict[str, Any] = {
        "asset_id": asset.id,
        "inspection_type": InspectionType.SPECIAL,
        "trigger": Trigger.EVENT,
        "due_on": dt.date(2026, 11, 29),
    }
    values.update(fields)
    return await inspections.create_inspection(actor, InspectionIn(**values), ZONE, now)


async def record(
    actor: Actor,
    inspection: Inspection,
    now: dt.datetime,
    scores: dict[int, float] | None = None,
    **fields: Any,
) -> Inspection:
    fresh = await inspections.get_inspection(SYSTEM, inspection.id)
    conditions = [ConditionIn(component_id=k, score=v) for k, v in (scores or {}).items()]
    fields.setdefault("recommendation", KIT_RECOMMENDATION)
    fields.setdefault("no_restriction_reason", KIT_NO_RESTRICTION_REASON)
    return await inspections.save_record(
        actor,
        inspection.id,
        RecordIn(version=fresh.version, conditions=conditions, **fields),
        now,
    )


async def submit(actor: Actor, inspection: Inspection, now: dt.datetime) -> Inspection:
    fresh = await inspections.get_inspection(SYSTEM, inspection.id)
    return await inspections.submit(actor, inspection.id, fresh.version, now)


async def finalise(
    actor: Actor,
    inspection: Inspection,
    now: dt.datetime,
    media_root: Path,
    finalise_anyway: bool = True,
    unscored_reason: str = KIT_UNSCORED_REASON,
) -> Inspection:
    fresh = await inspections.get_inspection(SYSTEM, inspection.id)
    return await inspections.finalise(
        actor,
        inspection.id,
        fresh.version,
        ZONE,
        media_root,
        now,
        finalise_anyway=finalise_anyway,
        unscored_reason=unscored_reason,
    )


async def graded(
    personas: dict[str, Actor],
    asset: Asset,
    now: dt.datetime,
    media_root: Path,
    scores: dict[int, float],
    findings: list[FindingIn] = (),  # type: ignore[assignment]
    **fields: Any,
) -> Inspection:
    """Plan, record (by bob, the kit's recommendation), add findings, submit, finalise (by
    alice, anyway when a component is unscored)."""
    inspection = await plan(personas["alice"], asset, now, **fields)
    await record(personas["bob"], inspection, now, scores)
    for finding in findings:
        await inspections.add_finding(personas["bob"], inspection.id, finding, now)
    await submit(personas["bob"], inspection, now)
    return await finalise(personas["alice"], inspection, now, media_root)


def scores_for(
    parts: dict[str, Any], deck: float, cable: float, abutment: float
) -> dict[int, float]:
    return {parts["deck"].id: deck, parts["cable"].id: cable, parts["abutment"].id: abutment}
