"""Nothing internal may ever reach a public page or feed.

The story's repair tickets, comments, staff and closure carry distinctive internal values (a
ticket title, costs, a contractor and its contact, an internal comment, staff names and e-mail
addresses, a reporter's e-mail, a draft notice, an override reason); every public page and every
feed, in both languages, is scanned for each of them.
"""

from __future__ import annotations

from decimal import Decimal

from facilities.closures import public
from tests.kit.clients import client_for_app, log_in
from tests.kit.public_story import SECRETS, Story


def _variants(value: str) -> set[str]:
    """The value as typed, and the ways a template could have formatted a number."""
    found = {value}
    try:
        number = Decimal(value)
    except ArithmeticError:
        return found
    found |= {f"{number:,.2f}", f"{number:,.0f}", str(int(number)), f"{int(number):,}"}
    return found


def _public_urls(story: Story) -> list[str]:
    closures = [story.closure.id, story.planned.id, story.reopened.id]
    assets = [story.bridge.id, story.boardwalk.id, story.reopened.asset]
    sites = [story.site.id, story.other_site.id]
    return [
        "/",
        "/notices",
        *(f"/notices/{c}" for c in closures),
        *(f"/facilities/{a}" for a in assets),
        *(f"/notices/sites/{s}" for s in sites),
        "/subscriptions",
        "/subscriptions/requested",
        "/feeds/notices.atom",
        *(f"/feeds/sites/{s}.atom" for s in sites),
        *(f"/feeds/facilities/{a}.atom" for a in assets),
        "/feeds/closures.ics",
        "/feeds/closures.geojson",
        "/feeds/closures.wzdx.geojson",
        f"/feeds/cap/{story.closure.id}.xml",
    ]


async def test_no_internal_value_on_any_public_page_or_feed(anon, story):
    urls = _public_urls(story)
    scanned = 0
    for url in urls:
        for cookies in ({}, {"lang": "en"}):
            query = "?lang=en" if cookies and url.startswith("/feeds/") else ""
            response = await anon.get(url + query, cookies=cookies)
            assert response.status_code == 200, url
            body = response.content.decode()
            for what, value in SECRETS.items():
                for variant in _variants(value):
                    assert variant not in body, f"{what} ({variant!r}) leaked on {url}{query}"
            assert "@bureau.example" not in body, f"a staff address leaked on {url}"
            scanned += 1
    assert scanned == 2 * len(urls)


async def test_public_pages_show_the_public_facts_of_the_same_records(anon, story):
    """The scan above would pass on empty pages: check the pages did show the story."""
    page = await anon.get(f"/notices/{story.closure.id}", cookies={"lang": "en"})
    assert "New timber deck" in page.text  # the public label of the ticket whose title is secret
    assert "In progress" in page.text
    feed = await anon.get("/feeds/notices.atom")
    assert "湖面已布设两层滤网" in feed.text


def test_public_views_select_no_internal_column():
    closure = {c._meta.name for c in public.CLOSURE_COLUMNS}
    asset = {c._meta.name for c in public.ASSET_COLUMNS}
    for internal in ("created_by", "signed_off_by", "override_reason", "version", "lifted_at"):
        assert internal not in closure
    for internal in ("description", "location_note", "maintenance_class", "condition_grade"):
        assert internal not in asset


async def test_the_rendered_page_cache_never_serves_a_staff_page_to_a_citizen(app, anon, story):
    async with client_for_app(app) as alice:
        await log_in(alice, "alice")
        await alice.get("/")  # shows (and clears) any message waiting after the login
        staff_page = await alice.get("/")
    assert 'href="/assets"' in staff_page.text  # the staff link in the header
    citizen = await anon.get("/", headers={"If-None-Match": staff_page.headers["etag"]})
    assert citizen.status_code == 200
    assert 'href="/assets"' not in citizen.text
    assert citizen.headers["etag"] != staff_page.headers["etag"]
