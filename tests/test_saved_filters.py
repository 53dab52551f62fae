"""Saved filters: a person saves a list's current filters under a name, finds them as links on
that list, and deletes them; supervisors and admins may share one with everyone. What is stored
is the query as the list's filter schema reads it (known parameters only, checked, defaults and
the page cursor left out), so a saved filter always opens.

Pages are read in English (the ``lang`` cookie) so the assertions name the words a person sees.
"""

from __future__ import annotations

import html
import re

import pytest

from facilities.accounts import saved_filters
from facilities.accounts.tables import SavedFilter
from facilities.errors import ValidationFailed
from facilities.i18n import use_locale
from facilities.saved_filter_pages import LISTS, InspectionListFilters
from facilities.tickets.schemas import TicketFilters
from tests.kit.clients import post_form


@pytest.fixture
async def staff(login):
    """``client = await staff("alice")``: logged in, reading English."""

    async def make(username: str):
        client = await login(username)
        client.cookies.set("lang", "en")
        return client

    return make


def _links(page: str) -> dict[str, str]:
    """The saved filters shown on a list page: name -> link."""
    section = re.search(r'<section class="saved-filters.*?</section>', page, re.S)
    assert section, "the list shows its saved filters"
    return {
        html.unescape(name): html.unescape(href)
        for href, name in re.findall(r'<li>\s*<a href="([^"]*)">([^<]*)</a>', section.group(0))
    }


async def _save(client, name: str, query: str, list_key: str = "tickets", **extra: str):
    return await post_form(
        client, "/saved-filters", {"list": list_key, "name": name, "query": query, **extra}
    )


async def _id_of(name: str) -> int:
    row = await SavedFilter.select(SavedFilter.id).where(SavedFilter.name == name).first()
    assert row is not None, name
    return int(row["id"])


# --- what is kept -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "query", "kept"),
    [
        # unknown parameters, the cursor, defaults and blanks are left out; values canonical
        (
            TicketFilters,
            "bogus=1&after=abc&priority=P1&status=open&site=&q=+bridge+",
            "q=bridge&priority=P1",
        ),
        (TicketFilters, "status=", "status="),  # "any status" is not the default ("open")
        (TicketFilters, "overdue=on&per_page=100&sort=due", "overdue=true&sort=due&per_page=100"),
        (TicketFilters, "priority=P1&priority=P3", "priority=P1"),  # the first, as the list
        (InspectionListFilters, "mine=true&overdue=yes&asset=", "mine=true&overdue=true"),
        (LISTS["assets"].schema, "type=footbridge&page=3&per_page=25", "type=footbridge"),
        (TicketFilters, "", ""),
    ],
)
def test_a_query_is_kept_as_its_list_reads_it(schema, query, kept):
    assert saved_filters.normalise(schema, query) == kept


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("priority=P9", "Some filters are not valid: priority"),
        ("site=abc&per_page=0", "Some filters are not valid: site, per_page"),
        ("q=" + "x" * 101, "Some filters are not valid: q"),
        ("q=%00", "Some filters are not valid: q"),
        ("q=" + "x" * 2001, "These filters are too long to save."),
    ],
)
def test_a_query_the_list_would_refuse_is_refused_with_its_reason(query, message):
    with use_locale("en"), pytest.raises(ValidationFailed) as refused:
        saved_filters.normalise(TicketFilters, query)
    assert refused.value.detail == message


# --- the pages --------------------------------------------------------------------------------


async def test_save_list_apply_and_delete_on_the_ticket_list(staff):
    alice = await staff("alice")
    response = await _save(alice, "Urgent ones", "priority=P1&after=xyz&bogus=1")
    assert response.status_code == 303
    assert response.headers["location"] == "/tickets?priority=P1"
    page = await alice.get("/tickets")
    assert "Saved filters" in page.text
    assert _links(page.text) == {"Urgent ones": "/tickets?priority=P1"}
    applied = await alice.get("/tickets?priority=P1")
    assert applied.status_code == 200
    # the form on the list saves the list's current filters
    assert 'name="query" value="priority=P1"' in applied.text

    saved_id = await _id_of("Urgent ones")
    deleted = await post_form(alice, f"/saved-filters/{saved_id}/delete", {})
    assert deleted.status_code == 303 and deleted.headers["location"] == "/tickets"
    assert _links((await alice.get("/tickets")).text) == {}
    assert await SavedFilter.count() == 0


