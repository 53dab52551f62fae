"""Bulk actions on the ticket list: assign, set the priority, schedule, previewed first, then
confirmed. The preview says per ticket what changes (old -> new) and what is left alone and
why; confirming changes each ticket through the edit form's service (audit, SLA, the same
guards) at the version the preview showed, so a ticket changed since is a conflict, left alone.

Pages are read in English (the ``lang`` cookie) so the assertions name the words a person sees.
"""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from facilities.accounts.tables import SubmissionRecord
from facilities.audit.tables import AuditEvent
from facilities.errors import PermissionDenied, ValidationFailed
from facilities.i18n import use_locale
from facilities.tickets import services as tickets
from facilities.tickets.choices import Priority, Status
from facilities.tickets.schemas import TicketIn
from facilities.tickets.services import bulk
from facilities.tickets.services.bulk import BulkAction, BulkChange, Line
from facilities.tickets.tables import RepairTicket
from tests.kit.assets import make_asset
from tests.kit.clients import post_form
from tests.kit.tickets import audit_count, changes_of, drive_to, last_event, make_ticket

LEFT_ALONE_SAME = "Already so: nothing to change."
FINISHED = "A finished ticket cannot be edited."
CONFLICT = "Changed by someone else since the preview, so left alone: preview it again."


@pytest.fixture
def in_english():
    """Service messages in English (the services translate as they refuse)."""
    with use_locale("en"):
        yield


@pytest.fixture
async def staff(login):
    """``client = await staff("alice")``: logged in, reading English."""

    async def make(username: str):
        client = await login(username)
        client.cookies.set("lang", "en")
        return client

    return make


async def _known_set(personas, now):
    """Four tickets on one asset: two at P2, one already P1, one closed (was P2)."""
    alice = personas["alice"]
    asset = await make_asset()
    first = await make_ticket(alice, asset, now, title="Loose plank", priority=Priority.P2)
    second = await make_ticket(alice, asset, now, title="Rusty rail", priority=Priority.P2)
    same = await make_ticket(alice, asset, now, title="Broken lamp", priority=Priority.P1)
    closed = await make_ticket(alice, asset, now, title="Old crack", priority=Priority.P2)
    closed = await drive_to(closed.id, Status.CLOSED, alice, now)
    return first, second, same, closed


async def _versions(*ids: int) -> dict[int, int]:
    rows = await RepairTicket.select(RepairTicket.id, RepairTicket.version).where(
        RepairTicket.id.is_in(list(ids))
    )
    return {r["id"]: r["version"] for r in rows}


def _confirm_fields(page: str) -> list[tuple[str, str]]:
    """The hidden fields of the preview's confirm form, as a browser would send them."""
    form = re.search(r'<form method="post" action="/tickets/bulk/confirm".*?</form>', page, re.S)
    assert form, "the preview offers a confirm form"
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(0))
    return [(name, html.unescape(value)) for name, value in fields]


# --- the service ----------------------------------------------------------------------------


async def test_the_preview_lists_each_change_and_each_ticket_left_alone(personas, now, in_english):
    first, second, same, closed = await _known_set(personas, now)
    before = await _versions(first.id, second.id, same.id, closed.id)
    audits = await AuditEvent.count()
    result = await bulk.preview(
        personas["alice"],
        [first.id, same.id, closed.id, 999_999, second.id],
        BulkChange(action=BulkAction.PRIORITY, priority=Priority.P1),
        now,
    )
    assert result.lines == (
        Line(first.id, "Loose plank", before[first.id], (("priority", "P2", Priority.P1),)),
        Line(same.id, "Broken lamp", before[same.id], (), LEFT_ALONE_SAME),
        Line(closed.id, "Old crack", before[closed.id], (), FINISHED),
        Line(999_999, "", 0, (), "No such ticket."),
        Line(second.id, "Rusty rail", before[second.id], (("priority", "P2", Priority.P1),)),
    )
    assert [line.ticket_id for line in result.changing] == [first.id, second.id]
    assert await _versions(first.id, second.id, same.id, closed.id) == before
    assert await AuditEvent.count() == audits  # a preview writes nothing


