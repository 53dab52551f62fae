"""Every text response names its charset once: Litestar adds ``; charset=utf-8`` to each
``text/*`` type itself, so a handler that names it too sent ``charset=utf-8; charset=utf-8``,
which strict clients (and some spreadsheet imports) refuse. Downloads carry the local date."""

from __future__ import annotations

import datetime as dt

import pytest

from facilities.inspections import services as inspections
from facilities.inspections.tables import Team
from tests.kit.constants import TEST_SECRET

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
