"""Closure services: the lifecycle (planned -> active -> extended -> lifted, or cancelled), every
promise kept, the rules across fields, linked tickets, derived operational status, who may write,
and the one-click approval of a closure an inspection rule proposed.

The closure factories and helpers (``closure_in``, ``make_closure``, ``drive_ticket``,
``inspect``...) shared by the closure test files are tests/kit/closures.py.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from facilities.assets.choices import OperationalStatus
from facilities.assets.tables import Asset
from facilities.closures import public
from facilities.closures import services as closures
from facilities.closures.choices import (
    NoticeSource,
    NoticeState,
    Precision,
    Reason,
    SafetyMeasure,
    Scope,
    Status,
)
from facilities.closures.schemas import (
    CancelIn,
    ClosureIn,
    ExtendIn,
    LiftIn,
    LinkTicketIn,
    NoticeIn,
)
from facilities.closures.tables import Closure
from facilities.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from facilities.inspections import services as inspections
from facilities.inspections.choices import InspectionType
from facilities.inspections.schemas import InspectionIn
from facilities.inspections.tables import ClosureProposal
from tests.kit.assets import make_asset
from tests.kit.closures import MAY_DAY, closure_in, events, inspect, link, make_closure, notices
from tests.kit.constants import ZONE
from tests.kit.tickets import make_ticket

# --- lifecycle and promises ----------------------------------------------------------------


async def test_a_closure_starting_now_is_in_force_with_its_notice_and_first_promise(personas, now):
    alice = personas["alice"]
    closure = await make_closure(alice, now=now)
    assert closure.status == Status.ACTIVE
    assert closure.activated_at == now
    assert json.loads(closure.safety_measures) == ["fencing", "nets_over_water", "warning_signs"]
    [promise] = await closures.promises(closure.id)
    assert (promise.planned_reopen_on, promise.precision, promise.made_by) == (
        MAY_DAY,
        Precision.BEFORE,
        alice.id,
    )
    [notice] = await notices(closure.id)
    assert (notice.state, notice.source) == (NoticeState.PUBLISHED, NoticeSource.SYSTEM)
    assert "5月1日" in notice.text_zh and "1 May 2027" in notice.text_en
    assert [e["action"] for e in await events(closure.id)] == [
        "closure.created",
        "closure.activated",
    ]


async def test_a_planned_closure_waits_for_its_start(personas, now):
    start = now + dt.timedelta(days=3)
    closure = await make_closure(personas["alice"], now=now, effective_from=start)
    assert closure.status == Status.PLANNED
    assert await notices(closure.id) == []
    assert await closures.activate_due(now) == 0
    assert await closures.activate_due(start) == 1
    active = await closures.find_closure(closure.id)
    assert active is not None
    assert (active.status, active.activated_at) == (Status.ACTIVE, start)
    assert active.version == closure.version + 1  # an edit form opened before is stale now


async def test_extending_twice_keeps_both_earlier_promises_with_their_reasons(personas, now):
    alice = personas["alice"]
    closure = await make_closure(alice, now=now)
    first_at, second_at = now + dt.timedelta(days=60), now + dt.timedelta(days=120)
    extended = await closures.extend(
        alice,
        closure.id,
        ExtendIn(
            version=closure.version,
            planned_reopen_on=dt.date(2027, 6, 1),
            reason_zh="雨季延误",
            reason_en="Rain delayed the deck works",
        ),
        first_at,
    )
    assert (extended.status, extended.sequence, extended.version) == (
        Status.EXTENDED,
        closure.sequence + 1,
        closure.version + 1,
    )
    again = await closures.extend(
        alice,
        closure.id,
        ExtendIn(
            version=extended.version,
            planned_reopen_on=dt.date(2027, 7, 15),
            reopen_precision=Precision.EXACT,
            reason_zh="主缆更换需要更多时间",
        ),
        second_at,
    )
    assert (again.planned_reopen_on, again.reopen_precision) == (
        dt.date(2027, 7, 15),
        Precision.EXACT,
    )
    assert again.sequence == closure.sequence + 2
    history = await closures.promises(closure.id)
    assert [(p.planned_reopen_on, p.reason_zh, p.made_at) for p in history] == [
        (MAY_DAY, "", now),
        (dt.date(2027, 6, 1), "雨季延误", first_at),
        (dt.date(2027, 7, 15), "主缆更换需要更多时间", second_at),
    ]
    # The public view shows both earlier promises as revised, newest first.
    shown = await public.closure(closure.id)
    assert shown is not None
    assert [p.planned_reopen_on for p in shown.revised] == [dt.date(2027, 6, 1), MAY_DAY]
    texts = [n.text_en for n in await notices(closure.id)]
    assert any("Rain delayed the deck works" in t for t in texts)
    assert any("主缆更换需要更多时间" in t for t in texts)  # no English reason: the Chinese one
    extensions = await events(closure.id, "closure.extended")
    assert [e["changes"]["planned_reopen_on"] for e in extensions] == [
        ["2027-05-01", "2027-06-01"],
        ["2027-06-01", "2027-07-15"],
    ]


async def test_an_extension_must_move_the_date_later_and_say_why(personas, now):
    alice = personas["alice"]
    closure = await make_closure(alice, now=now)
    earlier = ExtendIn(version=closure.version, planned_reopen_on=MAY_DAY, reason_zh="原因")
    with pytest.raises(ValidationFailed) as refused:
        await closures.extend(alice, closure.id, earlier, now)
    assert "planned_reopen_on" in refused.value.errors
    blank = ExtendIn(version=closure.version, planned_reopen_on=dt.date(2027, 6, 1), reason_zh=" ")
    with pytest.raises(ValidationFailed) as refused:
        await closures.extend(alice, closure.id, blank, now)
    assert "reason_zh" in refused.value.errors
    stale = ExtendIn(
        version=closure.version - 1, planned_reopen_on=dt.date(2027, 6, 1), reason_zh="x"
    )
    with pytest.raises(Conflict):
        await closures.extend(alice, closure.id, stale, now)
    planned = await make_closure(alice, now=now, effective_from=now + dt.timedelta(days=1))
    with pytest.raises(InvalidTransition):
        await closures.extend(
            alice,
            planned.id,
            ExtendIn(version=planned.version, planned_reopen_on=dt.date(2027, 6, 1), reason_zh="x"),
            now,
        )
    assert len(await closures.promises(closure.id)) == 1  # nothing was added by the refusals


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"scope": Scope.PARTIAL}, "affected_part_zh"),
        ({"scope": Scope.RESTRICTED}, "crowd_limit"),
        ({"safety_measures": [SafetyMeasure.DETOUR]}, "detour_zh"),
        ({"planned_reopen_on": dt.date(2026, 11, 1)}, "planned_reopen_on"),
        ({"effective_from": dt.datetime(2026, 11, 28, 10, 0)}, "effective_from"),
        ({"reason_zh": "   "}, "reason_zh"),
        ({"asset_id": 999_999}, "asset_id"),
    ],
    ids=[
        "partial-no-part",
        "restricted-no-limit",
        "detour",
        "reopen-before",
        "naive",
        "blank",
        "asset",
    ],
)
async def test_rules_across_fields_are_refused_with_the_field_named(personas, now, fields, key):
    asset_id = fields.pop("asset_id", None) or (await make_asset()).id
    with pytest.raises(ValidationFailed) as refused:
        await closures.create_closure(personas["alice"], closure_in(asset_id, now, **fields), now)
    assert key in refused.value.errors
    assert await Closure.count() == 0


async def test_valid_partial_restricted_and_detour_closures_are_accepted(personas, now):
    alice = personas["alice"]
    asset = await make_asset()
    partial = await make_closure(
        alice,
        asset,
        now,
        scope=Scope.PARTIAL,
        affected_part_zh="东侧步道",
        affected_part_en="East path",
    )
    limited = await make_closure(alice, asset, now, scope=Scope.RESTRICTED, crowd_limit=30)
    daytime = await make_closure(alice, asset, now, scope=Scope.RESTRICTED, hours_zh="8:00-18:00")
    detour = await make_closure(
        alice, asset, now, safety_measures=[SafetyMeasure.DETOUR], detour_zh="请走北侧栈道"
    )
    assert {c.status for c in (partial, limited, daytime, detour)} == {Status.ACTIVE}


async def test_editing_a_planned_closure_corrects_its_only_promise(personas, now):
    alice = personas["alice"]
    asset = await make_asset()
    start = now + dt.timedelta(days=2)
    closure = await make_closure(alice, asset, now, effective_from=start)
    updated = await closures.update_closure(
        alice,
        closure.id,
        closure_in(
            asset.id,
            now,
            effective_from=start,
            planned_reopen_on=dt.date(2027, 4, 20),
            reopen_precision=Precision.EXACT,
            version=closure.version,
        ),
        now + dt.timedelta(hours=1),
    )
    assert (updated.planned_reopen_on, updated.version) == (dt.date(2027, 4, 20), 2)
    assert updated.sequence == closure.sequence + 1
    [promise] = await closures.promises(closure.id)
    assert (promise.planned_reopen_on, promise.precision) == (dt.date(2027, 4, 20), "exact")


async def test_the_promise_of_a_closure_in_force_moves_only_by_extending(personas, now):
    alice = personas["alice"]
    asset = await make_asset()
    closure = await make_closure(alice, asset, now)
    moved = closure_in(
        asset.id, now, planned_reopen_on=dt.date(2027, 6, 1), version=closure.version
    )
    with pytest.raises(ValidationFailed) as refused:
        await closures.update_closure(alice, closure.id, moved, now)
    assert "planned_reopen_on" in refused.value.errors
    # The same facts with the promise left out (None) or unchanged save fine.
    kept = closure_in(
        asset.id, now, planned_reopen_on=None, reason_en="Deck", version=closure.version
    )
    saved = await closures.update_closure(alice, closure.id, kept, now)
    assert (saved.planned_reopen_on, saved.reason_en, saved.sequence) == (MAY_DAY, "Deck", 0)
    with pytest.raises(Conflict):
        await closures.update_closure(alice, closure.id, kept, now)  # the same version again
    future = closure_in(
        asset.id, now, effective_from=now + dt.timedelta(days=1), version=saved.version
    )
    with pytest.raises(ValidationFailed) as refused:
        await closures.update_closure(alice, closure.id, future, now)
    assert "effective_from" in refused.value.errors


async def test_cancelling(personas, now):
    alice = personas["alice"]
    planned = await make_closure(alice, now=now, effective_from=now + dt.timedelta(days=5))
    cancelled = await closures.cancel(
        alice, planned.id, CancelIn(version=planned.version, reason_zh="天气好转"), now
    )
    assert cancelled.status == Status.CANCELLED
    assert await notices(planned.id) == []  # never public: nothing to say
    active = await make_closure(alice, now=now)
    draft = await closures.write_update(
        alice, active.id, NoticeIn(text_zh="主缆涂油开始", publish=False), now
    )
    done = await closures.cancel(
        alice,
        active.id,
        CancelIn(version=active.version, reason_zh="检测确认安全", reason_en="Found safe"),
        now,
    )
    assert (done.status, done.sequence) == (Status.CANCELLED, active.sequence + 1)
    last = (await notices(active.id))[-1]
    assert "检测确认安全" in last.text_zh and "Found safe" in last.text_en
    with pytest.raises(InvalidTransition):
        await closures.cancel(alice, active.id, CancelIn(version=done.version, reason_zh="x"), now)
    with pytest.raises(InvalidTransition):
        await closures.lift(alice, active.id, LiftIn(version=done.version), now)
    with pytest.raises(InvalidTransition):
        await closures.update_closure(
            alice, active.id, closure_in(active.asset, now, version=done.version), now
        )
    ticket = await make_ticket(alice, asset_id=active.asset)
    with pytest.raises(InvalidTransition):
        await link(alice, done, ticket)
    with pytest.raises(InvalidTransition):
        await closures.write_update(alice, active.id, NoticeIn(text_zh="x"), now)
    # Its leftover drafts leave the drafts page and cannot be published any more.
    assert await closures.list_drafts(alice) == []
    with pytest.raises(InvalidTransition):
        await closures.publish_update(alice, draft.id, now)
    assert (await closures.get_update(alice, draft.id)).state == NoticeState.DRAFT


# --- operational status --------------------------------------------------------------------


async def test_operational_status_is_derived_from_closures_in_force(personas, now):
    alice = personas["alice"]
    full, partial, restricted, planned, free = [await make_asset() for _ in range(5)]
    both = await make_asset()
    await make_closure(alice, full, now)
    await make_closure(alice, partial, now, scope=Scope.PARTIAL, affected_part_zh="东侧")
    await make_closure(alice, restricted, now, scope=Scope.RESTRICTED, crowd_limit=20)
    await make_closure(alice, planned, now, effective_from=now + dt.timedelta(days=1))
    await make_closure(alice, both, now, scope=Scope.PARTIAL, affected_part_zh="东侧")
    await make_closure(alice, both, now)
    ids = [a.id for a in (full, partial, restricted, planned, free, both)]
    statuses = await closures.operational_statuses(ids, now)
    assert [statuses[i] for i in ids] == [
        OperationalStatus.CLOSED,
        OperationalStatus.RESTRICTED,
        OperationalStatus.RESTRICTED,
        OperationalStatus.IN_SERVICE,
        OperationalStatus.IN_SERVICE,
        OperationalStatus.CLOSED,
    ]
    tomorrow = now + dt.timedelta(days=1)
    assert await closures.activate_due(tomorrow) == 1
    assert (await closures.operational_statuses([planned.id], tomorrow))[planned.id] == (
        OperationalStatus.CLOSED
    )


async def test_a_lifted_closure_frees_the_asset_when_it_reopens(personas, now):
    admin = personas["admin"]
    asset = await make_asset()
    closure = await make_closure(admin, asset, now)
    reopens = now + dt.timedelta(days=1)
    await closures.lift(
        admin,
        closure.id,
        LiftIn(version=closure.version, reopens_at=reopens, override_reason="x"),
        now,
    )
    assert (await closures.operational_statuses([asset.id], now))[asset.id] == (
        OperationalStatus.CLOSED
    )
    assert (await closures.operational_statuses([asset.id], reopens))[asset.id] == (
        OperationalStatus.IN_SERVICE
    )
    cancelled_asset = await make_asset()
    other = await make_closure(admin, cancelled_asset, now)
    await closures.cancel(admin, other.id, CancelIn(version=other.version, reason_zh="x"), now)
    assert (await closures.operational_statuses([cancelled_asset.id], now))[
        cancelled_asset.id
    ] == OperationalStatus.IN_SERVICE


# --- linked tickets ------------------------------------------------------------------------


async def test_linking_tickets_of_the_closed_asset_with_their_public_labels(personas, now):
    alice = personas["alice"]
    asset = await make_asset()
    closure = await make_closure(alice, asset, now)
    deck = await make_ticket(alice, asset, title="更换桥面木板")
    cables = await make_ticket(alice, asset, title="主缆除锈涂油")
    elsewhere = await make_ticket(alice, await make_asset(), title="别处")
    assert {t["id"] for t in await closures.linkable_tickets(alice, closure)} == {
        deck.id,
        cables.id,
    }
    await link(alice, closure, deck, "桥面木板更换")
    await link(alice, closure, cables, "主缆除锈")
    with pytest.raises(ValidationFailed) as refused:
        await link(alice, closure, elsewhere)
    assert "ticket_id" in refused.value.errors
    await link(alice, closure, deck, "桥面木板全部更换")  # again: the label changes
    rows = await closures.linked_tickets(closure.id)
    assert [(r["ticket"], r["public_label_zh"]) for r in rows] == [
        (deck.id, "桥面木板全部更换"),
        (cables.id, "主缆除锈"),
    ]
    assert [t["id"] for t in await closures.linkable_tickets(alice, closure)] == []
    await closures.unlink_ticket(alice, closure.id, cables.id, now)
    assert [r["ticket"] for r in await closures.linked_tickets(closure.id)] == [deck.id]
    actions = [e["action"] for e in await events(closure.id)]
    assert actions.count("closure.ticket_linked") == 3
    assert actions.count("closure.ticket_unlinked") == 1


# --- who may write -------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["dave", "carol", "bob"])
async def test_viewers_crews_and_inspectors_cannot_write(personas, now, username):
    actor = personas[username]
    alice = personas["alice"]
    asset = await make_asset()
    closure = await make_closure(alice, asset, now)
    ticket = await make_ticket(alice, asset)
    draft = await closures.write_update(
        alice, closure.id, NoticeIn(text_zh="草稿", publish=False), now
    )
    version = closure.version
    attempts = [
        closures.create_closure(actor, closure_in(asset.id, now), now),
        closures.update_closure(actor, closure.id, closure_in(asset.id, now, version=version), now),
        closures.extend(
            actor,
            closure.id,
            ExtendIn(version=version, planned_reopen_on=dt.date(2027, 6, 1), reason_zh="x"),
            now,
        ),
        closures.cancel(actor, closure.id, CancelIn(version=version, reason_zh="x"), now),
        closures.link_ticket(
            actor, closure.id, LinkTicketIn(ticket_id=ticket.id, public_label_zh="x"), now
        ),
        closures.unlink_ticket(actor, closure.id, ticket.id, now),
        closures.sign_off(actor, closure.id, version, now),
        closures.lift(actor, closure.id, LiftIn(version=version, override_reason="x"), now),
        closures.write_update(actor, closure.id, NoticeIn(text_zh="x"), now),
        closures.publish_update(actor, draft.id, now),
        closures.discard_update(actor, draft.id, now),
        closures.approve_proposal(actor, 1, now),
        closures.dismiss_proposal(actor, 1, now),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            await attempt
    # ...but everybody on the staff may read.
    assert (await closures.get_closure(actor, closure.id)).id == closure.id
    assert [row["id"] for row in await closures.list_closures(actor)] == [closure.id]
    unchanged = await closures.find_closure(closure.id)
    assert unchanged is not None and unchanged.version == version
    assert (await closures.get_update(alice, draft.id)).state == NoticeState.DRAFT


async def test_unknown_closures_updates_and_proposals_are_not_found(personas, now):
    alice = personas["alice"]
    for attempt in (
        closures.get_closure(alice, 12345),
        closures.get_closure(alice, 2**40),
        closures.publish_update(alice, 12345, now),
        closures.discard_update(alice, 12345, now),
        closures.approve_proposal(alice, 12345, now),
    ):
        with pytest.raises(NotFound):
            await attempt


# --- notices written by hand ---------------------------------------------------------------


async def test_staff_write_updates_and_publish_or_discard_drafts(personas, now):
    alice = personas["alice"]
    closure = await make_closure(alice, now=now)
    published = await closures.write_update(
        alice, closure.id, NoticeIn(text_zh="桥面木板已运抵现场", text_en="Planks delivered"), now
    )
    assert (published.state, published.published_by) == (NoticeState.PUBLISHED, alice.id)
    draft = await closures.write_update(
        alice, closure.id, NoticeIn(text_zh="主缆涂油开始", publish=False), now
    )
    assert draft.state == NoticeState.DRAFT
    assert [d["id"] for d in await closures.list_drafts(alice)] == [draft.id]
    later = now + dt.timedelta(hours=2)
    await closures.publish_update(
        alice, draft.id, later, NoticeIn(text_zh="主缆涂油已开始", text_en="Greasing started")
    )
    done = await closures.get_update(alice, draft.id)
    assert (done.state, done.text_zh, done.text_en, done.published_at) == (
        NoticeState.PUBLISHED,
        "主缆涂油已开始",
        "Greasing started",
        later,
    )
    with pytest.raises(InvalidTransition):
        await closures.publish_update(alice, draft.id, later)
    unwanted = await closures.write_update(
        alice, closure.id, NoticeIn(text_zh="不需要", publish=False), now
    )
    await closures.discard_update(alice, unwanted.id, now)
    assert (await closures.get_update(alice, unwanted.id)).state == NoticeState.DISCARDED
    timeline = await closures.list_updates(closure.id, published_only=False)
    assert unwanted.id not in [u.id for u in timeline]
    assert await closures.list_drafts(alice) == []
    actions = [e["action"] for e in await events(closure.id)]
    assert actions.count("closure.update_written") == 3
    assert "closure.update_published" in actions and "closure.update_discarded" in actions


# --- proposals from inspection rules --------------------------------------------------------


async def test_approving_a_proposal_creates_the_closure_and_marks_it_approved(
    personas, now, tmp_path
):
    alice, bob = personas["alice"], personas["bob"]
    asset = await make_asset()
    other = await make_asset()
    graded_e = await inspect(
        bob,
        alice,
        asset,
        now,
        score=30,
        inspection_type=InspectionType.SPECIAL,
        media_root=tmp_path,
    )
    assert graded_e.grade == "E"
    [proposal] = await closures.list_proposals(alice)
    assert (proposal["asset"], proposal["scope"], proposal["grade"]) == (asset.id, "full", "E")
    await make_closure(alice, other, now)  # another asset's closure is not touched
    later = now + dt.timedelta(minutes=5)
    closure = await closures.approve_proposal(alice, proposal["id"], later)
    assert (closure.asset, closure.scope, closure.reason, closure.status) == (
        asset.id,
        Scope.FULL,
        Reason.STRUCTURAL_DEFECT,
        Status.ACTIVE,
    )
    assert closure.effective_from == later and closure.is_urgent
    assert f"#{graded_e.id}" in closure.reason_zh and "grade E" in closure.reason_en
    row = await ClosureProposal.objects().where(ClosureProposal.id == proposal["id"]).first()
    assert (row.status, row.decided_by, row.decided_at) == ("approved", alice.id, later)
    assert await closures.list_proposals(alice) == []
    created = (await events(closure.id, "closure.created"))[0]
    assert created["changes"]["proposal"] == [None, proposal["id"]]
    assert await events(closure.id, "closure.proposal_approved")
    with pytest.raises(InvalidTransition):
        await closures.approve_proposal(alice, proposal["id"], later)
    assert await Closure.count().where(Closure.asset == asset.id) == 1


async def test_a_restricted_proposal_keeps_the_crowd_limit_and_can_be_dismissed(personas, now):
    alice = personas["alice"]
    asset = await make_asset(crowd_limit=40)
    bare = await make_asset()
    rows = []
    for target in (asset, bare):
        raised = await inspections.create_inspection(
            alice,
            InspectionIn(
                asset_id=target.id, inspection_type=InspectionType.SPECIAL, due_on=now.date()
            ),
            ZONE,
            now,
        )
        row = ClosureProposal(
            asset=target.id, inspection=raised.id, scope="restricted", reason="", created_at=now
        )
        await row.save()
        rows.append(row)
    limited = await closures.approve_proposal(alice, rows[0].id, now)
    assert (limited.scope, limited.crowd_limit) == (Scope.RESTRICTED, 40)
    assert "crowd_control" in json.loads(limited.safety_measures)
    await closures.dismiss_proposal(alice, rows[1].id, now)
    dismissed = await ClosureProposal.objects().where(ClosureProposal.id == rows[1].id).first()
    assert (dismissed.status, dismissed.decided_by) == ("dismissed", alice.id)
    assert await Closure.count().where(Closure.asset == bare.id) == 0
    with pytest.raises(InvalidTransition):
        await closures.approve_proposal(alice, rows[1].id, now)
    assert await Asset.count() == 2


async def test_statuses_for_a_long_list_of_assets_use_no_giant_in_list(personas, now):
    """The public register asks for every asset at once: more ids than PostgreSQL accepts as
    parameters of one statement (32,767) must still work, and give the same answer."""
    from facilities.assets.choices import OperationalStatus
    from facilities.closures import services as closure_services

    closed = await make_asset(code="GX-LONG-001")
    await closure_services.create_closure(
        personas["alice"],
        ClosureIn(asset_id=closed.id, reason_zh="维修", effective_from=now),
        now,
    )
    ids = [closed.id, *range(10_000_000, 10_040_000)]  # 40,001 ids, most of them unknown
    statuses = await closure_services.operational_statuses(ids, now)
    assert statuses[closed.id] == OperationalStatus.CLOSED
    assert len(statuses) == len(ids)
    assert statuses[10_000_001] == OperationalStatus.IN_SERVICE
