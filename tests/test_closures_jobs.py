"""The closure jobs, each run with an explicit logical ``now`` and run twice: activation, the
reopening announcement, notice entries drafted from linked repair work, the promise-slip
warning and the quiet-notice reminder. Every effect happens exactly once."""

from __future__ import annotations

import datetime as dt

from facilities.audit.tables import AuditEvent
from facilities.closures import services as closures
from facilities.closures.choices import NoticeSource, NoticeState, Status
from facilities.closures.schemas import CancelIn, ExtendIn, LiftIn, NoticeIn
from facilities.closures.tables import Cursor, NoticeUpdate
from facilities.jobs.tables import JobRun
from facilities.lib.clock import parse_instant
from facilities.notifications.tables import Notification
from facilities.tickets import services as tickets
from facilities.tickets.choices import Action
from facilities.tickets.choices import Status as TicketStatus
from facilities.tickets.schemas import TransitionIn
from scheduler import registry, runner
from scheduler.__main__ import run_once
from tests.kit.assets import make_asset
from tests.kit.closures import drive_ticket, link, make_closure, notices
from tests.kit.tickets import make_ticket

DAY = dt.timedelta(days=1)
AUTOPUBLISH = frozenset({"accept", "close"})


async def mails(template: str) -> list[Notification]:
    return await Notification.objects().where(Notification.template == template)


# --- activation ----------------------------------------------------------------------------


async def test_activation_happens_exactly_once(app, settings, personas, now):
    alice = personas["alice"]
    start = parse_instant("2026-12-01T09:00+08:00")
    closure = await make_closure(alice, now=now, effective_from=start)
    other = await make_closure(alice, now=now, effective_from=start + DAY)
    assert closure.status == Status.PLANNED
    assert await closures.activate_due(start - dt.timedelta(minutes=1)) == 0
    # By hand, the way `python -m scheduler run activate_closures --now ...` does it.
    assert await run_once(settings, "activate_closures", "2026-12-01T09:00+08:00") == 1
    assert await run_once(settings, "activate_closures", "2026-12-01T09:01+08:00") == 0
    assert await runner.run_job(registry.BY_ID["activate_closures"], settings, now=start) == 0
    assert await closures.activate_due(start) == 0
    active = await closures.find_closure(closure.id)
    assert active is not None
    assert (active.status, active.activated_at) == (Status.ACTIVE, start)
    assert [n.dedupe_key for n in await notices(closure.id)] == [f"activated:{closure.id}"]
    assert len(await notices(other.id)) == 0
    runs = await JobRun.objects().where(JobRun.job_id == "activate_closures").order_by(JobRun.id)
    assert [(r.items, r.trigger) for r in runs] == [(1, "manual"), (0, "manual"), (0, "schedule")]


async def test_the_reopening_announcement_job_waits_for_its_time(app, settings, personas, now):
    admin = personas["admin"]
    closure = await make_closure(admin, now=now)
    reopens = now + 3 * DAY
    await closures.lift(
        admin,
        closure.id,
        LiftIn(version=closure.version, reopens_at=reopens, override_reason="专家确认安全"),
        now,
    )
    spec = registry.BY_ID["announce_reopenings"]
    assert await runner.run_job(spec, settings, now=reopens - DAY) == 0
    assert await runner.run_job(spec, settings, now=reopens) == 1
    assert await runner.run_job(spec, settings, now=reopens + DAY) == 0
    assert [n.text_en for n in await notices(closure.id)].count("Reopened.") == 1


# --- notice entries from repair progress ---------------------------------------------------


async def _step(actor, ticket_id: int, action: Action, when: dt.datetime, **fields) -> None:
    ticket = await tickets.find_ticket(ticket_id)
    assert ticket is not None
    await tickets.transition(
        actor, ticket_id, TransitionIn(action=action, version=ticket.version, **fields), when
    )


