"""The ticket board (/tickets/board): columns by status with their full counts, swimlanes by
priority or assignee with the list's filters kept, and a card moved to another column through
the same service and guards as the ticket page's buttons (/tickets/board/move): as a form (the
"Move to…" select, no script) or as board.js sends it (JSON answer). Every refusal says why, in
the reader's language; bad input is a 4xx, never a 500; a repeated submission moves once. The
drag itself, in Chromium, is in test_board_browser.py."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx
import pytest

from facilities.accounts.permissions import Actor
from facilities.i18n import gettext, use_locale
from facilities.tickets.choices import PhotoTag, Priority, Status
from facilities.tickets.services import board as board_service
from facilities.tickets.tables import RepairTicket
from tests.kit.clients import csrf_token, post_form
from tests.kit.pages import english
from tests.kit.tickets import (
    attach,
    audit_count,
    drive_to,
    last_event,
    make_ticket,
    seed_tickets,
)

JSON = {"accept": "application/json"}


async def ticket_in(status: Status, actor: Actor, now: dt.datetime, **fields: Any) -> RepairTicket:
    ticket = await make_ticket(actor, now=now, **fields)
    if status != Status.NEW:
        ticket = await drive_to(ticket.id, status, actor, now)
    return ticket


async def fetch_move(
    client: httpx.AsyncClient, ticket: RepairTicket, to: str, key: str = "", **extra: Any
) -> httpx.Response:
    """The move as board.js sends it: form fields, the CSRF header, an Idempotency-Key."""
    headers = {**JSON, "x-csrftoken": await csrf_token(client)}
    if key:
        headers["idempotency-key"] = key
    data = {"ticket_id": str(ticket.id), "to": to, "version": str(ticket.version), **extra}
    return await client.post("/tickets/board/move", data=data, headers=headers)


async def status_of(ticket_id: int) -> str:
    return str((await reread(ticket_id)).status)


async def reread(ticket_id: int) -> RepairTicket:
    """The ticket as the database holds it now (its status, its version)."""
    row = await RepairTicket.objects().where(RepairTicket.id == ticket_id).first()
    assert row is not None
    return row


def count_shown(html: str, status: str) -> int:
    found = re.search(rf'<span class="board-count" data-count="{status}">(\d+)</span></h2>', html)
    assert found, status
    return int(found.group(1))


def cards_in(html: str, status: str, lane: str = "") -> list[int]:
    cell = re.search(
        rf'<ul class="board-cell" data-column="{status}" data-lane="{lane}"[^>]*>(.*?)</ul>',
        html,
        re.S,
    )
    assert cell, (status, lane)
    return [int(n) for n in re.findall(r'data-ticket="(\d+)"', cell.group(1))]


def words(message: str, **values: Any) -> str:
    """``message`` as the English reader sees it (the tests read the board in English)."""
    with use_locale("en"):
        text = gettext(message)
    return text % values if values else text


# --- the board ---------------------------------------------------------------------------------


async def test_the_board_counts_every_ticket_and_shows_the_most_urgent(login, now):
    await seed_tickets(60, now)  # 51 new (more than a column shows), 9 in progress
    client = english(await login("dave"))

    response = await client.get("/tickets/board")

    assert response.status_code == 200
    html = response.text
    new = await RepairTicket.count().where(RepairTicket.status == Status.NEW)
    assert new == 51
    assert count_shown(html, "new") == 51
    assert len(cards_in(html, "new")) == board_service.CARDS_PER_COLUMN
    assert count_shown(html, "in_progress") == 9
    assert len(cards_in(html, "in_progress")) == 9
    assert count_shown(html, "accepted") == 0
    assert "The 50 most urgent of 51." in html
    assert "/tickets?status=new&amp;sort=priority" in html
    # every column has its jump link, so none is out of reach however narrow the screen
    for status in board_service.BOARD_COLUMNS:
        assert f'href="#col-{status}"' in html
        assert f'id="col-{status}"' in html
    # a viewer moves nothing: no "Move to…" forms
    assert 'class="board-move"' not in html


async def test_swimlanes_by_priority_keep_the_filters(login, personas, now):
    alice = personas["alice"]
    p0 = await ticket_in(Status.TRIAGED, alice, now, priority=Priority.P0, title="P0 缆索")
    p3 = await ticket_in(Status.TRIAGED, alice, now, priority=Priority.P3, title="P3 油漆")
    other = await make_ticket(alice, now=now, priority=Priority.P0, title="另一个")
    client = english(await login("alice"))

    html = (await client.get("/tickets/board?lanes=priority")).text

    with use_locale("en"):
        assert Priority.P0.label in html and Priority.P3.label in html
    assert cards_in(html, "triaged", "P0") == [p0.id]
    assert cards_in(html, "triaged", "P3") == [p3.id]
    assert cards_in(html, "new", "P0") == [other.id]
    assert cards_in(html, "triaged", "P1") == []

    filtered = (await client.get("/tickets/board?lanes=priority&priority=P3")).text
    assert cards_in(filtered, "triaged", "P3") == [p3.id]
    assert cards_in(filtered, "triaged", "P0") == []
    assert count_shown(filtered, "triaged") == 1
    assert count_shown(filtered, "new") == 0
    # the "Move to…" forms come back to the same board, lanes and filters
    assert 'action="/tickets/board/move?lanes=priority&amp;priority=P3"' in filtered
    assert '<option value="priority" selected>' in filtered


async def test_swimlanes_by_assignee(login, personas, now):
    alice, carol = personas["alice"], personas["carol"]
    hers = await ticket_in(Status.TRIAGED, alice, now, assignee_id=carol.id)
    nobodys = await ticket_in(Status.TRIAGED, alice, now)
    client = english(await login("alice"))

    html = (await client.get("/tickets/board?lanes=assignee")).text

    assert cards_in(html, "triaged", str(carol.id)) == [hers.id]
    assert cards_in(html, "triaged", board_service.NOBODY) == [nobodys.id]
    assert "Carol" in html and "Not assigned" in html
    assert count_shown(html, "triaged") == 2


async def test_the_board_refuses_bad_filters_in_the_readers_language(login):
    client = english(await login("alice"))
    for query in ("lanes=diagonal", "priority=P9", "site=abc", "assignee=-1"):
        response = await client.get(f"/tickets/board?{query}")
        assert response.status_code == 400, query
        assert "not valid" in response.text or "Choose one of the listed options" in response.text


# --- moving a card ------------------------------------------------------------------------------


async def test_an_allowed_move_runs_the_transition_and_answers_the_card(login, personas, now):
    ticket = await make_ticket(personas["alice"], now=now)
    client = english(await login("alice"))

    response = await fetch_move(client, ticket, "triaged", key="drag-1")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "triaged"
    assert body["version"] == ticket.version + 1
    assert body["message"] == "Done: Triage."
    assert set(body["moves"]) == {"in_progress", "on_hold", "scheduled"}
    assert body["moves"]["on_hold"]["asks"] == "note"
    assert body["moves"]["scheduled"]["asks"] == "planned_start_on"
    assert await status_of(ticket.id) == "triaged"
    event = await last_event(ticket.id, "ticket.triage")  # the same audit as the page's button
    assert event["actor"] == personas["alice"].id


async def test_a_move_by_form_comes_back_to_the_same_board(login, personas, now):
    ticket = await make_ticket(personas["alice"], now=now)
    client = english(await login("alice"))
    data = {"ticket_id": ticket.id, "to": "triaged", "version": ticket.version}

    response = await post_form(client, "/tickets/board/move?lanes=priority&priority=P2", data)

    assert response.status_code == 303
    assert response.headers["location"] == "/tickets/board?lanes=priority&priority=P2"
    assert await status_of(ticket.id) == "triaged"
    board = await client.get(response.headers["location"])
    assert "Done: Triage." in board.text
    assert cards_in(board.text, "triaged", "P2") == [ticket.id]


async def test_the_same_move_sent_twice_moves_once(login, personas, now):
    ticket = await make_ticket(personas["alice"], now=now)
    client = await login("alice")
    before = await audit_count(ticket.id)

    first = await fetch_move(client, ticket, "triaged", key="same-drop")
    again = await fetch_move(client, ticket, "triaged", key="same-drop")

    assert first.status_code == again.status_code == 200, again.text
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    assert await audit_count(ticket.id) == before + 1


async def test_a_move_that_does_not_exist_from_its_status_is_refused(login, personas, now):
    ticket = await make_ticket(personas["alice"], now=now)
    client = english(await login("alice"))

    response = await fetch_move(client, ticket, "in_progress")

    assert response.status_code == 409
    with use_locale("en"):
        expected = gettext("A ticket cannot move from “%(from)s” to “%(to)s”.") % {
            "from": Status.NEW.label,
            "to": Status.IN_PROGRESS.label,
        }
    assert expected == "A ticket cannot move from “New” to “In progress”."
    assert response.json()["detail"] == expected
    assert await status_of(ticket.id) == "new"


async def test_a_stale_card_is_refused_and_changes_nothing(login, personas, now):
    ticket = await make_ticket(personas["alice"], now=now)
    client = english(await login("alice"))
    assert (await fetch_move(client, ticket, "triaged")).status_code == 200

    stale = await fetch_move(client, ticket, "triaged")  # the card still shows version 1

    assert stale.status_code == 409
    assert stale.json()["detail"] == words(
        "Someone else changed this ticket first. Reload it and try again."
    )
    assert await status_of(ticket.id) == "triaged"


@pytest.mark.parametrize("who", ["dave", "bob"])
async def test_roles_that_may_not_move_tickets_are_refused(login, personas, now, who):
    ticket = await make_ticket(personas["alice"], now=now)
    client = english(await login(who))

    response = await fetch_move(client, ticket, "triaged")

    assert response.status_code == 403
    assert response.json()["detail"] == words("Your role may not do this.")
    assert await status_of(ticket.id) == "new"


async def test_crew_move_only_their_own_work(login, personas, now):
    alice, carol = personas["alice"], personas["carol"]
    theirs = await ticket_in(Status.TRIAGED, alice, now, assignee_id=carol.id)
    unassigned = await ticket_in(Status.TRIAGED, alice, now)
    someone_elses = await ticket_in(Status.TRIAGED, alice, now, assignee_id=alice.id)
    client = english(await login("carol"))

    board = (await client.get("/tickets/board")).text
    assert f'id="move-{theirs.id}"' in board  # a "Move to…" form on her own card only
    assert f'id="move-{unassigned.id}"' not in board
    assert f'id="move-{someone_elses.id}"' not in board

    refused = await fetch_move(client, unassigned, "in_progress")
    assert refused.status_code == 403
    assert refused.json()["detail"] == words(
        "Nobody is assigned to this ticket yet. Take it first, or ask a supervisor."
    )
    refused = await fetch_move(client, someone_elses, "in_progress")
    assert refused.status_code == 403
    assert "assigned to someone else" in refused.json()["detail"]
    # triage is a supervisor's move, even on her own ticket
    new_one = await make_ticket(alice, now=now, assignee_id=carol.id)
    assert (await fetch_move(client, new_one, "triaged")).status_code == 403

    allowed = await fetch_move(client, theirs, "in_progress")
    assert allowed.status_code == 200, allowed.text
    assert await status_of(theirs.id) == "in_progress"
    assert await status_of(unassigned.id) == await status_of(someone_elses.id) == "triaged"


async def test_a_move_that_needs_a_reason_asks_for_it(login, personas, now):
    ticket = await ticket_in(Status.IN_PROGRESS, personas["alice"], now)
    client = english(await login("alice"))

    missing = await fetch_move(client, ticket, "on_hold")

    assert missing.status_code == 400
    body = missing.json()
    assert body["detail"] == words("Say why.")
    assert [item["key"] for item in body["extra"]] == ["note"]  # what board.js asks for
    assert await status_of(ticket.id) == "in_progress"

    given = await fetch_move(client, ticket, "on_hold", note="等待钢索到货 waiting for the cable")
    assert given.status_code == 200, given.text
    assert await status_of(ticket.id) == "on_hold"
    # back to where it was held from: "resume"
    held = await reread(ticket.id)
    assert set(given.json()["moves"]) == {"in_progress"}
    resumed = await fetch_move(client, held, "in_progress")
    assert resumed.status_code == 200
    assert await status_of(ticket.id) == "in_progress"


async def test_completing_without_an_after_photo_asks_for_a_note(login, personas, now, media_root):
    alice = personas["alice"]
    bare = await ticket_in(Status.IN_PROGRESS, alice, now)
    photographed = await ticket_in(Status.IN_PROGRESS, alice, now)
    await attach(alice, photographed.id, media_root, tag=PhotoTag.AFTER)
    photographed = await reread(photographed.id)
    client = english(await login("alice"))

    refused = await fetch_move(client, bare, "work_complete")
    assert refused.status_code == 400
    assert [item["key"] for item in refused.json()["extra"]] == ["note"]
    assert "after" in refused.json()["detail"]

    assert (await fetch_move(client, bare, "work_complete", note="无需照片")).status_code == 200
    assert (await fetch_move(client, photographed, "work_complete")).status_code == 200
    assert await status_of(bare.id) == await status_of(photographed.id) == "work_complete"


async def test_scheduling_asks_for_the_planned_start(login, personas, now):
    ticket = await ticket_in(Status.TRIAGED, personas["alice"], now)
    client = english(await login("alice"))

    refused = await fetch_move(client, ticket, "scheduled")
    assert refused.status_code == 400
    assert [item["key"] for item in refused.json()["extra"]] == ["planned_start_on"]

    given = await fetch_move(client, ticket, "scheduled", planned_start_on="2026-12-07")
    assert given.status_code == 200, given.text
    row = await reread(ticket.id)
    assert row.status == "scheduled" and row.planned_start_on == dt.date(2026, 12, 7)


async def test_nobody_accepts_work_they_completed_from_the_board(login, personas, now):
    alice = personas["alice"]
    ticket = await ticket_in(Status.IN_PROGRESS, alice, now)
    client = english(await login("alice"))
    done = await fetch_move(client, ticket, "work_complete", note="完成")
    assert done.status_code == 200
    ticket = await reread(ticket.id)

    refused = await fetch_move(client, ticket, "accepted")

    assert refused.status_code == 403
    assert "someone else must accept it" in refused.json()["detail"]
    admin = english(await login("admin"))
    assert (await fetch_move(admin, ticket, "accepted")).status_code == 200
    assert await status_of(ticket.id) == "accepted"


async def test_a_refused_form_move_shows_the_board_with_the_reason(login, personas, now):
    ticket = await ticket_in(Status.IN_PROGRESS, personas["alice"], now)
    client = english(await login("alice"))
    data = {"ticket_id": ticket.id, "to": "on_hold", "version": ticket.version}

    response = await post_form(client, "/tickets/board/move", data)

    assert response.status_code == 400
    assert 'role="alert"' in response.text and "Say why." in response.text
    assert f'href="/tickets/{ticket.id}#actions"' in response.text  # where the reason is typed
    assert await status_of(ticket.id) == "in_progress"


async def test_the_refusal_is_in_the_readers_language(login, personas, now):
    ticket = await make_ticket(personas["alice"], now=now)
    client = await login("dave")  # the default language: Chinese
    response = await fetch_move(client, ticket, "triaged")
    assert response.status_code == 403
    with use_locale("zh_CN"):
        assert response.json()["detail"] == gettext("Your role may not do this.")


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"ticket_id": "abc"}, 400),
        ({"ticket_id": "0"}, 400),
        ({"ticket_id": "99999"}, 404),
        ({"to": "closed"}, 400),  # not a column: closing is on the ticket's page
        ({"to": "sideways"}, 400),
        ({"to": ""}, 400),
        ({"version": "x"}, 400),
        ({"version": ""}, 400),
        ({"planned_start_on": "2026-13-45"}, 400),
        ({"note": "x" * 2001}, 400),
        ({"surprise": "1"}, 200),  # unknown form fields are ignored, as by every form
    ],
)
async def test_bad_input_is_a_clear_4xx(login, personas, now, fields, status):
    ticket = await make_ticket(personas["alice"], now=now)
    client = english(await login("alice"))
    data = {"ticket_id": str(ticket.id), "to": "triaged", "version": str(ticket.version)}
    data.update(fields)
    headers = {**JSON, "x-csrftoken": await csrf_token(client)}

    as_json = await client.post("/tickets/board/move", data=data, headers=headers)

    assert as_json.status_code == status, as_json.text
    if status >= 400:
        assert as_json.json()["detail"]
        assert await status_of(ticket.id) == "new"
        as_page = await post_form(client, "/tickets/board/move", data)
        assert as_page.status_code == status
        assert "text/html" in as_page.headers["content-type"]


async def test_a_move_without_the_csrf_token_is_refused(login, personas, now):
    ticket = await make_ticket(personas["alice"], now=now)
    client = await login("alice")
    data = {"ticket_id": str(ticket.id), "to": "triaged", "version": str(ticket.version)}
    response = await client.post("/tickets/board/move", data=data, headers=JSON)
    assert response.status_code == 403
    assert await status_of(ticket.id) == "new"
