"""The public pages' story (also read by the feed, subscription, leak and browser tests), loaded
through the real services: the 76.6 m Pinghu Park suspension bridge, closed since March 2027 for
its rotten timber deck and rusted cables, first promised to reopen before 15 April, then before
1 May. Its repair tickets carry internal facts (``SECRETS``: titles, costs, contractor contacts,
internal comments, staff names, a reporter's e-mail) that must never reach a public page."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

from facilities.accounts import services as accounts
from facilities.accounts.choices import Role
from facilities.accounts.permissions import SYSTEM, Actor
from facilities.accounts.schemas import UserCreate
from facilities.assets.choices import AssetType, Material, StructureType
from facilities.closures import services as closures
from facilities.closures.choices import Precision, Reason, SafetyMeasure, Scope
from facilities.closures.schemas import ClosureIn, ExtendIn, LinkTicketIn, NoticeIn
from facilities.lib.clock import SettableClock
from facilities.tickets import services as tickets
from facilities.tickets.choices import Action
from facilities.tickets.schemas import CommentIn, TicketIn, TransitionIn
from tests.kit.assets import make_asset, make_site

UTC = dt.UTC
#: The story's clock: the bridge closed on 2 March 2027; citizens read the notice on 10 April.
CLOSED_AT = dt.datetime(2027, 3, 2, 1, 0, tzinfo=UTC)
EXTENDED_AT = dt.datetime(2027, 4, 1, 2, 0, tzinfo=UTC)
READ_AT = dt.datetime(2027, 4, 10, 2, 0, tzinfo=UTC)

#: Internal facts with distinctive values: none may appear on any public page or feed.
SECRETS = {
    "ticket title": "SECRET-TITLE-Q7 更换桥面板内部工单",
    "second ticket title": "SECRET-TITLE-K2 cable work order",
    "ticket description": "SECRET-DESCRIPTION-Z1 腐朽板材清单",
    "ticket scope": "SECRET-SCOPE-M3 拆除方案",
    "cost estimate": "681234.57",
    "actual cost": "99887.66",
    "contractor": "SECRET-CONTRACTOR-X9 路桥养护有限公司",
    "contractor contact": "SECRET-CONTACT-J5 139-0000-4321",
    "assignee team": "SECRET-TEAM-W4 维修一班",
    "internal comment": "SECRET-COMMENT-V8 预算超支需审批",
    "public comment on the ticket": "SECRET-PUBCOMMENT-R6 only for the reporter",
    "transition note": "SECRET-NOTE-P3 hold for budget",
    "staff display name": "SECRET-STAFF-Y2 王丽",
    "crew display name": "SECRET-CREW-H8 陈卡",
    "staff e-mail": "secret-alice-y2@bureau.example",
    "reporter e-mail": "secret.reporter.t4@citizen.example",
    "draft notice": "SECRET-DRAFT-N5 not yet approved",
    "override reason": "SECRET-OVERRIDE-O1",
}


@dataclasses.dataclass
class Story:
    alice: Actor
    carol: Actor
    site: Any
    bridge: Any
    other_site: Any
    boardwalk: Any
    closure: Any
    planned: Any
    reopened: Any
    deck_ticket: int
    cable_ticket: int


async def make_staff(
    username: str,
    role: Role,
    display_name: str,
    email: str,
    at: dt.datetime = CLOSED_AT,
    team: str = "",
) -> Actor:
    user = await accounts.create_user(
        SYSTEM,
        UserCreate(
            username=username,
            display_name=display_name,
            role=role,
            email=email,
            team=team,
            password="correct horse battery",
        ),
        at - dt.timedelta(days=30),
    )
    return accounts.actor_of(user)


async def new_ticket(
    actor: Actor, asset_id: int, title: str, at: dt.datetime, **fields: Any
) -> int:
    ticket = await tickets.open_ticket(
        actor, TicketIn(asset_id=asset_id, title=title, **fields), at
    )
    return int(ticket.id)


async def move_ticket(actor: Actor, ticket_id: int, action: Action, at: dt.datetime, **fields: Any):
    current = await tickets.find_ticket(ticket_id)
    return await tickets.transition(
        actor, ticket_id, TransitionIn(action=action, version=current.version, **fields), at
    )


async def build_story(shift: dt.timedelta = dt.timedelta(0)) -> Story:
    """The story through the real services; ``shift`` moves every date (the browser test
    serves it with the real clock, so it moves the story into the past)."""
    closed_at, extended_at, read_at = CLOSED_AT + shift, EXTENDED_AT + shift, READ_AT + shift

    def day(year: int, month: int, day_: int) -> dt.date:
        return dt.date(year, month, day_) + shift

    alice = await make_staff(
        "alice", Role.SUPERVISOR, SECRETS["staff display name"], SECRETS["staff e-mail"], closed_at
    )
    carol = await make_staff(  # in the team the deck work is assigned to
        "carol",
        Role.CREW,
        SECRETS["crew display name"],
        "carol-secret@bureau.example",
        closed_at,
        team=SECRETS["assignee team"],
    )
    site = await make_site(
        "平湖公园", name_en="Pinghu Park", address="衡阳市高新区平湖公园", lat=26.8952, lng=112.5841
    )
    other_site = await make_site("雁鸣溪广场", name_en="Yanmingxi Plaza", lat=26.8876, lng=112.5963)
    bridge = await make_asset(
        site,
        code="GX-QL-PH-001",
        name_zh="平湖公园景观悬索桥",
        name_en="Pinghu Park Landscape Suspension Bridge",
        asset_type=AssetType.SUSPENSION_FOOTBRIDGE,
        lat=26.8949,
        lng=112.5812,
        built_year=2007,
        length_m=76.6,
        width_m=2.5,
        structure_type=StructureType.SUSPENSION,
        deck_material=Material.TIMBER,
        main_material=Material.STEEL,
    )
    boardwalk = await make_asset(
        site,
        code="GX-ZD-PH-001",
        name_zh="平湖公园环湖木栈道",
        name_en="Pinghu Lakeside Boardwalk",
        asset_type=AssetType.BOARDWALK,
        lat=26.8961,
        lng=112.5830,
    )
    fountain = await make_asset(
        other_site,
        code="GX-PQ-YM-001",
        name_zh="雁鸣溪广场音乐喷泉",
        name_en="Yanmingxi Plaza Fountain",
        asset_type=AssetType.FOUNTAIN,
        lat=26.8878,
        lng=112.5960,
    )
    opened = closed_at - dt.timedelta(days=3)
    deck = await new_ticket(
        alice,
        bridge.id,
        SECRETS["ticket title"],
        opened,
        description=SECRETS["ticket description"],
        scope=SECRETS["ticket scope"],
        cost_estimate=Decimal(SECRETS["cost estimate"]),
        cost_actual=Decimal(SECRETS["actual cost"]),
        contractor=SECRETS["contractor"],
        contractor_contact=SECRETS["contractor contact"],
        assignee_team=SECRETS["assignee team"],
        reporter_email=SECRETS["reporter e-mail"],
    )
    cable = await new_ticket(alice, bridge.id, SECRETS["second ticket title"], opened)
    await move_ticket(alice, deck, Action.TRIAGE, opened + dt.timedelta(hours=1))
    await move_ticket(carol, deck, Action.START, closed_at + dt.timedelta(days=1))
    await tickets.add_comment(
        carol, deck, CommentIn(body=SECRETS["internal comment"]), closed_at + dt.timedelta(days=2)
    )
    await tickets.add_comment(
        carol,
        deck,
        CommentIn(body=SECRETS["public comment on the ticket"], is_public=True),
        closed_at + dt.timedelta(days=2),
    )
    closure = await closures.create_closure(
        alice,
        ClosureIn(
            asset_id=bridge.id,
            scope=Scope.FULL,
            reason=Reason.STRUCTURAL_DEFECT,
            reason_zh="木质桥面板受风雨侵蚀腐朽，主承重钢索局部锈蚀，需全面维修。",
            reason_en="Weather rotted the timber deck planks and the main cables show local rust.",
            safety_measures=[
                SafetyMeasure.FENCING,
                SafetyMeasure.WARNING_SIGNS,
                SafetyMeasure.NETS_OVER_WATER,
                SafetyMeasure.DETOUR,
            ],
            detour_zh="请经公园北门环湖步道绕行。",
            detour_en="Walk round the lake by the path from the north gate.",
            reopening_criteria_zh="维修完成并经验收检测合格后重新开放。",
            reopening_criteria_en="It reopens after the repair passes an acceptance inspection.",
            effective_from=closed_at,
            planned_reopen_on=day(2027, 4, 15),
            reopen_precision=Precision.BEFORE,
            is_urgent=True,
        ),
        closed_at,
    )
    await closures.link_ticket(
        alice,
        closure.id,
        LinkTicketIn(
            ticket_id=deck, public_label_zh="更换木质桥面板", public_label_en="New timber deck"
        ),
        closed_at + dt.timedelta(hours=1),
    )
    await closures.link_ticket(
        alice,
        closure.id,
        LinkTicketIn(
            ticket_id=cable,
            public_label_zh="主缆除锈涂油",
            public_label_en="Cable de-rusting and greasing",
        ),
        closed_at + dt.timedelta(hours=1),
    )
    await closures.write_update(
        alice,
        closure.id,
        NoticeIn(
            text_zh="湖面已布设两层滤网，防止材料落水。",
            text_en="Two layers of filter nets on the lake keep materials out of the water.",
        ),
        closed_at + dt.timedelta(days=5),
    )
    await closures.write_update(
        alice,
        closure.id,
        NoticeIn(text_zh=SECRETS["draft notice"], publish=False),
        closed_at + dt.timedelta(days=6),
    )
    current = await closures.find_closure(closure.id)
    closure = await closures.extend(
        alice,
        closure.id,
        ExtendIn(
            version=current.version,
            planned_reopen_on=day(2027, 5, 1),
            reopen_precision=Precision.BEFORE,
            reason_zh="主缆锈蚀范围比预期大。",
            reason_en="The rust on the main cables is more extensive than expected.",
        ),
        extended_at,
    )
    planned = await closures.create_closure(
        alice,
        ClosureIn(
            asset_id=boardwalk.id,
            scope=Scope.PARTIAL,
            affected_part_zh="东段木栈道",
            affected_part_en="The east section",
            reason=Reason.REPAIR_WORKS,
            reason_zh="更换松动木板。",
            reason_en="Loose boards are replaced.",
            effective_from=read_at + dt.timedelta(days=20),
            planned_reopen_on=day(2027, 5, 10),
            reopen_precision=Precision.EXACT,
        ),
        read_at - dt.timedelta(days=2),
    )
    reopened = await closures.create_closure(
        alice,
        ClosureIn(
            asset_id=fountain.id,
            scope=Scope.FULL,
            reason=Reason.REPAIR_WORKS,
            reason_zh="水泵故障维修。",
            reason_en="The pump is repaired.",
            effective_from=read_at - dt.timedelta(days=25),
            planned_reopen_on=day(2027, 3, 31),
        ),
        read_at - dt.timedelta(days=25),
    )
    admin = await make_staff(
        "admin", Role.ADMIN, "SECRET-ADMIN-E7", "admin-secret@bureau.example", closed_at
    )
    current = await closures.find_closure(reopened.id)
    from facilities.closures.schemas import LiftIn

    reopened = await closures.lift(
        admin,
        reopened.id,
        LiftIn(version=current.version, override_reason=SECRETS["override reason"]),
        read_at - dt.timedelta(days=8),
    )
    await closures.announce_reopenings(read_at - dt.timedelta(days=8))
    return Story(
        alice=alice,
        carol=carol,
        site=site,
        bridge=bridge,
        other_site=other_site,
        boardwalk=boardwalk,
        closure=closure,
        planned=planned,
        reopened=reopened,
        deck_ticket=deck,
        cable_ticket=cable,
    )


def pin_clock(clock: SettableClock, moment: dt.datetime) -> SettableClock:
    """Pin the app's clock to the story's moment (``clock.set`` moves it on)."""
    clock.set(moment, frozen=True)
    return clock
