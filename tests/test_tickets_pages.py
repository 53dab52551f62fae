"""Repair ticket pages for staff: list, my work, board, calendar, dashboard, SLA policy, the new
and edit forms, the ticket page with its action buttons, transitions, comments, the CSV export.

Pages are read in English (the ``lang`` cookie) so the assertions name the words a person sees.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from facilities.accounts.permissions import SYSTEM, Actor
from facilities.audit.tables import AuditEvent
from facilities.tickets import services as tickets
from facilities.tickets.choices import TRANSITIONS, Priority, Source, Status
from facilities.tickets.tables import RepairTicket, SlaPolicy, TicketComment
from tests.kit.assets import make_asset, make_component
from tests.kit.clients import post_form
from tests.kit.tickets import drive_to, make_ticket, seed_tickets


class Page(HTMLParser):
    """What a person sees of a page: field values, field errors, links, the action buttons."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.values: dict[str, str] = {}
        self.errors: dict[str, str] = {}
        self.links: list[str] = []
        self.actions: list[str] = []
        self.forms: list[str] = []
        self.text_parts: list[str] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._error: str | None = None
        self._form = ""
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = a.get("action", "")
            self.forms.append(self._form)
        elif tag == "a" and "href" in a:
            self.links.append(a["href"])
        elif tag == "input" and "name" in a:
            if a["name"] == "action" and self._form.endswith("/transitions"):
                self.actions.append(a.get("value", ""))
            elif a.get("type") != "checkbox":
                self.values.setdefault(a["name"], a.get("value", ""))
        elif tag == "select":
            self._select = a.get("name")
            self.values.setdefault(self._select or "", "")
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.values[self._textarea or ""] = ""
        elif tag == "p" and "field-error" in a.get("class", ""):
            self._error = a.get("id", "").removesuffix("-error")
            self.errors[self._error] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "p":
            self._error = None
        elif tag == "form":
            self._form = ""

    def handle_data(self, data: str) -> None:
        self.text_parts.append(data)
        if self._textarea:
            self.values[self._textarea] += data
        if self._error is not None:
            self.errors[self._error] += data.strip()

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())


def english(client: httpx.AsyncClient) -> httpx.AsyncClient:
    client.cookies.set("lang", "en")
    return client


@pytest.fixture
async def staff(login):
    """``client = await staff("alice")``: logged in, reading English."""

    async def make(username: str = "alice") -> httpx.AsyncClient:
        return english(await login(username))

    return make


def listed_ids(response: httpx.Response) -> list[int]:
    """Ticket numbers in the list table, in order (first column links)."""
    return [int(n) for n in re.findall(r'<td><a href="/tickets/(\d+)">\1</a></td>', response.text)]


def ticket_form(asset_id: int, **fields: Any) -> dict[str, str]:
    form = {
        "asset_id": str(asset_id),
        "component_id": "",
        "title": "栏杆松动 / loose railing",
        "description": "东侧第三段栏杆松动",
        "priority": "P1",
        "work_class": "minor",
        "source": "patrol",
        "assignee_id": "",
        "assignee_team": "养护一队",
        "contractor": "",
        "contractor_contact": "",
        "planned_start_on": "2026-12-07",
        "planned_end_on": "2026-12-08",
        "scope": "",
        "cost_estimate": "",
        "cost_actual": "",
        "reporter_email": "",
    }
    form.update(fields)
    return form


# --- lists -----------------------------------------------------------------------------------


async def test_the_list_needs_a_login(anon):
    response = await anon.get("/tickets?status=final")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/tickets%3Fstatus%3Dfinal"


async def test_list_shows_open_tickets_and_filters(staff, personas, now):
    alice = personas["alice"]
    bridge = await make_asset(code="GX-QL-PH-001")
    deck = await make_ticket(alice, bridge, title="桥面木板腐朽", priority=Priority.P0)
    cable = await make_ticket(alice, bridge, title="主缆锈蚀 50%", source=Source.INSPECTION)
    done = await make_ticket(alice, bridge, title="已关闭的工单")
    await drive_to(done.id, Status.CLOSED, alice, now)
    client = await staff("alice")

    response = await client.get("/tickets")
    assert response.status_code == 200
    assert set(listed_ids(response)) == {deck.id, cable.id}
    assert "GX-QL-PH-001" in response.text
    assert set(listed_ids(await client.get("/tickets?status=final"))) == {done.id}
    assert listed_ids(await client.get("/tickets?priority=P0")) == [deck.id]
    assert listed_ids(await client.get("/tickets?source=inspection")) == [cable.id]
    assert listed_ids(await client.get("/tickets", params={"q": "50%"})) == [cable.id]
    assert listed_ids(await client.get(f"/tickets?asset={bridge.id}&status=")) == sorted(
        [deck.id, cable.id, done.id], reverse=True
    )
    empty = await client.get("/tickets?q=nothing-like-this")
    assert listed_ids(empty) == []
    assert "No tickets match these filters." in empty.text