async def test_each_list_has_its_own_saved_filters(staff):
    bob = await staff("bob")
    assert (await _save(bob, "Mine overdue", "mine=true&overdue=true", "inspections")).headers[
        "location"
    ] == "/inspections?mine=true&overdue=true"
    assert (await _save(bob, "Footbridges", "type=footbridge&page=2", "assets")).headers[
        "location"
    ] == "/assets?type=footbridge"
    assert (await _save(bob, "Due first", "sort=due", "mine")).status_code == 303
    assert _links((await bob.get("/inspections")).text) == {
        "Mine overdue": "/inspections?mine=true&overdue=true"
    }
    assert _links((await bob.get("/assets")).text) == {"Footbridges": "/assets?type=footbridge"}
    assert _links((await bob.get("/tickets/mine")).text) == {"Due first": "/tickets/mine?sort=due"}
    assert _links((await bob.get("/tickets")).text) == {}
    for url in ("/inspections?mine=true&overdue=true", "/assets?type=footbridge"):
        assert (await bob.get(url)).status_code == 200


async def test_a_private_filter_is_its_owners_alone(staff):
    alice, bob = await staff("alice"), await staff("bob")
    await _save(alice, "Alice only", "priority=P0")
    assert "Alice only" not in (await bob.get("/tickets")).text
    saved_id = await _id_of("Alice only")
    refused = await post_form(bob, f"/saved-filters/{saved_id}/delete", {})
    assert refused.status_code == 404  # someone else's private filter is not there for bob
    admin = await staff("admin")
    assert (await post_form(admin, f"/saved-filters/{saved_id}/delete", {})).status_code == 404
    assert await SavedFilter.count() == 1
    # and the same name is free for someone else
    assert (await _save(bob, "Alice only", "priority=P1")).status_code == 303


async def test_supervisors_share_filters_everyone_sees_them(staff):
    alice, bob, carol = await staff("alice"), await staff("bob"), await staff("carol")
    assert (await _save(alice, "Bureau P0", "priority=P0", shared="true")).status_code == 303
    assert 'id="saved-filter-shared"' in (await alice.get("/tickets")).text
    page = (await bob.get("/tickets")).text
    assert _links(page) == {"Bureau P0": "/tickets?priority=P0"}
    assert "shared by Alice" in page
    assert 'id="saved-filter-shared"' not in page  # bob may not share
    assert "/saved-filters/" not in page  # nor delete alice's shared one
    saved_id = await _id_of("Bureau P0")
    assert (await post_form(bob, f"/saved-filters/{saved_id}/delete", {})).status_code == 403
    # crew may not share
    refused = await _save(carol, "Crew share", "priority=P1", shared="true")
    assert refused.status_code == 403
    assert "Only supervisors and administrators share filters." in refused.text
    # an admin may delete a shared one
    admin = await staff("admin")
    assert (await post_form(admin, f"/saved-filters/{saved_id}/delete", {})).status_code == 303
    assert await SavedFilter.count() == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"list": "tickets", "name": "Bad", "query": "priority=P9"}, "not valid: priority"),
        ({"list": "closures", "name": "X", "query": ""}, "Filters of this list cannot be saved."),
        ({"list": "tickets", "name": "   ", "query": ""}, "Give the filter a name."),
        ({"list": "tickets", "name": "x" * 81, "query": ""}, "at most 80 characters"),
        ({"list": "inspections", "name": "A", "query": "asset=abc"}, "not valid: asset"),
    ],
)
async def test_bad_input_is_refused_with_a_clear_message(staff, data, message):
    alice = await staff("alice")
    response = await post_form(alice, "/saved-filters", data)
    assert response.status_code == 400
    assert "text/html" in response.headers["content-type"]
    assert message in html.unescape(response.text)
    assert await SavedFilter.count() == 0


async def test_a_name_is_used_once_per_person_and_list(staff):
    alice = await staff("alice")
    assert (await _save(alice, "Urgent", "priority=P1")).status_code == 303
    again = await _save(alice, "  Urgent ", "priority=P0")
    assert again.status_code == 400
    assert "You already have a filter named “Urgent” on this list." in html.unescape(again.text)
    assert (await _save(alice, "Urgent", "mine=true", "inspections")).status_code == 303
    assert await SavedFilter.count() == 2


async def test_hostile_names_are_shown_as_text(staff):
    alice = await staff("alice")
    name = '<script>alert("x")</script> & "quotes"'
    assert (await _save(alice, name, "q=<b>bold</b>", shared="true")).status_code == 303
    for who in ("alice", "dave"):
        page = (await (await staff(who)).get("/tickets")).text
        assert "<script>alert" not in page and "<b>bold" not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;quotes&#34;" in page
        assert _links(page) == {name: "/tickets?q=%3Cb%3Ebold%3C%2Fb%3E"}


async def test_an_anonymous_visitor_is_sent_to_log_in(anon):
    response = await post_form(anon, "/saved-filters", {"list": "tickets", "name": "x"})
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert await SavedFilter.count() == 0
