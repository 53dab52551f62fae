"""The map of one place, in the system Chromium (Playwright) against a real `facilities serve`
process with the demo loaded and no tile source (our own basemap, offline).

The demo's Pinghu bridge is fully closed: its notice draws the bridge's line as the closed
extent, the fences at both approaches, the open gates and the detour, which starts at the
bridge's north end and runs round the east boardwalk to the west gate. The test checks where
the drawing lands, not only that it exists: the detour's SVG path starts where the bridge's
line ends and ends on the west gate's dot (three drawings from three different columns), under
its arrowhead. The road bridge's planned footway closure is drawn dashed; the facility page
draws the facility. Nothing leaves loopback, and nothing in the drawing takes the keyboard.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.kit.browser import Server, pages_for, start_server

pytestmark = pytest.mark.browser

#: Screen pixels within which two drawings of one place must meet.
NEAR_PX = 3.0

ENDS = """(selector) => {
    const path = document.querySelector(selector);
    const matrix = path.getScreenCTM();
    const at = (length) => {
        const p = path.getPointAtLength(length).matrixTransform(matrix);
        return [p.x, p.y];
    };
    return [at(0), at(path.getTotalLength())];
}"""

CENTRES = """(selector) => Array.from(document.querySelectorAll(selector)).map((el) => {
    const box = el.getBoundingClientRect();
    return [box.x + box.width / 2, box.y + box.height / 2];
})"""


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with start_server(tmp_path_factory.mktemp("notice-map")) as running:
        yield running


@pytest.fixture
def desktop(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    with pages_for(request, browser) as pages:
        yield pages.open("desktop", "zh-CN", reduced_motion="reduce")


def closure_of(server: Server, asset_code: str) -> dict[str, Any]:
    feed = httpx.get(f"{server.url}/feeds/closures.geojson", timeout=10).json()
    return next(
        f["properties"]
        for f in feed["features"]
        if f["properties"].get("role", "closure") == "closure"
        and f["properties"]["asset_code"] == asset_code
    )


def distance(a: list[float], b: list[float]) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def test_the_notice_draws_the_detour_from_the_bridge_to_the_west_gate(demo_server, desktop):
    from playwright.sync_api import expect

    bridge = closure_of(demo_server, "GX-QL-PH-001")
    page = desktop
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    page.goto(f"{demo_server.url}/notices/{bridge['closure_id']}")
    section = page.locator("#place-map")
    expect(section).to_be_visible()
    expect(section).to_have_attribute("data-detour-drawn", "1")
    expect(section).to_have_attribute("data-drawn", "5")  # facility, extent, fences, detour, gates
    canvas = section.locator(".map-canvas")
    expect(canvas).to_have_attribute("data-basemap-drawn", re.compile(r"^[1-9]\d*$"))

    detour = canvas.locator("path.place-detour")
    expect(detour).to_have_count(1)
    assert detour.get_attribute("stroke-dasharray")  # dashed, unlike the closed extent
    expect(canvas.locator("path.place-extent")).to_have_count(1)
    expect(canvas.locator("path.place-fences")).to_have_count(1)  # both approaches, one layer
    expect(canvas.locator("path.place-entrances")).to_have_count(3)  # west, north, east gates

    start, end = page.evaluate(ENDS, "#place-map path.place-detour")
    bridge_ends = page.evaluate(ENDS, "#place-map path.place-extent")
    gates = page.evaluate(CENTRES, "#place-map path.place-entrances")
    (arrow,) = page.evaluate(CENTRES, "#place-map .place-arrow-icon")
    # the detour leaves from one end of the closed bridge (its north end)...
    assert min(distance(start, e) for e in bridge_ends) < NEAR_PX, (start, bridge_ends)
    # ...and ends at an open gate (the west gate), where its arrowhead is
    assert min(distance(end, g) for g in gates) < NEAR_PX, (end, gates)
    assert distance(end, arrow) < NEAR_PX
    assert distance(start, end) > 50  # a real route on screen, not a dot
    expect(canvas.locator(".place-label")).to_have_text("绕行路线")  # the word "Detour"

    legend = section.locator(".map-legend")
    for kind in ("facility", "extent-in-force", "detour", "fences", "entrances"):
        expect(legend.locator(f"[data-legend={kind}]")).to_be_visible()
    expect(legend.locator("[data-legend=extent-planned]")).to_be_hidden()
    # the text alternative: the drawing is aria-hidden, the detour's words are a link away
    assert canvas.get_attribute("aria-hidden") == "true"
    expect(section.locator("a[href='#detour-title']")).to_be_visible()
    focusable = canvas.locator(
        "a:not([tabindex='-1']), button:not([tabindex='-1']), [tabindex='0']"
    )
    assert focusable.count() == 0

    assert all(urlsplit(url).hostname == "127.0.0.1" for url in seen)


def test_a_planned_partial_closure_is_drawn_dashed_on_its_footway(demo_server, desktop):
    from playwright.sync_api import expect

    road = closure_of(demo_server, "GX-QL-YM-001")
    assert road["status"] == "planned"
    page = desktop
    page.goto(f"{demo_server.url}/notices/{road['closure_id']}")
    section = page.locator("#place-map")
    expect(section).to_have_attribute("data-drawn", "2")  # the bridge and its north footway
    extent = section.locator("path.place-extent")
    expect(extent).to_have_count(1)
    assert extent.get_attribute("stroke-dasharray")
    expect(section.locator("path.place-facility")).to_have_count(1)
    expect(section.locator("[data-legend=extent-planned]")).to_be_visible()
    expect(section.locator("[data-legend=extent-in-force]")).to_be_hidden()
    expect(section.locator("[data-legend=detour]")).to_be_hidden()


def test_the_facility_page_draws_the_facility_and_its_closed_part(demo_server, desktop):
    from playwright.sync_api import expect

    bridge = closure_of(demo_server, "GX-QL-PH-001")
    page = desktop
    page.goto(f"{demo_server.url}/facilities/{bridge['asset_id']}")
    section = page.locator("#place-map")
    expect(section).to_have_attribute("data-drawn", "2")
    expect(section.locator("path.place-facility")).to_have_count(1)
    expect(section.locator("path.place-extent")).to_have_count(1)
    expect(section.locator("[data-legend=detour]")).to_be_hidden()