async def test_list_pages_follow_the_next_link(staff, personas, now):
    await seed_tickets(60, now)
    client = await staff("alice")
    seen: list[int] = []
    url = "/tickets?status=&per_page=25&sort=due"
    for _ in range(5):
        response = await client.get(url)
        assert response.status_code == 200
        seen.extend(listed_ids(response))
        page = Page(response.text)
        following = [link for link in page.links if "after=" in link]
        if not following:
            break
        url = following[0]
        assert "sort=due" in url and "per_page=25" in url
    assert len(seen) == 60
    assert len(set(seen)) == 60


BAD_LIST_QUERIES = [
    "after=garbage!!",
    "after=WyJ4Il0",
    "status=bogus",
    "priority=P9",
    "sort=title",
    "per_page=0",
    "per_page=100000",
    "asset=abc",
    "site=-1",
    "overdue=maybe",
    "q=" + "x" * 101,
]


async def test_bad_list_parameters_are_a_400_page(staff):
    client = await staff("alice")
    for query in BAD_LIST_QUERIES:
        urls = [f"/tickets?{query}"]
        if not query.startswith("sort="):  # "my work" is always sorted by due date
            urls.append(f"/tickets/mine?{query}")
        if not query.startswith(("after=", "sort=", "per_page=", "status=")):
            urls.append(f"/tickets/board?{query}")  # the board sets these itself
        for url in urls:
            response = await client.get(url)
            assert response.status_code == 400, url
            assert "text/html" in response.headers["content-type"]
            assert "Traceback" not in response.text
        if not query.startswith("after="):  # the export always starts at the first row
            response = await client.get(f"/tickets/export.csv?{query}")
            assert response.status_code == 400, query


async def test_my_work_lists_only_my_tickets(staff, personas, now):
    alice, carol, bob = personas["alice"], personas["carol"], personas["bob"]
    asset = await make_asset()
    mine = await make_ticket(alice, asset, title="carol 的工单", assignee_id=carol.id)
    theirs = await make_ticket(alice, asset, title="bob 的工单", assignee_id=bob.id)
    nobody = await make_ticket(alice, asset, title="没人负责")
    client = await staff("carol")
    response = await client.get("/tickets/mine")
    assert response.status_code == 200
    assert listed_ids(response) == [mine.id]
    assert "My work" in response.text
    # the assignee in the query cannot widen "mine"
    response = await client.get(f"/tickets/mine?assignee={bob.id}")
    assert listed_ids(response) == [mine.id]
    assert {theirs.id, nobody.id}.isdisjoint(listed_ids(response))
    bob_client = await staff("bob")
    assert listed_ids(await bob_client.get("/tickets/mine")) == [theirs.id]


async def test_board_puts_each_ticket_in_its_status_column(staff, personas, now):
    alice = personas["alice"]
    asset = await make_asset()
    new = await make_ticket(alice, asset, title="新工单")
    working = await make_ticket(alice, asset, title="施工中的工单")
    await drive_to(working.id, Status.IN_PROGRESS, alice, now)
    closed = await make_ticket(alice, asset, title="已关闭")
    await drive_to(closed.id, Status.CLOSED, alice, now)
    client = await staff("alice")
    response = await client.get("/tickets/board")
    assert response.status_code == 200
    columns = dict(
        re.findall(
            r'<ul class="board-cell" data-column="(\w+)"[^>]*>(.*?)</ul>',
            response.text,
            flags=re.S,
        )
    )
    assert f"/tickets/{new.id}" in columns["new"]
    assert f"/tickets/{working.id}" in columns["in_progress"]
    assert f"/tickets/{new.id}" not in columns["in_progress"]
    assert all(f'/tickets/{closed.id}"' not in body for body in columns.values())