async def test_ticket_progress_is_drafted_or_published_exactly_once(app, settings, personas, now):
    alice, carol = personas["alice"], personas["carol"]
    asset = await make_asset()
    closure = await make_closure(alice, asset, now)
    called_off = await make_closure(alice, asset, now)
    ticket = await drive_ticket(
        alice, asset, TicketStatus.SCHEDULED, now, title="更换桥面木板", assignee_id=carol.id
    )
    await link(alice, closure, ticket, "桥面木板更换")
    await link(alice, called_off, ticket, "桥面木板更换")
    await closures.cancel(
        alice, called_off.id, CancelIn(version=called_off.version, reason_zh="重复"), now
    )
    await _step(carol, ticket.id, Action.START, now + DAY)
    await _step(carol, ticket.id, Action.HOLD, now + 2 * DAY, note="等待木材")

    spec = registry.BY_ID["draft_notice_updates"]
    assert settings.notice_autopublish == AUTOPUBLISH
    assert await runner.run_job(spec, settings, now=now + 2 * DAY) == 2
    assert await runner.run_job(spec, settings, now=now + 2 * DAY) == 0

    await _step(carol, ticket.id, Action.RESUME, now + 3 * DAY)
    await _step(carol, ticket.id, Action.COMPLETE, now + 4 * DAY, note="已完成")
    await _step(alice, ticket.id, Action.ACCEPT, now + 5 * DAY)
    await _step(
        alice, ticket.id, Action.CLOSE, now + 6 * DAY, closing_reason="replaced", note="验收合格"
    )
    later = now + 6 * DAY
    assert await closures.draft_from_ticket_progress(later, AUTOPUBLISH) == 4
    touched = await closures.find_closure(closure.id)
    assert touched is not None and touched.updated_at == later  # public pages: a new ETag
    assert await closures.draft_from_ticket_progress(later, AUTOPUBLISH) == 0

    entries = await (
        NoticeUpdate.objects()
        .where((NoticeUpdate.closure == closure.id) & (NoticeUpdate.source == NoticeSource.TICKET))
        .order_by(NoticeUpdate.id)
    )
    assert [(e.state, e.text_en) for e in entries] == [
        (NoticeState.DRAFT, "Deck renewal: In progress."),
        (NoticeState.DRAFT, "Deck renewal: Paused."),
        (NoticeState.DRAFT, "Deck renewal: In progress."),
        (NoticeState.DRAFT, "Deck renewal: Work complete, awaiting acceptance."),
        (NoticeState.PUBLISHED, "Deck renewal: Done."),
        (NoticeState.PUBLISHED, "Deck renewal: Done."),
    ]
    assert all(e.text_zh.startswith("桥面木板更换") for e in entries)
    assert [e.published_at for e in entries if e.state == NoticeState.PUBLISHED] == [later, later]
    # Nothing at all for the cancelled closure.
    assert [n for n in await notices(called_off.id) if n.source == NoticeSource.TICKET] == []
    assert [d["id"] for d in await closures.list_drafts(alice)] == [e.id for e in entries[:4]]


async def test_progress_committed_out_of_id_order_is_still_drafted(personas, now):
    """PostgreSQL takes an audit id at insert and commits in any order: an event whose
    transaction commits late appears below events already read. Simulated by moving real events'
    ids: the second transition's above a gap, and the third's, written after a job run, into it."""
    alice, carol = personas["alice"], personas["carol"]
    asset = await make_asset()
    closure = await make_closure(alice, asset, now)
    ticket = await drive_ticket(alice, asset, TicketStatus.SCHEDULED, now, assignee_id=carol.id)
    await link(alice, closure, ticket, "桥面木板更换")
    await _step(carol, ticket.id, Action.START, now + DAY)
    await _step(carol, ticket.id, Action.HOLD, now + 2 * DAY, note="等待钢丝绳")
    started = await _event_id(ticket.id, "ticket.start")
    held = await _move_event(ticket.id, "ticket.hold", started + 10)
    minute = dt.timedelta(minutes=1)
    assert await closures.draft_from_ticket_progress(now + 2 * DAY + minute, AUTOPUBLISH) == 2

    await _step(carol, ticket.id, Action.RESUME, now + 2 * DAY)  # the late commit
    late = await _move_event(ticket.id, "ticket.resume", held - 5)
    assert await closures.draft_from_ticket_progress(now + 2 * DAY + 2 * minute, AUTOPUBLISH) == 1
    settled = now + 2 * DAY + closures.PROGRESS_SETTLE
    assert await closures.draft_from_ticket_progress(settled, AUTOPUBLISH) == 0
    entries = await NoticeUpdate.objects().where(
        (NoticeUpdate.closure == closure.id) & (NoticeUpdate.source == NoticeSource.TICKET)
    )
    assert sorted(e.text_en for e in entries) == [
        "Deck renewal: In progress.",
        "Deck renewal: In progress.",
        "Deck renewal: Paused.",
    ]
    cursor = await Cursor.objects().where(Cursor.name == "ticket_progress").first()
    assert cursor is not None and cursor.position == held > late


async def _event_id(ticket_id: int, action: str) -> int:
    (row,) = await AuditEvent.select(AuditEvent.id).where(
        (AuditEvent.entity_id == ticket_id) & (AuditEvent.action == action)
    )
    return int(row["id"])


