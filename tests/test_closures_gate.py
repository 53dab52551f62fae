"""The reopening gate, built from real data: linked tickets walked through the ticket lifecycle,
acceptance inspections recorded and finalised through the inspection services, a supervisor's
sign-off. Each criterion is shown to block on its own; an administrator's written override is
the only way around it, and it lands in the audit trail. The reopening is announced once, when
its time comes.
"""

from __future__ import annotations

import datetime as dt

import pytest

from facilities.closures import services as closures
from facilities.closures.choices import NoticeSource, NoticeState, Status
from facilities.closures.schemas import LiftIn, LinkTicketIn
from facilities.errors import InvalidTransition, PermissionDenied
from facilities.i18n import use_locale
from facilities.inspections import services as inspections
from facilities.inspections.choices import InspectionType
from facilities.inspections.schemas import FindingIn, InspectionIn
from facilities.tickets import services as tickets
from facilities.tickets.choices import Action
from facilities.tickets.choices import Status as TicketStatus
from facilities.tickets.schemas import TransitionIn
from tests.kit.assets import make_asset
from tests.kit.closures import (
    drive_ticket,
    events,
    fresh,
    inspect,
    link,
    make_closure,
    notices,
    repaired,
)
from tests.kit.constants import ZONE

DAY = dt.timedelta(days=1)


def unmet(gate: closures.Gate) -> list[str]:
    return [c.code for c in gate.criteria if not c.met]


async def test_the_gate_opens_when_every_criterion_is_met_and_the_closure_lifts(
    personas, now, tmp_path
):
    case = await repaired(personas, now, tmp_path)
    state = await closures.gate(case.closure)
    assert state.open and unmet(state) == []
    assert [c.code for c in state.criteria] == ["tickets", "acceptance", "grade", "sign_off"]
    lifted = await closures.lift(
        personas["alice"], case.closure.id, LiftIn(version=case.closure.version), case.now
    )
    assert (lifted.status, lifted.lifted_at, lifted.reopens_at, lifted.override_reason) == (
        Status.LIFTED,
        case.now,
        case.now,
        "",
    )
    [event] = await events(case.closure.id, "closure.lifted")
    assert event["changes"]["status"] == ["active", "lifted"]
    assert await events(case.closure.id, "closure.lifted_override") == []


async def test_an_unfinished_linked_ticket_blocks_alone(personas, now, tmp_path):
    case = await repaired(personas, now, tmp_path)
    rework = await drive_ticket(
        personas["alice"], case.asset, TicketStatus.IN_PROGRESS, now, title="栏杆加固"
    )
    await link(personas["alice"], case.closure, rework, "栏杆加固")
    with use_locale("en"):
        state = await closures.gate(await fresh(case.closure))
    assert unmet(state) == ["tickets"]
    assert state.criteria[0].detail == "2 of 3 done"
    with pytest.raises(InvalidTransition):
        await closures.lift(
            personas["alice"], case.closure.id, LiftIn(version=case.closure.version), case.now
        )
    # A cancelled ticket does not count either way.
    await tickets.transition(
        personas["alice"],
        rework.id,
        TransitionIn(action=Action.HOLD, version=rework.version, note="等材料"),
        case.now,
    )
    held = await tickets.find_ticket(rework.id)
    assert held is not None
    await tickets.transition(
        personas["alice"],
        rework.id,
        TransitionIn(action=Action.CANCEL, version=held.version, note="不需要"),
        case.now,
    )
    assert (await closures.gate(await fresh(case.closure))).open


async def test_a_failed_acceptance_blocks_alone(personas, now, tmp_path):
    alice, bob = personas["alice"], personas["bob"]
    case = await repaired(personas, now, tmp_path)
    failed = await inspect(bob, alice, case.asset, case.now + DAY, score=55, media_root=tmp_path)
    assert (failed.grade, failed.passed) == ("D", False)
    # A routine inspection afterwards grades the asset B again: only the acceptance is missing.
    await inspect(
        bob,
        alice,
        case.asset,
        case.now + 2 * DAY,
        score=88,
        inspection_type=InspectionType.ROUTINE_MONTHLY,
        media_root=tmp_path,
    )
    with use_locale("en"):
        state = await closures.gate(await fresh(case.closure))
    assert unmet(state) == ["acceptance"]
    assert state.criteria[1].detail == f"Inspection #{failed.id} did not pass, grade D"