async def test_calendar_shows_planned_work_of_a_month(staff, personas, now):
    alice = personas["alice"]
    asset = await make_asset(code="GX-QL-PH-001")
    planned = await make_ticket(
        alice,
        asset,
        title="更换吊杆",
        planned_start_on=dt.date(2026, 12, 7),
        planned_end_on=dt.date(2026, 12, 9),
    )
    later = await make_ticket(
        alice, asset, title="明年的工作", planned_start_on=dt.date(2027, 3, 1)
    )
    client = await staff("alice")
    # the ticket calendar moved to the staff work calendar (facilities/homes/calendar_pages.py)
    moved = await client.get("/tickets/calendar?month=2026-12")
    assert moved.status_code == 301
    assert moved.headers["location"] == "/calendar?month=2026-12"
    response = await client.get("/calendar?month=2026-12&layers=tickets")
    assert response.status_code == 200
    assert response.text.count(f'href="/tickets/{planned.id}"') == 1  # one bar, three days
    assert f'href="/tickets/{later.id}"' not in response.text
    assert "/calendar?month=2026-11&amp;layers=tickets" in response.text
    assert "/calendar?month=2027-01&amp;layers=tickets" in response.text
    assert (await client.get("/calendar")).status_code == 200


async def test_a_bad_calendar_month_is_a_400(staff):
    client = await staff("alice")
    for month in ("2026-13", "December", "2026-12-05", "2026-1", "0001-01", "9999-12", "0"):
        response = await client.get("/calendar", params={"month": month})
        assert response.status_code == 400, month
        assert "YYYY-MM" in response.text


async def test_dashboard_page_shows_the_numbers(staff, personas, now):
    alice = personas["alice"]
    asset = await make_asset(code="GX-DASH-001")
    for _ in range(3):
        await make_ticket(alice, asset, priority=Priority.P1)
    client = await staff("dave")
    response = await client.get("/tickets/dashboard")
    assert response.status_code == 200
    assert re.search(r'<span class="stat-value">3</span><span>open tickets</span>', response.text)
    assert "GX-DASH-001" in response.text


# --- the SLA policy page ---------------------------------------------------------------------