async def test_confirming_changes_each_ticket_through_the_edit_service(personas, now):
    """Priority: the SLA due date moves (from the creation time) and each ticket gets its own
    audit event, as the edit form does."""
    alice = personas["alice"]
    first, second, _same, _closed = await _known_set(personas, now)
    later = now + dt.timedelta(hours=3)
    versions = await _versions(first.id, second.id)
    result = await bulk.apply(
        alice, versions, BulkChange(action=BulkAction.PRIORITY, priority=Priority.P0), later
    )
    assert [line.ticket_id for line in result.changing] == [first.id, second.id]
    assert result.skipped == []
    for ticket_id in (first.id, second.id):
        ticket = await tickets.find_ticket(ticket_id)
        assert ticket is not None
        assert ticket.priority == Priority.P0
        assert ticket.sla_due_at == await tickets.due_at(Priority.P0, ticket.created_at)
        assert ticket.version == versions[ticket_id] + 1
        event = await last_event(ticket_id, "ticket.updated")
        assert event["actor"] == alice.id
        assert changes_of(event) == {"priority": ["P2", "P0"]}


async def test_assigning_sets_the_person_and_the_team_and_keeps_the_rest(personas, now, in_english):
    alice, carol = personas["alice"], personas["carol"]
    first, second, _same, _closed = await _known_set(personas, now)
    await tickets.update_ticket(
        alice,
        second.id,
        TicketIn(
            asset_id=second.asset,
            title="Rusty rail",
            priority=Priority.P2,
            assignee_id=carol.id,
            assignee_team="Bridge crew",
            contractor="Hengtai",
            version=second.version,
        ),
        now,
    )
    change = BulkChange(action=BulkAction.ASSIGN, assignee_id=carol.id, assignee_team="Bridge crew")
    preview = await bulk.preview(alice, [first.id, second.id], change, now)
    assert preview.lines[0].changes == (
        ("assignee_id", None, carol.id),
        ("assignee_team", "", "Bridge crew"),
    )
    assert preview.lines[1].skipped == LEFT_ALONE_SAME
    await bulk.apply(alice, {first.id: first.version}, change, now)
    ticket = await tickets.find_ticket(first.id)
    assert ticket is not None
    assert (ticket.assignee, ticket.assignee_team, ticket.title, ticket.priority) == (
        carol.id,
        "Bridge crew",
        "Loose plank",
        Priority.P2,
    )


async def test_scheduling_sets_planned_dates_and_refuses_what_the_edit_form_refuses(
    personas, now, in_english
):
    alice = personas["alice"]
    first, second, _same, _closed = await _known_set(personas, now)
    start, end = dt.date(2026, 12, 10), dt.date(2026, 12, 12)
    await bulk.apply(
        alice,
        {first.id: first.version},
        BulkChange(action=BulkAction.SCHEDULE, planned_start_on=start, planned_end_on=end),
        now,
    )
    ticket = await tickets.find_ticket(first.id)
    assert ticket is not None
    assert (ticket.planned_start_on, ticket.planned_end_on) == (start, end)
    # only the end, before the start that first now has: left alone, said why
    early_end = BulkChange(action=BulkAction.SCHEDULE, planned_end_on=dt.date(2026, 12, 1))
    result = await bulk.preview(alice, [first.id], early_end, now)
    assert result.lines[0].skipped == "The planned end cannot be before the planned start."
    # beyond the date horizon (5 years by default): the horizon's own message
    far = BulkChange(action=BulkAction.SCHEDULE, planned_start_on=dt.date(2040, 1, 1))
    result = await bulk.preview(alice, [second.id], far, now)
    assert "Planned start" in result.lines[0].skipped
    outcome = await bulk.apply(alice, {second.id: second.version}, far, now)
    assert outcome.changing == [] and outcome.skipped[0].skipped == result.lines[0].skipped
    assert (await tickets.find_ticket(second.id)).planned_start_on is None  # type: ignore[union-attr]


async def test_a_ticket_changed_after_the_preview_is_a_conflict_and_left_alone(
    personas, now, in_english
):
    alice, admin = personas["alice"], personas["admin"]
    first, second, _same, _closed = await _known_set(personas, now)
    change = BulkChange(action=BulkAction.PRIORITY, priority=Priority.P3)
    preview = await bulk.preview(alice, [first.id, second.id], change, now)
    seen = {line.ticket_id: line.version for line in preview.changing}
    # between the preview and the confirm, the admin retitles the first ticket
    await tickets.update_ticket(
        admin,
        first.id,
        TicketIn(asset_id=first.asset, title="Loose plank, two", priority=Priority.P2, version=1),
        now,
    )
    result = await bulk.apply(alice, seen, change, now)
    assert [(line.ticket_id, line.skipped) for line in result.lines] == [
        (first.id, CONFLICT),
        (second.id, ""),
    ]
    kept = await tickets.find_ticket(first.id)
    assert kept is not None
    assert (kept.title, kept.priority) == ("Loose plank, two", Priority.P2)
    assert (await tickets.find_ticket(second.id)).priority == Priority.P3  # type: ignore[union-attr]


