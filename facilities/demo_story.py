"""The demo's inspections and closures: how the Pinghu bridge came to be closed, the closure
notice with its repair work, a planned closure and a facility reopened after a verified repair.

Everything is replayed through the real services at the moments it happened (relative to the
load time), so grades, rules, notices and audit trails are the ones the system itself writes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from facilities import demo_places as places
from facilities.accounts import services as accounts
from facilities.accounts.permissions import SYSTEM, Actor
from facilities.assets import services as assets
from facilities.assets.tables import Asset, Component
from facilities.closures import services as closures
from facilities.closures.choices import Precision, Reason, SafetyMeasure, Scope
from facilities.closures.schemas import ClosureIn, LiftIn, LinkTicketIn, NoticeIn
from facilities.closures.tables import Closure
from facilities.inspections import services as inspections
from facilities.inspections.choices import (
    DefectType,
    InspectionType,
    Recommendation,
    Severity,
    Trigger,
    Urgency,
    Weather,
)
from facilities.inspections.schemas import ConditionIn, FindingIn, InspectionIn, RecordIn
from facilities.inspections.tables import Inspection, Team
from facilities.tickets.tables import RepairTicket

DAY = dt.timedelta(days=1)


async def staff_actor(username: str) -> Actor:
    user = await accounts.find_user_by_username(username)
    assert user is not None
    return accounts.actor_of(user)


async def teams() -> int:
    added = 0
    for name, email, lead in (
        ("桥梁检查组 Bridge inspection team", "bridges@bureau.example", "bob"),
        ("维修一班 Crew 1", "crew1@bureau.example", "carol"),
    ):
        user = await accounts.find_user_by_username(lead)
        rows = (
            await Team.insert(Team(name=name, email=email, lead=user.id if user else None))
            .on_conflict(action="DO NOTHING")
            .returning(Team.id)
        )
        added += len(rows)
    return added


async def _inspect(
    asset_id: int,
    kind: InspectionType,
    trigger: Trigger,
    when: dt.datetime,
    scores: dict[str, float],
    findings: list[FindingIn],
    summary: str,
    zone: ZoneInfo,
    media_root: Path,
    recommendation: Recommendation = Recommendation.NONE,
) -> Inspection:
    """One inspection from planning to final: bob records it (every component scored, the
    recommendation chosen), alice signs it off."""
    bob, alice = await staff_actor("bob"), await staff_actor("alice")
    planned = await inspections.create_inspection(
        bob,
        InspectionIn(
            asset_id=asset_id,
            inspection_type=kind,
            trigger=trigger,
            due_on=when.astimezone(zone).date(),
            inspector_id=bob.id,
        ),
        zone,
        when - DAY,
    )
    started = await inspections.start(bob, planned.id, planned.version, when)
    components = await Component.select(Component.id, Component.group).where(
        Component.asset == asset_id
    )
    conditions = [
        ConditionIn(component_id=c["id"], score=scores[c["group"]])
        for c in components
        if c["group"] in scores
    ]
    recorded = await inspections.save_record(
        bob,
        started.id,
        RecordIn(
            version=started.version,
            conditions=conditions,
            weather=Weather.CLOUDY,
            recommendation=recommendation,
            summary=summary,
        ),
        when + dt.timedelta(hours=2),
    )
    for finding in findings:
        await inspections.add_finding(bob, recorded.id, finding, when + dt.timedelta(hours=2))
    submitted = await inspections.submit(
        bob, recorded.id, recorded.version, when + dt.timedelta(hours=3)
    )
    return await inspections.finalise(
        alice, submitted.id, submitted.version, zone, media_root, when + DAY
    )


async def bridge_history(now: dt.datetime, zone: ZoneInfo, media_root: Path) -> int:
    """Three inspections of the Pinghu bridge: B, then C, then D (the closure followed)."""
    bridge = await assets.find_asset_by_code("GX-QL-PH-001")
    assert bridge is not None
    if await Inspection.exists().where(Inspection.asset == bridge.id):
        return 0
    components = {
        c["kind"]: c["id"]
        for c in await Component.select(Component.id, Component.kind).where(
            Component.asset == bridge.id
        )
    }
    await _inspect(
        bridge.id,
        InspectionType.PERIODIC_ROUTINE,
        Trigger.SCHEDULED,
        now - 630 * DAY,
        {"deck_system": 86, "superstructure": 88, "substructure": 92, "ancillary": 90},
        [],
        "整体状况良好，桥面局部木板出现轻微开裂。 Good overall; a few deck planks show "
        "light cracking.",
        zone,
        media_root,
    )
    await _inspect(
        bridge.id,
        InspectionType.PERIODIC_ROUTINE,
        Trigger.SCHEDULED,
        now - 270 * DAY,
        {"deck_system": 60, "superstructure": 72, "substructure": 90, "ancillary": 80},
        [
            FindingIn(
                component_id=components.get("deck_planks"),
                defect_type=DefectType.ROT,
                severity=Severity.MODERATE,
                urgency=Urgency.MEDIUM,
                description="多块桥面板出现腐朽。 Several deck planks are rotting.",
            )
        ],
        "桥面板腐朽发展，建议安排维修。 Deck rot is spreading; plan a repair.",
        zone,
        media_root,
    )
    await _inspect(
        bridge.id,
        InspectionType.SPECIAL,
        Trigger.PUBLIC_REPORT,
        now - 41 * DAY,
        {"deck_system": 35, "superstructure": 52, "substructure": 72, "ancillary": 70},
        [
            FindingIn(
                component_id=components.get("deck_planks"),
                defect_type=DefectType.ROT,
                severity=Severity.SEVERE,
                urgency=Urgency.MEDIUM,
                description="桥面板大面积腐朽，部分穿透。 Widespread rot; some planks "
                "are rotten through.",
            ),
            FindingIn(
                component_id=components.get("main_cable"),
                defect_type=DefectType.CORROSION,
                severity=Severity.MODERATE,
                urgency=Urgency.MEDIUM,
                description="主缆局部锈蚀，需除锈涂油。 Local rust on the main "
                "cables; de-rust and grease.",
            ),
        ],
        "市民反映桥面松动。桥面系状况差，建议全封闭大修。 A citizen reported loose planks. "
        "The deck is in poor condition: close fully for a major repair.",
        zone,
        media_root,
        Recommendation.FULL_CLOSURE,
    )
    return 3


def next_may_first(now: dt.datetime) -> dt.date:
    year = now.year if now.month < 5 else now.year + 1
    return dt.date(year, 5, 1)


async def pinghu_closure(now: dt.datetime) -> int:
    bridge = await assets.find_asset_by_code("GX-QL-PH-001")
    assert bridge is not None
    if await Closure.exists().where(Closure.asset == bridge.id):
        return 0
    alice = await staff_actor("alice")
    for proposal in await closures.list_proposals(alice, bridge.id):
        await closures.dismiss_proposal(alice, proposal["id"], now - 39 * DAY)
    start = now - 38 * DAY
    closure = await closures.create_closure(
        alice,
        ClosureIn(
            asset_id=bridge.id,
            scope=Scope.FULL,
            reason=Reason.STRUCTURAL_DEFECT,
            reason_zh="平湖公园景观悬索桥建成于2007年。受风雨侵蚀，木质桥面板腐朽，主承重钢索局部锈蚀，"
            "需进行全面维修。为保障游客安全，大桥全封闭施工。",
            reason_en="The Pinghu Park suspension bridge was built in 2007. Weather has rotted its "
            "timber deck planks and the main load-bearing cables show local rust. The bridge is "
            "fully closed for a major repair to keep visitors safe.",
            safety_measures=[
                SafetyMeasure.FENCING,
                SafetyMeasure.WARNING_SIGNS,
                SafetyMeasure.NETS_OVER_WATER,
                SafetyMeasure.GUARD_ON_DUTY,
                SafetyMeasure.DETOUR,
            ],
            detour_zh="请经环湖木栈道东段绕行至公园西门。",
            detour_en="Please walk round by the east section of the lakeside boardwalk to the west "
            "gate.",
            detour_line=places.BRIDGE_DETOUR,
            fences=places.BRIDGE_FENCES,
            entrances=places.PARK_GATES,
            reopening_criteria_zh="全部桥面板更换完成、主缆保养完成，并经验收检测合格后重新开放。",
            reopening_criteria_en="Reopens once all deck planks are replaced, the cables are "
            "serviced and an acceptance inspection has passed.",
            effective_from=start,
            planned_reopen_on=next_may_first(now),
            reopen_precision=Precision.BEFORE,
            is_urgent=True,
        ),
        start,
    )
    labels = {
        "更换全部木质桥面板及紧固件": ("桥面板及紧固件更换", "Deck plank and fastener replacement"),
        "主缆局部除锈涂油保养": (
            "主缆除锈涂油及索夹螺栓复紧",
            "Cable de-rusting, greasing and clamp bolt tightening",
        ),
    }
    tickets = await RepairTicket.select(RepairTicket.id, RepairTicket.title).where(
        RepairTicket.asset == bridge.id
    )
    for ticket in tickets:
        for prefix, (zh, en) in labels.items():
            if ticket["title"].startswith(prefix):
                await closures.link_ticket(
                    alice,
                    closure.id,
                    LinkTicketIn(ticket_id=ticket["id"], public_label_zh=zh, public_label_en=en),
                    start,
                )
    for days, zh, en in (
        (
            35,
            "施工围挡已设置，湖面已布设两层滤网，防止施工材料落入水中。",
            "Site fencing is up and two layers of filter nets are on the lake to keep materials "
            "out of the water.",
        ),
        (
            20,
            "旧桥面板拆除约三分之一，主缆除锈工作已开始。",
            "About a third of the old deck planks are off; cable de-rusting has begun.",
        ),
        (
            6,
            "新桥面板开始铺设，预计5月1日前完成全部维修并验收。",
            "New deck planks are being laid; all repairs and the acceptance inspection are "
            "expected before 1 May.",
        ),
    ):
        await closures.write_update(
            alice, closure.id, NoticeIn(text_zh=zh, text_en=en), now - days * DAY
        )
    return 1


async def planned_closure(now: dt.datetime) -> int:
    bridge = await assets.find_asset_by_code("GX-QL-YM-001")
    assert bridge is not None
    if await Closure.exists().where(Closure.asset == bridge.id):
        return 0
    alice = await staff_actor("alice")
    start = (now + 10 * DAY).replace(hour=0, minute=0, second=0, microsecond=0)
    closure = await closures.create_closure(
        alice,
        ClosureIn(
            asset_id=bridge.id,
            scope=Scope.PARTIAL,
            affected_part_zh="北侧人行道",
            affected_part_en="North footway",
            extent=places.ROAD_BRIDGE_NORTH_FOOTWAY,
            reason=Reason.REPAIR_WORKS,
            reason_zh="更换伸缩缝止水带，施工期间北侧人行道封闭。",
            reason_en="The expansion-joint seal is being replaced; the north footway is closed "
            "during the works.",
            safety_measures=[
                SafetyMeasure.FENCING,
                SafetyMeasure.WARNING_SIGNS,
                SafetyMeasure.DETOUR,
            ],
            detour_zh="行人请走南侧人行道。",
            detour_en="Pedestrians please use the south footway.",
            effective_from=start,
            planned_reopen_on=(start + 14 * DAY).date(),
            reopen_precision=Precision.EXACT,
        ),
        now,
    )
    ticket = (
        await RepairTicket.select(RepairTicket.id).where(RepairTicket.asset == bridge.id).first()
    )
    if ticket:
        await closures.link_ticket(
            alice,
            closure.id,
            LinkTicketIn(
                ticket_id=ticket["id"],
                public_label_zh="伸缩缝止水带更换",
                public_label_en="Expansion-joint seal replacement",
            ),
            now,
        )
    return 1


async def reopened_fountain(now: dt.datetime, zone: ZoneInfo, media_root: Path) -> int:
    """Closed for a pump failure, repaired, accepted by inspection, signed off, reopened."""
    fountain = await assets.find_asset_by_code("GX-PQ-YM-001")
    assert fountain is not None
    if await Closure.exists().where(Closure.asset == fountain.id):
        return 0
    alice = await staff_actor("alice")
    start = now - 24 * DAY
    closure = await closures.create_closure(
        alice,
        ClosureIn(
            asset_id=fountain.id,
            scope=Scope.FULL,
            reason=Reason.REPAIR_WORKS,
            reason_zh="音乐喷泉水泵故障，停用维修。",
            reason_en="The fountain pump failed; the fountain is off for repair.",
            safety_measures=[SafetyMeasure.FENCING, SafetyMeasure.WARNING_SIGNS],
            effective_from=start,
            planned_reopen_on=(now - 5 * DAY).date(),
            reopen_precision=Precision.BEFORE,
        ),
        start,
    )
    ticket = (
        await RepairTicket.select(RepairTicket.id).where(RepairTicket.asset == fountain.id).first()
    )
    if ticket:
        await closures.link_ticket(
            alice,
            closure.id,
            LinkTicketIn(
                ticket_id=ticket["id"],
                public_label_zh="水泵更换",
                public_label_en="Pump replacement",
            ),
            start,
        )
    if await Component.count().where(Component.asset == fountain.id) == 0:
        from facilities.assets.choices import ComponentGroup, ComponentKind
        from facilities.assets.schemas import ComponentIn

        for zh, en, group in (
            ("水泵", "Pump", ComponentGroup.SUPERSTRUCTURE),
            ("水池", "Basin", ComponentGroup.SUBSTRUCTURE),
        ):
            await assets.create_component(
                SYSTEM,
                fountain.id,
                ComponentIn(name_zh=zh, name_en=en, kind=ComponentKind.EQUIPMENT, group=group),
                start,
            )
    await _inspect(
        fountain.id,
        InspectionType.ACCEPTANCE,
        Trigger.POST_REPAIR,
        now - 9 * DAY,
        {"superstructure": 92, "substructure": 88},
        [],
        "水泵更换完成，运行正常。 Pump replaced and running normally.",
        zone,
        media_root,
    )
    fresh = await closures.get_closure(alice, closure.id)
    signed = await closures.sign_off(alice, fresh.id, fresh.version, now - 7 * DAY)
    await closures.lift(
        alice, signed.id, LiftIn(version=signed.version, reopens_at=now - 6 * DAY), now - 7 * DAY
    )
    await closures.announce_reopenings(now - 6 * DAY)
    return 1


async def load(now: dt.datetime, zone: ZoneInfo, media_root: Path) -> dict[str, int]:
    added = {"teams": await teams(), "schedules": 0}
    for asset in await Asset.select(Asset.id):
        added["schedules"] += await inspections.apply_default_schedules(
            SYSTEM, asset["id"], zone, now
        )
    added["inspections"] = await bridge_history(now, zone, media_root)
    added["closures"] = (
        await pinghu_closure(now)
        + await planned_closure(now)
        + await reopened_fountain(now, zone, media_root)
    )
    return added