async def test_sla_page_admin_saves_others_only_read(staff, personas):
    alice = await staff("alice")
    response = await alice.get("/tickets/sla")
    assert response.status_code == 200
    assert "168 hours" in Page(response.text).text
    assert 'name="P1"' not in response.text  # read-only for a supervisor
    refused = await post_form(
        alice, "/tickets/sla", {"P0": "12", "P1": "48", "P2": "720", "P3": "2160"}
    )
    assert refused.status_code == 403
    assert await SlaPolicy.count() == 0

    admin = await staff("admin")
    page = Page((await admin.get("/tickets/sla")).text)
    assert page.values["P0"] == "24"
    saved = await post_form(
        admin, "/tickets/sla", {"P0": "12", "P1": "168", "P2": "720", "P3": "2160"}
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == "/tickets/sla"
    assert (await tickets.sla_hours())[Priority.P0] == 12
    assert await SlaPolicy.count() == 1  # only the changed priority was written
    assert Page((await admin.get("/tickets/sla")).text).values["P0"] == "12"


async def test_sla_page_refuses_a_bad_value_and_keeps_what_was_typed(staff):
    admin = await staff("admin")
    for bad in ("0", "abc", "-3", "8785", "", "1.5", "²", "1e3", "9" * 40):
        response = await post_form(
            admin, "/tickets/sla", {"P0": "12", "P1": bad, "P2": "720", "P3": "2160"}
        )
        assert response.status_code == 400, bad
        page = Page(response.text)
        assert page.errors == {"P1": "Enter a number from 1 to 8784."}, bad
        assert page.values["P0"] == "12"
        assert page.values["P1"] == bad
    assert await SlaPolicy.count() == 0


# --- new and edit ----------------------------------------------------------------------------


async def test_new_ticket_form_and_create(staff, personas):
    asset = await make_asset(code="GX-QL-PH-001")
    client = await staff("carol")
    form = await client.get(f"/tickets/new?asset={asset.id}")
    assert form.status_code == 200
    assert Page(form.text).values["asset_id"] == str(asset.id)
    response = await post_form(client, "/tickets", ticket_form(asset.id))
    assert response.status_code == 303
    ticket = await RepairTicket.objects().first()
    assert response.headers["location"] == f"/tickets/{ticket.id}"
    assert (ticket.title, ticket.priority, ticket.created_by) == (
        "栏杆松动 / loose railing",
        "P1",
        personas["carol"].id,
    )
    assert ticket.planned_start_on == dt.date(2026, 12, 7)
    shown = await client.get(response.headers["location"])
    assert shown.status_code == 200
    assert "栏杆松动 / loose railing" in shown.text
    assert "opened" in shown.text  # the flash message


async def test_a_viewer_gets_no_new_ticket_form(staff):
    client = await staff("dave")
    assert (await client.get("/tickets/new")).status_code == 403
    assert (await post_form(client, "/tickets", ticket_form(1))).status_code == 403
    assert await RepairTicket.count() == 0
    assert "/tickets/new" not in (await client.get("/tickets")).text


async def test_create_with_errors_rerenders_with_the_values_kept(staff):
    asset, other = await make_asset(), await make_asset()
    component = await make_component(other, "吊杆")
    client = await staff("alice")
    response = await post_form(
        client,
        "/tickets",
        ticket_form(
            asset.id,
            title="",
            priority="P9",
            description="保留这段文字",
            planned_end_on="2026-12-01",
        ),
    )
    assert response.status_code == 400
    page = Page(response.text)
    assert set(page.errors) == {"title", "priority"}
    assert page.values["description"] == "保留这段文字"
    assert page.values["assignee_team"] == "养护一队"
    assert "Please correct the highlighted fields." in page.text
    # rules checked by the service show next to their fields too
    response = await post_form(
        client,
        "/tickets",
        ticket_form(asset.id, component_id=str(component.id), planned_end_on="2026-12-01"),
    )
    assert response.status_code == 400
    page = Page(response.text)
    assert set(page.errors) == {"component_id", "planned_end_on"}
    assert page.values["title"] == "栏杆松动 / loose railing"
    assert await RepairTicket.count() == 0


async def test_costs_typed_in_the_form_are_saved(staff):
    asset = await make_asset()
    client = await staff("alice")
    response = await post_form(
        client, "/tickets", ticket_form(asset.id, cost_estimate="12500.50", cost_actual="0")
    )
    assert response.status_code == 303, Page(response.text).errors
    ticket = await RepairTicket.objects().first()
    assert str(tickets.money(ticket.cost_estimate)) == "12500.50"


async def test_edit_saves_and_a_stale_edit_keeps_the_typed_values(staff, personas, now):
    alice = personas["alice"]
    asset = await make_asset()
    ticket = await make_ticket(alice, asset, title="原标题")
    client = await staff("alice")
    form = Page((await client.get(f"/tickets/{ticket.id}/edit")).text).values
    assert (form["title"], form["version"], form["asset_id"]) == ("原标题", "1", str(asset.id))
    sent = {k: v for k, v in form.items() if k != "_csrf_token"}

    saved = await post_form(client, f"/tickets/{ticket.id}", {**sent, "title": "第一次修改"})
    assert saved.status_code == 303
    assert (await tickets.find_ticket(ticket.id)).title == "第一次修改"

    # the same form again (version 1): someone else saved in between
    stale = await post_form(
        client, f"/tickets/{ticket.id}", {**sent, "title": "我的修改", "scope": "我写的范围"}
    )
    assert stale.status_code == 409
    page = Page(stale.text)
    assert page.values["title"] == "我的修改"
    assert page.values["scope"] == "我写的范围"
    assert page.values["version"] == "2"  # saving again now would overwrite knowingly
    assert "Someone else saved this record" in page.text
    assert (await tickets.find_ticket(ticket.id)).title == "第一次修改"

    again = await post_form(
        client, f"/tickets/{ticket.id}", {**sent, **page.values, "title": "我的修改"}
    )
    assert again.status_code == 303
    assert (await tickets.find_ticket(ticket.id)).version == 3


async def test_edit_is_for_supervisors_and_not_for_finished_tickets(staff, personas, now):
    alice = personas["alice"]
    ticket = await make_ticket(alice)
    carol = await staff("carol")
    assert (await carol.get(f"/tickets/{ticket.id}/edit")).status_code == 403
    assert (await post_form(carol, f"/tickets/{ticket.id}", {"title": "x"})).status_code == 403
    await drive_to(ticket.id, Status.CANCELLED, alice, now)
    client = await staff("alice")
    shown = await client.get(f"/tickets/{ticket.id}")
    assert f'href="/tickets/{ticket.id}/edit"' not in shown.text
    sent = {k: v for k, v in ticket_form(ticket.asset).items()}
    refused = await post_form(client, f"/tickets/{ticket.id}", {**sent, "version": "4"})
    assert refused.status_code == 409
    assert (await client.get("/tickets/99999/edit")).status_code == 404


# --- the ticket page, its actions, comments --------------------------------------------------


def expected_actions(actor: Actor, status: Status) -> list[str]:
    return [t.action.value for t in TRANSITIONS if status in t.sources and actor.role in t.roles]


@pytest.mark.parametrize(
    "status",
    [
        Status.NEW,
        Status.TRIAGED,
        Status.IN_PROGRESS,
        Status.WORK_COMPLETE,
        Status.ON_HOLD,
        Status.CLOSED,
    ],
)
async def test_the_page_offers_exactly_the_allowed_actions(status, staff, personas, now):
    alice = personas["alice"]
    # assigned to carol (crew act on their own work), completed by the system (not alice, who
    # would otherwise not be offered "accept" on work she completed)
    ticket = await make_ticket(alice, assignee_id=personas["carol"].id)
    ticket = await drive_to(ticket.id, status, alice, now, completer=SYSTEM)
    for username in ("admin", "alice", "bob", "carol", "dave"):
        client = await staff(username)
        response = await client.get(f"/tickets/{ticket.id}")
        assert response.status_code == 200
        page = Page(response.text)
        assert page.actions == expected_actions(personas[username], status), username
        can_edit = username in ("admin", "alice") and status != Status.CLOSED
        assert (f"/tickets/{ticket.id}/edit" in page.links) is can_edit, username
        can_work = username != "dave"
        assert (f"/tickets/{ticket.id}/comments" in page.forms) is can_work, username
        assert (f"/tickets/{ticket.id}/attachments" in page.forms) is can_work, username


async def test_posting_a_transition_form_moves_the_ticket(staff, personas, now):
    ticket = await make_ticket(personas["alice"])
    client = await staff("alice")
    response = await post_form(
        client, f"/tickets/{ticket.id}/transitions", {"action": "triage", "version": "1"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/tickets/{ticket.id}"
    assert (await tickets.find_ticket(ticket.id)).status == Status.TRIAGED
    shown = await client.get(f"/tickets/{ticket.id}")
    assert "Done: Triage." in shown.text
    assert "New → Acknowledged" in Page(shown.text).text
    schedule = await post_form(
        client,
        f"/tickets/{ticket.id}/transitions",
        {"action": "schedule", "version": "2", "planned_start_on": "2026-12-07"},
    )
    assert schedule.status_code == 303
    assert (await tickets.find_ticket(ticket.id)).planned_start_on == dt.date(2026, 12, 7)


async def test_a_stale_or_impossible_transition_rerenders_with_409(staff, personas, now):
    ticket = await make_ticket(personas["alice"])
    client = await staff("alice")
    await post_form(
        client, f"/tickets/{ticket.id}/transitions", {"action": "triage", "version": "1"}
    )
    stale = await post_form(
        client, f"/tickets/{ticket.id}/transitions", {"action": "start", "version": "1"}
    )
    assert stale.status_code == 409
    assert "Someone else changed this ticket first" in stale.text
    assert Page(stale.text).actions  # the page is shown again with its current buttons
    impossible = await post_form(
        client, f"/tickets/{ticket.id}/transitions", {"action": "accept", "version": "2"}
    )
    assert impossible.status_code == 409
    assert "is not possible while the ticket is" in impossible.text
    after = await tickets.find_ticket(ticket.id)
    assert (after.status, after.version) == (Status.TRIAGED, 2)


async def test_transition_form_errors(staff, personas, now):
    mine = await make_ticket(personas["alice"], assignee_id=personas["carol"].id)
    ticket = await drive_to(mine.id, Status.TRIAGED, personas["alice"], now)
    carol = await staff("carol")
    missing_note = await post_form(
        carol, f"/tickets/{ticket.id}/transitions", {"action": "hold", "version": "2", "note": " "}
    )
    assert missing_note.status_code == 400
    assert "Say why." in missing_note.text
    forbidden = await post_form(
        carol,
        f"/tickets/{ticket.id}/transitions",
        {"action": "cancel", "version": "2", "note": "不需要"},
    )
    assert forbidden.status_code == 403
    nonsense = await post_form(
        carol, f"/tickets/{ticket.id}/transitions", {"action": "explode", "version": "x"}
    )
    assert nonsense.status_code == 400
    missing = await post_form(
        carol, "/tickets/424242/transitions", {"action": "start", "version": "1"}
    )
    assert missing.status_code == 404
    after = await tickets.find_ticket(ticket.id)
    assert (after.status, after.version) == (Status.TRIAGED, 2)


async def test_comments_on_the_page(staff, personas, now):
    ticket = await make_ticket(personas["alice"], reporter_email="citizen@example.com")
    client = await staff("carol")
    response = await post_form(
        client, f"/tickets/{ticket.id}/comments", {"body": "已到现场查看", "is_public": "true"}
    )
    assert response.status_code == 303
    shown = await client.get(f"/tickets/{ticket.id}")
    assert "已到现场查看" in shown.text
    assert "public-comment" in shown.text
    comment = await TicketComment.objects().first()
    assert (comment.body, comment.is_public, comment.author) == (
        "已到现场查看",
        True,
        personas["carol"].id,
    )
    empty = await post_form(client, f"/tickets/{ticket.id}/comments", {"body": "   "})
    assert empty.status_code == 400
    assert await TicketComment.count() == 1
    viewer = await staff("dave")
    assert (
        await post_form(viewer, f"/tickets/{ticket.id}/comments", {"body": "看看"})
    ).status_code == 403
    assert (await post_form(client, "/tickets/424242/comments", {"body": "x"})).status_code == 404


async def test_unknown_ticket_pages_are_404(staff):
    client = await staff("alice")
    for url in ("/tickets/424242", "/tickets/0", "/tickets/99999999999", "/tickets/424242/edit"):
        assert (await client.get(url)).status_code == 404, url


# --- CSV export ------------------------------------------------------------------------------


async def test_csv_export_has_a_bom_a_header_and_the_filtered_rows(staff, anon, personas, now):
    alice = personas["alice"]
    asset = await make_asset(code="GX-QL-PH-001")
    p0 = await make_ticket(alice, asset, title='桥面 "木板", 腐朽', priority=Priority.P0)
    await make_ticket(alice, asset, title="其他", priority=Priority.P2)
    client = await staff("alice")
    response = await client.get("/tickets/export.csv?priority=P0")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert re.search(r'filename="tickets-\d{8}\.csv"', disposition)
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["id", "asset_code", "title", "status", "priority"]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["id"] == str(p0.id)
    assert row["title"] == '桥面 "木板", 腐朽'
    assert row["asset_code"] == "GX-QL-PH-001"
    assert row["sla_due_at"] == p0.sla_due_at.isoformat()
    # text a spreadsheet would run as a formula is written as plain text
    await make_ticket(alice, asset, title='=HYPERLINK("http://evil.example")', priority=Priority.P3)
    formula = await client.get("/tickets/export.csv?priority=P3")
    cells = list(csv.reader(io.StringIO(formula.content.decode("utf-8-sig"))))[1]
    assert cells[2] == '\'=HYPERLINK("http://evil.example")'
    # every row of a larger set, once
    await seed_tickets(230, now)
    everything = await client.get("/tickets/export.csv?status=")
    body = list(csv.reader(io.StringIO(everything.content.decode("utf-8-sig"))))
    assert len(body) == 1 + 233
    assert len({r[0] for r in body[1:]}) == 233
    assert (await anon.get("/tickets/export.csv")).status_code == 303


async def test_ticket_history_is_shown_on_its_page(staff, personas, now):
    alice = personas["alice"]
    ticket = await make_ticket(alice, title="事件记录")
    await drive_to(ticket.id, Status.ON_HOLD, alice, now)
    client = await staff("dave")
    page = Page((await client.get(f"/tickets/{ticket.id}")).text)
    assert "Acknowledged → On hold" in page.text
    assert "hold: 说明 / reason" in page.text
    assert await AuditEvent.count() >= 3


async def test_calendar_week_view_shows_the_week_of_planned_work(staff, personas):
    alice = personas["alice"]
    asset = await make_asset(code="GX-QL-PH-001")
    planned = await make_ticket(
        alice,
        asset,
        title="更换吊杆",
        planned_start_on=dt.date(2026, 12, 7),
        planned_end_on=dt.date(2026, 12, 15),
    )
    client = await staff("alice")
    response = await client.get("/calendar?week=2026-W50&layers=tickets")  # 7-13 December
    assert response.status_code == 200
    # one bar across the whole week, continuing into the next (the work ends on the 15th)
    assert response.text.count(f'href="/tickets/{planned.id}"') == 1
    assert "/calendar?week=2026-W49&amp;layers=tickets" in response.text
    assert "/calendar?week=2026-W51&amp;layers=tickets" in response.text
    for week in ("2026-W54", "2026-50", "W50", "9999-W01"):
        bad = await client.get(f"/calendar?week={week}")
        assert bad.status_code == 400, week