async def test_the_selection_is_checked_and_capped(in_english):
    assert bulk.selected_ids(["3", " 1", "3"]) == [3, 1]
    for raw, message in [
        ([], "Select at least one ticket."),
        (["abc"], "The selection holds something that is not a ticket."),
        (["0"], "The selection holds something that is not a ticket."),
        (["99999999999"], "The selection holds something that is not a ticket."),
        (
            [str(i) for i in range(1, 202)],
            "Select at most 200 tickets at a time (201 were selected).",
        ),
    ]:
        with pytest.raises(ValidationFailed) as refused:
            bulk.selected_ids(raw)
        assert refused.value.detail == message
    assert len(bulk.selected_ids([str(i) for i in range(1, 201)])) == bulk.MAX_SELECTION


# --- the pages ------------------------------------------------------------------------------


async def test_the_list_offers_the_bulk_form_to_editors_only(staff, personas, now):
    await make_ticket(personas["alice"], now=now)
    alice = await staff("alice")
    page = (await alice.get("/tickets")).text
    assert 'action="/tickets/bulk/preview"' in page
    assert "Select all on this page" in page and "/static/js/bulk_select.js" in page
    for who in ("carol", "dave"):
        client = await staff(who)
        page = (await client.get("/tickets")).text
        assert "/tickets/bulk/preview" not in page and 'name="ticket"' not in page


async def test_preview_then_confirm_in_the_browser_flow_applies_once(staff, personas, now):
    first, _second, same, closed = await _known_set(personas, now)
    client = await staff("alice")
    response = await post_form(
        client,
        "/tickets/bulk/preview",
        {
            "ticket": [str(first.id), str(same.id), str(closed.id)],
            "action": "priority",
            "priority": "P1",
            "back": "/tickets?priority=P2",
        },
    )
    assert response.status_code == 200, response.text
    page = response.text
    assert "1 ticket will change." in page and "2 tickets will be left alone." in page
    assert "Priority: P2 · normal → P1 · urgent" in page
    assert LEFT_ALONE_SAME in page and FINISHED in page
    fields = _confirm_fields(page)
    assert ("item", f"{first.id}:{first.version}") in fields
    assert not any(v.startswith(f"{same.id}:") for k, v in fields if k == "item")
    assert ("back", "/tickets?priority=P2") in fields
    audits = await audit_count(first.id)

    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    done = await post_form(client, "/tickets/bulk/confirm", data)
    assert done.status_code == 200, done.text
    assert "1 ticket changed." in done.text and "0 tickets skipped." in done.text
    again = await post_form(client, "/tickets/bulk/confirm", data)  # a double tap
    assert again.status_code == 200
    assert again.headers.get("idempotent-replayed") == "true"
    assert await audit_count(first.id) == audits + 1
    assert await SubmissionRecord.count() == 1

    # the same form sent again with a new key (a reload): the version is stale now
    data["_submission"] = ["another-key"]
    resent = await post_form(client, "/tickets/bulk/confirm", data)
    assert resent.status_code == 200
    assert "0 tickets changed." in resent.text and CONFLICT in resent.text
    assert await audit_count(first.id) == audits + 1
    ticket = await tickets.find_ticket(first.id)
    assert ticket is not None and ticket.priority == Priority.P1


async def test_select_all_on_the_page_takes_every_ticket_of_the_page(staff, personas, now):
    first, second, _same, _closed = await _known_set(personas, now)
    client = await staff("alice")
    response = await post_form(
        client,
        "/tickets/bulk/preview",
        {
            "all_on_page": "true",
            "page_ticket": [str(first.id), str(second.id)],
            "action": "priority",
            "priority": "P3",
        },
    )
    assert response.status_code == 200
    items = [v for k, v in _confirm_fields(response.text) if k == "item"]
    assert items == [f"{first.id}:{first.version}", f"{second.id}:{second.version}"]