async def test_no_acceptance_since_the_closure_blocks_and_refuses_the_sign_off(
    personas, now, tmp_path
):
    alice, bob = personas["alice"], personas["bob"]
    asset = await make_asset()
    # An acceptance inspection from before the closure does not count.
    await inspect(bob, alice, asset, now - 10 * DAY, score=92, media_root=tmp_path)
    closure = await make_closure(alice, asset, now)
    state = await closures.gate(closure)
    assert unmet(state) == ["acceptance", "sign_off"]  # grade A from the old inspection
    with pytest.raises(InvalidTransition):
        await closures.sign_off(alice, closure.id, closure.version, now)
    assert (await fresh(closure)).signed_off_at is None


async def test_a_worse_grade_after_the_acceptance_blocks_alone(personas, now, tmp_path):
    alice, bob = personas["alice"], personas["bob"]
    case = await repaired(personas, now, tmp_path)
    await inspect(
        bob,
        alice,
        case.asset,
        case.now + DAY,
        score=55,
        inspection_type=InspectionType.PATROL,
        media_root=tmp_path,
    )
    with use_locale("en"):
        state = await closures.gate(await fresh(case.closure))
    assert unmet(state) == ["grade"]
    assert state.criteria[2].detail == "Grade D"


async def test_an_open_direct_control_finding_blocks_alone(personas, now, tmp_path):
    alice, bob = personas["alice"], personas["bob"]
    case = await repaired(personas, now, tmp_path)
    patrol = await inspections.create_inspection(
        bob,
        InspectionIn(
            asset_id=case.asset.id,
            inspection_type=InspectionType.PATROL,
            due_on=case.now.date(),
        ),
        ZONE,
        case.now,
    )
    patrol = await inspections.start(bob, patrol.id, patrol.version, case.now)
    await inspections.add_finding(
        bob,
        patrol.id,
        FindingIn(is_direct_control=True, description="吊杆断裂 / a hanger snapped"),
        case.now,
    )
    with use_locale("en"):
        state = await closures.gate(await fresh(case.closure))
    assert unmet(state) == ["grade"]
    assert state.criteria[2].detail == "1 open direct-control finding(s)"
    with pytest.raises(InvalidTransition):
        await closures.lift(alice, case.closure.id, LiftIn(version=case.closure.version), case.now)


async def test_the_sign_off_is_the_last_criterion(personas, now, tmp_path):
    alice = personas["alice"]
    case = await repaired(personas, now, tmp_path, sign=False)
    state = await closures.gate(case.closure)
    assert unmet(state) == ["sign_off"]
    assert state.repair_verified
    with pytest.raises(InvalidTransition):
        await closures.lift(alice, case.closure.id, LiftIn(version=case.closure.version), case.now)
    for username in ("bob", "carol", "dave"):
        with pytest.raises(PermissionDenied):
            await closures.sign_off(
                personas[username], case.closure.id, case.closure.version, case.now
            )
    signed = await closures.sign_off(alice, case.closure.id, case.closure.version, case.now)
    assert (signed.signed_off_by, signed.signed_off_at) == (alice.id, case.now)
    assert (await closures.gate(signed)).open
    with pytest.raises(InvalidTransition):  # once is enough
        await closures.sign_off(alice, case.closure.id, signed.version, case.now)
    [event] = await events(case.closure.id, "closure.signed_off")
    assert event["actor"] == alice.id


async def test_sign_off_is_refused_until_the_repair_is_verified(personas, now, tmp_path):
    alice = personas["alice"]
    asset = await make_asset()
    closure = await make_closure(alice, asset, now)
    open_ticket = await drive_ticket(alice, asset, TicketStatus.SCHEDULED, now)
    await link(alice, closure, open_ticket)
    await inspect(personas["bob"], alice, asset, now + DAY, score=85, media_root=tmp_path)
    with pytest.raises(InvalidTransition):
        await closures.sign_off(alice, closure.id, (await fresh(closure)).version, now + DAY)
    assert unmet(await closures.gate(await fresh(closure))) == ["tickets", "sign_off"]


