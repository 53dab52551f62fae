"""The repair ticket lifecycle as a matrix: every action, from every status, by every role.

The cases are generated from ``choices.TRANSITIONS``: a new action, status or transition is
covered without touching this file. Each case drives a fresh ticket into the source status through
real transitions (the shortest path from "new"), then tries the action as one persona:

- allowed (status in the sources and role in the roles): the status becomes the target (RESUME:
  the status it was held from), the version goes up by one and one ``ticket.<action>`` audit event
  records the status before and after;
- not possible from that status: InvalidTransition (409), whoever asks;
- possible, but not for this role: PermissionDenied (403);
- in both refusals nothing changed: status, version, the ticket's audit trail.
"""

from __future__ import annotations

import collections
import datetime as dt

import pytest

from facilities.accounts.choices import Role
from facilities.accounts.permissions import SYSTEM
from facilities.errors import InvalidTransition, PermissionDenied
from facilities.tickets import services as tickets
from facilities.tickets.choices import TRANSITIONS, TRANSITIONS_BY_ACTION, Action, Status
from facilities.tickets.tables import RepairTicket
from tests.kit.assets import make_asset
from tests.kit.tickets import (
    audit_count,
    changes_of,
    drive_to,
    last_event,
    make_ticket,
    path_to,
    transition_data,
)

ROLE_PERSONA = {
    Role.ADMIN: "admin",
    Role.SUPERVISOR: "alice",
    Role.INSPECTOR: "bob",
    Role.CREW: "carol",
    Role.VIEWER: "dave",
}


def test_every_status_is_reachable_from_new() -> None:
    """Without this, a status nobody can reach would silently drop out of the matrix."""
    for status in Status:
        path = path_to(status)
        assert path is not None, f"{status} cannot be reached from new"


def test_every_action_has_exactly_one_transition_and_every_role_is_known() -> None:
    counts = collections.Counter(t.action for t in TRANSITIONS)
    assert set(counts) == set(Action)
    assert all(n == 1 for n in counts.values())
    assert set(ROLE_PERSONA) == set(Role)


@pytest.mark.parametrize("action", [t.action for t in TRANSITIONS], ids=str)
async def test_action_from_every_status_for_every_role(
    action: Action, personas, now: dt.datetime
) -> None:
    """One test per transition; inside, every status times every role. A refused attempt
    changes nothing, so the next role tries on the same ticket; a successful one uses it up."""
    rule = TRANSITIONS_BY_ACTION[action]
    later = now + dt.timedelta(hours=1)
    asset = await make_asset()
    original = await make_ticket(personas["admin"], asset, now=now, title="原始工单")
    outcomes: collections.Counter[str] = collections.Counter()
    for status in Status:
        ticket_id: int | None = None
        for role, username in ROLE_PERSONA.items():
            actor = personas[username]
            label = f"{role} tries {action} from {status}"
            if ticket_id is None:
                # assigned to the crew (who act only on their own work), walked there with the
                # work completed by the system (nobody accepts work they completed)
                fresh = await make_ticket(
                    personas["admin"],
                    asset,
                    now=now,
                    title=label,
                    assignee_id=personas["carol"].id,
                )
                ticket_id = (
                    await drive_to(fresh.id, status, personas["admin"], now, completer=SYSTEM)
                ).id
            before = await tickets.find_ticket(ticket_id)
            assert before is not None and before.status == status, label
            events_before = await audit_count(ticket_id)
            data = transition_data(action, before, original.id)

            if status not in rule.sources:
                with pytest.raises(InvalidTransition) as refused:
                    await tickets.transition(actor, ticket_id, data, later)
                assert refused.value.status_code == 409, label
                outcomes["409"] += 1
            elif role not in rule.roles:
                with pytest.raises(PermissionDenied) as refused:
                    await tickets.transition(actor, ticket_id, data, later)
                assert refused.value.status_code == 403, label
                outcomes["403"] += 1
            else:
                result = await tickets.transition(actor, ticket_id, data, later)
                expected = rule.target or Status(before.held_from)
                after = await tickets.find_ticket(ticket_id)
                assert after is not None
                assert (result.status, after.status) == (expected, expected), label
                assert after.version == before.version + 1, label
                assert after.updated_at == later, label
                assert await audit_count(ticket_id) == events_before + 1, label
                event = await last_event(ticket_id, f"ticket.{action.value}")
                assert changes_of(event)["status"] == [status.value, expected.value], label
                assert event["actor"] == actor.id, label
                outcomes["ok"] += 1
                ticket_id = None  # used up: the next role gets a fresh ticket
                continue

            # refused: nothing at all changed
            unchanged = await tickets.find_ticket(ticket_id)
            assert unchanged is not None
            assert (unchanged.status, unchanged.version, unchanged.updated_at) == (
                before.status,
                before.version,
                before.updated_at,
            ), label
            assert await audit_count(ticket_id) == events_before, label
    # every cell of this action's row of the matrix was tried
    expected = collections.Counter(
        {
            "ok": len(rule.sources) * len(rule.roles),
            "403": len(rule.sources) * (len(Role) - len(rule.roles)),
            "409": (len(Status) - len(rule.sources)) * len(Role),
        }
    )
    assert outcomes == +expected, outcomes