async def test_crew_and_viewers_are_refused_and_nothing_changes(staff, personas, now):
    first, *_rest = await _known_set(personas, now)
    for who in ("carol", "dave", "bob"):
        client = await staff(who)
        preview = await post_form(
            client,
            "/tickets/bulk/preview",
            {"ticket": str(first.id), "action": "priority", "priority": "P0"},
        )
        assert preview.status_code == 403, who
        confirm = await post_form(
            client,
            "/tickets/bulk/confirm",
            {"item": f"{first.id}:{first.version}", "action": "priority", "priority": "P0"},
        )
        assert confirm.status_code == 403, who
    change = BulkChange(action=BulkAction.PRIORITY, priority=Priority.P0)
    for who in ("carol", "dave", "bob"):  # the service refuses them too, whatever the page does
        with pytest.raises(PermissionDenied):
            await bulk.preview(personas[who], [first.id], change, now)
        with pytest.raises(PermissionDenied):
            await bulk.apply(personas[who], {first.id: first.version}, change, now)
    ticket = await tickets.find_ticket(first.id)
    assert ticket is not None and ticket.priority == Priority.P2
    assert ticket.version == first.version


@pytest.mark.parametrize(
    ("url", "data", "message"),
    [
        (
            "/tickets/bulk/preview",
            {"ticket": [str(i) for i in range(1, 202)], "action": "priority", "priority": "P1"},
            "Select at most 200 tickets at a time (201 were selected).",
        ),
        ("/tickets/bulk/preview", {"action": "priority", "priority": "P1"}, "Select at least"),
        ("/tickets/bulk/preview", {"ticket": "1", "action": "explode"}, "Choose one of"),
        ("/tickets/bulk/preview", {"ticket": "x", "action": "priority"}, "not a ticket"),
        ("/tickets/bulk/preview", {"ticket": "1", "action": "priority"}, "Choose the priority"),
        ("/tickets/bulk/preview", {"ticket": "1", "action": "assign"}, "a person or give a team"),
        ("/tickets/bulk/preview", {"ticket": "1", "action": "schedule"}, "planned start or end"),
        (
            "/tickets/bulk/preview",
            {"ticket": "1", "action": "schedule", "planned_start_on": "2026-13-01"},
            "",
        ),
        ("/tickets/bulk/confirm", {"item": "1:x", "action": "priority"}, "not a ticket"),
        ("/tickets/bulk/confirm", {"action": "priority", "priority": "P1"}, "Select at least"),
    ],
)
async def test_bad_bulk_input_is_a_clear_400(staff, url, data, message):
    client = await staff("alice")
    response = await post_form(client, url, data)
    assert response.status_code == 400, response.text
    assert "text/html" in response.headers["content-type"]
    assert message in html.unescape(response.text)
    assert "Traceback" not in response.text


async def test_the_preview_reads_in_chinese_by_default(login, personas, now):
    first, *_rest = await _known_set(personas, now)
    client = await login("alice")
    response = await post_form(
        client,
        "/tickets/bulk/preview",
        {"ticket": str(first.id), "action": "priority", "priority": "P1"},
    )
    assert response.status_code == 200
    assert 'lang="zh' in response.text


@pytest.mark.browser
def test_select_all_preview_and_confirm_in_the_browser(server, page):
    """The header box ticks every row (static/js/bulk_select.js); the preview lists them and
    confirming changes them all."""
    from tests.kit.browser import log_in

    log_in(page, server, "alice")
    page.goto(f"{server}/tickets?priority=P2")
    rows = page.locator('#bulk-form input[name="ticket"]')
    count = rows.count()
    assert count > 0
    page.check("#bulk-all")
    assert all(rows.nth(i).is_checked() for i in range(count))
    page.select_option("#bulk-action", "priority")
    page.select_option("#bulk-priority", "P3")
    page.click("#bulk-form fieldset.bulk-actions button[type=submit]")
    page.wait_for_url(f"{server}/tickets/bulk/preview")
    assert page.locator("table.bulk-changes tbody tr").count() == count
    page.click('form[action="/tickets/bulk/confirm"] button[type=submit]')
    page.wait_for_url(f"{server}/tickets/bulk/confirm")
    assert page.locator("table.bulk-changes tbody tr").count() == count
    assert page.locator("table.bulk-skipped").count() == 0
    page.goto(f"{server}/tickets?priority=P2")
    assert page.locator('#bulk-form input[name="ticket"]').count() == 0


async def test_a_preview_with_nothing_to_change_offers_no_confirm(staff, personas, now):
    _first, _second, same, closed = await _known_set(personas, now)
    client = await staff("alice")
    response = await post_form(
        client,
        "/tickets/bulk/preview",
        {"ticket": [str(same.id), str(closed.id)], "action": "priority", "priority": "P1"},
    )
    assert response.status_code == 200
    assert "None of the selected tickets would change." in response.text
    assert "/tickets/bulk/confirm" not in response.text
    assert 'href="/tickets"' in response.text  # back to the list
