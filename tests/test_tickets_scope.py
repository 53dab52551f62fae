"""Who may touch what: crew act only on tickets assigned to them or to their team, take an
unassigned one ("Take it": exactly one of two racing crew members gets it), and completed work
is accepted by someone other than whoever completed it (FACILITIES_SEPARATE_ACCEPTANCE).
Inspectors record only inspections assigned to them or to their team. The matrix over every
persona is in test_permission_matrix.py (test_assignment_scope, test_acceptance_by_...)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import pytest

from facilities.accounts import services as accounts
from facilities.accounts.choices import Role
from facilities.accounts.permissions import SYSTEM, Actor
from facilities.accounts.schemas import UserCreate
from facilities.errors import Conflict, PermissionDenied
from facilities.inspections import services as inspections
from facilities.inspections.choices import InspectionType
from facilities.inspections.schemas import InspectionIn
from facilities.tickets import services as tickets
from facilities.tickets.choices import Action, Status
from facilities.tickets.tables import RepairTicket
from tests.kit.assets import make_asset
from tests.kit.clients import post_form
from tests.kit.constants import ZONE
from tests.kit.inspections import make_team
from tests.kit.pages import english
from tests.kit.personas import PASSWORD
from tests.kit.tickets import changes_of, drive_to, last_event, make_ticket, transition_data


async def crew_member(username: str, now: dt.datetime, team: str = "") -> Actor:
    user = await accounts.create_user(
        SYSTEM,
        UserCreate(
            username=username,
            display_name=username.title(),
            role=Role.CREW,
            team=team,
            password=PASSWORD,
        ),
        now,
    )
    return accounts.actor_of(user)


async def move(actor: Actor, ticket_id: int, action: Action, now: dt.datetime) -> RepairTicket:
    ticket = await tickets.find_ticket(ticket_id)
    assert ticket is not None
    return await tickets.transition(actor, ticket_id, transition_data(action, ticket, 0), now)


# --- assignment ------------------------------------------------------------------------------


async def test_crew_work_only_on_their_own_or_their_teams_tickets(personas, now):
    alice = personas["alice"]
    carol = await crew_member("carol2", now, team="东区维修班")
    asset = await make_asset()
    own = await make_ticket(alice, asset, assignee_id=carol.id)
    team = await make_ticket(alice, asset, assignee_team="东区维修班")
    others = await make_ticket(alice, asset, assignee_id=personas["carol"].id)
    nobody = await make_ticket(alice, asset)
    for ticket in (own, team, others, nobody):
        await drive_to(ticket.id, Status.TRIAGED, alice, now)

    assert (await move(carol, own.id, Action.START, now)).status == Status.IN_PROGRESS
    assert (await move(carol, team.id, Action.START, now)).status == Status.IN_PROGRESS
    with pytest.raises(PermissionDenied) as refused:
        await move(carol, others.id, Action.START, now)
    assert refused.value.status_code == 403
    assert "已指派给他人" in refused.value.detail
    with pytest.raises(PermissionDenied) as refused:
        await move(carol, nobody.id, Action.HOLD, now)
    assert "请先领取" in refused.value.detail
    for ticket in (others, nobody):  # refused: nothing changed
        row = await tickets.find_ticket(ticket.id)
        assert (row.status, row.version) == (Status.TRIAGED, 2)
    # the supervisor acts on anything, assigned or not
    assert (await move(alice, others.id, Action.START, now)).status == Status.IN_PROGRESS
    assert not tickets.may_act_on(carol, await tickets.find_ticket(others.id))


async def test_take_assigns_the_ticket_and_audits_it(personas, now):
    carol = personas["carol"]
    ticket = await make_ticket(personas["alice"])
    later = now + dt.timedelta(minutes=5)
    taken = await tickets.take_ticket(carol, ticket.id, later)
    assert (taken.assignee, taken.version, taken.updated_at) == (carol.id, 2, later)
    event = await last_event(ticket.id, "ticket.taken")
    assert event["actor"] == carol.id
    assert changes_of(event)["assignee_id"] == [None, carol.id]
    # now hers: she may work on it
    started = await move(
        carol, (await drive_to(ticket.id, Status.TRIAGED, SYSTEM, now)).id, Action.START, later
    )
    assert started.status == Status.IN_PROGRESS


async def test_two_crew_racing_for_a_ticket_exactly_one_gets_it(personas, now):
    carol, erin = personas["carol"], await crew_member("erin", now)
    ticket = await make_ticket(personas["alice"])
    results = await asyncio.gather(
        tickets.take_ticket(carol, ticket.id, now),
        tickets.take_ticket(erin, ticket.id, now),
        return_exceptions=True,
    )
    won = [r for r in results if isinstance(r, RepairTicket)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 1 and len(lost) == 1, results
    assert isinstance(lost[0], Conflict) and lost[0].status_code == 409
    assert "已有人负责" in lost[0].detail
    row = await tickets.find_ticket(ticket.id)
    assert (row.assignee, row.version) == (won[0].assignee, 2)
    assert await tickets.completed_by(ticket.id) is None


async def test_only_crew_take_and_only_unassigned_tickets(personas, now):
    alice, carol = personas["alice"], personas["carol"]
    ticket = await make_ticket(alice)
    for name in ("admin", "alice", "bob", "dave"):
        with pytest.raises(PermissionDenied):
            await tickets.take_ticket(personas[name], ticket.id, now)
    teams = await make_ticket(alice, assignee_team="西区维修班")
    with pytest.raises(Conflict):
        await tickets.take_ticket(carol, teams.id, now)
    assert (await tickets.find_ticket(teams.id)).version == 1


# --- acceptance by a second person -----------------------------------------------------------


async def completed_by(actor: Actor, personas, now: dt.datetime) -> RepairTicket:
    ticket = await make_ticket(personas["alice"], assignee_id=personas["carol"].id)
    await drive_to(ticket.id, Status.TRIAGED, personas["alice"], now)
    await move(actor, ticket.id, Action.START, now)
    return await move(actor, ticket.id, Action.COMPLETE, now)


async def test_nobody_accepts_work_they_completed(personas, now):
    alice, admin = personas["alice"], personas["admin"]
    done = await completed_by(alice, personas, now)
    assert await tickets.completed_by(done.id) == alice.id
    with pytest.raises(PermissionDenied) as refused:
        await move(alice, done.id, Action.ACCEPT, now)
    assert "由您本人完成" in refused.value.detail
    assert (await tickets.find_ticket(done.id)).status == Status.WORK_COMPLETE
    assert (await move(admin, done.id, Action.ACCEPT, now)).status == Status.ACCEPTED
    # with the setting off, the supervisor may accept her own work
    own = await completed_by(alice, personas, now)
    data = transition_data(Action.ACCEPT, own, 0)
    accepted = await tickets.transition(alice, own.id, data, now, separate_acceptance=False)
    assert accepted.status == Status.ACCEPTED


async def test_rework_then_completed_by_someone_else_can_be_accepted(personas, now):
    alice, carol = personas["alice"], personas["carol"]
    done = await completed_by(alice, personas, now)
    await move(alice, done.id, Action.REWORK, now)
    await move(carol, done.id, Action.COMPLETE, now)
    assert await tickets.completed_by(done.id) == carol.id
    assert (await move(alice, done.id, Action.ACCEPT, now)).status == Status.ACCEPTED


# --- pages and API ---------------------------------------------------------------------------


async def test_the_page_offers_take_it_to_crew_and_takes_it(login, personas, now):
    ticket = await make_ticket(personas["alice"])
    url = f"/tickets/{ticket.id}"
    for name in ("admin", "alice", "bob", "dave"):
        page = await english(await login(name)).get(url)
        assert f"{url}/take" not in page.text, name
    carol = english(await login("carol"))
    page = await carol.get(url)
    assert f'action="{url}/take"' in page.text and "Take it" in page.text
    assert f'action="{url}/transitions"' not in page.text  # nothing else until it is hers
    taken = await post_form(carol, f"{url}/take", {})
    assert (taken.status_code, taken.headers["location"]) == (303, url)
    shown = await carol.get(url)
    assert "The ticket is yours now." in shown.text
    assert f"{url}/take" not in shown.text
    assert (await tickets.find_ticket(ticket.id)).assignee == personas["carol"].id
    again = await post_form(carol, f"{url}/take", {})
    assert again.status_code == 409
    assert "Someone else is already assigned to this ticket" in again.text


async def test_take_through_the_api(api, personas, now):
    ticket = await make_ticket(personas["alice"])
    carol = await api("carol")
    taken = await carol.post(f"/api/v1/tickets/{ticket.id}/take", {})
    assert taken.status_code == 200, taken.text
    assert taken.json()["assignee_id"] == personas["carol"].id
    again = await carol.post(f"/api/v1/tickets/{ticket.id}/take", {})
    assert again.status_code == 409
    assert "已有人负责" in again.json()["detail"]
    refused = await (await api("alice")).post(f"/api/v1/tickets/{ticket.id}/take", {})
    assert refused.status_code == 403
    missing = await carol.post("/api/v1/tickets/424242/take", {})
    assert missing.status_code == 404


async def test_the_accept_button_says_why_it_is_not_offered(app, login, personas, now):
    done = await completed_by(personas["alice"], personas, now)
    alice = english(await login("alice"))
    page = await alice.get(f"/tickets/{done.id}")
    assert 'value="accept"' not in page.text
    assert "You completed this work yourself" in page.text
    assert "disabled" in page.text
    refused = await post_form(
        alice, f"/tickets/{done.id}/transitions", {"action": "accept", "version": str(done.version)}
    )
    assert refused.status_code == 403
    assert "You completed this work yourself" in refused.text
    admin_page = await english(await login("admin")).get(f"/tickets/{done.id}")
    assert 'value="accept"' in admin_page.text
    # the bureau turned the rule off: the button is back
    app.state.settings = dataclasses.replace(app.state.settings, separate_acceptance=False)
    page = await alice.get(f"/tickets/{done.id}")
    assert 'value="accept"' in page.text
    assert "You completed this work yourself" not in page.text


# --- inspections -----------------------------------------------------------------------------


async def test_inspectors_record_only_their_own_or_their_teams_inspections(personas, now):
    alice, bob = personas["alice"], personas["bob"]
    team = await make_team("桥梁巡检一队")
    frank = accounts.actor_of(
        await accounts.create_user(
            SYSTEM,
            UserCreate(
                username="frank", display_name="Frank", role=Role.INSPECTOR, password=PASSWORD
            ),
            now,
        )
    )
    asset = await make_asset()

    async def planned(**assignment: int) -> int:
        row = await inspections.create_inspection(
            alice,
            InspectionIn(
                asset_id=asset.id,
                inspection_type=InspectionType.SPECIAL,
                due_on=now.date(),
                **assignment,
            ),
            ZONE,
            now,
        )
        return int(row.id)

    franks, teams = await planned(inspector_id=frank.id), await planned(team_id=team)
    row = await inspections.get_inspection(bob, franks)
    with pytest.raises(PermissionDenied) as refused:
        await inspections.start(bob, franks, row.version, now)
    assert "已指派给他人" in refused.value.detail
    row = await inspections.get_inspection(bob, teams)
    with pytest.raises(PermissionDenied):
        await inspections.start(bob, teams, row.version, now)  # not (yet) in the team
    in_team = dataclasses.replace(bob, team="桥梁巡检一队")
    started = await inspections.start(in_team, teams, row.version, now)
    assert started.inspector == bob.id
    assert await inspections.may_work_on(in_team, started)
    assert not await inspections.may_work_on(frank, started)  # now bob's, and not frank's team
    # the supervisor may act on anything
    row = await inspections.get_inspection(alice, franks)
    assert (await inspections.start(alice, franks, row.version, now)).state == "in_progress"


async def test_the_inspection_page_offers_steps_only_to_whoever_may_take_them(login, personas, now):
    alice = personas["alice"]
    frank = accounts.actor_of(
        await accounts.create_user(
            SYSTEM,
            UserCreate(
                username="frank", display_name="Frank", role=Role.INSPECTOR, password=PASSWORD
            ),
            now,
        )
    )
    asset = await make_asset()
    franks = await inspections.create_inspection(
        alice,
        InspectionIn(
            asset_id=asset.id,
            inspection_type=InspectionType.SPECIAL,
            due_on=now.date(),
            inspector_id=frank.id,
        ),
        ZONE,
        now,
    )
    url = f"/inspections/{franks.id}"
    bob = await (await login("bob")).get(url)
    assert bob.status_code == 200
    assert f'action="{url}/start"' not in bob.text
    assert f'action="{url}/record"' not in bob.text
    supervisor = await (await login("alice")).get(url)
    assert f'action="{url}/start"' in supervisor.text