async def test_resume_returns_to_the_status_it_was_held_from(personas, now) -> None:
    """Held from "in progress", resumed: back to work, the start time kept, held_from cleared."""
    alice, carol = personas["alice"], personas["carol"]
    ticket = await make_ticket(alice, now=now, assignee_id=carol.id)
    await drive_to(ticket.id, Status.IN_PROGRESS, alice, now)
    started = (await tickets.find_ticket(ticket.id)).actual_start_at
    assert started == now
    t = await tickets.find_ticket(ticket.id)
    held = await tickets.transition(
        carol, t.id, transition_data(Action.HOLD, t, 0), now + dt.timedelta(days=1)
    )
    assert (held.status, held.held_from) == (Status.ON_HOLD, Status.IN_PROGRESS)
    resumed = await tickets.transition(
        carol, t.id, transition_data(Action.RESUME, held, 0), now + dt.timedelta(days=2)
    )
    assert (resumed.status, resumed.held_from) == (Status.IN_PROGRESS, None)
    assert resumed.actual_start_at == started
    # and a ticket held from "scheduled" goes back to "scheduled"
    other = await make_ticket(alice, now=now, assignee_id=carol.id)
    await drive_to(other.id, Status.SCHEDULED, alice, now)
    o = await tickets.find_ticket(other.id)
    o = await tickets.transition(carol, o.id, transition_data(Action.HOLD, o, 0), now)
    o = await tickets.transition(carol, o.id, transition_data(Action.RESUME, o, 0), now)
    assert o.status == Status.SCHEDULED
    # cancelled while on hold: nothing is left pointing at the status it was held from
    o = await tickets.transition(carol, o.id, transition_data(Action.HOLD, o, 0), now)
    o = await tickets.transition(alice, o.id, transition_data(Action.CANCEL, o, 0), now)
    assert (o.status, o.held_from) == (Status.CANCELLED, None)


async def test_rework_reopens_the_work(personas, now):
    alice, carol = personas["alice"], personas["carol"]
    ticket = await make_ticket(alice, assignee_id=carol.id)
    ticket = await drive_to(ticket.id, Status.WORK_COMPLETE, alice, now)
    assert ticket.actual_end_at == now
    later = now + dt.timedelta(days=1)
    again = await tickets.transition(
        alice, ticket.id, transition_data(Action.REWORK, ticket, 0), later
    )
    assert (again.status, again.actual_end_at, again.actual_start_at) == (
        Status.IN_PROGRESS,
        None,
        now,
    )
    done = await tickets.transition(
        carol, ticket.id, transition_data(Action.COMPLETE, again, 0), later + dt.timedelta(hours=5)
    )
    assert done.actual_end_at == later + dt.timedelta(hours=5)


async def test_final_statuses_set_closed_at_and_open_ones_do_not(personas, now) -> None:
    alice = personas["alice"]
    for status in Status:
        ticket = await make_ticket(alice, now=now)
        await drive_to(ticket.id, status, alice, now + dt.timedelta(hours=3))
        row = await RepairTicket.objects().where(RepairTicket.id == ticket.id).first()
        if status in {Status.CLOSED, Status.REJECTED, Status.DUPLICATE, Status.CANCELLED}:
            assert row.closed_at == now + dt.timedelta(hours=3), status
        else:
            assert row.closed_at is None, status
