"""Role homes (issue 19, item 1): the login lands on /staff, and each role's home shows its own
work and nothing of the others'.

One world holds an item of every kind a home shows (crew tickets of carol, her team and a
colleague; inspections of bob and of a colleague; a report to triage, completed work, a verified
closure, a notice draft, a closure proposal; a failed job run and a failed e-mail), and each
home is checked for what it must show and for what would leak from another's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

import pytest

from facilities.accounts.choices import Role
from facilities.accounts.permissions import Actor
from facilities.closures import services as closures
from facilities.closures.schemas import NoticeIn
from facilities.homes import days, work
from facilities.inspections import services as inspections
from facilities.inspections.choices import InspectionType
from facilities.inspections.schemas import InspectionIn
from facilities.inspections.tables import ClosureProposal
from facilities.jobs import services as jobs
from facilities.notifications import services as notifications
from facilities.notifications.tables import Notification
from facilities.tickets import services as tickets
from facilities.tickets.choices import Priority, Status
from scheduler import runner
from tests.kit.assets import make_asset
from tests.kit.clients import follow, post_form
from tests.kit.closures import inspect, make_closure
from tests.kit.constants import ZONE
from tests.kit.permission_world import CREW_TEAM, scope_world
from tests.kit.reports import make_report
from tests.kit.tickets import drive_to, make_ticket

DAY = dt.timedelta(days=1)


@dataclasses.dataclass(frozen=True)
class Homes:
    carol_overdue: int  # carol's, triaged, past its SLA: on her home with "Start"
    team_started: int  # her team's, in progress: on her home with "Complete"
    carol_later: int  # carol's, due in three months and not planned: not on her home
    erin_overdue: int  # a colleague's, past its SLA: only on the supervisor's home
    awaiting: int  # completed, waiting for acceptance: the supervisor's
    report: int
    gate_code: str  # the asset of a closure whose repair is verified
    draft_code: str  # the asset of a closure with a notice draft
    proposal_code: str  # the asset of a closure proposal
    bob_week: int  # bob's inspection due this week
    bob_overdue: int  # bob's inspection ten days overdue
    bob_later: int  # bob's inspection due in three weeks: not on his home
    frank_week: int  # a colleague's inspection due this week: not on bob's home


async def _ticket(alice: Any, asset: Any, now: dt.datetime, status: Status, **fields: Any) -> int:
    ticket = await make_ticket(alice, asset, now=now, **fields)
    if status != Status.NEW:
        await drive_to(ticket.id, status, alice, now)
    return int(ticket.id)


async def _inspection(alice: Any, asset: Any, now: dt.datetime, due: dt.date, who: int) -> int:
    raised = await inspections.create_inspection(
        alice,
        InspectionIn(
            asset_id=asset.id,
            inspection_type=InspectionType.SPECIAL,
            due_on=due,
            inspector_id=who,
        ),
        ZONE,
        now,
    )
    return int(raised.id)


@pytest.fixture
async def homes(personas, now, settings) -> Homes:
    people = await scope_world(personas, now)  # carol in CREW_TEAM; erin and frank colleagues
    alice, carol = personas["alice"], personas["carol"]
    media = settings.media_path
    work = await make_asset()
    earlier = now - 3 * DAY  # P0 tickets opened then are two days past their 24 h SLA
    draft_asset = await make_asset()
    draft_closure = await make_closure(alice, draft_asset, now)
    await closures.write_update(
        alice, draft_closure.id, NoticeIn(text_zh="草稿", publish=False), now
    )
    gate_asset = await make_asset()
    await make_closure(alice, gate_asset, now)
    acceptance = await inspect(personas["bob"], alice, gate_asset, now, 85, media_root=media)
    proposal_asset = await make_asset()
    await ClosureProposal(
        asset=proposal_asset.id, inspection=acceptance.id, scope="full", reason="", created_at=now
    ).save()
    checked = await make_asset()
    today = days.local_today(now, ZONE)
    return Homes(
        carol_overdue=await _ticket(
            alice,
            work,
            earlier,
            Status.TRIAGED,
            title="HOME-carol-overdue",
            priority=Priority.P0,
            assignee_id=carol.id,
        ),
        team_started=await _ticket(
            alice,
            work,
            now,
            Status.IN_PROGRESS,
            title="HOME-team-started",
            priority=Priority.P3,
            assignee_team=CREW_TEAM,
        ),
        carol_later=await _ticket(
            alice,
            work,
            now,
            Status.TRIAGED,
            title="HOME-carol-later",
            priority=Priority.P3,
            assignee_id=carol.id,
        ),
        erin_overdue=await _ticket(
            alice,
            work,
            earlier,
            Status.TRIAGED,
            title="HOME-erin-overdue",
            priority=Priority.P0,
            assignee_id=people["erin"],
        ),
        awaiting=await _ticket(
            alice, work, now, Status.WORK_COMPLETE, title="HOME-awaiting-acceptance"
        ),
        report=int((await make_report(work, now=now, media_root=media)).report.id),
        gate_code=gate_asset.code,
        draft_code=draft_asset.code,
        proposal_code=proposal_asset.code,
        bob_week=await _inspection(alice, checked, now, today, personas["bob"].id),
        bob_overdue=await _inspection(
            alice, checked, now - 10 * DAY, today - 10 * DAY, personas["bob"].id
        ),
        bob_later=await _inspection(alice, checked, now, today + 21 * DAY, personas["bob"].id),
        frank_week=await _inspection(alice, checked, now, today, people["frank"]),
    )


async def _home(login, username: str) -> str:
    client = await login(username)
    client.cookies.set("lang", "en")
    page = await client.get("/staff")
    assert page.status_code == 200, page.text[:2000]
    return page.text


# --- landing ---------------------------------------------------------------------------------


async def test_the_login_lands_on_the_staff_home(anon, personas):
    anon.cookies.set("lang", "en")
    response = await post_form(
        anon, "/login", {"username": "carol", "password": "correct horse battery"}
    )
    assert response.headers["location"] == "/staff"
    home = await follow(anon, response)
    assert home.status_code == 200
    assert "<h1>Today&#39;s work</h1>" in home.text or "<h1>Today's work</h1>" in home.text


async def test_an_anonymous_visitor_is_sent_to_the_login(anon):
    response = await anon.get("/staff")
    assert response.status_code in (302, 303)
    assert response.headers["location"].startswith("/login")


async def test_each_role_has_its_own_home(login, personas):
    headings = {
        "carol": "Today",
        "bob": "My inspections this week",
        "alice": "Waiting for you",
        "admin": "System health",
        "dave": "Dashboards",
    }
    for username, heading in headings.items():
        assert f"<h1>{heading}" in await _home(login, username), username


# --- crew ------------------------------------------------------------------------------------


async def test_crew_see_todays_and_overdue_work_of_theirs_and_their_team(login, homes):
    page = await _home(login, "carol")
    assert "HOME-carol-overdue" in page and "HOME-team-started" in page
    for elsewhere in ("HOME-carol-later", "HOME-erin-overdue", "HOME-awaiting-acceptance"):
        assert elsewhere not in page, elsewhere
    assert f"/triage/{homes.report}" not in page and homes.gate_code not in page
    assert 'class="filters"' not in page  # the cards come first, no filter form


def _form(page: str, ticket_id: int, action: str) -> dict[str, str]:
    """The fields of the home's form moving ``ticket_id`` by ``action`` (as a browser sends
    them)."""
    card = page[page.index(f'id="ticket-{ticket_id}"') :]
    card = card[: card.index("</li>")]
    for form in re.findall(r"<form .*?</form>", card, re.S):
        fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))
        if fields.get("action") == action:
            assert f'action="/tickets/{ticket_id}/transitions"' in form
            return fields
    raise AssertionError(f"no {action} form on ticket {ticket_id}")


async def test_one_tap_starts_and_completes_work_from_the_home(login, personas, homes, now):
    carol = await login("carol")
    carol.cookies.set("lang", "en")
    page = (await carol.get("/staff")).text
    with pytest.raises(AssertionError):
        _form(page, homes.carol_overdue, "complete")  # not started yet: only "Start"
    start = _form(page, homes.carol_overdue, "start")
    moved = await carol.post(f"/tickets/{homes.carol_overdue}/transitions", data=start)
    assert moved.status_code == 303, moved.text[:2000]
    started = await tickets.find_ticket(homes.carol_overdue)
    assert started is not None and started.status == Status.IN_PROGRESS

    complete = _form(page, homes.team_started, "complete")
    complete["note"] = "桥面木板已更换"
    done = await carol.post(f"/tickets/{homes.team_started}/transitions", data=complete)
    assert done.status_code == 303, done.text[:2000]
    completed = await tickets.find_ticket(homes.team_started)
    assert completed is not None and completed.status == Status.WORK_COMPLETE
    # completed work waits for the supervisor: it leaves the crew's home
    assert "HOME-team-started" not in (await carol.get("/staff")).text


def test_today_and_the_week_end_at_local_midnight(now):
    # NOW is Saturday 28 November 2026, 10:00 in Shanghai (02:00 UTC)
    assert days.day_ends(days.local_today(now, ZONE), ZONE) == dt.datetime(
        2026, 11, 28, 16, 0, tzinfo=dt.UTC
    )
    assert days.week_ends(now, ZONE) == dt.datetime(2026, 11, 29, 16, 0, tzinfo=dt.UTC)
    sunday_night = dt.datetime(2026, 11, 29, 15, 59, tzinfo=dt.UTC)
    assert days.week_ends(sunday_night, ZONE) == days.week_ends(now, ZONE)


# --- inspector -------------------------------------------------------------------------------


async def test_inspectors_see_their_inspections_due_or_overdue_this_week(login, homes):
    page = await _home(login, "bob")
    assert f'href="/inspections/{homes.bob_week}"' in page
    assert f'href="/inspections/{homes.bob_overdue}"' in page
    assert f'href="/inspections/{homes.bob_later}"' not in page
    assert f'href="/inspections/{homes.frank_week}"' not in page
    assert 'href="/inspections/route"' in page and 'href="/field"' in page
    assert "HOME-carol-overdue" not in page and f"/triage/{homes.report}" not in page


# --- supervisor ------------------------------------------------------------------------------


def _tally(page: str, title: str) -> str:
    """The section of the home headed ``title``."""
    start = page.index(f"{title}: ")
    return page[start : page.index("</section>", start)]


async def test_supervisors_see_what_waits_for_their_decision(login, homes):
    page = await _home(login, "alice")
    triage = _tally(page, "Reports to triage")
    assert ">1<" in triage and f'href="/triage/{homes.report}"' in triage
    assert "HOME-awaiting-acceptance" in _tally(page, "Work awaiting acceptance")
    breaches = _tally(page, "Tickets past their SLA")
    assert "HOME-erin-overdue" in breaches and "HOME-carol-overdue" in breaches
    assert "HOME-carol-later" not in breaches
    overdue = _tally(page, "Overdue inspections")
    assert f'href="/inspections/{homes.bob_overdue}"' in overdue
    assert f'href="/inspections/{homes.bob_week}"' not in overdue
    gates = _tally(page, "Reopening gates ready to sign")
    assert homes.gate_code in gates and homes.draft_code not in gates  # not verified
    assert homes.draft_code in _tally(page, "Notice drafts to publish")
    assert homes.proposal_code in _tally(page, "Closure proposals to approve")
    assert "HOME-smtp-down" not in page


async def test_a_signed_off_gate_no_longer_waits(login, personas, homes, now):
    rows = await closures.list_closures(personas["alice"])
    (row,) = [r for r in rows if r["asset_code"] == homes.gate_code]
    await closures.sign_off(personas["alice"], row["id"], row["version"], now)
    page = await _home(login, "alice")
    assert homes.gate_code not in _tally(page, "Reopening gates ready to sign")


# --- admin and viewer ------------------------------------------------------------------------


async def test_admins_see_the_systems_health(login, homes, settings, now):
    await runner.publish_timetable(runner.build_scheduler(settings))
    run = await jobs.start_run("deliver_notifications", now, "host:1", "schedule")
    await jobs.finish_run(run, now + dt.timedelta(seconds=3), 0, error="HOME-smtp-down")
    failed = await notifications.enqueue(
        to="alice@bureau.example",
        template="password_changed",
        context={"display_name": "Alice", "at": now},
        language="en",
        dedupe_key="home-failed",
        now=now,
    )
    waiting = await Notification.count()  # the world's own mail (assignments, P0s) waits
    await Notification.update({Notification.status: "failed"}).where(Notification.id == failed)
    page = await _home(login, "admin")
    assert "HOME-smtp-down" in _tally(page, "Failed job runs")
    assert re.search(r'id="mail-failed">\s*<span class="badge grade-bad">1</span>', page)
    assert f'id="mail-waiting">{waiting - 1}<' in page
    assert 'href="/jobs?job=deliver_notifications"' in page
    assert re.search(r"Free space for uploads: .+ of .+ \(\d+%\)", page)
    assert "Active accounts" in page and 'href="/admin/users"' in page
    assert "HOME-carol-overdue" not in page and homes.gate_code not in page
    assert "HOME-smtp-down" not in await _home(login, "alice")


async def test_viewers_get_the_dashboards_and_no_ones_work(login, homes):
    page = await _home(login, "dave")
    for link in ("/tickets/dashboard", "/inspections/dashboard", "/inspections/calendar"):
        assert f'href="{link}"' in page, link
    for leak in ("HOME-carol-overdue", "HOME-erin-overdue", f"/triage/{homes.report}"):
        assert leak not in page, leak
    assert homes.gate_code not in page and homes.proposal_code not in page


async def test_a_token_without_a_person_has_an_empty_crew_home(now):
    machine = Actor(id=None, username="machine", display_name="Machine", role=Role.CREW)
    assert await work.crew_today(machine, now, ZONE) == []
    assert await work.inspector_week(machine, now, ZONE) == []
