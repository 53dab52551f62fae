"""The promise-slip warning fires for any unmet reopening criterion (issue 16, item 8), not only
for open repair tickets: work done but no passed acceptance inspection, or no supervisor's
sign-off, puts a promise at risk too. A closure whose reopening gate is open is not at risk."""

from __future__ import annotations

import datetime as dt

from facilities.closures import services as closures
from facilities.closures.choices import NoticeState
from facilities.notifications.tables import Notification
from facilities.tickets.choices import Status as TicketStatus
from tests.kit.assets import make_asset
from tests.kit.closures import MAY_DAY, drive_ticket, link, make_closure, notices, repaired

#: Ten days before the promised May Day: inside the 14-day warning window.
NEAR = dt.datetime.combine(MAY_DAY - dt.timedelta(days=10), dt.time(1), tzinfo=dt.UTC)
ACCEPTANCE = ("A final acceptance inspection passed", "验收检查已定稿并通过")
SIGN_OFF = ("A supervisor signed off", "主管已签认")


async def _warnings(closure_id: int) -> list[Notification]:
    return await Notification.objects().where(
        (Notification.template == "closure_promise_slip")
        & Notification.dedupe_key.like(f"slip:{closure_id}:%")
    )


async def test_work_done_without_an_acceptance_inspection_is_at_risk(personas, now):
    alice = personas["alice"]
    asset = await make_asset()
    closure = await make_closure(alice, asset, now)
    await link(alice, closure, await drive_ticket(alice, asset, TicketStatus.ACCEPTED, now))
    assert [c.code for c in (await closures.gate(closure)).criteria if not c.met] == [
        "acceptance",
        "grade",
        "sign_off",
    ]

    assert await closures.warn_promise_slips(NEAR, 14) == 1
    assert await closures.warn_promise_slips(NEAR, 14) == 0  # once per promise
    [draft] = await notices(closure.id, NoticeState.DRAFT)
    assert "longer than planned" in draft.text_en
    mails = await _warnings(closure.id)
    assert sorted(m.to_address for m in mails) == ["admin@bureau.example", "alice@bureau.example"]
    for mail in mails:
        assert any(label in mail.body_text for label in ACCEPTANCE), mail.body_text
        assert any(label in mail.body_text for label in SIGN_OFF), mail.body_text


async def test_a_missing_sign_off_is_at_risk(personas, now, tmp_path):
    case = await repaired(personas, now, tmp_path, sign=False)
    assert [c.code for c in (await closures.gate(case.closure)).criteria if not c.met] == [
        "sign_off"
    ]
    assert await closures.warn_promise_slips(NEAR, 14) == 1
    mails = await _warnings(case.closure.id)
    assert len(mails) == 2
    for mail in mails:
        assert any(label in mail.body_text for label in SIGN_OFF), mail.body_text
        assert not any(label in mail.body_text for label in ACCEPTANCE), mail.body_text


async def test_an_open_gate_is_not_at_risk(personas, now, tmp_path):
    case = await repaired(personas, now, tmp_path)
    assert (await closures.gate(case.closure)).open
    assert await closures.warn_promise_slips(NEAR, 14) == 0
    assert await _warnings(case.closure.id) == []
    assert await notices(case.closure.id, NoticeState.DRAFT) == []


async def test_nothing_is_at_risk_far_from_the_promised_date(personas, now):
    alice = personas["alice"]
    asset = await make_asset()
    closure = await make_closure(alice, asset, now)
    await link(alice, closure, await drive_ticket(alice, asset, TicketStatus.ACCEPTED, now))
    assert await closures.warn_promise_slips(NEAR - dt.timedelta(days=30), 14) == 0
    assert await _warnings(closure.id) == []
