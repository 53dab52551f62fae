"""The demo story, loaded idempotently: running it twice changes nothing.

高新区建设局 (High-tech Zone Construction Bureau, Hengyang) keeps two sites: 平湖公园 and
雁鸣溪广场. The landmark is the 76.6 m Pinghu Park landscape suspension bridge (built 2007) on the
west side of the park, whose timber deck planks rotted and whose main cables show local rust.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from facilities import demo_places as places
from facilities.accounts import services as accounts
from facilities.accounts.choices import Role
from facilities.accounts.permissions import SYSTEM
from facilities.accounts.schemas import UserCreate
from facilities.assets import services as assets
from facilities.assets.choices import (
    AssetType,
    ComponentGroup,
    ComponentKind,
    ConditionGrade,
    MaintenanceClass,
    MaintenanceGrade,
    Material,
    SiteKind,
    StructureType,
)
from facilities.assets.schemas import AssetIn, ComponentIn, SiteIn
from facilities.assets.tables import Component, Site
from facilities.tickets.choices import Action, ClosingReason, Priority, Source, WorkClass

DEMO_PASSWORD = "facilities-demo"  # noqa: S105 - printed on purpose for the local demo

STAFF = [
    ("admin", "系统管理员 Admin", Role.ADMIN, "admin@bureau.example"),
    ("alice", "王丽 Alice Wang", Role.SUPERVISOR, "alice@bureau.example"),
    ("bob", "李波 Bob Li", Role.INSPECTOR, "bob@bureau.example"),
    ("carol", "陈卡 Carol Chen", Role.CREW, "carol@bureau.example"),
    ("dave", "赵大卫 Dave Zhao", Role.VIEWER, "dave@bureau.example"),
]
#: The team each field worker works in (the demo's teams, demo_story.teams): crew and
#: inspectors act on work assigned to them or to their team.
STAFF_TEAMS = {"bob": "桥梁检查组 Bridge inspection team", "carol": "维修一班 Crew 1"}

SITES = [
    SiteIn(
        name_zh="平湖公园",
        name_en="Pinghu Park",
        kind=SiteKind.PARK,
        address="衡阳市高新区平湖公园",
        lat=26.8952,
        lng=112.5841,
        boundary=places.PARK_BOUNDARY,
        water=places.PARK_WATER,
    ),
    SiteIn(
        name_zh="雁鸣溪广场",
        name_en="Yanmingxi Plaza",
        kind=SiteKind.PLAZA,
        address="衡阳市高新区雁鸣溪广场",
        lat=26.8876,
        lng=112.5963,
        boundary=places.PLAZA_BOUNDARY,
        water=places.PLAZA_WATER,
    ),
]

PINGHU_BRIDGE = "GX-QL-PH-001"


def _assets(site_ids: dict[str, int]) -> list[AssetIn]:
    park, plaza = site_ids["平湖公园"], site_ids["雁鸣溪广场"]
    return [
        AssetIn(
            code=PINGHU_BRIDGE,
            name_zh="平湖公园景观悬索桥",
            name_en="Pinghu Park Landscape Suspension Bridge",
            asset_type=AssetType.SUSPENSION_FOOTBRIDGE,
            site_id=park,
            **places.drawn(places.BRIDGE),
            location_note="公园西侧 West side of the park",
            built_year=2007,
            length_m=76.6,
            width_m=2.5,
            span_m=60.0,
            structure_type=StructureType.SUSPENSION,
            deck_material=Material.TIMBER,
            main_material=Material.STEEL,
            maintenance_class=MaintenanceClass.II,
            maintenance_grade=MaintenanceGrade.I,
            is_special_structure=True,
            is_tension_critical=True,
            crowd_limit=60,
            condition_grade=ConditionGrade.D,
            condition_graded_on=dt.date(2026, 10, 20),
            description="景观人行悬索桥，木质桥面板受风雨侵蚀腐朽，主承重钢索局部锈蚀需做油保养。"
            "\nLandscape pedestrian suspension bridge; weather rotted the timber deck planks and "
            "the main load-bearing cables show local rust and need greasing.",
        ),
        AssetIn(
            code="GX-ZD-PH-001",
            name_zh="平湖公园环湖木栈道",
            name_en="Pinghu Lakeside Boardwalk",
            asset_type=AssetType.BOARDWALK,
            site_id=park,
            **places.drawn(places.BOARDWALK),
            built_year=2012,
            length_m=places.length(places.BOARDWALK),
            width_m=2.0,
            structure_type=StructureType.BEAM,
            deck_material=Material.TIMBER,
            main_material=Material.REINFORCED_CONCRETE,
            maintenance_class=MaintenanceClass.IV,
            maintenance_grade=MaintenanceGrade.II,
            condition_grade=ConditionGrade.B,
            condition_graded_on=dt.date(2026, 9, 12),
        ),
        AssetIn(
            code="GX-YL-PH-001",
            name_zh="平湖公园儿童游乐场",
            name_en="Pinghu Park Playground",
            asset_type=AssetType.PLAYGROUND,
            site_id=park,
            **places.drawn(places.PLAYGROUND),
            built_year=2018,
            structure_type=StructureType.NOT_APPLICABLE,
            main_material=Material.STEEL,
            maintenance_grade=MaintenanceGrade.II,
            crowd_limit=80,
            condition_grade=ConditionGrade.B,
            condition_graded_on=dt.date(2026, 10, 2),
        ),
        AssetIn(
            code="GX-TZ-PH-001",
            name_zh="平湖公园湖心亭",
            name_en="Pinghu Lake Pavilion",
            asset_type=AssetType.PAVILION,
            site_id=park,
            **places.drawn(places.PAVILION),
            built_year=2007,
            structure_type=StructureType.FRAME,
            main_material=Material.TIMBER,
            maintenance_grade=MaintenanceGrade.III,
            condition_grade=ConditionGrade.C,
            condition_graded_on=dt.date(2026, 8, 30),
        ),
        AssetIn(
            code="GX-ZM-PH-001",
            name_zh="平湖公园景观照明",
            name_en="Pinghu Park Lighting",
            asset_type=AssetType.LIGHTING,
            site_id=park,
            built_year=2019,
            structure_type=StructureType.NOT_APPLICABLE,
            maintenance_grade=MaintenanceGrade.III,
            condition_grade=ConditionGrade.A,
            condition_graded_on=dt.date(2026, 10, 15),
        ),
        AssetIn(
            code="GX-PQ-YM-001",
            name_zh="雁鸣溪广场音乐喷泉",
            name_en="Yanmingxi Plaza Fountain",
            asset_type=AssetType.FOUNTAIN,
            site_id=plaza,
            **places.drawn(places.FOUNTAIN),
            built_year=2015,
            structure_type=StructureType.NOT_APPLICABLE,
            main_material=Material.STONE,
            maintenance_grade=MaintenanceGrade.II,
            condition_grade=ConditionGrade.B,
            condition_graded_on=dt.date(2026, 9, 25),
        ),
        AssetIn(
            code="GX-QL-YM-001",
            name_zh="雁鸣溪桥",
            name_en="Yanmingxi Road Bridge",
            asset_type=AssetType.BRIDGE,
            site_id=plaza,
            **places.drawn(places.ROAD_BRIDGE),
            built_year=2010,
            length_m=32.0,
            width_m=16.0,
            span_m=16.0,
            structure_type=StructureType.BEAM,
            deck_material=Material.REINFORCED_CONCRETE,
            main_material=Material.REINFORCED_CONCRETE,
            maintenance_class=MaintenanceClass.III,
            maintenance_grade=MaintenanceGrade.I,
            condition_grade=ConditionGrade.B,
            condition_graded_on=dt.date(2026, 6, 18),
        ),
    ]


# (key, name_zh, name_en, kind, group, critical, parent key)
BRIDGE_COMPONENTS: list[tuple[str, str, str, ComponentKind, ComponentGroup, bool, str | None]] = [
    (
        "cables",
        "主缆",
        "Main cables",
        ComponentKind.MAIN_CABLE,
        ComponentGroup.SUPERSTRUCTURE,
        True,
        None,
    ),
    (
        "cable_n",
        "上游主缆",
        "Upstream main cable",
        ComponentKind.MAIN_CABLE,
        ComponentGroup.SUPERSTRUCTURE,
        True,
        "cables",
    ),
    (
        "cable_s",
        "下游主缆",
        "Downstream main cable",
        ComponentKind.MAIN_CABLE,
        ComponentGroup.SUPERSTRUCTURE,
        True,
        "cables",
    ),
    (
        "clamps",
        "索夹及螺栓",
        "Cable clamps and bolts",
        ComponentKind.CABLE_CLAMP,
        ComponentGroup.SUPERSTRUCTURE,
        True,
        "cables",
    ),
    ("hangers", "吊杆", "Hangers", ComponentKind.HANGER, ComponentGroup.SUPERSTRUCTURE, True, None),
    (
        "tower_e",
        "东桥塔",
        "East tower",
        ComponentKind.TOWER,
        ComponentGroup.SUPERSTRUCTURE,
        True,
        None,
    ),
    (
        "tower_w",
        "西桥塔",
        "West tower",
        ComponentKind.TOWER,
        ComponentGroup.SUPERSTRUCTURE,
        True,
        None,
    ),
    (
        "beam",
        "加劲梁",
        "Stiffening beam",
        ComponentKind.STIFFENING_BEAM,
        ComponentGroup.SUPERSTRUCTURE,
        False,
        None,
    ),
    (
        "deck",
        "木质桥面板（全桥）",
        "Timber deck planks (whole bridge)",
        ComponentKind.DECK_PLANKS,
        ComponentGroup.DECK_SYSTEM,
        False,
        None,
    ),
    (
        "railing",
        "栏杆扶手",
        "Railings",
        ComponentKind.RAILING,
        ComponentGroup.DECK_SYSTEM,
        False,
        None,
    ),
    (
        "net",
        "桥侧安全网",
        "Side safety nets",
        ComponentKind.SAFETY_NET,
        ComponentGroup.ANCILLARY,
        False,
        None,
    ),
    (
        "anchor_e",
        "东锚碇",
        "East anchorage",
        ComponentKind.ANCHORAGE,
        ComponentGroup.SUBSTRUCTURE,
        True,
        None,
    ),
    (
        "anchor_w",
        "西锚碇",
        "West anchorage",
        ComponentKind.ANCHORAGE,
        ComponentGroup.SUBSTRUCTURE,
        True,
        None,
    ),
    (
        "abutments",
        "桥台",
        "Abutments",
        ComponentKind.ABUTMENT,
        ComponentGroup.SUBSTRUCTURE,
        False,
        None,
    ),
    (
        "drainage",
        "排水设施",
        "Drainage",
        ComponentKind.DRAINAGE,
        ComponentGroup.ANCILLARY,
        False,
        None,
    ),
    (
        "lighting",
        "桥面照明",
        "Deck lighting",
        ComponentKind.LIGHTING,
        ComponentGroup.ANCILLARY,
        False,
        None,
    ),
    (
        "signs",
        "限载及警示标牌",
        "Load-limit and warning signs",
        ComponentKind.SIGNAGE,
        ComponentGroup.ANCILLARY,
        False,
        None,
    ),
]


@dataclasses.dataclass(frozen=True)
class DemoTicket:
    code: str
    title: str
    priority: Priority
    work_class: WorkClass
    source: Source
    days_ago: int
    steps: tuple[tuple[Action, str], ...]  # (action, actor username) in order
    assignee: str | None = None
    team: str = ""
    contractor: str = ""
    scope: str = ""
    description: str = ""
    planned: tuple[int, int] | None = None  # days from the load date
    cost_estimate: str | None = None
    comments: tuple[tuple[str, str, bool], ...] = ()  # (author, text, public)
    closing_reason: ClosingReason | None = None


TICKETS = [
    DemoTicket(
        PINGHU_BRIDGE,
        "更换全部木质桥面板及紧固件 Replace all timber deck planks and fasteners",
        Priority.P1,
        WorkClass.MAJOR,
        Source.INSPECTION,
        40,
        ((Action.TRIAGE, "alice"), (Action.SCHEDULE, "alice"), (Action.START, "carol")),
        assignee="carol",
        team="维修一班 Crew 1",
        contractor="衡阳市路桥养护工程有限公司",
        scope="拆除全部腐朽木质桥面板，更换防腐木板及不锈钢紧固件；湖面设置两层滤网防止材料落水。"
        "\nRemove all rotten deck planks; fit treated timber and stainless fasteners; two layers "
        "of filter nets on the lake keep materials out of the water.",
        description="桥面木板受风雨侵蚀大面积腐朽，部分板材已穿透。"
        " Weather rotted the deck planks; some are rotten through.",
        planned=(-20, 120),
        cost_estimate="680000.00",
        comments=(
            (
                "carol",
                "旧桥面板已拆除约三分之一，两层滤网已布设。 About a third of the old "
                "planks are off; both filter nets are in place.",
                True,
            ),
        ),
    ),
    DemoTicket(
        PINGHU_BRIDGE,
        "主缆局部除锈涂油保养及索夹螺栓复紧 De-rust and grease the main cables, "
        "re-tighten clamp bolts",
        Priority.P1,
        WorkClass.MEDIUM,
        Source.INSPECTION,
        40,
        ((Action.TRIAGE, "alice"), (Action.SCHEDULE, "alice"), (Action.START, "carol")),
        assignee="carol",
        team="维修一班 Crew 1",
        scope="主缆锈蚀部位除锈、涂油保养；全部索夹螺栓按设计扭矩复紧。"
        " De-rust and grease the rusted cable sections; re-tighten every clamp bolt to the"
        " design torque.",
        planned=(-10, 60),
        cost_estimate="120000.00",
    ),
    DemoTicket(
        "GX-ZD-PH-001",
        "栈道东段木板松动 Loose boards on the east boardwalk",
        Priority.P2,
        WorkClass.MINOR,
        Source.CITIZEN_REPORT,
        6,
        ((Action.TRIAGE, "alice"),),
        team="维修二班 Crew 2",
    ),
    DemoTicket(
        "GX-YL-PH-001",
        "秋千吊链磨损 Worn swing chains",
        Priority.P2,
        WorkClass.MINOR,
        Source.PATROL,
        12,
        ((Action.TRIAGE, "alice"), (Action.SCHEDULE, "alice")),
        assignee="carol",
        planned=(3, 3),
    ),
    DemoTicket(
        "GX-TZ-PH-001",
        "亭顶瓦片移位 Displaced roof tiles on the pavilion",
        Priority.P3,
        WorkClass.ROUTINE,
        Source.PATROL,
        3,
        (),
    ),
    DemoTicket(
        "GX-QL-YM-001",
        "伸缩缝止水带破损 Damaged expansion-joint seal",
        Priority.P2,
        WorkClass.MEDIUM,
        Source.INSPECTION,
        45,
        ((Action.TRIAGE, "alice"), (Action.SCHEDULE, "alice"), (Action.START, "carol")),
        assignee="carol",
        contractor="衡阳市路桥养护工程有限公司",
        planned=(-15, 5),
    ),
    DemoTicket(
        "GX-PQ-YM-001",
        "喷泉水泵故障 Fountain pump failure",
        Priority.P2,
        WorkClass.MINOR,
        Source.PATROL,
        25,
        (
            (Action.TRIAGE, "alice"),
            (Action.START, "carol"),
            (Action.COMPLETE, "carol"),
            (Action.ACCEPT, "alice"),
            (Action.CLOSE, "alice"),
        ),
        assignee="carol",
        closing_reason=ClosingReason.REPLACED,
    ),
    DemoTicket(
        "GX-ZM-PH-001",
        "湖边景观灯不亮 Lakeside lamps out",
        Priority.P3,
        WorkClass.ROUTINE,
        Source.CITIZEN_REPORT,
        15,
        (
            (Action.TRIAGE, "alice"),
            (Action.START, "carol"),
            (Action.COMPLETE, "carol"),
            (Action.ACCEPT, "alice"),
            (Action.CLOSE, "alice"),
        ),
        assignee="carol",
        closing_reason=ClosingReason.REPAIRED,
    ),
]


async def load(now: dt.datetime, zone: ZoneInfo, media_root: Path) -> dict[str, int]:
    """Create whatever of the story is missing; returns how many rows of each kind were added."""
    added: dict[str, Any] = {"users": 0, "sites": 0, "assets": 0, "components": 0, "tickets": 0}
    for username, name, role, email in STAFF:
        if await accounts.find_user_by_username(username) is None:
            await accounts.create_user(
                SYSTEM,
                UserCreate(
                    username=username,
                    display_name=name,
                    role=role,
                    email=email,
                    team=STAFF_TEAMS.get(username, ""),
                    password=DEMO_PASSWORD,
                ),
                now,
            )
            added["users"] += 1
    site_ids: dict[str, int] = {}
    for site in SITES:
        existing = await Site.objects().where(Site.name_zh == site.name_zh).first()
        if existing is None:
            existing = await assets.create_site(SYSTEM, site, now)
            added["sites"] += 1
        site_ids[site.name_zh] = existing.id
    for asset in _assets(site_ids):
        if await assets.find_asset_by_code(asset.code) is None:
            await assets.create_asset(SYSTEM, asset, now)
            added["assets"] += 1
    added["components"] = await _bridge_components(now)
    added["tickets"] = await _tickets(now)
    from facilities import demo_story

    added.update(await demo_story.load(now, zone, media_root))
    return added


async def _tickets(now: dt.datetime) -> int:
    """The story's repair work: each ticket replayed through the real lifecycle, so its timeline
    is the one the services write."""
    from facilities.demo_story import staff_actor
    from facilities.tickets import services as tickets
    from facilities.tickets.schemas import CommentIn, TicketIn, TransitionIn
    from facilities.tickets.services import contractors
    from facilities.tickets.tables import RepairTicket

    actors = {username: await staff_actor(username) for username, *_ in STAFF}
    added = 0
    for spec in TICKETS:
        asset = await assets.find_asset_by_code(spec.code)
        assert asset is not None
        if await RepairTicket.exists().where(
            (RepairTicket.asset == asset.id) & (RepairTicket.title == spec.title)
        ):
            continue
        opened = now - dt.timedelta(days=spec.days_ago)
        today = now.date()
        assignee = await accounts.find_user_by_username(spec.assignee) if spec.assignee else None
        ticket = await tickets.open_ticket(
            actors["bob"],
            TicketIn(
                asset_id=asset.id,
                title=spec.title,
                description=spec.description,
                source=spec.source,
                work_class=spec.work_class,
                priority=spec.priority,
                assignee_id=assignee.id if assignee else None,
                assignee_team=spec.team,
                contractor_id=await contractors.find_or_register(
                    actors["alice"], spec.contractor, opened
                ),
                scope=spec.scope,
                planned_start_on=today + dt.timedelta(days=spec.planned[0])
                if spec.planned
                else None,
                planned_end_on=today + dt.timedelta(days=spec.planned[1]) if spec.planned else None,
                cost_estimate=Decimal(spec.cost_estimate) if spec.cost_estimate else None,
            ),
            opened,
        )
        version, moment = ticket.version, opened
        for index, (action, username) in enumerate(spec.steps):
            moment = opened + dt.timedelta(days=index + 1)
            note = "现场核实完毕 Checked on site" if action == Action.COMPLETE else ""
            updated = await tickets.transition(
                actors[username],
                ticket.id,
                TransitionIn(
                    action=action,
                    version=version,
                    note=note,
                    closing_reason=spec.closing_reason if action == Action.CLOSE else None,
                ),
                moment,
            )
            version = updated.version
        for author, text, public in spec.comments:
            await tickets.add_comment(
                actors[author], ticket.id, CommentIn(body=text, is_public=public), moment
            )
        added += 1
    return added


async def _bridge_components(now: dt.datetime) -> int:
    bridge = await assets.find_asset_by_code(PINGHU_BRIDGE)
    assert bridge is not None
    if await Component.exists().where(Component.asset == bridge.id):
        return 0
    ids: dict[str, int] = {}
    for position, (key, zh, en, kind, group, critical, parent) in enumerate(BRIDGE_COMPONENTS):
        row = await assets.create_component(
            SYSTEM,
            bridge.id,
            ComponentIn(
                name_zh=zh,
                name_en=en,
                kind=kind,
                group=group,
                is_critical=critical,
                parent_id=ids[parent] if parent else None,
                position=position,
            ),
            now,
        )
        ids[key] = row.id
    return len(ids)
