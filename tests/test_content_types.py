"""Every text response names its charset once: Litestar adds ``; charset=utf-8`` to each
``text/*`` type itself, so a handler that names it too sent ``charset=utf-8; charset=utf-8``,
which strict clients (and some spreadsheet imports) refuse. Downloads carry the local date."""

from __future__ import annotations

import datetime as dt

import pytest

from facilities.inspections import services as inspections
from facilities.inspections.tables import Team
from tests.kit.constants import TEST_SECRET
from tests.kit.routes import app_routes
from tests.test_public_leaks import _public_urls

STAFF_URLS = ["/tickets/export.csv", "/assets/export.csv", "/tickets", "/assets"]
PUBLIC_URLS = [
    "/",
    "/notices",
    "/feeds/closures.ics",
    "/feeds/notices.atom",
    "/open311/v2/discovery.xml",
    "/open311/v2/services.xml",
    "/healthz",
]


def one_charset(content_type: str) -> bool:
    return content_type.lower().count("charset") <= 1


def charsets(content_type: str) -> list[str]:
    """The charset parameters of a Content-Type value, in order."""
    params = (part.strip().partition("=") for part in content_type.split(";")[1:])
    return [value.strip().lower() for name, _eq, value in params if name.lower() == "charset"]


def test_no_handler_names_the_charset_of_a_text_type(app):
    """The doubled charset at its source: Litestar appends ``; charset=utf-8`` to every
    ``text/*`` media type a handler declares, so a declared one must not name it."""
    named = [
        f"{route}: {handler.media_type}"
        for route, handler in app_routes(app).items()
        if str(handler.media_type).startswith("text/")
        and "charset" in str(handler.media_type).lower()
    ]
    assert named == []


async def test_every_public_page_and_feed_names_exactly_one_charset(anon, story):
    """Every public HTML page and feed, in both languages: exactly one ``charset=utf-8``; the
    GeoJSON feeds none (JSON is UTF-8 by definition and its media types define no charset)."""
    seen: set[str] = set()
    for url in _public_urls(story):
        for query in ("", "?lang=en"):
            response = await anon.get(url + query)
            assert response.status_code == 200, url
            content_type = response.headers["content-type"]
            media_type = content_type.split(";")[0]
            expected = [] if media_type.endswith("json") else ["utf-8"]
            assert charsets(content_type) == expected, f"{url}{query}: {content_type}"
            seen.add(media_type)
    assert seen == {
        "text/html",
        "application/atom+xml",
        "text/calendar",
        "application/geo+json",
        "application/cap+xml",
    }


async def test_error_pages_name_exactly_one_charset(anon):
    for url in ("/no-such-page", "/notices/999999", "/feeds/sites/999999.atom"):
        response = await anon.get(url)
        assert response.status_code == 404, url
        assert charsets(response.headers["content-type"]) == ["utf-8"], url


@pytest.mark.parametrize("url", PUBLIC_URLS)
async def test_public_responses_name_their_charset_once(anon, url):
    response = await anon.get(url)
    assert response.status_code == 200, response.text
    assert one_charset(response.headers["content-type"]), response.headers["content-type"]


@pytest.mark.parametrize("url", STAFF_URLS)
async def test_staff_responses_name_their_charset_once(login, url):
    client = await login("alice")
    response = await client.get(url)
    assert response.status_code == 200, response.text
    assert one_charset(response.headers["content-type"]), response.headers["content-type"]


async def test_the_team_calendar_names_its_charset_once(anon, personas):
    rows = await Team.insert(Team(name="桥梁巡检一队", email="bridges@bureau.example")).returning(
        Team.id
    )
    team = int(rows[0]["id"])
    token = inspections.team_token(team, TEST_SECRET)
    response = await anon.get(f"/inspections/calendar.ics?team={team}&token={token}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"


async def test_csv_downloads_are_named_after_the_local_date(login, clock):
    # 23:30 UTC on 6 December is 07:30 on 7 December in Shanghai.
    clock.set(dt.datetime(2026, 12, 6, 23, 30, tzinfo=dt.UTC), frozen=True)
    client = await login("alice")
    for url, stem in (("/tickets/export.csv", "tickets"), ("/assets/export.csv", "assets")):
        response = await client.get(url)
        assert response.status_code == 200
        assert response.headers["content-disposition"] == (
            f'attachment; filename="{stem}-20261207.csv"'
        )
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
