"""The staff asset map in the system Chromium (Playwright), against a real `facilities serve`.

The demo plus 40 assets of our own in a grid inside Hengyang's high-tech zone. With no tile
source (the default) the map draws a marker (or a cluster) for every placed asset in view, asks
for the visible box only, asks again when a filter changes, and not a single request leaves
loopback. The inspector's day draws its numbered stops.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.kit.browser import Server, log_in, pages_for, start_server

pytestmark = pytest.mark.browser

GRID = 40  # assets of ours: 8 x 5, 60 m apart, grades A..E in turn
ORIGIN = (112.5900, 26.9050)  # lng, lat


async def seed_grid(shift_seconds: float) -> dict[str, Any]:
    from facilities.assets.choices import AssetType
    from tests.kit.assets import make_asset, make_site

    site = await make_site("地图网格园", name_en="Grid Park")
    for index in range(GRID):
        row, col = divmod(index, 8)
        await make_asset(
            site,
            code=f"GX-GRID-{index:03d}",
            name_zh=f"网格设施{index}",
            asset_type=AssetType.PAVILION,
            lng=round(ORIGIN[0] + col * 0.0006, 6),
            lat=round(ORIGIN[1] + row * 0.0006, 6),
            condition_grade="ABCDE"[index % 5],
        )
    return {"site": site.id}


@pytest.fixture(scope="module")
def map_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with start_server(
        tmp_path_factory.mktemp("staff-map"), seed="tests.test_staff_maps_browser:seed_grid"
    ) as running:
        yield running


@pytest.fixture
def desktop(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    with pages_for(request, browser) as pages:
        yield pages.open("desktop", "zh-CN", reduced_motion="reduce")


def drawn_count(section: Any) -> int:
    """Markers on the map plus the assets counted inside clusters."""
    markers = section.locator(".staff-marker").count()
    counted = sum(int(t.strip()) for t in section.locator(".map-cluster").all_inner_texts())
    return markers + counted


def test_the_asset_map_draws_the_seeded_assets_and_stays_on_loopback(map_server, desktop):
    from playwright.sync_api import expect

    base, page = map_server.url, desktop
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    log_in(page, base, "alice")

    site = map_server.seeded["site"]
    page.goto(f"{base}/assets/map?site={site}")
    section = page.locator("#staff-map")
    expect(section).to_be_visible()
    expect(section).to_have_attribute("data-drawn", str(GRID))
    assert drawn_count(section) == GRID
    expect(section.locator(".staff-map-status")).to_contain_text(str(GRID))
    assert page.locator(".leaflet-tile").count() == 0  # no tile source: no tiles at all
    # every grade's colour is used, and the legend says each in words
    for grade in "ABCDE":
        expect(section.locator(f".staff-grade-{grade}").first).to_be_attached()

    # the data request named the visible box and the site
    data = [u for u in requests if urlsplit(u).path == "/assets/map.json"]
    assert data
    query = parse_qs(urlsplit(data[-1]).query)
    west, south, east, north = (float(n) for n in query["bbox"][0].split(","))
    assert west <= ORIGIN[0] and south <= ORIGIN[1] and east >= ORIGIN[0] and north >= ORIGIN[1]
    assert query["site"] == [str(site)]

    # a filter asks again: grade A is one asset in five
    before = int(section.get_attribute("data-requests") or "0")
    page.select_option("#grade", "A")
    page.wait_for_function(
        "n => Number(document.querySelector('#staff-map').dataset.requests) > n", arg=before
    )
    expect(section).to_have_attribute("data-drawn", str(GRID // 5))
    assert "grade=A" in page.url

    # a popup names the asset and links to it
    page.select_option("#grade", "")
    expect(section).to_have_attribute("data-drawn", str(GRID))
    for _ in range(10):  # zoom into clusters until a marker of its own is there
        if section.locator(".staff-marker").count():
            break
        section.locator(".map-cluster").first.click()
        page.wait_for_function("() => !document.querySelector('#staff-map .leaflet-zoom-anim')")
    section.locator(".staff-marker").first.click()
    popup = section.locator(".map-popup")
    expect(popup).to_contain_text("GX-GRID-")
    assert re.match(r"^/assets/\d+$", popup.locator("a").get_attribute("href") or "")

    off_loopback = [u for u in requests if urlsplit(u).hostname not in {"127.0.0.1", "localhost"}]
    assert not off_loopback, off_loopback


def test_the_ticket_and_triage_maps_draw_the_demos_records(map_server, desktop):
    from playwright.sync_api import expect

    base, page = map_server.url, desktop
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    log_in(page, base, "alice")

    for url in ("/tickets/map?status=", "/triage/map"):
        page.goto(base + url)
        section = page.locator("#staff-map")
        expect(section).to_have_attribute("data-drawn", re.compile(r"^\d+$"))
        drawn = int(section.get_attribute("data-drawn") or "0")
        assert drawn_count(section) == drawn

    off_loopback = [u for u in requests if urlsplit(u).hostname not in {"127.0.0.1", "localhost"}]
    assert not off_loopback, off_loopback