async def _move_event(ticket_id: int, action: str, to: int) -> int:
    """Give the ticket's (only) ``action`` event the id ``to``."""
    await AuditEvent.update({AuditEvent.id: to}).where(
        AuditEvent.id == await _event_id(ticket_id, action)
    )
    return to


async def test_progress_of_unlinked_tickets_is_not_drafted(personas, now):
    alice = personas["alice"]
    asset = await make_asset()
    closure = await make_closure(alice, asset, now)
    ticket = await drive_ticket(alice, asset, TicketStatus.IN_PROGRESS, now)
    assert await closures.draft_from_ticket_progress(now, AUTOPUBLISH) == 0
    assert [n.source for n in await notices(closure.id)] == [NoticeSource.SYSTEM]
    assert ticket.status == TicketStatus.IN_PROGRESS


# --- the promise-slip warning --------------------------------------------------------------


async def test_a_promise_about_to_slip_warns_once_per_promise(app, settings, personas, now):
    alice = personas["alice"]
    asset = await make_asset()
    soon = (now + 10 * DAY).date()
    closure = await make_closure(alice, asset, now, planned_reopen_on=soon)
    await link(alice, closure, await drive_ticket(alice, asset, TicketStatus.IN_PROGRESS, now))
    # Not at risk: far away. (Work done is not enough: the reopening gate decides, see
    # tests/test_closures_slip_criteria.py.)
    far = await make_closure(alice, now=now, planned_reopen_on=(now + 60 * DAY).date())
    await link(alice, far, await make_ticket(alice, asset_id=far.asset))

    assert await closures.warn_promise_slips(now, 14) == 1
    assert await closures.warn_promise_slips(now, 14) == 0
    spec = registry.BY_ID["warn_promise_slips"]
    assert await runner.run_job(spec, settings, now=now + DAY) == 0
    assert sorted(m.to_address for m in await mails("closure_promise_slip")) == [
        "admin@bureau.example",
        "alice@bureau.example",
    ]
    [draft] = await notices(closure.id, NoticeState.DRAFT)
    assert draft.source == NoticeSource.SYSTEM
    assert "longer than planned" in draft.text_en
    assert await notices(far.id, NoticeState.DRAFT) == []

    # A new promise after an extension is a new promise to keep: it warns again when at risk.
    fresh = await closures.find_closure(closure.id)
    assert fresh is not None
    await closures.extend(
        alice,
        closure.id,
        ExtendIn(
            version=fresh.version, planned_reopen_on=(now + 20 * DAY).date(), reason_zh="木材晚到"
        ),
        now,
    )
    assert await closures.warn_promise_slips(now, 14) == 0  # 20 days away
    assert await runner.run_job(spec, settings, now=now + 7 * DAY) == 1
    assert await closures.warn_promise_slips(now + 8 * DAY, 14) == 0
    assert len(await mails("closure_promise_slip")) == 4
    assert len(await notices(closure.id, NoticeState.DRAFT)) == 2


# --- the quiet-notice reminder -------------------------------------------------------------


async def test_a_quiet_notice_reminds_the_supervisors_once_per_quiet_spell(
    app, settings, personas, now
):
    alice = personas["alice"]
    closure = await make_closure(alice, now=now)  # its activation notice is published now
    lifted = await make_closure(personas["admin"], now=now)
    await closures.lift(
        personas["admin"],
        lifted.id,
        LiftIn(version=lifted.version, override_reason="安全"),
        now,
    )
    assert await closures.remind_quiet_notices(now + 13 * DAY, 14) == 0
    assert await closures.remind_quiet_notices(now + 15 * DAY, 14) == 1
    assert await closures.remind_quiet_notices(now + 16 * DAY, 14) == 0
    spec = registry.BY_ID["remind_quiet_notices"]
    assert await runner.run_job(spec, settings, now=now + 17 * DAY) == 0
    reminders = await mails("closure_quiet")
    assert sorted(m.to_address for m in reminders) == [
        "admin@bureau.example",
        "alice@bureau.example",
    ]
    assert all(f"/closures/{closure.id}" in m.body_text for m in reminders)
    # An update ends the quiet spell; the next one is reminded about again.
    await closures.write_update(alice, closure.id, NoticeIn(text_zh="主缆涂油完成"), now + 20 * DAY)
    assert await closures.remind_quiet_notices(now + 30 * DAY, 14) == 0
    assert await runner.run_job(spec, settings, now=now + 35 * DAY) == 1
    assert len(await mails("closure_quiet")) == 4
