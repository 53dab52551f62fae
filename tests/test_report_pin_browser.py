"""The report pin in the system Chromium (Playwright) against a real `facilities serve` with the
demo: the Pinghu suspension bridge drawn as its 76.6 m line with a closure in force, and the
lakeside boardwalk loop. The citizen uses "Use my location" (the browser's location is set by
the test); the pin snaps to the nearest facility, the facility field is preselected, and a pin on
the closed bridge is answered with its notice at once. No request leaves loopback."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from shapely.geometry import Point, shape

from facilities import demo_places
from facilities.lib import geo
from tests.kit.browser import Server, pages_for, start_server

pytestmark = pytest.mark.browser

BRIDGE_LINE = shape(json.loads(demo_places.BRIDGE))
BOARDWALK_LINE = shape(json.loads(demo_places.BOARDWALK))


def beside(line: Any, east_m: float) -> tuple[float, float]:
    """(lng, lat) ``east_m`` metres east of the middle of ``line``."""
    middle = line.interpolate(0.5, normalized=True)
    lng, lat, _back = geo.GEOD.fwd(middle.x, middle.y, 90.0, east_m)
    return lng, lat


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with start_server(tmp_path_factory.mktemp("report-pin")) as running:
        yield running


def located_page(request: Any, browser: Any, lng: float, lat: float) -> Any:
    opened = pages_for(request, browser)
    pages = opened.__enter__()
    request.addfinalizer(lambda: opened.__exit__(None, None, None))
    return pages.open(
        "desktop",
        "zh-CN",
        geolocation={"latitude": lat, "longitude": lng, "accuracy": 5},
        permissions=["geolocation"],
        reduced_motion="reduce",
    )


def record_requests(page: Any) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    return seen


def pinned(section: Any) -> tuple[float, float]:
    lat, lng = (float(v) for v in (section.get_attribute("data-pin") or "").split(","))
    return lng, lat


def test_the_report_pin_snaps_to_the_nearest_facility(server, browser, request):
    from playwright.sync_api import expect

    # 25 m off a stretch of the boardwalk, far from the bridge
    spot = next(
        p
        for p in (beside(BOARDWALK_LINE, d) for d in (25.0, -25.0))
        if geo.distance_m(*p, BRIDGE_LINE) > 100
    )
    truth = httpx.get(
        f"{server.url}/report/near", params={"lat": spot[1], "lng": spot[0]}, timeout=10
    ).json()
    assert truth["snapped"]["name"] == "平湖公园环湖木栈道"

    page = located_page(request, browser, *spot)
    requests = record_requests(page)
    page.goto(f"{server.url}/report")
    section = page.locator("#pin-map")
    expect(section).to_be_visible()  # the script revealed it
    expect(section).to_have_attribute("data-ready", "1")
    page.locator("#pin-locate").click()

    expect(section).to_have_attribute("data-snapped", str(truth["snapped"]["id"]))
    expect(page.locator("#pin-snap-text")).to_contain_text("平湖公园环湖木栈道")
    # the pin moved onto the boardwalk's line
    assert geo.distance_m(*pinned(section), BOARDWALK_LINE) < 1.0
    assert geo.distance_m(*pinned(section), Point(*spot)) > 20
    # the facility field is preselected, and its form carries the pin's location
    expect(page.locator("#pin-asset")).to_have_value(str(truth["snapped"]["id"]))
    expect(page.locator("#pin-closure")).to_be_hidden()  # the boardwalk is open

    # "keep my pin" puts it back where the citizen said
    page.locator("#pin-undo").click()
    assert geo.distance_m(*pinned(section), Point(*spot)) < 1.0

    page.locator("#pin-report").click()
    page.wait_for_url(re.compile(r"/report\?asset=\d+"))
    assert f"asset={truth['snapped']['id']}" in page.url
    expect(page.locator("#facility-name")).to_have_text("平湖公园环湖木栈道")

    strays = [url for url in requests if urlsplit(url).hostname != "127.0.0.1"]
    assert strays == []


def test_a_pin_on_the_closed_bridge_is_answered_with_its_notice(server, browser, request):
    from playwright.sync_api import expect

    spot = beside(BRIDGE_LINE, 8.0)  # a thumb's width east of the bridge's deck
    page = located_page(request, browser, *spot)
    requests = record_requests(page)
    page.goto(f"{server.url}/report")
    section = page.locator("#pin-map")
    expect(section).to_have_attribute("data-ready", "1")
    page.locator("#pin-locate").click()

    notice = page.locator("#pin-closure")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(section.get_attribute("data-closed") or "?")
    closure_id = section.get_attribute("data-closure")
    assert closure_id and closure_id.isdigit()
    link = notice.locator("a")
    expect(link).to_have_attribute("href", f"/notices/{closure_id}")
    # the notice is the bridge's, the one the public site shows
    bridge = httpx.get(
        f"{server.url}/report/near", params={"lat": spot[1], "lng": spot[0]}, timeout=10
    ).json()["snapped"]
    assert bridge["code"] == "GX-QL-PH-001"
    expect(page.locator("#pin-snap-text")).to_contain_text(bridge["name"])
    expect(page.locator("#pin-asset")).to_have_value(str(bridge["id"]))
    assert geo.distance_m(*pinned(section), BRIDGE_LINE) < 1.0  # snapped onto the bridge

    link.click()
    page.wait_for_url(f"{server.url}/notices/{closure_id}", wait_until="commit")
    strays = [url for url in requests if urlsplit(url).hostname != "127.0.0.1"]
    assert strays == []