async def test_lifting_without_the_gate(personas, now, tmp_path):
    alice, admin = personas["alice"], personas["admin"]
    asset = await make_asset()
    closure = await make_closure(alice, asset, now)
    open_ticket = await drive_ticket(alice, asset, TicketStatus.IN_PROGRESS, now)
    await closures.link_ticket(
        alice,
        closure.id,
        LinkTicketIn(ticket_id=open_ticket.id, public_label_zh="桥面更换"),
        now,
    )
    version = (await fresh(closure)).version
    with pytest.raises(InvalidTransition) as refused:
        await closures.lift(alice, closure.id, LiftIn(version=version), now)
    assert refused.value.status_code == 409
    with pytest.raises(PermissionDenied) as forbidden:
        await closures.lift(
            alice, closure.id, LiftIn(version=version, override_reason="领导要求"), now
        )
    assert forbidden.value.status_code == 403
    with pytest.raises(PermissionDenied):
        await closures.lift(personas["bob"], closure.id, LiftIn(version=version), now)
    with pytest.raises(InvalidTransition):  # an admin too needs a written reason
        await closures.lift(admin, closure.id, LiftIn(version=version, override_reason="  "), now)
    assert (await fresh(closure)).status == Status.ACTIVE

    reason = "抗洪抢险需要通行，经专家现场确认安全"
    lifted = await closures.lift(
        admin, closure.id, LiftIn(version=version, override_reason=reason), now
    )
    assert (lifted.status, lifted.override_reason) == (Status.LIFTED, reason)
    [event] = await events(closure.id, "closure.lifted_override")
    assert event["actor"] == admin.id
    assert event["changes"]["override_reason"] == [None, reason]
    assert event["changes"]["unmet"] == [None, ["tickets", "acceptance", "grade", "sign_off"]]


async def test_the_reopening_is_announced_once_when_its_time_comes(personas, now, tmp_path):
    case = await repaired(personas, now, tmp_path)
    reopens = case.now + 2 * DAY
    await closures.lift(
        personas["alice"],
        case.closure.id,
        LiftIn(version=case.closure.version, reopens_at=reopens),
        case.now,
    )
    assert await closures.announce_reopenings(case.now) == 0
    assert await closures.announce_reopenings(reopens - dt.timedelta(minutes=1)) == 0
    assert await closures.announce_reopenings(reopens) == 1
    assert await closures.announce_reopenings(reopens + dt.timedelta(minutes=1)) == 0
    reopened = [n for n in await notices(case.closure.id) if "acceptance" in n.text_en]
    assert len(reopened) == 1
    assert (reopened[0].state, reopened[0].source, reopened[0].published_at) == (
        NoticeState.PUBLISHED,
        NoticeSource.SYSTEM,
        reopens,
    )
    assert (await fresh(case.closure)).reopening_announced_at == reopens


async def test_an_overridden_reopening_claims_no_verification(personas, now):
    admin = personas["admin"]
    closure = await make_closure(admin, now=now)
    await closures.lift(
        admin, closure.id, LiftIn(version=closure.version, override_reason="紧急通行"), now
    )
    assert await closures.announce_reopenings(now) == 1
    last = (await notices(closure.id))[-1]
    assert last.text_en == "Reopened."


@pytest.mark.parametrize("scores", [(55, 85), (85, 55)], ids=["fail-then-pass", "pass-then-fail"])
async def test_of_two_acceptances_at_the_same_instant_the_later_one_counts(
    scores, personas, now, tmp_path
):
    """Found by the stateful test: with two acceptance inspections finalised at the same
    instant, "the latest" was whichever row the database returned first."""
    alice, bob = personas["alice"], personas["bob"]
    asset = await make_asset()
    closure = await make_closure(alice, asset, now)
    at = now + DAY
    for score in scores:
        await inspect(bob, alice, asset, at, score=score, media_root=tmp_path)
    state = await closures.gate(await fresh(closure))
    assert state.criteria[1].met == (scores[-1] == 85)
