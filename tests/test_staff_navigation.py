"""Navigation and pickers offer only what can be used (issue 16): every link in the staff
navigation answers 200 for the person it is shown to, what a role may not open is not shown, and
the assignee and inspector pickers offer only people whose role may do that work."""

from __future__ import annotations

import re

import pytest

from tests.kit.personas import PERSONAS

NAV = re.compile(r'<nav class="container nav"[^>]*>(.*?)</nav>', re.DOTALL)
HREF = re.compile(r'<a href="(/[^"]*)"')


@pytest.mark.parametrize("username", sorted(PERSONAS))
async def test_every_navigation_link_opens_for_the_role_it_is_shown_to(login, username):
    client = await login(username)
    page = await client.get("/assets")
    assert page.status_code == 200
    nav = NAV.search(page.text)
    assert nav is not None
    links = sorted(set(HREF.findall(nav.group(1))))
    assert "/assets" in links
    for link in links:
        assert (await client.get(link)).status_code == 200, (username, link)


@pytest.mark.parametrize(
    ("username", "shown"), [("alice", True), ("bob", True), ("carol", False), ("dave", False)]
)
async def test_the_reports_queue_is_offered_only_to_those_who_triage(login, username, shown):
    client = await login(username)
    nav = NAV.search((await client.get("/assets")).text)
    assert nav is not None
    assert ('href="/triage"' in nav.group(1)) is shown


def _choices(html: str, name: str) -> set[str]:
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.DOTALL)
    assert select is not None, name
    return set(re.findall(r"<option value=\"\d+\"[^>]*>([^<]+)</option>", select.group(1)))


async def test_pickers_offer_only_people_who_may_do_the_work(login):
    alice = await login("alice")
    ticket_form = (await alice.get("/tickets/new")).text
    assert _choices(ticket_form, "assignee_id") == {"Admin", "Alice", "Bob", "Carol"}  # no Dave
    inspection_form = (await alice.get("/inspections/new")).text
    assert _choices(inspection_form, "inspector_id") == {"Admin", "Alice", "Bob"}
