"""Repair ticket services: guards on the transitions, opening and editing, the SLA policy, the
outbox messages and the escalation job. Lists and the dashboard are test_tickets_listing.py; the
ticket factories and helpers shared by the ticket test files are tests/kit/tickets.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
from decimal import Decimal
from email import policy
from typing import Any

import pytest

from facilities.accounts import services as accounts
from facilities.accounts.choices import Role
from facilities.accounts.permissions import SYSTEM
from facilities.accounts.schemas import UserCreate
from facilities.accounts.tables import StaffUser
from facilities.audit.tables import AuditEvent
from facilities.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from facilities.jobs.tables import JobRun
from facilities.notifications import services as notifications
from facilities.notifications.senders import SmtpSender
from facilities.notifications.tables import Notification
from facilities.tickets import services as tickets
from facilities.tickets.choices import (
    CLOSING_REASONS_FROM,
    DEFAULT_SLA_HOURS,
    Action,
    ClosingReason,
    PhotoTag,
    Priority,
    Source,
    Status,
    WorkClass,
)
from facilities.tickets.money_schemas import ContractorIn
from facilities.tickets.schemas import CommentIn, TicketIn, TransitionIn
from facilities.tickets.services import contractors
from facilities.tickets.tables import RepairTicket, SlaPolicy
from tests.kit.assets import make_asset, make_component
from tests.kit.personas import PASSWORD
from tests.kit.tickets import (
    attach,
    audit_count,
    changes_of,
    drive_to,
    last_event,
    make_ticket,
    transition_data,
)

# --- helpers -------------------------------------------------------------------------------


async def state(ticket_id: int) -> tuple[Any, ...]:
    """What a refused change must leave untouched."""
    ticket = await tickets.find_ticket(ticket_id)
    assert ticket is not None
    return (
        ticket.status,
        ticket.version,
        ticket.updated_at,
        ticket.closing_reason,
        await audit_count(ticket_id),
    )


def edit_of(ticket: RepairTicket, **changes: Any) -> TicketIn:
    """The full editable state of ``ticket`` (as the edit form would send it), with changes."""
    values = {k: v for k, v in tickets.snapshot(ticket).items() if k != "status"}
    for key in ("cost_estimate", "cost_actual"):
        if values[key] is not None:
            values[key] = Decimal(values[key])
    values["version"] = ticket.version
    values.update(changes)
    return TicketIn(**values)


# --- guards on the transitions ------------------------------------------------------------


async def test_schedule_needs_a_planned_start(personas, now):
    alice = personas["alice"]
    ticket = await drive_to((await make_ticket(alice)).id, Status.TRIAGED, alice, now)
    before = await state(ticket.id)
    with pytest.raises(ValidationFailed) as refused:
        await tickets.transition(
            alice, ticket.id, TransitionIn(action=Action.SCHEDULE, version=ticket.version), now
        )
    assert set(refused.value.errors) == {"planned_start_on"}
    assert await state(ticket.id) == before
    done = await tickets.transition(
        alice,
        ticket.id,
        TransitionIn(
            action=Action.SCHEDULE, version=ticket.version, planned_start_on=dt.date(2026, 12, 1)
        ),
        now,
    )
    assert (done.status, done.planned_start_on) == (Status.SCHEDULED, dt.date(2026, 12, 1))


async def test_schedule_uses_the_planned_start_already_on_the_ticket(personas, now):
    alice = personas["alice"]
    ticket = await make_ticket(alice, planned_start_on=dt.date(2026, 12, 3))
    ticket = await drive_to(ticket.id, Status.TRIAGED, alice, now)
    done = await tickets.transition(
        alice, ticket.id, TransitionIn(action=Action.SCHEDULE, version=ticket.version), now
    )
    assert (done.status, done.planned_start_on) == (Status.SCHEDULED, dt.date(2026, 12, 3))


async def test_complete_needs_an_after_photo_or_a_note(personas, now, tmp_path):
    alice, carol = personas["alice"], personas["carol"]
    mine = {"assignee_id": carol.id}  # crew work on what is assigned to them
    ticket = await drive_to((await make_ticket(alice, **mine)).id, Status.IN_PROGRESS, alice, now)
    bare = TransitionIn(action=Action.COMPLETE, version=ticket.version, note="   ")
    before = await state(ticket.id)
    with pytest.raises(ValidationFailed) as refused:
        await tickets.transition(carol, ticket.id, bare, now)
    assert "note" in refused.value.errors
    assert await state(ticket.id) == before
    # a "during" photo is not evidence of the finished work
    await attach(carol, ticket.id, tmp_path, tag=PhotoTag.DURING)
    with pytest.raises(ValidationFailed):
        await tickets.transition(carol, ticket.id, bare, now)
    # with a note it is fine
    noted = await make_ticket(alice, **mine)
    noted = await drive_to(noted.id, Status.IN_PROGRESS, alice, now)
    done = await tickets.transition(
        carol,
        noted.id,
        TransitionIn(action=Action.COMPLETE, version=noted.version, note="木板已更换"),
        now,
    )
    assert (done.status, done.status_note, done.actual_end_at) == (
        Status.WORK_COMPLETE,
        "木板已更换",
        now,
    )


async def test_complete_with_an_after_photo_needs_no_note(personas, now, tmp_path):
    alice, carol = personas["alice"], personas["carol"]
    ticket = await make_ticket(alice, assignee_id=carol.id)
    ticket = await drive_to(ticket.id, Status.IN_PROGRESS, alice, now)
    photo = await attach(carol, ticket.id, tmp_path, tag=PhotoTag.AFTER, filename="after.png")
    assert photo.content_type == "image/png"
    assert (tmp_path / photo.storage_key).is_file()
    ticket = await tickets.find_ticket(ticket.id)  # an upload does not change the version
    done = await tickets.transition(
        carol, ticket.id, TransitionIn(action=Action.COMPLETE, version=ticket.version), now
    )
    assert done.status == Status.WORK_COMPLETE


@pytest.mark.parametrize(
    ("action", "status"),
    [
        (Action.HOLD, Status.IN_PROGRESS),
        (Action.REJECT, Status.NEW),
        (Action.CANCEL, Status.SCHEDULED),
        (Action.REWORK, Status.WORK_COMPLETE),
    ],
)
async def test_these_actions_need_a_note(action, status, personas, now):
    alice = personas["alice"]
    ticket = await drive_to((await make_ticket(alice)).id, status, alice, now)
    before = await state(ticket.id)
    for note in ("", "  \n "):
        with pytest.raises(ValidationFailed) as refused:
            await tickets.transition(
                alice, ticket.id, transition_data(action, ticket, 0, note=note), now
            )
        assert set(refused.value.errors) == {"note"}
    assert await state(ticket.id) == before
    done = await tickets.transition(
        alice, ticket.id, transition_data(action, ticket, 0, note="  缺少材料  "), now
    )
    assert done.status_note == "缺少材料"
    event = await last_event(ticket.id, f"ticket.{action.value}")
    assert changes_of(event)["note"] == [None, "缺少材料"]


async def test_duplicate_needs_an_existing_original_that_is_not_itself_nor_a_duplicate(
    personas, now
):
    alice = personas["alice"]
    asset = await make_asset()
    ticket = await make_ticket(alice, asset)
    original = await make_ticket(alice, asset, title="原始")
    other_duplicate = await drive_to(
        (await make_ticket(alice, asset)).id, Status.DUPLICATE, alice, now
    )
    before = await state(ticket.id)
    for bad in (None, ticket.id, other_duplicate.id, 999_999):
        with pytest.raises(ValidationFailed) as refused:
            await tickets.transition(
                alice,
                ticket.id,
                TransitionIn(
                    action=Action.MARK_DUPLICATE, version=ticket.version, duplicate_of=bad
                ),
                now,
            )
        assert set(refused.value.errors) == {"duplicate_of"}, bad
    assert await state(ticket.id) == before
    done = await tickets.transition(
        alice,
        ticket.id,
        TransitionIn(
            action=Action.MARK_DUPLICATE, version=ticket.version, duplicate_of=original.id
        ),
        now,
    )
    assert (done.status, done.duplicate_of, done.closing_reason, done.closed_at) == (
        Status.DUPLICATE,
        original.id,
        ClosingReason.DUPLICATE,
        now,
    )


@pytest.mark.parametrize("status", sorted(CLOSING_REASONS_FROM))
async def test_close_needs_a_reason_that_fits_where_it_closes_from(status, personas, now):
    alice = personas["alice"]
    allowed = CLOSING_REASONS_FROM[status]
    ticket = await drive_to((await make_ticket(alice)).id, status, alice, now)
    before = await state(ticket.id)
    for reason in [None, *sorted(set(ClosingReason) - allowed)]:
        with pytest.raises(ValidationFailed) as refused:
            await tickets.transition(
                alice,
                ticket.id,
                transition_data(Action.CLOSE, ticket, 0, closing_reason=reason),
                now,
            )
        assert set(refused.value.errors) == {"closing_reason"}, reason
    assert await state(ticket.id) == before
    if status == Status.ACCEPTED:
        assert allowed == {ClosingReason.REPAIRED, ClosingReason.REPLACED}
    else:
        assert allowed == {ClosingReason.NO_ACTION_NEEDED, ClosingReason.NOT_OUR_RESPONSIBILITY}
    for reason in sorted(allowed):
        fresh = await drive_to((await make_ticket(alice)).id, status, alice, now)
        done = await tickets.transition(
            alice, fresh.id, transition_data(Action.CLOSE, fresh, 0, closing_reason=reason), now
        )
        assert (done.status, done.closing_reason, done.closed_at) == (Status.CLOSED, reason, now)


async def test_a_stale_version_is_a_conflict_and_changes_nothing(personas, now):
    alice = personas["alice"]
    ticket = await make_ticket(alice)
    seen = ticket.version
    ticket = await tickets.transition(
        alice, ticket.id, transition_data(Action.TRIAGE, ticket, 0), now
    )
    before = await state(ticket.id)
    stale = TransitionIn(action=Action.START, version=seen)
    with pytest.raises(Conflict) as refused:
        await tickets.transition(alice, ticket.id, stale, now + dt.timedelta(hours=1))
    assert refused.value.status_code == 409
    assert await state(ticket.id) == before
    # a version from the future is just as stale
    with pytest.raises(Conflict):
        await tickets.transition(
            alice, ticket.id, TransitionIn(action=Action.START, version=ticket.version + 5), now
        )
    assert await state(ticket.id) == before


async def test_unknown_ticket_is_not_found(personas, now):
    with pytest.raises(NotFound):
        await tickets.transition(
            personas["alice"], 424242, TransitionIn(action=Action.TRIAGE, version=1), now
        )
    with pytest.raises(NotFound):
        await tickets.get_ticket(personas["alice"], 424242, now)
    with pytest.raises(NotFound):
        await tickets.get_ticket(personas["alice"], 2**40, now)


# --- opening, editing and the SLA policy ----------------------------------------------------


async def test_open_ticket_takes_its_due_date_from_the_default_policy(personas, now):
    carol = personas["carol"]
    asset = await make_asset()
    expected = {
        Priority.P0: dt.timedelta(hours=24),
        Priority.P1: dt.timedelta(days=7),
        Priority.P2: dt.timedelta(days=30),
        Priority.P3: dt.timedelta(days=90),
    }
    assert {p: dt.timedelta(hours=h) for p, h in DEFAULT_SLA_HOURS.items()} == expected
    for priority, allowed in expected.items():
        ticket = await make_ticket(carol, asset, priority=priority)
        assert ticket.sla_due_at == now + allowed, priority
        assert (ticket.status, ticket.version, ticket.created_by) == (Status.NEW, 1, carol.id)
        event = await last_event(ticket.id, "ticket.created")
        assert changes_of(event)["priority"] == [None, priority.value]


async def test_admin_changes_the_sla_policy_for_new_tickets(personas, now):
    admin, alice = personas["admin"], personas["alice"]
    asset = await make_asset()
    before = await make_ticket(alice, asset, priority=Priority.P1)
    with pytest.raises(PermissionDenied):
        await tickets.set_sla_hours(alice, Priority.P1, 48, now)
    assert await SlaPolicy.count() == 0
    for bad in (0, -5, 24 * 366 + 1):
        with pytest.raises(ValidationFailed):
            await tickets.set_sla_hours(admin, Priority.P1, bad, now)
    await tickets.set_sla_hours(admin, Priority.P1, 48, now)
    await tickets.set_sla_hours(admin, Priority.P1, 72, now)  # second change updates the row
    assert (await tickets.sla_hours())[Priority.P1] == 72
    assert await SlaPolicy.count() == 1
    later = now + dt.timedelta(hours=2)
    after = await make_ticket(alice, asset, priority=Priority.P1, now=later)
    assert after.sla_due_at == later + dt.timedelta(hours=72)
    # the open ticket keeps the date it was promised
    assert (await tickets.find_ticket(before.id)).sla_due_at == now + dt.timedelta(days=7)
    events = (
        await AuditEvent.select().where(AuditEvent.action == "sla.updated").order_by(AuditEvent.id)
    )
    assert [changes_of(e)["hours"] for e in events] == [[168, 48], [48, 72]]


async def test_changing_the_priority_recomputes_the_due_date_from_creation(personas, now):
    admin, alice = personas["admin"], personas["alice"]
    ticket = await make_ticket(alice, priority=Priority.P3)
    later = now + dt.timedelta(days=2)
    updated = await tickets.update_ticket(
        alice, ticket.id, edit_of(ticket, priority=Priority.P1), later
    )
    assert updated.sla_due_at == now + dt.timedelta(days=7)  # from created_at, not from "later"
    await tickets.set_sla_hours(admin, Priority.P0, 6, later)
    updated = await tickets.update_ticket(
        alice, ticket.id, edit_of(updated, priority=Priority.P0), later
    )
    assert updated.sla_due_at == now + dt.timedelta(hours=6)
    # saving without a priority change keeps the date (even though the policy changed)
    await tickets.set_sla_hours(admin, Priority.P0, 12, later)
    same = await tickets.update_ticket(alice, ticket.id, edit_of(updated, title="新标题"), later)
    assert same.sla_due_at == now + dt.timedelta(hours=6)


async def test_who_may_open_a_ticket(personas, now):
    asset = await make_asset()
    with pytest.raises(PermissionDenied):
        await make_ticket(personas["dave"], asset)
    assert await RepairTicket.count() == 0
    for username in ("carol", "bob", "alice", "admin"):
        ticket = await make_ticket(personas[username], asset)
        assert ticket.created_by == personas[username].id


async def test_component_must_belong_to_the_asset(personas, now):
    alice = personas["alice"]
    asset, other = await make_asset(), await make_asset()
    mine = await make_component(asset, "主缆")
    theirs = await make_component(other, "吊杆")
    with pytest.raises(ValidationFailed) as refused:
        await make_ticket(alice, asset, component_id=theirs.id)
    assert set(refused.value.errors) == {"component_id"}
    with pytest.raises(ValidationFailed) as refused:
        await make_ticket(alice, asset, component_id=999_999)
    assert set(refused.value.errors) == {"component_id"}
    with pytest.raises(ValidationFailed) as refused:
        await make_ticket(alice, asset_id=999_999)
    assert "asset_id" in refused.value.errors
    assert await RepairTicket.count() == 0
    ticket = await make_ticket(alice, asset, component_id=mine.id)
    assert ticket.component == mine.id
    # moving the ticket to another asset without changing the component is refused too
    with pytest.raises(ValidationFailed):
        await tickets.update_ticket(alice, ticket.id, edit_of(ticket, asset_id=other.id), now)


async def test_planned_dates_and_costs_are_checked(personas, now):
    alice = personas["alice"]
    asset = await make_asset()
    with pytest.raises(ValidationFailed) as refused:
        await make_ticket(
            alice,
            asset,
            planned_start_on=dt.date(2026, 12, 10),
            planned_end_on=dt.date(2026, 12, 9),
        )
    assert set(refused.value.errors) == {"planned_end_on"}
    for field in ("cost_estimate", "cost_actual"):
        for bad in (Decimal("10.005"), Decimal("-0.01"), Decimal("10000000000.00")):
            with pytest.raises(ValidationFailed) as refused:
                await make_ticket(alice, asset, **{field: bad})
            assert set(refused.value.errors) == {field}, (field, bad)
    assert await RepairTicket.count() == 0
    ticket = await make_ticket(
        alice,
        asset,
        planned_start_on=dt.date(2026, 12, 10),
        planned_end_on=dt.date(2026, 12, 10),
        cost_estimate=Decimal("12500.50"),
        cost_actual=Decimal("0"),
    )
    saved = await tickets.find_ticket(ticket.id)
    assert saved.cost_estimate == Decimal("12500.50")
    assert saved.cost_actual == Decimal("0")


async def test_an_inactive_assignee_is_refused(personas, now):
    admin = personas["admin"]
    user = await accounts.create_user(
        SYSTEM,
        UserCreate(username="eve", display_name="Eve", role=Role.CREW, password=PASSWORD),
        now,
    )
    await StaffUser.update({StaffUser.is_active: False}).where(StaffUser.id == user.id)
    with pytest.raises(ValidationFailed) as refused:
        await make_ticket(admin, assignee_id=user.id)
    assert set(refused.value.errors) == {"assignee_id"}


@pytest.mark.parametrize(
    "status", [Status.CLOSED, Status.REJECTED, Status.DUPLICATE, Status.CANCELLED]
)
async def test_a_finished_ticket_cannot_be_edited(status, personas, now):
    alice = personas["alice"]
    ticket = await drive_to((await make_ticket(alice)).id, status, alice, now)
    before = await state(ticket.id)
    with pytest.raises(InvalidTransition) as refused:
        await tickets.update_ticket(alice, ticket.id, edit_of(ticket, title="改"), now)
    assert refused.value.status_code == 409
    assert await state(ticket.id) == before


async def test_edits_need_the_right_role_and_a_fresh_version(personas, now):
    alice = personas["alice"]
    ticket = await make_ticket(alice)
    for username in ("carol", "bob", "dave"):
        with pytest.raises(PermissionDenied):
            await tickets.update_ticket(
                personas[username], ticket.id, edit_of(ticket, title="x"), now
            )
    with pytest.raises(ValidationFailed) as refused:
        await tickets.update_ticket(alice, ticket.id, edit_of(ticket, version=None), now)
    assert set(refused.value.errors) == {"version"}
    await tickets.update_ticket(alice, ticket.id, edit_of(ticket, title="第一次"), now)
    before = await state(ticket.id)
    with pytest.raises(Conflict):
        await tickets.update_ticket(alice, ticket.id, edit_of(ticket, title="第二次"), now)
    assert await state(ticket.id) == before
    assert (await tickets.find_ticket(ticket.id)).title == "第一次"


async def test_every_field_change_is_audited_with_before_and_after(personas, now):
    alice, carol = personas["alice"], personas["carol"]
    asset = await make_asset()
    component = await make_component(asset, "桥面木板")
    ticket = await make_ticket(alice, asset)
    firm = await contractors.create_contractor(alice, ContractorIn(name="衡阳路桥"), now)
    changes = {
        "component_id": component.id,
        "title": "更换桥面木板",
        "description": "第3至第9块木板腐朽",
        "source": Source.INSPECTION,
        "work_class": WorkClass.MAJOR,
        "priority": Priority.P1,
        "assignee_id": carol.id,
        "assignee_team": "养护一队",
        "contractor_id": firm.id,  # the register's name is copied to "contractor"
        "contractor": "衡阳路桥",
        "contractor_contact": "0734-1234567",
        "scope": "更换木板并涂防腐漆",
        "planned_start_on": dt.date(2026, 12, 1),
        "planned_end_on": dt.date(2026, 12, 5),
        "cost_estimate": Decimal("8800.00"),
        "cost_actual": Decimal("9100.25"),
        "reporter_email": "citizen@example.com",
    }
    assert set(changes) | {"asset_id"} == set(tickets.EDITABLE)
    later = now + dt.timedelta(hours=1)
    updated = await tickets.update_ticket(alice, ticket.id, edit_of(ticket, **changes), later)
    assert (updated.version, updated.updated_at) == (2, later)
    event = await last_event(ticket.id, "ticket.updated")
    recorded = changes_of(event)
    assert event["actor"] == alice.id
    assert set(recorded) == set(changes)  # and nothing unchanged (asset_id, status)
    assert recorded["title"] == ["桥面木板腐朽 / rotten deck planks", "更换桥面木板"]
    assert recorded["priority"] == ["P2", "P1"]
    assert recorded["assignee_id"] == [None, carol.id]
    assert recorded["planned_start_on"] == [None, "2026-12-01"]
    assert recorded["cost_actual"] == [None, "9100.25"]
    assert recorded["cost_estimate"] == [None, "8800.00"]  # the same text on every engine
    # a save that changes nothing records an event without field changes and no bogus diff
    await tickets.update_ticket(alice, ticket.id, edit_of(updated), later)
    assert changes_of(await last_event(ticket.id, "ticket.updated")) == {}


# --- notifications through the outbox -------------------------------------------------------


async def test_a_p0_ticket_notifies_every_active_supervisor_and_admin(personas, now):
    inactive = await accounts.create_user(
        SYSTEM,
        UserCreate(
            username="sam",
            display_name="Sam",
            role=Role.SUPERVISOR,
            email="sam@bureau.example",
            password=PASSWORD,
        ),
        now,
    )
    await StaffUser.update({StaffUser.is_active: False}).where(StaffUser.id == inactive.id)
    await accounts.create_user(
        SYSTEM,
        UserCreate(username="nomail", display_name="No Mail", role=Role.ADMIN, password=PASSWORD),
        now,
    )
    await make_ticket(personas["bob"], priority=Priority.P2)
    assert await Notification.count() == 0
    ticket = await make_ticket(personas["bob"], priority=Priority.P0, title="主缆锈蚀")
    rows = await Notification.objects().order_by(Notification.to_address)
    assert [(r.to_address, r.template) for r in rows] == [
        ("admin@bureau.example", "ticket_p0"),
        ("alice@bureau.example", "ticket_p0"),
    ]
    assert f"#{ticket.id}" in rows[0].subject
    assert "主缆锈蚀" in rows[0].body_text
    # raising a ticket to P0 later tells them too, once
    other = await make_ticket(personas["alice"], priority=Priority.P1)
    raised = await tickets.update_ticket(
        personas["alice"], other.id, edit_of(other, priority=Priority.P0), now
    )
    await tickets.update_ticket(personas["alice"], other.id, edit_of(raised, title="再次保存"), now)
    assert await Notification.count() == 4


async def test_assignment_notifies_the_assignee(personas, now):
    alice, bob, carol = personas["alice"], personas["bob"], personas["carol"]
    ticket = await make_ticket(alice, assignee_id=carol.id)
    rows = await Notification.objects()
    assert [(r.to_address, r.template) for r in rows] == [
        ("carol@bureau.example", "ticket_assigned")
    ]
    assert f"#{ticket.id}" in rows[0].subject
    # saving again with the same assignee sends nothing; a new assignee is told
    ticket = await tickets.update_ticket(alice, ticket.id, edit_of(ticket, scope="更换"), now)
    assert await Notification.count() == 1
    await tickets.update_ticket(alice, ticket.id, edit_of(ticket, assignee_id=bob.id), now)
    rows = await Notification.objects().order_by(Notification.id)
    assert [r.to_address for r in rows] == ["carol@bureau.example", "bob@bureau.example"]


async def test_public_comments_tell_the_reporter_and_internal_ones_do_not(personas, now):
    carol = personas["carol"]
    ticket = await make_ticket(personas["alice"], reporter_email="citizen@example.com")
    internal = await tickets.add_comment(carol, ticket.id, CommentIn(body="内部说明"), now)
    assert await Notification.count() == 0
    public = await tickets.add_comment(
        carol, ticket.id, CommentIn(body="  已安排维修  ", is_public=True), now
    )
    rows = await Notification.objects()
    assert [(r.to_address, r.template) for r in rows] == [
        ("citizen@example.com", "ticket_public_comment")
    ]
    assert "已安排维修" in rows[0].body_text
    assert "内部说明" not in rows[0].body_text
    comments = await tickets.list_comments(carol, ticket.id)
    assert [(c["id"], c["body"], c["is_public"]) for c in comments] == [
        (internal, "内部说明", False),
        (public, "已安排维修", True),
    ]
    # without a reporter address a public comment is just a comment
    quiet = await make_ticket(personas["alice"])
    await tickets.add_comment(carol, quiet.id, CommentIn(body="公开", is_public=True), now)
    assert await Notification.count() == 1
    # a viewer may not comment
    with pytest.raises(PermissionDenied):
        await tickets.add_comment(personas["dave"], ticket.id, CommentIn(body="x"), now)


async def test_sla_breach_is_escalated_once_per_due_date(personas, now):
    alice = personas["alice"]
    asset = await make_asset()
    late = await make_ticket(alice, asset, priority=Priority.P1, now=now - dt.timedelta(days=8))
    on_time = await make_ticket(alice, asset, priority=Priority.P1, now=now - dt.timedelta(days=6))
    closed = await make_ticket(alice, asset, priority=Priority.P1, now=now - dt.timedelta(days=9))
    await drive_to(closed.id, Status.CLOSED, alice, now - dt.timedelta(days=9))
    rejected = await make_ticket(alice, asset, priority=Priority.P0, now=now - dt.timedelta(days=9))
    await drive_to(rejected.id, Status.REJECTED, alice, now - dt.timedelta(days=9))
    await Notification.delete(force=True)

    assert await tickets.escalate_sla_breaches(now) == 1
    rows = await Notification.objects().where(Notification.template == "ticket_sla_breach")
    assert sorted(r.to_address for r in rows) == ["admin@bureau.example", "alice@bureau.example"]
    assert all(f"#{late.id}" in r.subject for r in rows)
    # again, and later: nothing more
    assert await tickets.escalate_sla_breaches(now) == 0
    assert (
        await tickets.escalate_sla_breaches(now + dt.timedelta(days=3)) == 1
    )  # on_time is late now
    assert (await tickets.find_ticket(on_time.id)).sla_escalated_for == on_time.sla_due_at
    assert await tickets.escalate_sla_breaches(now + dt.timedelta(days=30)) == 0
    assert await Notification.count() == 4
    # a new due date (priority changed) is a new promise; passing it escalates again
    fresh = await tickets.find_ticket(late.id)
    moved = await tickets.update_ticket(alice, late.id, edit_of(fresh, priority=Priority.P2), now)
    assert moved.sla_due_at == late.created_at + dt.timedelta(days=30)
    assert await tickets.escalate_sla_breaches(now + dt.timedelta(days=3)) == 0
    assert await tickets.escalate_sla_breaches(moved.sla_due_at + dt.timedelta(minutes=1)) == 1
    assert await tickets.escalate_sla_breaches(moved.sla_due_at + dt.timedelta(days=1)) == 0
    assert await Notification.count() == 6
    # finished tickets were never escalated
    assert (await tickets.find_ticket(closed.id)).sla_escalated_for is None
    assert (await tickets.find_ticket(rejected.id)).sla_escalated_for is None


async def test_the_escalation_job_runs_by_hand_and_records_its_run(personas, settings, now):
    from scheduler import registry, runner

    await make_ticket(personas["alice"], priority=Priority.P0, now=now - dt.timedelta(days=2))
    await make_ticket(personas["alice"], priority=Priority.P0, now=now - dt.timedelta(days=3))
    spec = registry.BY_ID["escalate_sla_breaches"]
    assert await runner.run_job(spec, settings, now=now, trigger="manual") == 2
    assert await runner.run_job(spec, settings, now=now, trigger="manual") == 0
    runs = (
        await JobRun.objects().where(JobRun.job_id == "escalate_sla_breaches").order_by(JobRun.id)
    )
    assert [(r.items, r.error, r.trigger) for r in runs] == [(2, "", "manual"), (0, "", "manual")]
    assert all(r.finished_at is not None for r in runs)


async def test_ticket_messages_are_delivered_over_smtp(personas, settings, smtp_server, now):
    ticket = await make_ticket(personas["bob"], priority=Priority.P0, title="护栏断裂")
    smtp = dataclasses.replace(
        settings,
        email_backend="smtp",
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        mail_from="facilities@bureau.example",
    )
    sent = await notifications.deliver_due(now, SmtpSender(smtp), batch_size=10, max_attempts=3)
    assert sent == 2
    received = [
        email.message_from_bytes(m.content, policy=policy.default) for m in smtp_server.messages
    ]
    assert sorted(m["To"] for m in received) == ["admin@bureau.example", "alice@bureau.example"]
    for message in received:
        assert f"#{ticket.id}" in message["Subject"]
        assert "护栏断裂" in message.get_content()
        assert f"/tickets/{ticket.id}" in message.get_content()
